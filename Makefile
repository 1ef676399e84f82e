# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PORT ?= 5000
SAMPLE_PORT ?= 5001
WORKERS ?= 2
FLASK = $(VENV)/bin/flask --app app

.PHONY: run test bench lint format clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

## run: upgrade the database, load the demo data if it is new, serve the mock on
## http://127.0.0.1:$(PORT) and the sample third-party app on http://localhost:$(SAMPLE_PORT)
run: $(VENV)/.run-deps
	$(FLASK) init-db
	FLASK_DEMO_SAMPLE_APP_URL=http://localhost:$(SAMPLE_PORT)/sso $(FLASK) load-demo --if-empty
	@echo "Mock iMIS: http://127.0.0.1:$(PORT)/   Sample app: http://localhost:$(SAMPLE_PORT)/"
	PORT=$(SAMPLE_PORT) WEB_CONCURRENCY=1 SAMPLE_IMIS_URL=http://127.0.0.1:$(PORT) \
	  $(VENV)/bin/gunicorn -c gunicorn.conf.py sample:app & sample=$$!; \
	trap 'kill $$sample 2>/dev/null' EXIT INT TERM; \
	PORT=$(PORT) WEB_CONCURRENCY=$(WORKERS) $(VENV)/bin/gunicorn -c gunicorn.conf.py app:app

## test: lint, check formatting, run the whole suite
test: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

## bench: requests/s of POST /token (refresh grant) against a hello-world Flask app, under wrk
bench: $(VENV)/.run-deps
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) \
		|| sudo sh -c 'apt-get update -qq && apt-get install -y -qq wrk'
	$(VENV)/bin/python bench/run.py

## format: apply ruff's fixes and formatting
format: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
