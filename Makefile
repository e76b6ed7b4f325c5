# `make run` installs what the app needs into .venv and starts it.
# `make test` also installs the test tools and Debian's Chromium, then runs every
# test, the browser tests included (they fail, not skip, when Chromium is missing).
# `make bench` also installs the benchmarks' peer library and runs every benchmark
# (see BENCHMARKS.md).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM := /usr/bin/chromium

.PHONY: run test bench lint sandbox chromium clean

# Extra Streamlit flags, for example: make run ARGS="--server.port 8502"
ARGS ?=

run: $(VENV)/.app-installed
	$(PY) -m streamlit run app.py $(ARGS)

test: $(VENV)/.bench-installed chromium
	REQUIRE_BROWSER=1 $(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.bench-installed chromium
	$(PY) -m benchmarks

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

sandbox: $(VENV)/.app-installed
	$(PY) -m lib.sandbox --port 8599

$(VENV)/bin/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed; installing Debian's python3-venv"; \
	  $(SUDO) apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y python3-venv && \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.app-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.app-installed $@

$(VENV)/.bench-installed: requirements.txt requirements-dev.txt requirements-bench.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $(VENV)/.app-installed $(VENV)/.dev-installed $@

# Playwright drives Debian's Chromium; `playwright install` is never used.
chromium:
	@test -x $(CHROMIUM) || { \
	  $(SUDO) apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium; }
	@test -x $(CHROMIUM) || { echo "Chromium is missing at $(CHROMIUM)"; exit 1; }

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
