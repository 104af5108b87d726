# Two commands: `make run` serves the site, `make test` runs the whole suite. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STANDIN_PORT ?= 11434
# The scaled configuration: the PostgreSQL and Redis servers on this machine.
SCALED_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chatsite
SCALED_REDIS_URL ?= redis://127.0.0.1:6379/15
# Debian's chromium drives the browser tests and the page-weight bench; never a downloaded one.
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test test-scaled screenshots standin bench format clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamp files re-run the install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
	@echo ""
	@echo "  chatsite is running at http://$(HOST):$(PORT)/"
	@echo "  First: open it and sign up. The first account becomes the admin."
	@echo "  Ollama is expected at $${OLLAMA_HOST:-http://127.0.0.1:11434} (set OLLAMA_HOST to change it)."
	@echo ""
	$(BIN)/python -m chatsite.serve -b $(HOST) -p $(PORT) chatsite.asgi:application

# Installed from Debian's packages when missing and this user may (root); otherwise the browser
# tests say how and are skipped (under CI=true they fail instead).
chromium:
	@if [ ! -x "$(CHROMIUM)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "make: installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

test: $(VENV)/.installed-dev chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

test-scaled: $(VENV)/.installed-dev chromium
	DATABASE_URL=$(SCALED_DATABASE_URL) REDIS_URL=$(SCALED_REDIS_URL) $(BIN)/python -m pytest

# The README's pictures: the browser tests that take them, told to write into docs/.
screenshots: $(VENV)/.installed-dev chromium
	CHATSITE_SCREENSHOTS=docs $(BIN)/python -m pytest -q \
		tests/browser/test_chat_browser.py::test_the_chat_page_screenshot_for_the_readme \
		tests/browser/test_library_browser.py::test_an_admin_pulls_a_model_watches_it_reach_100_percent_then_deletes_it \
		tests/browser/test_layout_browser.py::test_phone_and_dark_screenshots_for_the_readme

# Benchmarks print figures and write bench/results.md; they are not part of `make test`.
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

bench: $(VENV)/.installed-bench chromium
	BENCH_DATABASE_URL=$(SCALED_DATABASE_URL) BENCH_REDIS_URL=$(SCALED_REDIS_URL) \
		$(BIN)/python -m bench.run_all

standin: $(VENV)/.installed-dev
	$(BIN)/python -m tests.ollama_standin --port $(STANDIN_PORT)

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV)
