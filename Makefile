# Two entry points for a fresh machine (run as root: the Asterisk sandbox is a chroot).
#   make serve   run the receptionist locally against the Asterisk sandbox
#   make test    lint, then run every test (builds the sandbox on first use)
#   make test-unit  the unit tests only: no Asterisk, no browser (about a minute)
#   make docker-test  build and run docker/compose.yaml and call it (installs Docker if absent)
#   make docker-bases the base images for docker/, pulled or made locally (docker/README.md)
VENV ?= .venv
PYTHON ?= python3

.PHONY: serve test test-unit docker-test docker-bases lock lint bench clean test-tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

serve: $(VENV)/.installed
	$(VENV)/bin/receptionist serve --sandbox

# The web page's tests drive Debian's headless Chromium (never a downloaded browser) and
# run the nginx and Caddy examples from docs/web.md.
test-tools:
	@command -v chromium >/dev/null && command -v nginx >/dev/null && command -v caddy >/dev/null || \
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends chromium fonts-dejavu-core nginx caddy openssl; }

test: $(VENV)/.installed test-tools
	$(VENV)/bin/ruff check .
	command -v systemd-analyze >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends systemd; }
	$(VENV)/bin/mypy
	# The store tests start their own PostgreSQL cluster from Debian's package.
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q --no-install-recommends postgresql; }
	$(VENV)/bin/receptionist sandbox build
	$(VENV)/bin/python -m pytest

# One worker per core: the unit tests share nothing but the machine. Their temporary
# files (SQLite call logs that fsync, a PostgreSQL cluster) go to tmpfs when there is one:
# they test no disk, and a busy disk made the store tests half again as slow. A unit test
# still running after two minutes is stuck: its stack is printed (the run goes on).
UNIT_TMPDIR ?= $(shell test -d /dev/shm -a -w /dev/shm && echo /dev/shm || echo "$${TMPDIR:-/tmp}")
test-unit: $(VENV)/.installed
	TMPDIR=$(UNIT_TMPDIR) $(VENV)/bin/python -m pytest -m unit -n auto -o faulthandler_timeout=120

# Pulled from the image registry, or made with debootstrap where it cannot be reached.
docker-bases:
	sh docker/bases.sh

docker-test: $(VENV)/.installed
	$(VENV)/bin/receptionist sandbox build
	$(VENV)/bin/python -m pytest tests/docker -m docker

# docker/requirements.lock: the exact versions (with hashes) the image installs.
lock: $(VENV)/.installed
	PIP_CONSTRAINT= $(VENV)/bin/pip-compile --quiet --allow-unsafe --generate-hashes \
	  --strip-extras --no-emit-index-url --no-emit-find-links \
	  -o docker/requirements.lock pyproject.toml

bench: $(VENV)/.installed
	$(VENV)/bin/receptionist sandbox build
	$(VENV)/bin/python -m benchmarks --json benchmarks/latest.json

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache
