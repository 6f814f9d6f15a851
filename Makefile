# The two entry points: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app marketplace
PORT ?= 5000
# `make run` is the developer's server: no SECRET_KEY needed. Production sets SECRET_KEY instead.
export MARKETPLACE_ENV ?= development

.PHONY: run test lint format bench bench-small bench-rush setup translations migrate seed clean prod-local prod-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d marketplace/translations >/dev/null

migrate: setup
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed demo --if-empty

# The scheduled jobs run inside the server process (SCHEDULER_ENABLED, see marketplace/jobs.py).
run: seed
	@$(FLASK) seed logins
	SCHEDULER_ENABLED=1 $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every issue-16 goal against its reference in one run, on PostgreSQL (bench/__main__.py; full size takes
# about half an hour); writes docs/benchmarks.md. BENCH_SCALE=small (or `make bench-small`) is a quick
# check that only prints. BENCH_DATABASE_URL names the PostgreSQL server (default: postgres@127.0.0.1:5432).
# Never run by CI.
bench: setup
	$(BIN)/python -m bench

bench-small: setup
	BENCH_SCALE=small $(BIN)/python -m bench

# The deadline rush over HTTP on gunicorn + PostgreSQL (docs/bidding.md); writes docs/benchmarks.md.
bench-rush: setup
	$(BIN)/python -m bench.rush --write

# The production topology on this machine (deploy/Procfile through honcho: 2 gunicorn workers, the scheduler,
# the task worker) on the local PostgreSQL and Redis, its own database (marketplace_prod_local), in the
# background; PROD_LOCAL_PORT (8471) serves it. `make prod-check` stops it all (deploy/prod-local.sh).
prod-local: setup
	@test -x $(BIN)/honcho || $(BIN)/pip install --quiet -e '.[prod]'
	sh deploy/prod-local.sh start

prod-check:
	sh deploy/prod-local.sh stop

extract: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o marketplace/translations/messages.pot .
	$(BIN)/pybabel update -i marketplace/translations/messages.pot -d marketplace/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance .pytest_cache
