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

.PHONY: demo test install browser bench clean help

help:
	@echo "make demo   - create .venv, install everything, run one daily cycle on embedded data (no keys, no network)"
	@echo "make test   - install with test extras and run the whole test suite"
	@echo "make bench  - run the benchmark scripts under benchmarks/ (installs the peer libraries)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python $(DEPS)
	$(PIP) install --quiet --quiet --upgrade pip
	@# -qq and PYTHONWARNINGS: pip errors still print; setuptools' editable-install banners and this machine's
	@# find-links notices do not (they drowned the demo's own output)
	PYTHONWARNINGS=ignore $(PIP) install --quiet --quiet -e '.[test,sweep]' $(foreach p,$(PLUGINS),-e $(p))
	touch $(STAMP)

install: $(STAMP)

# Two consecutive sessions in a fresh copy of config/: the first run plans and sends
# orders to the simulated paper broker, the second fills them at the next open.
demo: install
	@rm -rf demo-run && mkdir -p demo-run && cp -r config demo-run/config
	$(BIN)/regimeflex --config demo-run/config run --as-of previous
	$(BIN)/regimeflex --config demo-run/config run --as-of last
	@echo "demo files (ledger, cache, reports) are in demo-run/; rerun with: make demo"

# tests/test_report_browser.py drives headless Chromium: install the Debian package when no browser is
# found (as root, else through sudo); if that is impossible, stop here with the command to run
BROWSERS := chromium chromium-browser google-chrome google-chrome-stable
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@[ -n "$$REGIMEFLEX_CHROMIUM" ] && exit 0; for b in $(BROWSERS); do command -v $$b >/dev/null 2>&1 && exit 0; done; \
	echo "installing chromium (Debian package) for the report browser tests"; \
	( $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ) \
	  || { echo "make test: chromium is needed by tests/test_report_browser.py and could not be installed;" \
	            "install it with: sudo apt-get install chromium (or set REGIMEFLEX_CHROMIUM=/path/to/chrome)"; exit 1; }

test: install browser
	$(BIN)/python -m pytest

bench: install
	$(PIP) install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
