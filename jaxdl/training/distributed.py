"""JAX's multi-process (multi-controller) runtime for every experiment: one process per host (or per
device), all running the same command; `jax.devices()` then lists every process's devices and the
engine's mesh spans them.

    python -m experiments.fc_grid --coordinator_address=HOST:PORT --num_processes=2 --process_id=0
    python -m experiments.fc_grid --coordinator_address=HOST:PORT --num_processes=2 --process_id=1

or, in a job JAX's own detectors recognise (SLURM `srun`, Open MPI `mpirun`, a Cloud TPU slice), no
flag at all. BUILD.md ("Multi-host") has the commands.
`jaxdl.experiment.cli.start` calls `initialize()` before any JAX computation, then `check_same_flags()`; only
process 0 writes files (`jaxdl.reporting.io`); `fetch` is how host code reads a global array.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading

import jax
import numpy as np
from absl import flags, logging
from jax.experimental import multihost_utils

from jaxdl.reporting.io import is_writer  # noqa: F401  (re-exported: process 0 alone writes results)


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """The multi-process runtime's flags, defined by an entry point when it runs (never at import)."""
    if "coordinator_address" in flag_values:
        return
    flags.DEFINE_string("coordinator_address", None,
                        "Multi-process run: HOST:PORT of process 0, where every process meets (jax.distributed). "
                        "Give it with --num_processes and --process_id, or none of them under SLURM/Open MPI.",
                        flag_values=flag_values)
    flags.DEFINE_integer("num_processes", None, "Multi-process run: how many processes take part.", lower_bound=1,
                         flag_values=flag_values)
    flags.DEFINE_integer("process_id", None, "Multi-process run: this process's index, 0 .. --num_processes - 1 "
                         "(0 writes the outputs).", lower_bound=0, flag_values=flag_values)
    flags.DEFINE_integer("distributed_timeout_s", 300, "Multi-process run: seconds to wait for every process to "
                         "reach the coordinator before failing.", lower_bound=1, flag_values=flag_values)


_RUNTIME_FLAGS = ("coordinator_address", "num_processes", "process_id", "distributed_timeout_s")
# Flags that may legitimately differ between hosts (node-local paths); everything else must match.
_PER_HOST_FLAGS = ("data_dir", "data_cache_dir")


class DistributedError(RuntimeError):
    """The multi-process runtime could not start, or its processes disagree."""


# The cluster environments joined without flags: SLURM, Open MPI, Cloud TPU slices (JAX's detectors; its
# Kubernetes one is left out: a pod of an unrelated job would look like one).
AUTO_CLUSTERS = ("slurm", "ompi", "gcetpu", "gketpu")


def _detected_cluster() -> str | None:
    """The name of the cluster environment this process runs in, when it has more than one process: a
    single-task allocation (an interactive `salloc` shell, a one-host TPU VM) runs as a plain process."""
    from jax._src import clusters  # the detectors jax.distributed.initialize() itself uses

    for env in clusters.ClusterEnv._cluster_types:
        try:
            if env.name in AUTO_CLUSTERS and env.is_env_present() and int(env.get_process_count()) > 1:
                return env.name
        except Exception:  # a half-set environment is not a cluster we can join
            continue
    return None


