# Two entry points for a fresh machine (run as root: the Asterisk sandbox is a chroot).
#   make serve   run the receptionist locally against the Asterisk sandbox
#   make test    lint, then run every test (builds the sandbox on first use)
VENV ?= .venv
PYTHON ?= python3

.PHONY: serve test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

serve: $(VENV)/.installed
	$(VENV)/bin/receptionist serve --sandbox

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/receptionist sandbox build
	$(VENV)/bin/python -m pytest

bench: $(VENV)/.installed
	$(VENV)/bin/receptionist sandbox build
	$(VENV)/bin/python -m benchmarks --json benchmarks/latest.json

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache
