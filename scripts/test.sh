#!/usr/bin/env bash
# Runs the whole test suite against a scratch Airflow home (initialised on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
export AIRFLOW_HOME="$PWD/.airflow-test"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$PWD/plugins"
# Most of a DAG test's time is spent waiting on HTTP (the sandbox's API latencies), not on the CPU:
# several pytest-xdist workers (each with its own Airflow home, see tests/conftest.py) overlap it.
# ATQBO_TEST_WORKERS=0 runs everything in one process.
# --no-loadscope-reorder: files are handed out in collection order, the longest first
# (tests/conftest.py LONG_FIRST), not the files with the most tests first.
exec .venv/bin/python -m pytest -n "${ATQBO_TEST_WORKERS:-3}" --dist loadfile --no-loadscope-reorder "$@"
