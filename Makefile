# RegimeFlex — two commands: `make demo` and `make test`.
# Everything a test needs is installed by these targets (a fresh clone needs nothing else).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# the separate plugin distributions (regimeflex-polygon, -alpaca, -telegram, ...)
PLUGINS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
STAMP  := $(VENV)/.installed
DEPS   := pyproject.toml $(foreach p,$(PLUGINS),$(p)/pyproject.toml)

.PHONY: demo test install bench clean help

help:
	@echo "make demo   - create .venv, install everything, run one daily cycle on embedded data (no keys, no network)"
	@echo "make test   - install with test extras and run the whole test suite"
	@echo "make bench  - run the benchmark scripts under benchmarks/ (installs the peer libraries)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python $(DEPS)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test,sweep]' $(foreach p,$(PLUGINS),-e $(p))
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/regimeflex --config config run

test: install
	$(BIN)/python -m pytest

bench: install
	$(PIP) install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
