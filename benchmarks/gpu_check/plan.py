"""What the GPU check runs: its sections in order, their titles, their shares of the budget, and the sizes
of each workload for one H100/H200 (`gpu`) and for a CPU test run (`tiny`). Data only: the parent
process reads it without importing JAX."""

from __future__ import annotations

SECTIONS = ("device", "fc_grid", "fc_program", "cnn_batching", "zoo_throughput", "zoo_training")
TITLES = {
    "device": "Device and bf16 matmul peak",
    "fc_grid": "FC grid: engine vs one model at a time",
    "fc_program": "FC grid experiment: one program vs one program per cell (whole process)",
    "cnn_batching": "CNN batching: vmap all vs groups vs one at a time",
    "zoo_throughput": "Model zoo: training throughput, XLA FLOPs and MFU (bf16 on GPU)",
    "zoo_training": "Model zoo: a short training run on svhn_synth",
}
# Share of the budget left that each section may use; time a section does not use goes to the next ones.
SHARES = {"device": 0.06, "fc_grid": 0.15, "fc_program": 0.2, "cnn_batching": 0.17, "zoo_throughput": 0.40,
          "zoo_training": 0.20}
# A section starts no new measurement after this fraction of its cap (and is killed at the cap), so what
# it measured before is kept.
SOFT_FRACTION = 0.85
ZOO_ORDER = ("resnet18", "lenet5", "alexnet", "vgg16", "resnet50", "resnet101")  # the headline model first

SIZES = {
    "gpu": {
        "matmul_n": 8192, "matmul_repeats": 5,
        "fc_models": (16384, 65536), "fc_steps": 500, "fc_baseline_models": 8, "fc_repeats": 3,
        "program_runs": ((), ("--seeds=1024",)),
        "cnn_models": 16, "cnn_batches": (64, 256), "cnn_groups": (None, 4, 1), "cnn_steps": 10, "cnn_repeats": 3,
        "cnn_eval_size": 256, "cnn_fallback_size": 4000,
        # zoo_extra: (model, engine group) rows after the six: ResNet-18 with its seeds one at a time.
        "zoo_models": ZOO_ORDER, "zoo_extra": (("resnet18", 1),), "zoo_batch": 512, "zoo_steps": 50, "zoo_seeds": 2,
        "zoo_repeats": 3,
        "train_models": ("lenet5", "resnet18"), "train_size": 30_000, "test_size": 5_000, "train_epochs": 3,
        "train_batch": 128, "train_seeds": 2, "min_section_s": 20.0,
    },
    "tiny": {
        "matmul_n": 128, "matmul_repeats": 3,
        "fc_models": (64,), "fc_steps": 20, "fc_baseline_models": 2, "fc_repeats": 2,
        "program_runs": (("--activation=relu", "--seeds=2", "--steps=30", "--lr=0.5"),),
        "cnn_models": 4, "cnn_batches": (8,), "cnn_groups": (None, 1), "cnn_steps": 2, "cnn_repeats": 1,
        "cnn_eval_size": 32, "cnn_fallback_size": 512,
        "zoo_models": ("lenet5",), "zoo_extra": (), "zoo_batch": 8, "zoo_steps": 2, "zoo_seeds": 2, "zoo_repeats": 1,
        "train_models": ("lenet5",), "train_size": 256, "test_size": 64, "train_epochs": 1,
        "train_batch": 32, "train_seeds": 2, "min_section_s": 0.5,
    },
}