def initialize(flag_values: flags.FlagValues = flags.FLAGS) -> bool:
    """Starts the multi-process runtime if the flags ask for it or a cluster is detected; returns whether
    this is a multi-process run. Must run before any JAX computation (jax.distributed's rule)."""
    if jax.distributed.is_initialized():
        return jax.process_count() > 1
    if "coordinator_address" not in flag_values:  # a library caller that never defined them: one process
        return False
    address, count, index = (flag_values[n].value for n in _RUNTIME_FLAGS[:3])
    given = [v is not None for v in (address, count, index)]
    if any(given) and not all(given):
        raise DistributedError("a multi-process run needs all of --coordinator_address=HOST:PORT, --num_processes "
                               "and --process_id (or none of them under SLURM / Open MPI)")
    cluster = None if any(given) else _detected_cluster()
    if not any(given) and cluster is None:
        return False
    if all(given):
        if not index < count:
            raise DistributedError(f"--process_id={index} must be < --num_processes={count}")
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise DistributedError(f"--coordinator_address={address!r} must be HOST:PORT, e.g. 127.0.0.1:12345")
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        raise DistributedError("the multi-process runtime must start before any JAX computation: call "
                               "jaxdl.experiment.cli.start (or jaxdl.training.distributed.initialize) first in main()")
    if "JAX_CPU_COLLECTIVES_IMPLEMENTATION" not in os.environ:
        # Cross-process collectives of the CPU backend (the engine's gathers); GPUs and TPUs use their own.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    timeout = flag_values.distributed_timeout_s
    where = address or f"the address the {cluster} environment gives"
    who = f"process {index}" if index is not None else "this process"
    fix = (f"Start every process within --distributed_timeout_s={timeout} s, with the same --coordinator_address "
           "(process 0's host and a free port) and --num_processes, each with its own --process_id") if address \
        else f"Check that every task of the {cluster} job started, or raise --distributed_timeout_s={timeout}"

    def give_up():
        # jaxlib aborts the process (SIGABRT, a C++ stack trace) a few seconds after its own deadline;
        # this fires first, with the fix.
        sys.stderr.write(f"FATAL: {who} could not start the multi-process runtime: the coordinator at "
                         f"{where} did not gather all {count or 'the'} processes within {timeout} s. {fix}.\n")
        sys.stderr.flush()
        os._exit(1)

    watchdog = threading.Timer(timeout, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        jax.distributed.initialize(coordinator_address=address, num_processes=count, process_id=index,
                                   cluster_detection_method=cluster, initialization_timeout=timeout)
    except Exception as err:  # jaxlib raises its own runtime error types; the cause is kept below
        raise DistributedError(f"could not start the multi-process runtime with the coordinator at {where} "
                               f"({type(err).__name__}: {err}). {fix}") from err
    finally:
        watchdog.cancel()
    logging.info("multi-process run: process %d of %d, %d local / %d global devices", jax.process_index(),
                 jax.process_count(), jax.local_device_count(), jax.device_count())
    return jax.process_count() > 1


def _digest(value) -> np.ndarray:
    """Four uint32 words of sha256 (uint32: JAX's default 32-bit mode keeps them exact)."""
    raw = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).digest()
    return np.frombuffer(raw[:16], dtype=np.uint32).copy()


def check_same_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Refuses a multi-process run whose processes were given different settings (each would compute a
    different program on its share of the models). Compares hashes of every flag but absl's own, the
    runtime flags and node-local paths; names the flags that differ from process 0's."""
    if jax.process_count() == 1:
        return
    values = {}
    for module, module_flags in flag_values.flags_by_module_dict().items():
        if not module.startswith("absl."):  # absl's own: logging, --flagfile
            values.update({f.name: f.value for f in module_flags if f.name not in _RUNTIME_FLAGS + _PER_HOST_FLAGS})
    names = sorted(values)
    # Same flag names first (otherwise the per-flag arrays would not even have the same shape).
    gathered = multihost_utils.process_allgather(_digest(names))
    if not (gathered == gathered[0]).all():
        raise DistributedError("the processes run different programs (their flag names differ): start every "
                               "process with the same command, only --process_id differing")
    mine = np.stack([_digest(values[n]) for n in names])
    gathered = multihost_utils.process_allgather(mine)  # [processes, flags, 4]
    differ = sorted({names[f] for f in np.nonzero((gathered != gathered[:1]).any(axis=2))[1]})
    if differ:
        raise DistributedError(
            f"flags differ between processes: {', '.join('--' + n for n in differ)} (this process, "
            f"{jax.process_index()}: {', '.join(f'{n}={values[n]!r}' for n in differ)}). Every process must "
            "run the same command, only --process_id differing")


def fetch(tree):
    """A host (numpy) copy of `tree`, identical in every process: arrays sharded over other processes'
    devices are all-gathered (multihost_utils.process_allgather), anything else is a plain device_get,
    so a single-process run pays nothing extra."""

    def one(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return jax.device_get(x)

    return jax.tree.map(one, tree)
