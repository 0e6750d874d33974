"""The registry: every checkable statement of the two seed reports, in the seeds' own words.

Each entry is a result, a number, an ordering, or a reason the seed gives, with a stable id. An entry
is answered by the experiment named in it (a `summary.Claim` with its id, a verdict from data), or it
carries a fixed verdict and the reason no experiment can answer it ("not testable here, because ...",
"definition, not a claim"). Nothing is left out silently: tests/test_claims.py fails when an entry has
no answer in results/ or an experiment answers an id that is not here.

Verdict words (the head of every verdict; a qualifier may follow in parentheses or after ' — '): the
vocabulary is `jaxdl.analysis.stats.VERDICTS`, defined there and nowhere else.
  supported / contradicted / not resolved / not reproduced   from `jaxdl.analysis.stats.decide`, the one rule
      (a 95% sign-test interval of the effect against the margin stated with the claim), or from
      `stats.Exact` (a closed form, a witness, a maximum over every run, named in the row);
  partly supported   a statement made of parts, some supported and some not; the row names each part's word
      (`stats.combine`);
  not testable here  nothing here can test it (the reason is given); a statement false as written is
      contradicted, not untestable;
  definition, not a claim   a description of what was done or of a textbook fact that needs no test.
"""

from __future__ import annotations

import dataclasses

from jaxdl.analysis.stats import VERDICTS, verdict_head

__all__ = ["VERDICTS", "ENTRIES", "BY_ID", "Entry", "check_verdict", "for_experiment", "RULE_LINK"]
RULE_LINK = "one rule for every verdict, BUILD.md § Verdicts"


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str
    seed: str  # "000" or "004"
    section: str  # the seed's section, e.g. "§1", "Q3"
    text: str  # the seed's own words (lightly trimmed)
    kind: str  # "result" | "reason" | "definition"
    experiment: str | None  # the experiment that answers it; None: `fixed` is the verdict
    fixed: str | None = None  # verdict (with its reason) when no experiment answers it


def check_verdict(verdict: str) -> None:
    head = verdict_head(verdict)
    if head not in VERDICTS:
        raise ValueError(f"verdict {verdict!r}: its head {head!r} is not one of {VERDICTS}")


