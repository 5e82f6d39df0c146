# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
# pytest-xdist workers for `make test` (a number, or auto: one per core)
TEST_WORKERS ?= auto

.PHONY: demo test lint format setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml tools/install-deps.sh $(wildcard broadcaster/locale/*/LC_MESSAGES/*.po)
	VENV=$(VENV) tools/install-deps.sh

demo: setup
	$(BIN)/broadcaster demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist load

lint: setup
	$(BIN)/ruff check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf .demo out station.db station.db-* audio/rendered audio/tts-unavailable.json
