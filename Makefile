# nva-failover: `make test` sets everything up on a fresh machine (python3, node, npm, make) and runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup chromium lint typecheck security test demo console bench chaos clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt cli/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet -e cli  # the nva-failover command, which tests/cli runs
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_STAMP): requirements-security.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-security.txt
	touch $@

# checkov's Bicep framework, offline; every finding is fixed or waived in infra/checkov-waivers.json with a reason.
security: $(CHECKOV_STAMP) $(PY_STAMP)
	$(BIN)/python infra/checkov_gate.py $(CHECKOV_VENV)/bin/checkov

lint: $(PY_STAMP)
	$(BIN)/ruff check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

# Headless Chromium for the console's browser test: Debian's package, installed (as root, with apt-get) where it is missing.
# Elsewhere: install Chromium yourself and set NVA_HA_CHROMIUM to its path.
chromium:
	@if [ -n "$$NVA_HA_CHROMIUM" ] && [ -x "$$NVA_HA_CHROMIUM" ] || command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "make chromium: Chromium is missing; run 'sudo apt-get install chromium' (Debian) or set NVA_HA_CHROMIUM" >&2; exit 1; fi

test: setup chromium lint typecheck security
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

# Racing actors, crash at every step, injected faults, hostile input, flap damping, at full size: chaos/results.json.
chaos: setup
	$(BIN)/python -m chaos

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
