# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
# Every entry point runs as `python -m ...` from the repository root: the card's `platform/` package
# shares its name with a standard-library module, and console scripts would import the wrong one first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench-quick worker-wheels clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.server-installed: $(BIN)/python requirements/base.txt requirements/server.txt
	$(BIN)/python -m pip install --quiet -r requirements/server.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.server-installed requirements/dev.txt
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

# The embedded demo: SQLite, in-process Celery, the sim worker, and a simulated session clock.
run: $(VENV)/.server-installed
	MARKET_HOURS=$${MARKET_HOURS:-always} $(BIN)/python manage.py run_platform --host $(HOST) --port $(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

# The Windows worker's pins resolve to wheels alone for 32-bit CPython (no compiler there); needs PyPI.
# pip evaluates markers for this machine, so the pins are passed by name.
WORKER_PYTHON ?= 3.11
worker-wheels: $(BIN)/python
	$(BIN)/python -m pip download --quiet --no-deps --dest var/worker-wheels --platform win32 --implementation cp \
		--python-version $(WORKER_PYTHON) --only-binary=:all: \
		$$(sed -n 's/^\([A-Za-z0-9_.-]*==[^;]*\).*/\1/p' requirements/base.txt requirements/worker.txt)
	ls var/worker-wheels

clean:
	rm -rf var