_E = Entry
ENTRIES = (
    # ---- seed 000 §1: loss and gradient of one sigmoid neuron, CE vs L2 ------------------------------
    _E("l2_sharp_valley", "000", "§1", "The L2 loss has a sharp valley where weight and bias are equal "
       "(these offset one another).", "result", "landscape"),
    _E("ce_valley_no_plateau", "000", "§1", "The CE loss has a similar valley, but does not plateau for weights "
       "and biases far from the global loss minimum.", "result", "landscape"),
    _E("l2_grad_extra_extrema", "000", "§1", "The L2 gradient plot has additional inflection points, as well as "
       "local minima and maxima.", "result", "landscape"),
    _E("ce_grad_offset_sigmoid", "000", "§1", "The CE gradient plot, by contrast, is merely an offset sigmoid.",
       "result", "landscape"),
    _E("l2_gradient_vanishes", "000", "§1", "The L2 loss gradient approaches zero for weights and biases far "
       "from equilibrium.", "result", "landscape"),
    _E("l2_neuron_stalls", "000", "§1", "The gradient of L2 loss disappears after some error. This could lead "
       "to the neuron being unable to learn because updates would become too small.", "reason", "landscape"),
    _E("ce_gradient_constant", "000", "§1", "CE loss approaches a constant gradient as the total loss moves away "
       "from equilibrium, which means that gradient descent should always be possible.", "result", "landscape"),
    _E("l2_far_init_mislabels", "000", "§1", "Using L2 error, the neuron runs the risk of incorrect labeling if "
       "initial weights for the data set are far from optimal.", "result", "landscape"),
    # ---- seed 000 §2: fully connected grid -----------------------------------------------------------
    _E("fc_ordering", "000", "§2", "[Sorted] according to the training iterations to reach 100% accuracy: "
       "Sigmoid with L2, Sigmoid with CE, ReLu with L2, ReLu with CE.", "result", "fc_grid"),
    _E("fc_iteration_counts", "000", "§2", "Sigmoid with L2 (10,000 iterations), Sigmoid with CE (~5,000 "
       "iterations), ReLu with L2 (~2,500 iterations), ReLu with CE (~800 iterations).", "result", "fc_grid"),
    _E("ce_more_robust", "000", "§2", "As explained in part 1, cross entropy is more robust than L2 as a loss "
       "function for learning.", "reason", "landscape"),  # part 1's argument: far starts (experiments/landscape)
    _E("relu_cheaper", "000", "§2", "ReLU is more computationally efficient, as it does not need to calculate an "
       "expensive exponential.", "reason", "fc_grid"),
    _E("relu_no_vanishing_gradient", "000", "§2", "ReLU does not have a vanishing gradient.", "reason",
       "depth"),
    _E("relu_robust_loss", "000", "§2", "[ReLU's non-vanishing gradient makes] it a more robust choice of loss "
       "function.", "reason", None,
       "not testable here (ReLU is an activation, not a loss function; its testable part is "
       "relu_no_vanishing_gradient)"),
    # ---- seed 000 §3: XOR -----------------------------------------------------------------------------
    _E("xor_needs_activation", "000", "§3", "Without an activation function in the hidden layer the network will "
       "not be able to learn the XOR function.", "result", "xor"),
    _E("xor_not_linearly_separable", "000", "§3", "The XOR function without this mapping is not linearly "
       "separable.", "reason", "xor"),
    _E("xor_activation_separates", "000", "§3", "The nonlinear mapping we use in the activation layer allows us "
       "to fit a single hyperplane that properly labels the samples.", "reason", "xor"),
    # ---- seed 000 §4: CNN with an auxiliary L2 regression branch ------------------------------------
    _E("aux_converges_faster", "000", "§4", "Including the L2 regression in our neural net helps it converge "
       "faster.", "result", "cnn_aux"),
    _E("aux_improves_accuracy", "000", "§4", "[With the branch] labeling accuracy improves at higher iteration "
       "counts.", "result", "cnn_aux"),
    _E("aux_stabilizes", "000", "§4", "[With the branch] labeling accuracy stabilizes at higher iteration "
       "counts.", "result", "cnn_aux"),
    _E("aux_fewer_blips", "000", "§4", "Without this branch the loss increases three times (three blips) as "
       "opposed to two.", "result", "cnn_aux"),
    # ---- seed 004 Q1: which loss makes logistic regression convex ------------------------------------
    _E("ce_convex_logistic", "004", "Q1", "Cross-Entropy loss guarantees a convex optimization problem.", "result",
       "convexity"),
    _E("ce_convex_from_log", "004", "Q1", "This convexity property arises primarily from the logarithmic terms "
       "in the loss function. Logarithmic functions are convex.", "reason", "convexity"),
    _E("ce_convex_by_composition", "004", "Q1", "The composition of convex functions preserves convexity, and "
       "since CE is a composition of convex functions, it remains convex.", "reason", "convexity"),
    _E("sum_scale_keep_convexity", "004", "Q1", "The summation and scaling operations do not affect convexity.",
       "reason", "convexity"),
    _E("convex_loss_convex_problem", "004", "Q1", "Convex loss functions lead to convex optimization problems.",
       "reason", "convexity"),
    _E("convex_gd_global_minimum", "004", "Q1", "[Convexity] guarantees that the optimization process converges "
       "to the global minimum (assuming appropriate learning rates).", "reason", "convexity"),
    _E("mse_not_convex_logistic", "004", "Q1", "Mean Squared Error (MSE) does not guarantee convexity.", "result",
       "convexity"),
    _E("mse_convex_per_parameter", "004", "Q1", "[MSE] is convex when considered in isolation with respect to "
       "each individual parameter, [but] not convex with respect to all parameters together.", "reason",
       "convexity"),
    _E("mse_nonconvex_from_squaring", "004", "Q1", "The nonlinearity introduced by squaring the errors prevents "
       "it from being convex in a multivariate setting.", "reason", "convexity"),
    _E("ce_fits_probabilities", "004", "Q1", "By minimizing cross-entropy loss, the model learns to adjust its "
       "weights such that the predicted probabilities closely resemble the actual class labels.", "definition",
       None, "definition, not a claim (what minimising CE means)"),
    # ---- seed 004 Q2: deep linear networks -----------------------------------------------------------
    _E("none_convex_linear_hidden", "004", "Q2", "With at least one hidden layer with linear activations, none "
       "[of CE or MSE] guarantees a convex optimization problem.", "result", "convexity"),
    _E("linear_net_is_linear_map", "004", "Q2", "Linear activation functions introduce no non-linearity: the "
       "entire network, from input to output, becomes a linear transformation.", "reason", "convexity"),
    _E("ce_nonconvex_from_sigmoid", "004", "Q2", "The sigmoid function itself is not convex across its entire "
       "domain. Therefore, CE loss is not convex.", "reason", "convexity"),
    _E("mse_is_convex_quadratic", "004", "Q2", "MSE is a quadratic function, which is convex.", "reason",
       "convexity"),
    _E("mse_linear_net_convex", "004", "Q2", "When combined with a linear network, MSE becomes a simple linear "
       "function of the squared inputs. This linear function is convex.", "reason", "convexity"),
    _E("linear_net_cannot_classify", "004", "Q2", "With linear activation functions, the network lacks the "
       "complexity to learn the decision boundaries required for binary classification; [MSE] loses the "
       "ability to distinguish between classes effectively.", "reason", "convexity"),
    # ---- seed 004 Q3: MNIST dense net and its hyperparameters ---------------------------------------
    _E("mnist_architecture", "004", "Q3", "784 inputs (flattened), hidden layers of 128, 64 and 32 ReLU units, "
       "softmax output over 10 classes.", "definition", None,
       "definition, not a claim (the network we train, 111,146 parameters, asserted in tests)"),
    _E("keras_preprocessing", "004", "Q3", "MNIST is loaded with mnist.load_data(), pixels divided by 255, labels "
       "one-hot encoded with to_categorical().", "definition", None,
       "not testable here (the seed's Keras code is not available; we scale pixels to [0, 1] likewise)"),
    _E("lr_crucial", "004", "Q3", "The choice of learning rate is crucial for training neural networks.",
       "result", "mnist_dense"),
    _E("adaptive_faster", "004", "Q3", "Learning rate schedules or adaptive optimizers like Adam [help find] "
       "faster convergence and better performance.", "result", "mnist_dense"),
    _E("batch_size_matters", "004", "Q3", "The batch size affects the speed and stability of training.",
       "result", "mnist_dense"),
    _E("large_batch_faster", "004", "Q3", "Larger batch sizes may lead to faster convergence.", "result",
       "mnist_dense"),
    _E("large_batch_memory", "004", "Q3", "[Larger batch sizes] require more memory.", "result", "mnist_dense"),
    _E("few_epochs_underfit", "004", "Q3", "Too few epochs may result in underfitting.", "result", "mnist_dense"),
    _E("many_epochs_overfit", "004", "Q3", "Too many epochs may lead to overfitting.", "result", "mnist_dense"),
    _E("early_stopping_helps", "004", "Q3", "Monitor the training/validation loss and accuracy to decide when to "
       "stop training to prevent overfitting.", "result", "mnist_dense"),
    _E("tuning_matters", "004", "Q3", "Learning rate, batch size and number of epochs must be tuned (tuning "
       "strategies).", "result", "mnist_dense"),
    # ---- seed 004 Q4: SVHN model zoo -----------------------------------------------------------------
    _E("svhn_ranking", "004", "Q4", "On SVHN: LeNet-5 97% > VGG 96% > AlexNet 95% > ResNet-18/50/101 88-91%.",
       "result", "svhn_zoo"),
    _E("lenet_suits_svhn", "004", "Q4", "LeNet-5 demonstrates the best performance, suggesting that its "
       "architecture is well-suited for recognizing digits in the SVHN dataset.", "reason", "svhn_zoo"),
    _E("resnets_less_effective", "004", "Q4", "ResNet models seem to be slightly less effective than LeNet-5, VGG "
       "and AlexNet on the SVHN dataset.", "result", "svhn_zoo"),
    _E("vgg_small_filters", "004", "Q4", "VGG is known for its deep architecture with small convolutional "
       "filters and max-pooling layers.", "reason", "svhn_zoo"),
    _E("resnet_skips_vanishing", "004", "Q4", "ResNet architectures [have] residual connections, which help "
       "mitigate the vanishing gradient problem and enable training of very deep networks.", "reason",
       "depth"),
    _E("alexnet_pioneering", "004", "Q4", "AlexNet is one of the pioneering deep convolutional architectures; "
       "LeNet-5 was one of the pioneering models for handwritten digit recognition.", "definition", None,
       "definition, not a claim (history)"),
)

BY_ID = {e.id: e for e in ENTRIES}
assert len(BY_ID) == len(ENTRIES), "duplicate claim id"
for _e in ENTRIES:
    if (_e.experiment is None) == (_e.fixed is None):
        raise AssertionError(f"{_e.id}: give exactly one of experiment and fixed")
    if _e.fixed:
        check_verdict(_e.fixed)


def for_experiment(name: str) -> list[Entry]:
    return [e for e in ENTRIES if e.experiment == name]
