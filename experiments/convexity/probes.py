"""Two independent numerical probes of convexity for f: R^dim -> R, and the verdict they support.

1. Curvature: the smallest Hessian eigenvalue at many points (exact eigh for small dim, Lanczos on
   Hessian-vector products otherwise; see jaxdl/analysis/hessian.py).
2. Chords: midpoint convexity f((a+b)/2) <= (f(a)+f(b))/2 on many chords [a, b].

Neither probe can prove convexity; a violation beyond tolerance proves non-convexity, and comes with a
witness (points, value, gap) that can be re-evaluated without trusting the probe. Tolerances are relative
to the size of the quantities compared, so they mean the same thing at any scale of f. Run in float64
(`jax.enable_x64`): float32 rounding alone is ~1e-7 relative and would need tolerances that hide real,
small negative curvature.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxdl.analysis import hessian
from jaxdl.reporting.summary import Table
from jaxdl.training import losses

EIGEN_METHODS = ("exact", "lanczos")


class EigenProbe(NamedTuple):
    """Per point i of n: min_value/max_value [n] extreme Hessian eigenvalues, min_vector [n, dim] unit
    eigenvector of min_value, rayleigh [n] = min_vector^T H min_vector recomputed by one HVP (an
    independent check of the eigensolver)."""

    min_value: jax.Array
    max_value: jax.Array
    min_vector: jax.Array
    rayleigh: jax.Array


def eigen_probe(f, points, *, method: str = "exact", key=None, num_iters: int = 40) -> EigenProbe:
    """Extreme Hessian eigenvalues of f at points [n, dim], vectorised over points.

    method "exact" builds the dense Hessian (dim^2 memory per point); "lanczos" needs `key` and uses
    num_iters HVPs per point. Lanczos can only under-report how negative the smallest eigenvalue is.
    """
    if method not in EIGEN_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(EIGEN_METHODS)}")

    def one(x, k):
        if method == "exact":
            values, vectors = hessian.hessian_eigenvalues_exact(f, x)
            lo, hi, v = values[0], values[-1], vectors[:, 0]
        else:
            ext = hessian.extreme_eigenvalues(f, x, k, num_iters)
            lo, hi, v = ext.min_value, ext.max_value, ext.min_vector
        return lo, hi, v, jnp.vdot(v, hessian.hvp(f, x, v))

    keys = jax.random.split(jax.random.key(0) if key is None else key, points.shape[0])
    return EigenProbe(*jax.vmap(one)(points, keys))


def eigen_tolerance(probe: EigenProbe, rtol: float) -> jax.Array:
    """[n] the most negative min eigenvalue still read as rounding: rtol times the spectral radius."""
    return rtol * jnp.maximum(jnp.abs(probe.min_value), jnp.abs(probe.max_value))


class ChordProbe(NamedTuple):
    """Per chord i of n: f_a, f_b, f_mid [n] and gap = f_mid - (f_a + f_b)/2 [n] (> 0 violates)."""

    f_a: jax.Array
    f_b: jax.Array
    f_mid: jax.Array
    gap: jax.Array


def midpoint_probe(f, a, b) -> ChordProbe:
    """Midpoint-convexity gaps of f on the chords between a [n, dim] and b [n, dim]."""
    f_batch = jax.vmap(f)
    f_a, f_b, f_mid = f_batch(a), f_batch(b), f_batch((a + b) / 2)
    return ChordProbe(f_a, f_b, f_mid, f_mid - (f_a + f_b) / 2)


def chord_tolerance(probe: ChordProbe, rtol: float, atol: float) -> jax.Array:
    """[n] the largest gap still read as rounding in evaluating f: relative to the values compared."""
    return rtol * (jnp.abs(probe.f_a) + jnp.abs(probe.f_b) + jnp.abs(probe.f_mid)) + atol


def verdict(num_eigen_probes: int, eigen_violations: int, num_chords: int, chord_violations: int,
            exact: bool) -> str:
    """One line per (model, loss) cell: 'not convex' when either probe has a violation, else what was
    checked. With Lanczos the no-violation case is weaker (a missed eigenvalue), and says so."""
    if eigen_violations or chord_violations:
        return (f"not convex ({eigen_violations}/{num_eigen_probes} points with a negative eigenvalue, "
                f"{chord_violations}/{num_chords} chords violating)")
    how = "exact Hessian" if exact else "Lanczos"
    return (f"no violation found in {num_eigen_probes} {how} probes (min eigenvalue >= -tol) "
            f"and {num_chords} chords")


# -- the models and losses of seed 004 Q1-Q2 (experiments/convexity/) ----------------------------------
MODELS = {"logistic": 0, "linear1": 1, "linear2": 2}  # number of linear hidden layers
LOSSES = {"ce": losses.ce, "mse": losses.l2, "mse_logit": lambda z, y: jnp.mean((z - y) ** 2)}
LOSS_NAMES = tuple(LOSSES)
DATASETS = ("breast_cancer", "digits_0v1", "digits_3v8")
SCALE_RANGE = (0.1, 10.0)
CHORD_LENGTH_RANGE = (0.01, 2.0)
AXIS_FRACTION = 0.25
CHORD_ATOL = 1e-14


def load_dataset(name: str, dtype=jnp.float64):
    """(x [N, D], y [N] in {0, 1}) with every feature standardised; constant features stay 0."""
    from sklearn import datasets

    if name == "breast_cancer":
        x, y = datasets.load_breast_cancer(return_X_y=True)
    elif name in DATASETS:
        negative, positive = int(name[-3]), int(name[-1])
        x, digit = datasets.load_digits(return_X_y=True)
        keep = (digit == negative) | (digit == positive)
        x, y = x[keep], (digit[keep] == positive)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    sd = x.std(0)
    x = (x - x.mean(0)) / np.where(sd > 0, sd, 1.0)
    return jnp.asarray(x, dtype), jnp.asarray(y, dtype)


def layer_shapes(model: str, num_features: int, hidden: int) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of each affine layer; the last has one output, the logit."""
    widths = [num_features] + [hidden] * MODELS[model] + [1]
    return list(zip(widths[:-1], widths[1:], strict=True))


