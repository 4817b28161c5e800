# gopherlite: two commands set everything up on a fresh machine.
#   make lab   create .venv/ (if missing), install, open JupyterLab on 127.0.0.1 with token auth
#   make test  create .venv/ (if missing), install with test extras, run every test tier
# Only python3 (3.11+) and make are needed. Versions come from constraints.txt, the exact set
# the test suite last passed with (refresh it with `make constraints`).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: lab test install lint format test-unit test-notebooks test-browser constraints colab clean

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "gopherlite needs Python 3.11+, found " + sys.version'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir="$(CURDIR)" \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root ) \
		$$( [ -f notebooks/00_welcome.ipynb ] && echo notebooks/00_welcome.ipynb )

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Every tier: lint, unit and multi-device/multi-process tests (they start their own processes),
# and notebooks executed headless. Pytest's own summary line closes the run.
test: lint
	$(PY) -m pytest -n $(PYTEST_WORKERS) --durations=15 tests

test-unit: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests --ignore=tests/notebooks --ignore=tests/browser

# Every chapter executed headless on a fresh kernel in smoke mode (GOPHERLITE_SMOKE=1).
test-notebooks: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests/notebooks

# JupyterLab in headless Chromium (Debian's `chromium` package; skipped with a reason outside
# CI when it is missing, e.g. `sudo apt-get install chromium`).
test-browser: install
	$(PY) -m pytest tests/browser

constraints: install
	$(PY) -m pip freeze --exclude-editable | grep -v '^gopherlite' > constraints.txt

# Point every chapter's Colab badge and install cell at your fork: make colab REPO=owner/name
colab: install
	$(PY) -m gopherlite.workbook.colab "$(REPO)" --branch "$(or $(BRANCH),main)"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
