# converge: the two commands a newcomer runs are `make demo` and `make test`.
# Both set themselves up from nothing (virtualenv, Python packages, npm vendor clients).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONVERGE := $(BIN)/converge
WORKSPACE ?= examples/workspace
PROJECT ?= journal
NODE_CLIENTS := tests/conformance/clients
PYTEST_ARGS ?=
# Test processes (pytest-xdist): the suite waits on loopback servers and PostgreSQL as much
# as it computes, so two workers halve its wall time on a 2-core runner.
PYTEST_WORKERS ?= 2

.PHONY: help setup demo test lint typecheck importlint pytest schema bench \
        drift-check infisical-validate platform-validate decision render \
        reconcile-infisical reconcile-vercel reconcile-supabase reconcile reconcile-dry status plan

help: ## List targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev,sandbox,dashboard]'
	@touch $@

$(NODE_CLIENTS)/node_modules/.installed: $(NODE_CLIENTS)/package.json
	@cd $(NODE_CLIENTS) && npm install --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed ## Create .venv and install converge with its dev tools, the sandbox and the dashboard

demo: setup ## Run the whole pipeline on the example workspace
	@$(BIN)/python scripts/demo.py --workspace $(WORKSPACE)

test: setup $(NODE_CLIENTS)/node_modules/.installed lint typecheck importlint pytest ## Lint, type-check, layering, every test

lint: setup
	@$(BIN)/ruff check src tests scripts benchmarks

typecheck: setup
	@$(BIN)/mypy

importlint: setup
	@$(BIN)/lint-imports

pytest: setup
	@$(BIN)/pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

schema: setup ## Regenerate JSON Schemas for the input files and artifacts into schemas/
	@$(CONVERGE) schema --dir schemas

bench: setup ## Benchmarks (print figures)
	@$(BIN)/python benchmarks/bench_pipeline.py
	@$(BIN)/python benchmarks/bench_apply.py --projects 10

# --- the brief's targets (PROJECT=name) ---
drift-check: setup ## Drift: rendered artifacts vs live vendors, per field (exit 2 on drift)
	@$(CONVERGE) --workspace $(WORKSPACE) render $(PROJECT) --check
	@$(CONVERGE) --workspace $(WORKSPACE) drift $(PROJECT)

infisical-validate: setup ## Validate Infisical inputs
	@$(CONVERGE) --workspace $(WORKSPACE) validate $(PROJECT) --only infisical

platform-validate: setup ## Validate Vercel and Supabase inputs
	@$(CONVERGE) --workspace $(WORKSPACE) validate $(PROJECT) --only platforms

decision: setup ## Evaluate policies and write the decision contract
	@$(CONVERGE) --workspace $(WORKSPACE) decide $(PROJECT)

render: setup ## Render artifacts from an allowing decision
	@$(CONVERGE) --workspace $(WORKSPACE) render $(PROJECT)

reconcile-infisical: setup ## Apply Infisical resources
	@CONVERGE_WORKSPACE=$(WORKSPACE) ./scripts/reconcile-infisical.py $(PROJECT)

reconcile-vercel: setup ## Apply Vercel environment
	@CONVERGE_WORKSPACE=$(WORKSPACE) ./scripts/reconcile-vercel.sh $(PROJECT)

reconcile-supabase: setup ## Apply Supabase configuration
	@CONVERGE_WORKSPACE=$(WORKSPACE) ./scripts/reconcile-supabase.py $(PROJECT)

reconcile: render reconcile-infisical reconcile-vercel reconcile-supabase ## Full reconciliation
	@echo "✅ All reconcilers completed for $(PROJECT)"

reconcile-dry: setup ## Dry run reconciliation
	@CONVERGE_WORKSPACE=$(WORKSPACE) ./scripts/reconcile-infisical.py $(PROJECT) --dry-run
	@CONVERGE_WORKSPACE=$(WORKSPACE) ./scripts/reconcile-vercel.sh $(PROJECT) true
	@CONVERGE_WORKSPACE=$(WORKSPACE) ./scripts/reconcile-supabase.py $(PROJECT) --dry-run

plan: setup ## Show what apply would change
	@$(CONVERGE) --workspace $(WORKSPACE) plan $(PROJECT)

status: setup ## Last runs, unfinished operations, how to resume
	@$(CONVERGE) --workspace $(WORKSPACE) status $(PROJECT)