def logit(params: list[dict], x: jax.Array) -> jax.Array:
    """z [N] of a stack of affine layers (no activation between them) on x [N, D]."""
    for layer in params:
        x = x @ layer["w"] + layer["b"]
    return x[:, 0]


def parametrisation(model: str, num_features: int, hidden: int, dtype=jnp.float64):
    """(unravel: flat [dim] -> layer list, scale [dim]): weights scaled 1/sqrt(fan_in), so every layer's
    output has the input's scale at m = 1, biases 1."""
    shapes = layer_shapes(model, num_features, hidden)
    unravel = ravel_pytree([{"w": jnp.zeros(s, dtype), "b": jnp.zeros(s[1], dtype)} for s in shapes])[1]
    scale = ravel_pytree([{"w": jnp.full(s, s[0] ** -0.5, dtype), "b": jnp.ones(s[1], dtype)} for s in shapes])[0]
    return unravel, scale


def make_objective(model: str, x, y, hidden: int):
    """(f(flat params [dim], loss_index) -> training loss, per-coordinate scale [dim]) for one model.

    The loss is an index into LOSS_NAMES, traced, so one compiled program serves every loss of a model
    (XLA:CPU compiles dominate this experiment's runtime).
    """
    unravel, scale = parametrisation(model, x.shape[1], hidden, x.dtype)
    branches = [partial(LOSSES[name], y=y) for name in LOSS_NAMES]

    def f(flat, loss_index):
        return jax.lax.switch(loss_index, branches, logit(unravel(flat), x))

    return f, scale


def _log_uniform(key, shape, low, high, dtype):
    return jnp.exp(jax.random.uniform(key, shape, dtype, np.log(low), np.log(high)))


def sample_points(key, scale: jax.Array, n: int) -> jax.Array:
    """[n, dim] random parameter points: scale * m * N(0, 1), m log-uniform over SCALE_RANGE per point
    (near the origin up to deep saturation)."""
    k_m, k_z = jax.random.split(key)
    m = _log_uniform(k_m, (n, 1), *SCALE_RANGE, scale.dtype)
    return m * scale * jax.random.normal(k_z, (n, scale.shape[0]), scale.dtype)


