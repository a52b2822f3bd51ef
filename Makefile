# nva-failover: `make test` sets everything up on a fresh machine (python3, node, npm, make) and runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

# The host's view (tests/functions/test_host_view.py): the Functions worker library needs Python 3.13 (pyenv's, or on PATH).
HOST_VENV  := .venv-host
HOST_STAMP := $(HOST_VENV)/.installed
PYTHON313  ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))

.PHONY: setup chromium lint typecheck security host-env test demo console bench chaos clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet -e .  # the nva-failover command (pyproject.toml), which tests/cli runs
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_STAMP): requirements-security.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-security.txt
	touch $@

$(HOST_STAMP): requirements.txt requirements-host.txt
	$(PYTHON313) -m venv $(HOST_VENV)
	$(HOST_VENV)/bin/python -m pip install --quiet --upgrade pip
	grep -v '^azure-functions' requirements.txt > $(HOST_VENV)/app-requirements.txt
	$(HOST_VENV)/bin/python -m pip install --quiet -r requirements-host.txt -r $(HOST_VENV)/app-requirements.txt
	touch $@

# Where no Python 3.13 is to be had (PyPI ships no interpreter), the worker's own indexing is skipped, saying so; the
# bindings are still checked against the Functions schemas in the main environment.
ifneq ($(PYTHON313),)
host-env: $(HOST_STAMP)
else
host-env:
	@echo "make host-env: no Python 3.13 found (set PYTHON313=/path/to/python3.13); the worker-indexing test will be skipped"
endif

# checkov's Bicep framework, offline; every finding is fixed or waived in infra/checkov-waivers.json with a reason.
security: $(CHECKOV_STAMP) $(PY_STAMP)
	$(BIN)/python infra/checkov_gate.py $(CHECKOV_VENV)/bin/checkov

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

typecheck: $(PY_STAMP)
	$(BIN)/mypy

# Headless Chromium for the console's browser test: Debian's package, installed (as root, with apt-get) where it is missing.
# Elsewhere: install Chromium yourself and set NVA_HA_CHROMIUM to its path.
chromium:
	@if [ -n "$$NVA_HA_CHROMIUM" ] && [ -x "$$NVA_HA_CHROMIUM" ] || command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "make chromium: Chromium is missing; run 'sudo apt-get install chromium' (Debian) or set NVA_HA_CHROMIUM" >&2; exit 1; fi

test: setup chromium lint typecheck security host-env
	$(BIN)/python -m pytest

# A failover on emulated Azure, as it happens (realistic latency profile scaled by 0.5; under a minute).
demo: setup
	$(BIN)/python -m demo

# The demo's world left up with the operators' console on http://127.0.0.1:7071 (the URL with its key is printed); Ctrl-C stops it.
console: setup
	$(BIN)/python -m demo.console

# Detection, actuation against the physical limit and the serial approach, throttled scale, calls, start-up:
# writes bench/results.json and bench/results.md (several minutes).
bench: setup
	$(BIN)/python -m bench

# Racing actors, crash at every step, injected faults, hostile input, flap damping, ten minutes of appliance role flips,
# at full size: chaos/results.json.
chaos: setup
	$(BIN)/python -m chaos

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(HOST_VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
