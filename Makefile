# outlet-lens: the verbs of the project. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KERNEL := outlet-lens
CORPUS ?=
GROUP_BY ?= outlet
STAMP := $(VENV)/.installed

export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help setup report test test-fast notebooks lab bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (outlet-lens)" >/dev/null
	touch $(STAMP)

setup: $(STAMP) ## Create .venv from the pinned lock, install the package, register the kernel (idempotent)

report: setup ## Execute the notebooks and render HTML into reports/ (CORPUS=path for your own corpus)
	$(BIN)/python -m analysis report $(if $(CORPUS),--corpus $(CORPUS)) --group-by $(GROUP_BY)

test: setup ## Run the whole suite: package tests, then every notebook under nbval
	$(BIN)/python -m pytest -q tests
	$(BIN)/python -m pytest -q -p no:randomly --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks

test-fast: setup ## Package tests without the slow ones
	$(BIN)/python -m pytest -q -m "not slow and not browser" tests

notebooks: setup ## Re-execute the notebooks in place on the seed corpus (the outputs nbval compares)
	for nb in notebooks/[0-9]*.ipynb; do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace --log-level=WARN \
	    --ExecutePreprocessor.kernel_name=$(KERNEL) --ExecutePreprocessor.record_timing=False $$nb || exit 1; \
	done

lab: setup ## Open JupyterLab on the notebooks
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: setup ## Run the benchmarks (needs ../shared/eval and ../shared/corpora)
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## Remove the environment and everything derived
	rm -rf $(VENV) reports data/processed .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
