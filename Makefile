# Cliffhanger: the README's two commands, plus helpers.
#   make run    set everything up and serve the demo on http://127.0.0.1:5000
#   make test   set everything up and run ruff + the test suite
#   make serve / make scheduler   the web server or the scheduler alone (no demo data)
#   make bench  run the short benchmarks, rewrite docs/benchmarks.md's tables (PostgreSQL needed)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export FLASK_APP := wsgi:app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint migrate demo serve scheduler bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask demo load

run: demo
	@echo "Serving Cliffhanger on http://$(HOST):$(PORT)  (Ctrl-C stops the web server and the scheduler)"
	$(BIN)/python -m marketplace.demo.devserver --host $(HOST) --port $(PORT)

serve: migrate
	$(BIN)/flask run --host $(HOST) --port $(PORT)

scheduler: migrate
	$(BIN)/flask scheduler run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy marketplace
	$(BIN)/mypy --strict ledger
	$(BIN)/lint-imports

test: lint
	@command -v chromium >/dev/null || echo "NOTE: no Chromium (apt-get install chromium): the browser journeys in tests/browser are SKIPPED"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/report.py --write

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
