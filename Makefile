# One entry point for users and CI. Every target sets itself up (venv + pinned install) first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SCALE ?= cpu
STAMP := $(VENV)/.installed-stamp

.PHONY: install test results bench gpu-check lint clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile tests

results: $(STAMP)
	$(PY) -m experiments --scale=$(SCALE)

# torch is a baseline only: installed here, never needed by the library or the tests.
bench: $(STAMP)
	$(PY) -m pip install -q 'torch==2.13.0'
	$(PY) -m benchmarks.run

# The accelerator check in one bounded run (BUILD.md, "GPU check"): the system python3 of a GPU machine,
# no venv and nothing installed (it has no network). Writes results/bench_gpu.md and .json.
GPU_CHECK_FLAGS ?=
gpu-check:
	python3 -m benchmarks.gpu_check $(GPU_CHECK_FLAGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
