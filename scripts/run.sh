#!/usr/bin/env bash
# `make run`: the sandbox (demo seed + SMTP) and Airflow standalone on SQLite, wired together.
# Another seed: `make run SEED=uk-vat` (ATQBO_SEED: demo, a named real-tenant seed - us-ast,
# us-manual-tax, uk-vat, ca-gst, au-gst - or a seed JSON file); the atqbo_settings Variable gets
# that seed's tax and currency keys. Ctrl-C (or SIGTERM) stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

export AIRFLOW_HOME="${ATQBO_AIRFLOW_HOME:-$REPO/airflow-home}"
# The Airflow settings every deployment shares (dags and plugins folders, auth, the secrets every
# component must share, the Execution API address): deploy/airflow_settings.py, the one place for them.
# Local demo against the sandbox: DAGs start unpaused so the UI shows them working at once.
UI_PORT="${ATQBO_UI_PORT:-8080}"
SANDBOX_PORT="${ATQBO_SANDBOX_PORT:-8700}"
SMTP_PORT="${ATQBO_SMTP_PORT:-8725}"
SEED="${ATQBO_SEED:-demo}"
# airflow standalone starts its parts as `airflow ...` from PATH: use the venv's.
export PATH="$REPO/.venv/bin:$PATH"
PY="$REPO/.venv/bin/python"
AIRFLOW="$REPO/.venv/bin/airflow"
mkdir -p "$AIRFLOW_HOME/logs"
# The Fernet key (connections, Variables, atqbo's QBO tokens: BEY-11), [api] secret_key and the JWT
# secret are made once per Airflow home (mode 600) and kept: a new key each run would leave what the
# last run stored unreadable.
settings="$("$PY" deploy/airflow_settings.py env standalone --repo "$REPO" --home "$AIRFLOW_HOME" --api-port "$UI_PORT")"
eval "$settings"

# Each part runs in its own session (setsid), so stopping it stops its whole process group:
# `airflow standalone` alone would leave its scheduler, API server and triggerer running.
pids=()
stop_all() {
  trap - EXIT INT TERM
  echo "atqbo: stopping..."
  for pid in "${pids[@]}"; do kill -INT -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  echo "atqbo: stopped"
}
trap stop_all EXIT INT TERM

echo "atqbo: starting the sandbox on http://127.0.0.1:$SANDBOX_PORT (SMTP on $SMTP_PORT), $SEED seed"
setsid "$PY" -m sandbox --port "$SANDBOX_PORT" --smtp-port "$SMTP_PORT" --seed "$SEED" >"$AIRFLOW_HOME/logs/sandbox.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$AIRFLOW_HOME/logs/sandbox.log"; exit 1; }
  sleep 0.2
done

echo "atqbo: preparing the Airflow metadata database (SQLite in $AIRFLOW_HOME)"
"$AIRFLOW" db migrate >"$AIRFLOW_HOME/logs/db-migrate.log" 2>&1 || { tail -30 "$AIRFLOW_HOME/logs/db-migrate.log"; exit 1; }
"$PY" scripts/configure_local_airflow.py --sandbox "http://127.0.0.1:$SANDBOX_PORT" --airflow-home "$AIRFLOW_HOME" --seed "$SEED"

setsid "$AIRFLOW" standalone >"$AIRFLOW_HOME/logs/standalone.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$AIRFLOW__API__PORT/api/v2/monitor/health" >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { tail -50 "$AIRFLOW_HOME/logs/standalone.log"; exit 1; }
  sleep 1
done
cat <<MSG

  atqbo is running.
    Airflow UI   http://127.0.0.1:$AIRFLOW__API__PORT   login: admin / $(cat "$AIRFLOW_HOME/admin-password")
    Sandbox      http://127.0.0.1:$SANDBOX_PORT          (state: /_sandbox/state, mail: /_sandbox/mail)
    Logs         $AIRFLOW_HOME/logs/ (standalone.log, sandbox.log)
  Press Ctrl-C to stop everything.

MSG
while kill -0 "${pids[1]}" 2>/dev/null; do sleep 1; done
