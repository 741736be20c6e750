# atqbo: two commands on a fresh machine.
#   make run   - Airflow standalone (SQLite) + the sandbox seeded with demo data, UI on :8080
#                (another seed: make run SEED=uk-vat; us-ast, us-manual-tax, uk-vat, ca-gst, au-gst)
#   make run-distributed - the same on CeleryExecutor, PostgreSQL and Redis on this machine (no Docker):
#                API server, scheduler, DAG processor, triggerer, two Celery workers
#   make test  - the whole test suite
# Both set up what they need themselves (.venv, pinned install).

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The sandbox's seed for `make run` and `make sandbox`: demo, a named real-tenant seed, or a JSON file.
SEED ?= $(if $(ATQBO_SEED),$(ATQBO_SEED),demo)

.PHONY: setup run run-distributed compose-secrets test test-fast lint format browser sandbox lock bench clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt requirements-clients.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "atqbo needs $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.3.1"
	$(PY) -m pip install --quiet -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-clients.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: setup
	ATQBO_SEED=$(SEED) scripts/run.sh

# BEY-06: the distributed deployment on this machine's PostgreSQL (127.0.0.1:5432) and Redis (6379).
run-distributed: setup
	ATQBO_SEED=$(SEED) scripts/run_distributed.sh

# The secrets docker-compose.yaml hands to every Airflow container (deploy/secrets/, git-ignored).
compose-secrets: setup
	$(PY) deploy/airflow_settings.py secrets

# The formatter check and the linter first (ruff, configured in pyproject.toml), Chromium for the
# browser tests where this machine lets us install it, then every test.
test: setup lint browser
	scripts/test.sh

# Unit, sandbox and hook tests only (no dag.test(), no scheduler).
test-fast: setup lint
	scripts/test.sh -m "not integration"

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

# Rewrites the files ruff would complain about (formatting and the fixable lint findings).
format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

browser:
	@scripts/install-browser.sh

sandbox: setup
	$(PY) -m sandbox --seed $(SEED) --smtp-port 8725

# requirements.txt: what atqbo runs with (the image); requirements-test.txt: the test tools on top.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet "pip==24.3.1" \
	  && .lockenv/bin/pip install --quiet -r requirements.in \
	  && { echo "# Every version pinned, transitive ones included, so an install a year from now resolves the same."; \
	       echo "# What atqbo needs to run (the Airflow image installs only this file; tests: requirements-test.txt)."; \
	       echo "# Generated from requirements.in by \`make lock\` (Python 3.11). Do not edit by hand."; \
	       .lockenv/bin/pip freeze --exclude-editable; } > requirements.txt \
	  && .lockenv/bin/pip install --quiet -r requirements-test.in \
	  && { echo "# The test and lint tools, pinned with what they pull in beyond requirements.txt (never in the image)."; \
	       echo "# Generated from requirements-test.in by \`make lock\` (Python 3.11). Do not edit by hand."; \
	       echo "-r requirements.txt"; \
	       .lockenv/bin/pip freeze --exclude-editable | grep -vxF -f requirements.txt; } > requirements-test.txt \
	  && rm -rf .lockenv

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) airflow-home .airflow-test .pytest_cache