def sample_chords(key, scale: jax.Array, n: int):
    """(a [n, dim], b [n, dim], is_axis [n]): b = a + r * d, r log-uniform over CHORD_LENGTH_RANGE. The first
    AXIS_FRACTION of the chords move along one random coordinate only, as long as a full-direction chord."""
    k_a, k_d, k_r, k_j, k_s = jax.random.split(key, 5)
    a = sample_points(k_a, scale, n)
    m = jnp.linalg.norm(a / scale, axis=1, keepdims=True) / np.sqrt(scale.shape[0])
    d = m * _log_uniform(k_r, (n, 1), *CHORD_LENGTH_RANGE, scale.dtype) * scale * jax.random.normal(
        k_d, a.shape, scale.dtype)
    axis_d = jax.nn.one_hot(jax.random.randint(k_j, (n,), 0, scale.shape[0]), scale.shape[0], dtype=a.dtype)
    axis_d *= jnp.linalg.norm(d, axis=1, keepdims=True) * jax.random.rademacher(k_s, (n, 1), a.dtype)
    is_axis = jnp.arange(n) < int(AXIS_FRACTION * n)
    return a, a + jnp.where(is_axis[:, None], axis_d, d), is_axis


def probe_model(model: str, x, y, key, *, hidden: int, points: int, chords: int, method: str,
                lanczos_iters: int, eig_rtol: float, chord_rtol: float) -> dict:
    """Both probes for every loss of one model on the same random points and chords (a paired comparison of
    the losses), in one compiled program. Returns numpy: {"points", "a", "b", "is_axis", loss: {...}}."""
    f, scale = make_objective(model, x, y, hidden)

    @jax.jit
    def probes(key):
        k_points, k_lanczos, k_chords = jax.random.split(key, 3)
        pts, (a, b, is_axis) = sample_points(k_points, scale, points), sample_chords(k_chords, scale, chords)

        def one(loss_index):
            f_loss = partial(f, loss_index=loss_index)
            eig = eigen_probe(f_loss, pts, method=method, key=k_lanczos, num_iters=lanczos_iters)
            ch = midpoint_probe(f_loss, a, b)
            # f along the chord that violates most (relative to |f|), for the figure.
            j = jnp.argmax(ch.gap / (jnp.abs(ch.f_a) + jnp.abs(ch.f_b) + CHORD_ATOL))
            along = jax.vmap(f_loss)(a[j] + jnp.linspace(0.0, 1.0, 101)[:, None] * (b[j] - a[j]))
            return {"eig": eig, "chords": ch, "eig_tol": eigen_tolerance(eig, eig_rtol),
                    "chord_tol": chord_tolerance(ch, chord_rtol, CHORD_ATOL), "along": along}

        # One loss after another (lax.map is a loop): as independent branches, XLA:CPU ran the losses'
        # LAPACK eigensolvers concurrently, and that deadlocked about one run in three (measured here).
        per_loss = jax.lax.map(one, jnp.arange(len(LOSS_NAMES)))
        return {"points": pts, "a": a, "b": b, "is_axis": is_axis,
                **{name: jax.tree.map(lambda v, i=i: v[i], per_loss) for i, name in enumerate(LOSS_NAMES)}}

    return jax.device_get(probes(key))


def summarise_cell(model: str, loss: str, method: str, probe: dict, witness_info: dict) -> dict:
    """The numbers and verdict of one (model, loss) from `probe_model`'s output; a witness when not convex
    (re-checkable with `recheck`); arrays (keys starting with _) for the figures."""
    out = probe[loss]
    eig, ch, is_axis = out["eig"], out["chords"], probe["is_axis"]
    eig_bad, chord_bad = eig.min_value < -out["eig_tol"], ch.gap > out["chord_tol"]
    radius = np.maximum(np.abs(eig.min_value), np.abs(eig.max_value))
    relative_min = eig.min_value / np.where(radius > 0, radius, 1.0)
    relative_gap = ch.gap / (np.abs(ch.f_a) + np.abs(ch.f_b) + CHORD_ATOL)
    i, j = int(np.argmin(relative_min)), int(np.argmax(relative_gap))
    cell = {"model": model, "loss": loss, "params": probe["points"].shape[1], "hessian_method": method,
            "eigen_points": len(relative_min), "eigen_violations": int(eig_bad.sum()),
            "most_negative_relative_min_eigenvalue": float(relative_min[i]),
            "chords": len(ch.gap), "chord_violations": int(chord_bad.sum()),
            "axis_chords": int(is_axis.sum()), "axis_chord_violations": int((chord_bad & is_axis).sum()),
            "largest_relative_gap": float(relative_gap[j])}
    cell["convex_by_probes"] = not (cell["eigen_violations"] or cell["chord_violations"])
    cell["verdict"] = verdict(cell["eigen_points"], cell["eigen_violations"], cell["chords"],
                              cell["chord_violations"], exact=method == "exact")
    if not cell["convex_by_probes"]:
        cell["witness"] = {
            "model": model, "loss": loss, **witness_info,
            "param_order": "jax.flatten_util.ravel_pytree of [{'w': [fan_in, fan_out], 'b': [fan_out]}, ...]",
            "eigen": {"point": probe["points"][i].tolist(), "min_eigenvalue": float(eig.min_value[i]),
                      "max_eigenvalue": float(eig.max_value[i]), "eigenvector": eig.min_vector[i].tolist(),
                      "rayleigh_quotient": float(eig.rayleigh[i]), "tol": float(out["eig_tol"][i]), "method": method},
            "chord": {"a": probe["a"][j].tolist(), "b": probe["b"][j].tolist(), "axis_aligned": bool(is_axis[j]),
                      "f_a": float(ch.f_a[j]), "f_b": float(ch.f_b[j]), "f_mid": float(ch.f_mid[j]),
                      "gap": float(ch.gap[j]), "tol": float(out["chord_tol"][j])},
        }
    return cell | {"_relative_min": relative_min, "_along_chord": out["along"], "_points": probe["points"]}


def probe_table(cells: list[dict], theory_convex) -> Table:
    """One row per `summarise_cell` output; `theory_convex`: the (model, loss) pairs convex analysis proves."""
    return Table("Convexity probes per (model, loss)", [
        "model", "loss", "params", "Hessian", "points with min eig < -tol", "most negative min eig / radius",
        "chords violating (axis-aligned)", "largest gap / (abs f(a) + abs f(b))", "verdict", "theory"],
        [[c["model"], c["loss"], c["params"], c["hessian_method"],
          {"violating": c["eigen_violations"], "of": c["eigen_points"]}, c["most_negative_relative_min_eigenvalue"],
          {"violating": c["chord_violations"], "of": c["chords"], "axis_aligned_violating": c["axis_chord_violations"],
           "axis_aligned_of": c["axis_chords"]},
          c["largest_relative_gap"], c["verdict"],
          "convex" if (c["model"], c["loss"]) in theory_convex else "not convex"] for c in cells],
        [None] * 4 + ["{violating}/{of}", ".2e", "{violating}/{of} ({axis_aligned_violating}/{axis_aligned_of})",
                      ".2e"])


def recheck(w: dict) -> dict:
    """Re-evaluates a saved witness from scratch: the chord gap f((a+b)/2) - (f(a)+f(b))/2, the curvature
    v^T H v along the saved eigenvector (one HVP), and the same curvature without autodiff, from the
    second difference (f(p + hv) - 2 f(p) + f(p - hv)) / h^2. Non-convex when gap > 0 or curvature < 0.
    Call inside `with jax.enable_x64(True):`."""
    x, y = load_dataset(w["dataset"])
    f = partial(make_objective(w["model"], x, y, w["hidden"])[0], loss_index=LOSS_NAMES.index(w["loss"]))

    @jax.jit  # one compile; op by op this costs seconds of small CPU compiles
    def evaluate(a, b, p, v):
        h = 1e-3 * (1.0 + jnp.linalg.norm(p))
        return {"gap": f((a + b) / 2) - (f(a) + f(b)) / 2,
                "rayleigh_quotient": jnp.vdot(v, jax.jvp(jax.grad(f), (p,), (v,))[1]) / jnp.vdot(v, v),
                "second_difference": (f(p + h * v) - 2 * f(p) + f(p - h * v)) / h**2}

    values = evaluate(*(jnp.asarray(v) for v in (w["chord"]["a"], w["chord"]["b"], w["eigen"]["point"],
                                                 w["eigen"]["eigenvector"])))
    return {k: float(v) for k, v in values.items()}


