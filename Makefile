# One entry point for users and CI. Every target sets itself up (venv + pinned install) first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SCALE ?= cpu
STAMP := $(VENV)/.installed-stamp

.PHONY: help install test results bench gpu-check lint clean

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# uv resolves and installs the pinned set in ~7 s where pip takes ~45 s (a fresh CI clone pays it).
	@# --compile-bytecode: every run starts from .pyc files, also where PYTHONDONTWRITEBYTECODE is set (as on
	@# the machine these numbers come from, and in many containers): importing jax took 1.7 s from source, 0.65 s from .pyc (+5 s of install).
	$(PY) -m pip install -q 'uv==0.13.9'
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)  ## create .venv and install jaxdl with its pinned dependencies

test: $(STAMP)  ## run the test suite (~3 min on 2 cores from a fresh clone, set-up included)
	$(PY) -m pytest -n 2 --dist loadfile --durations=15 tests

results: $(STAMP)  ## rerun every experiment, rewrite results/ and the README claims block (SCALE=cpu|full)
	$(PY) -m experiments --scale=$(SCALE)

# torch is a baseline only: installed here, never needed by the library or the tests.
bench: $(STAMP)  ## benchmarks side by side (installs the bench extra: PyTorch CPU) -> results/bench.md
	@# pip, not uv: only pip finds the CPU build of torch that lies on this disk (see BUILD.md).
	$(PY) -m pip install -q 'pip==26.3'
	$(PY) -m pip install -q -c constraints.txt -e '.[bench]'
	$(PY) -m benchmarks.run

# The accelerator check in one bounded run (BUILD.md, "GPU check"): the system python3 of a GPU machine,
# no venv and nothing installed (it has no network). Writes results/bench_gpu.md and .json.
GPU_CHECK_FLAGS ?=
gpu-check:  ## the accelerator check, system python3, no venv -> results/bench_gpu.md
	python3 -m benchmarks.gpu_check $(GPU_CHECK_FLAGS)

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .

clean:  ## remove .venv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache
