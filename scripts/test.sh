#!/usr/bin/env bash
# Runs the whole test suite against a scratch Airflow home (initialised on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
export AIRFLOW_HOME="$PWD/.airflow-test"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$PWD/plugins"
exec .venv/bin/python -m pytest "$@"