def one_d_curvature(z_limit: float = 20.0, points: int = 4001) -> dict:
    """{loss: min over z of d^2L/dz^2 (both labels), the z range where it is negative for y = 1}, plus
    the outer functions of the seed's reasons: log p (p in (0, 1)), -log sigmoid(z), and the composition
    counterexample (u^2 - 1)^2 of two convex functions."""
    z = jnp.linspace(-z_limit, z_limit, points)
    p = jnp.linspace(0.01, 0.99, 99)
    second = lambda fn, t: jax.vmap(jax.grad(jax.grad(fn)))(t)

    @jax.jit
    def curvatures(z, p):
        per_loss = jnp.stack([jnp.stack([second(partial(fn, y=jnp.asarray(t, z.dtype)), z) for t in (0.0, 1.0)])
                              for fn in LOSSES.values()])
        return per_loss, {"log": second(jnp.log, p), "neg_log_sigmoid": second(lambda t: -jax.nn.log_sigmoid(t), z),
                          "square_of_square_minus_1": second(lambda u: (u**2 - 1) ** 2, jnp.zeros(1))}

    per_loss, outer = jax.device_get(curvatures(z, p))
    out = {}
    for loss, curvature in zip(LOSSES, per_loss, strict=True):
        negative = np.asarray(z)[curvature[1] < 0]
        out[loss] = {"min_curvature": float(curvature.min()),
                     "negative_for_label1_where": [float(negative.min()), float(negative.max())]
                     if negative.size else None}
    out["log_max_curvature"] = float(outer["log"].max())
    out["neg_log_sigmoid_min_curvature"] = float(outer["neg_log_sigmoid"].min())
    out["composition_curvature_at_0"] = float(outer["square_of_square_minus_1"][0])
    return out


def curvature_table(curv: dict) -> Table:
    """`one_d_curvature`'s numbers (at its default z range) as a table."""
    return Table("Curvature in one variable", ["function", "d2/dt2, extreme value"], [
        *[[f"{loss}(z), both labels, z in [-20, 20]: min", curv[loss]["min_curvature"]] for loss in LOSS_NAMES],
        ["log p, p in [0.01, 0.99]: max", curv["log_max_curvature"]],
        ["-log sigmoid(z): min", curv["neg_log_sigmoid_min_curvature"]],
        ["(u^2 - 1)^2 = square of the convex u^2 - 1: at u = 0", curv["composition_curvature_at_0"]],
    ], [None, ".3g"])


def float32_check(x, y, hidden: int, points: np.ndarray, relative_min: np.ndarray, rtol: float) -> dict:
    """logistic + ce recomputed in float32 at the points of its float64 cell: how far float32 rounding
    moves the relative min eigenvalue, and how many points it would push below -tol (false 'not convex')."""
    f = make_objective("logistic", x.astype(jnp.float32), y.astype(jnp.float32), hidden)[0]
    f_ce = partial(f, loss_index=LOSS_NAMES.index("ce"))

    @jax.jit
    def relative_min_eigenvalues(points):
        eig = eigen_probe(f_ce, points, method="exact")
        radius = jnp.maximum(jnp.abs(eig.min_value), jnp.abs(eig.max_value))
        return eig.min_value / jnp.where(radius > 0, radius, 1.0)

    f32 = np.asarray(relative_min_eigenvalues(points.astype(np.float32)), np.float64)
    return {"max_abs_float32_error": float(np.abs(f32 - relative_min).max()),
            "points_below_tol": {"float64": int((relative_min < -rtol).sum()), "float32": int((f32 < -rtol).sum())},
            "points": len(f32)}


def whitened_components(x, k: int):
    """The first k principal components of x [N, D], scaled to unit variance: x^T x / N = I_k. Convexity
    is invariant under this linear change of features, and GD at step 1/L converges in a few hundred steps
    instead of the ~1e5 the raw condition number (~1e5 on breast_cancer) would need."""
    u = np.linalg.svd(np.asarray(x) - np.asarray(x).mean(0), full_matrices=False)[0]
    return jnp.asarray(u[:, :k] * np.sqrt(x.shape[0]), x.dtype)


# The largest d^2 loss / dz^2 of each loss, so that GD on whitened features uses a safe step 1/L
# (L = this curvature bound times the largest eigenvalue of x^T x / N, which is 1): CE 1/4; MSE through
# the sigmoid < 0.16 (so 1/4 bounds it too); squared error of the logit 2.
CURVATURE_BOUND = {"ce": 0.25, "mse": 0.25, "mse_logit": 2.0}


