# Cliffhanger: the README's two commands, plus helpers. Debian packages the site uses:
# ffmpeg (ffprobe checks uploaded videos), redis-server (shared rate limits; optional in
# development), chromium (browser tests).
#   make run    set everything up and serve the demo on http://127.0.0.1:5000
#   make test   set everything up, lint (ruff, mypy, import contracts) and run the test suite
#   make serve / make scheduler   the web server or the scheduler alone (no demo data)
#   make bench  run the short benchmarks, rewrite docs/benchmarks.md's tables (PostgreSQL needed)
#   make translations   extract the marked strings, merge them into each language, compile
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export FLASK_APP := wsgi:app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint lock migrate demo serve scheduler bench clean \
	translations translations-extract translations-update translations-compile translations-init

# `make run PORT=5077`: the demo's mail and the servers' links point at the port served.
run demo: export PUBLIC_URL ?= http://$(HOST):$(PORT)

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The locked versions (requirements/test.txt, compiled from pyproject.toml by `make lock`),
# then the project itself without resolving anything again.
$(STAMP): pyproject.toml requirements/test.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing dependencies in pyproject.toml: re-resolve both locks (run and test).
LOCK_FLAGS := --quiet --strip-extras --no-emit-index-url --no-emit-find-links
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile $(LOCK_FLAGS) -o requirements/run.txt pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra test -o requirements/test.txt pyproject.toml

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
	@command -v ffprobe >/dev/null || echo "NOTE: no ffprobe (apt-get install ffmpeg): uploads are refused and the tests that upload videos are SKIPPED"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Translations (README: Languages). The .mo files the site reads are committed, so a clean clone
# serves every language; after changing marked strings run `make translations`, translate the
# new entries in translations/<code>/LC_MESSAGES/messages.po, and run `make translations` again.
PYBABEL := $(BIN)/pybabel
# Besides _ / gettext / ngettext: lazy ones (form labels) and the messages services raise, which
# pages show in the reader's language (ServiceError.localized); tests/web/test_i18n.py reads this.
BABEL_KEYWORDS := _l lazy_gettext ServiceError NotFound Forbidden Conflict RemittanceRefused \
	MediaRejected PeriodOpen ReportRejected Label
translations: translations-update translations-compile

translations-extract: $(STAMP)
	$(PYBABEL) -q extract -F babel.cfg $(addprefix -k ,$(BABEL_KEYWORDS)) --no-location --sort-output \
		--project Cliffhanger -c TRANSLATORS: -o translations/messages.pot marketplace templates

translations-update: translations-extract
	$(PYBABEL) -q update -i translations/messages.pot -d translations --no-fuzzy-matching \
		--ignore-obsolete

translations-compile: $(STAMP)
	$(PYBABEL) compile -d translations --statistics

# A new language: `make translations-init LANGUAGE=pt`, then add it to LANGUAGES
# (marketplace/formatting.py) and to users.language's check (a migration).
translations-init: translations-extract
	$(PYBABEL) init -i translations/messages.pot -d translations -l $(LANGUAGE)

bench: $(STAMP)
	$(BIN)/python bench/report.py --write

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
