# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PORT ?= 5000
SAMPLE_PORT ?= 5001
WORKERS ?= 2
FLASK = $(VENV)/bin/flask --app app
# Set to run the suite on PostgreSQL too, e.g.
# TEST_DATABASE_URL=postgresql+psycopg://imis_test:imis_test@127.0.0.1:5432/imis_test
TEST_DATABASE_URL ?=

.PHONY: run test bench lint format clean lock upgrade lock-check

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

# The pins: requirements.in and requirements-dev.in are compiled by uv into requirements.txt and
# requirements-dev.txt, every package pinned with its hashes. pip installs them in hash-checking
# mode. An existing pin is kept unless `make upgrade` is asked for.
LOCK = $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock"
# `make upgrade ONLY=flask` moves one package (and what it needs); `make upgrade` moves all.
ONLY ?=
UPGRADE = $(if $(ONLY),$(foreach p,$(ONLY),--upgrade-package $(p)),--upgrade)

## lock: recompile the pins after editing requirements.in or requirements-dev.in (keeps the
## versions already pinned; new packages get their newest release)
lock: $(VENV)/.dev-deps
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -o requirements-dev.txt

## upgrade: move every pin (or those named in ONLY) to its newest release within the ranges of
## the .in files, then run `make test`
upgrade: $(VENV)/.dev-deps
	$(LOCK) $(UPGRADE) requirements.in -o requirements.txt
	$(LOCK) $(UPGRADE) requirements-dev.in -o requirements-dev.txt

## lock-check: fail, naming `make lock`, when a .txt lock no longer matches its .in file, or when
## pyproject.toml and requirements.in list different dependencies
lock-check: $(VENV)/.dev-deps
	$(VENV)/bin/python scripts/check_lock.py

## run: upgrade the database, load the demo data if it is new, serve the mock on
## http://127.0.0.1:$(PORT) and the sample third-party app on http://localhost:$(SAMPLE_PORT)
run: $(VENV)/.run-deps
	$(FLASK) init-db
	FLASK_DEMO_SAMPLE_APP_URL=http://localhost:$(SAMPLE_PORT)/sso $(FLASK) load-demo --if-empty
	@echo "Mock iMIS: http://127.0.0.1:$(PORT)/   Sample app: http://localhost:$(SAMPLE_PORT)/"
	PORT=$(SAMPLE_PORT) WEB_CONCURRENCY=1 SAMPLE_IMIS_URL=http://127.0.0.1:$(PORT) \
	  $(VENV)/bin/python serve.py sample:app & sample=$$!; \
	trap 'kill $$sample 2>/dev/null' EXIT INT TERM; \
	PORT=$(PORT) WEB_CONCURRENCY=$(WORKERS) $(VENV)/bin/python serve.py app:app

## test: lint, check formatting, run the whole suite on SQLite, then on PostgreSQL when
## TEST_DATABASE_URL is set (in CI, where CI=true, it must be: .ci/run sets it)
test: lock-check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	env -u TEST_DATABASE_URL $(VENV)/bin/pytest
	@if [ -n "$(TEST_DATABASE_URL)" ]; then \
	  echo "== The suite again, on PostgreSQL (the browser tests run once, above: their servers use SQLite)"; \
	  TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(VENV)/bin/pytest -m "not e2e and not package"; \
	elif [ "$$CI" = true ]; then \
	  echo "PostgreSQL: TEST_DATABASE_URL is not set, and CI must test PostgreSQL too." >&2; \
	  exit 1; \
	else \
	  echo "PostgreSQL skipped: TEST_DATABASE_URL is not set (see README.md, Tests)."; \
	fi

## bench: requests/s of the mock's hot paths, served as `make run` serves them, against
## hello-world Flask on granian (2 workers), under wrk; see docs/serving.md
bench: $(VENV)/.run-deps
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) \
		|| sudo sh -c 'apt-get update -qq && apt-get install -y -qq wrk'
	$(VENV)/bin/python bench/run.py  # BENCH_DATABASE_URL=postgresql+psycopg://... adds PostgreSQL

## format: apply ruff's fixes and formatting
format: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build imis_mock.egg-info