@partial(jax.jit, static_argnums=3)
def gd_final_losses(x, y, keys, steps: int) -> dict:
    """Logistic regression by full-batch GD at step 1/L from one initialisation per key (scale as the
    probes' points, far from the origin included), for every loss: final losses [losses, seeds] in one
    vmapped program, and the global minimum where it is known exactly (CE: Newton from 0; squared error
    of the logit: least squares)."""
    f, scale = make_objective("logistic", x, y, hidden=1)
    starts = jax.vmap(lambda k: sample_points(k, scale, 1)[0])(keys)
    lrs = jnp.asarray([1 / CURVATURE_BOUND[name] for name in LOSS_NAMES], x.dtype)

    def descend(start, loss_index):
        f_loss = partial(f, loss_index=loss_index)
        step = lambda p, _: (p - lrs[loss_index] * jax.grad(f_loss)(p), None)
        return f_loss(jax.lax.scan(step, start, None, length=steps)[0])

    final = jax.vmap(lambda i: jax.vmap(lambda s: descend(s, i))(starts))(jnp.arange(len(LOSS_NAMES)))
    f_ce = partial(f, loss_index=LOSS_NAMES.index("ce"))
    newton = lambda p, _: (p - jnp.linalg.solve(jax.hessian(f_ce)(p), jax.grad(f_ce)(p)), None)
    p_ce = jax.lax.scan(newton, jnp.zeros_like(scale), None, length=30)[0]
    design = jnp.concatenate([jnp.ones((x.shape[0], 1), x.dtype), x], 1)  # ravel_pytree order: b, then w
    p_ls = jnp.linalg.lstsq(design, y)[0]
    return {"final": final, "minimum": {"ce": f_ce(p_ce), "mse_logit": f(p_ls, LOSS_NAMES.index("mse_logit"))}}


@partial(jax.jit, static_argnums=(3, 4, 5))
def held_out_accuracy(x, y, keys, hidden: int, steps: int, test_size: int, lr: float = 1e-2) -> dict:
    """{model: test accuracy [losses (ce, mse), seeds]}: seed k draws one train/test split and one
    initialisation (scale m = 1) shared by every model and loss; each trains with Adam for `steps`
    full-batch steps. One program, vmapped over losses and seeds."""
    import optax

    tx = optax.adam(lr)
    out = {}
    for model in MODELS:
        unravel, scale = parametrisation(model, x.shape[1], hidden, x.dtype)

        def train(key, loss_index, unravel=unravel, scale=scale):
            k_split, k_init = jax.random.split(key)
            order = jax.random.permutation(k_split, x.shape[0])
            test, train_ = order[:test_size], order[test_size:]
            f = lambda p: jax.lax.switch(loss_index, [partial(LOSSES[n], y=y[train_]) for n in ("ce", "mse")],
                                         logit(unravel(p), x[train_]))

            def step(state, _):
                p, opt = state
                updates, opt = tx.update(jax.grad(f)(p), opt)
                return (optax.apply_updates(p, updates), opt), None

            p0 = scale * jax.random.normal(k_init, scale.shape, x.dtype)
            p = jax.lax.scan(step, (p0, tx.init(p0)), None, length=steps)[0][0]
            return jnp.mean((logit(unravel(p), x[test]) > 0) == (y[test] > 0.5))

        out[model] = jax.vmap(lambda i, train=train: jax.vmap(lambda k: train(k, i))(keys))(jnp.arange(2))
    return out


def collapse_error(model: str, x, hidden: int, point) -> float:
    """max |z_network(x) - (x W + c)| / max |z| at one parameter point, where W = W1 W2 ... and c the
    collapsed bias: how exactly the linear network is one affine map of its input."""
    layers = parametrisation(model, x.shape[1], hidden, x.dtype)[0](jnp.asarray(point, x.dtype))
    w, c = jnp.eye(x.shape[1], dtype=x.dtype), jnp.zeros(x.shape[1], x.dtype)
    for layer in layers:
        w, c = w @ layer["w"], c @ layer["w"] + layer["b"]
    z = logit(layers, x)
    return float(jnp.max(jnp.abs(z - (x @ w + c)[:, 0])) / jnp.max(jnp.abs(z)))
