# Two commands do all the set-up on a fresh clone: `make up` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian's Chromium and its driver, for the browser tests (installed once, as root or with sudo).
BROWSER_DRIVER := /usr/bin/chromedriver
# The font child protection file documents are set in (Debian's fonts-dejavu-core).
PDF_FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: up test install browser lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

$(BROWSER_DRIVER):
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
		chromium chromium-driver \
	|| { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install \
		-y -q --no-install-recommends chromium chromium-driver; }

browser: $(BROWSER_DRIVER)

$(PDF_FONT):
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
		fonts-dejavu-core \
	|| { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install \
		-y -q --no-install-recommends fonts-dejavu-core; }

## Start the whole stack locally (Prefect server, case database, served flows).
up: $(STAMP) $(PDF_FONT)
	$(BIN)/safeshare up

## Install what the tests need and run the whole suite (SQLite and PostgreSQL).
test: $(STAMP) $(BROWSER_DRIVER) $(PDF_FONT)
	$(BIN)/ruff check safeshare deployments flows tasks foundations models tests benchmarks
	$(BIN)/mypy safeshare deployments flows tasks foundations models
	$(BIN)/pytest -q -p no:cacheprovider --durations=15 -n 6

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_sharing_case

clean:
	rm -rf $(VENV) .safeshare
