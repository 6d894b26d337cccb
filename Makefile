# Two commands do all the set-up on a fresh clone: `make up` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test install lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start the whole stack locally (Prefect server, case database, served flows).
up: $(STAMP)
	$(BIN)/safeshare up

## Install what the tests need and run the whole suite (SQLite and PostgreSQL).
test: $(STAMP)
	$(BIN)/ruff check safeshare flows tasks models deployments tests benchmarks
	$(BIN)/mypy safeshare flows tasks models deployments
	$(BIN)/pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_sharing_case

clean:
	rm -rf $(VENV) .safeshare
