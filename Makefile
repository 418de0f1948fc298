# Two commands matter: `make run` and `make test`. Everything else is a helper for them.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= test,dev
DATA_DIR ?= ./var
PYTEST_ARGS ?=
# Registries drop connections on large wheels (playwright, 50 MB): retry, and resume a cut download
# where it stopped instead of failing the whole install (--resume-retries needs the upgraded pip).
PIP_NET := --retries 10 --timeout 60
PIP_RESUME := $(PIP_NET) --resume-retries 20

.PHONY: run test lint fmt bench bench-load lock install clean

# The Python client (clients/python) installs beside the server, editable, so the tests drive it.
CLIENT := ./clients/python

$(STAMP): pyproject.toml constraints.txt clients/python/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_NET) --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_RESUME) -c constraints.txt -e '.[$(EXTRAS)]' -e $(CLIENT)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/customization-vault serve --data-dir $(DATA_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy customization_vault screening retention api clients/python/customization_vault_client
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet $(PIP_RESUME) -c constraints.txt -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py

# Issue 15's load run: serve --workers 4 + 2 workers on PostgreSQL and S3/KMS (moto_server), 5 minutes by
# default, then the verifier (`make bench-load LOAD_ARGS="--seconds 60"` for a short one).
LOAD_ARGS ?=
bench-load: $(STAMP)
	$(BIN)/python benchmarks/bench_load.py $(LOAD_ARGS)

# Re-pin after changing dependencies in pyproject.toml: installs into the venv, freezes what resolved.
lock:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]' -e $(CLIENT)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt
	touch $(STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
