# Two commands do all the set-up on a fresh clone: `make up` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The web app's styles (GOV.UK Frontend) and the browser tests' accessibility audit (axe-core):
# the npm packages pinned in frontend/package-lock.json, built into safeshare/web/static/built.
FRONTEND := safeshare/web/static/built/.built
# Debian's Chromium and its driver, for the browser tests (installed once, as root or with sudo).
BROWSER_DRIVER := /usr/bin/chromedriver
# Node.js and npm: the styles' build, and the OpenID provider the sign-in tests start (Debian's
# nodejs and npm, installed when npm is missing).
NODE := /usr/bin/npm
# The font child protection file documents are set in (Debian's fonts-dejavu-core).
PDF_FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: up test install bytecode browser lint bench bench-topology statements clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(FRONTEND): frontend/package.json frontend/package-lock.json frontend/build.mjs frontend/safeshare.scss | $(NODE)
	cd frontend && npm ci --omit=optional --no-audit --no-fund && npm run --silent build
	touch $(FRONTEND)

install: $(STAMP) $(FRONTEND)

# safeshare's own modules compiled ahead (only those changed since, each time): a process that
# may not write bytecode (PYTHONDONTWRITEBYTECODE, or an install its user cannot write to)
# would otherwise compile every module it imports at every start, each CLI command included.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q safeshare deployments flows tasks foundations models

$(BROWSER_DRIVER):
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
		chromium chromium-driver \
	|| { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install \
		-y -q --no-install-recommends chromium chromium-driver; }

browser: $(BROWSER_DRIVER)

$(NODE):
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
		nodejs npm \
	|| { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install \
		-y -q --no-install-recommends nodejs npm; }

$(PDF_FONT):
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
		fonts-dejavu-core \
	|| { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install \
		-y -q --no-install-recommends fonts-dejavu-core; }

## Start the whole stack locally (Prefect server, case database, served flows).
up: $(STAMP) bytecode $(FRONTEND) $(PDF_FONT)
	$(BIN)/safeshare up

## Install what the tests need and run the whole suite (SQLite and PostgreSQL).
test: $(STAMP) bytecode $(FRONTEND) $(BROWSER_DRIVER) $(PDF_FONT) $(NODE)
	$(BIN)/ruff check safeshare deployments flows tasks foundations models tests benchmarks
	$(BIN)/ruff format --check safeshare deployments flows tasks foundations models tests benchmarks
	$(BIN)/mypy safeshare deployments flows tasks foundations models
	$(BIN)/pytest -q -p no:cacheprovider --durations=15 -n 4

# Which statements only the flow tests kept to SQLite would send to PostgreSQL (every PostgreSQL
# test, those included, each statement put to its test: tests/harness/statements/).
statements: $(STAMP) $(FRONTEND) $(BROWSER_DRIVER) $(PDF_FONT)
	rm -rf .statements && mkdir -m 700 .statements
	SAFESHARE_TEST_EVERY_DATABASE=1 SAFESHARE_TEST_STATEMENTS=$(CURDIR)/.statements \
	PYTHONPATH=$(CURDIR)/tests/harness/statements $(BIN)/pytest -q -p no:cacheprovider \
	  -p statements_plugin -n 6 -k postgresql tests/flow tests/tasks tests/e2e tests/harness
	PYTHONPATH=tests $(BIN)/python -m harness.statements .statements

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_sharing_case

bench-topology: $(STAMP)
	$(BIN)/python -m benchmarks.bench_topology

clean:
	rm -rf $(VENV) .safeshare frontend/node_modules safeshare/web/static/built
