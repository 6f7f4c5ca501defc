# nbtools: two commands on a fresh machine (Python >= 3.10 and make):
#   make run    serve the dashboards on http://127.0.0.1:8866
#   make test   run every test (unit tests, notebooks, dashboards in a browser)
# Everything is installed into ./.venv; set PYTHON=python3.12 (say) to choose the interpreter.

PYTHON ?= python3
VENV ?= .venv
PORT ?= 8866
PYTEST_ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.nbtools-installed
TEST_STAMP := $(VENV)/.nbtools-test-installed

WORKSHOP_IP ?= 0.0.0.0
DATA_DIR ?= workshop-data
POOL ?= 2
PREHEAT ?=
MAX_UPLOAD_MB ?= 20

.PHONY: help run workshop test lab bench clean distclean

help:
	@echo "make run        serve the dashboards on http://127.0.0.1:$(PORT) (creates $(VENV) on first use)"
	@echo "make workshop   serve the dashboards to a class (token, files only in $(DATA_DIR)/, kernels kept ready;"
	@echo "                POOL=30 PREHEAT=nanoimpact DATA_DIR=... see README 'Running a workshop')"
	@echo "make test       install the test extras and run the whole test suite"
	@echo "make lab        JupyterLab on notebooks/"
	@echo "make bench      run the benchmarks in benchmarks/"
	@echo "make clean      remove caches and test artifacts (distclean: also $(VENV))"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# re-install when the dependencies change; otherwise reuse the stamp (fast)
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -e .
	@touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[test]'
	@touch $@

run: $(STAMP)
	@echo "nbtools dashboards: open http://127.0.0.1:$(PORT)/ in your browser (Ctrl+C to stop)"
	$(BIN)/nbtools serve --port $(PORT) --ip 127.0.0.1

workshop: $(STAMP)
	$(BIN)/nbtools serve --workshop --port $(PORT) --ip $(WORKSHOP_IP) --data-dir $(DATA_DIR) \
		--pool $(POOL) --max-upload-mb $(MAX_UPLOAD_MB) $(foreach d,$(PREHEAT),--preheat $(d))

test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: $(STAMP)
	@set -e; for f in benchmarks/*.py; do \
		[ -e "$$f" ] || { echo "no benchmarks in benchmarks/"; break; }; \
		echo "== $$f"; $(BIN)/python "$$f"; \
	done

clean:
	rm -rf .pytest_cache .hypothesis tests/_artifacts benchmarks/_out build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
