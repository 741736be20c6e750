#!/usr/bin/env bash
# `make run-distributed`: atqbo on a distributed Airflow (BEY-06) on this machine's own services,
# without Docker: CeleryExecutor, the metadata database and atqbo's state database on PostgreSQL,
# Redis as the Celery broker; an API server, a scheduler, a DAG processor, a triggerer and two Celery
# workers, each its own process group, plus the sandbox (demo seed + SMTP). Ctrl-C (or SIGTERM) stops
# everything this script started. The Airflow settings are deploy/airflow_settings.py's, the same as
# `make run` and docker-compose.yaml.
#
# Where things are (environment, with their defaults):
#   ATQBO_PG_URL        postgresql://postgres@127.0.0.1:5432   the PostgreSQL server (a role that may create databases)
#   ATQBO_METADATA_DB   atqbo_airflow      Airflow's metadata database (created if missing, migrated)
#   ATQBO_STATE_DB      atqbo_state        atqbo's state database (created if missing, emptied: the sandbox
#                                          starts from its seed each time, so must the state)
#   ATQBO_REDIS_URL     redis://127.0.0.1:6379/0   the Celery broker
#   ATQBO_QUEUE         atqbo              the Celery queue (a deployment of its own on a shared Redis)
#   ATQBO_UI_PORT 8080, ATQBO_SANDBOX_PORT 8700, ATQBO_SMTP_PORT 8725, ATQBO_SEED demo
#   ATQBO_LOG_PORTS     "8793 8794 8795"   the log servers of worker 1, worker 2 and the triggerer
#   ATQBO_HEALTH_PORT   8974               the scheduler's health check
#   ATQBO_WORKER_CONCURRENCY 4             task slots per worker
#   ATQBO_AIRFLOW_HOME  airflow-home-distributed/   logs, the secrets (mode 600), the admin password
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

export AIRFLOW_HOME="${ATQBO_AIRFLOW_HOME:-$REPO/airflow-home-distributed}"
UI_PORT="${ATQBO_UI_PORT:-8080}"
SANDBOX_PORT="${ATQBO_SANDBOX_PORT:-8700}"
SMTP_PORT="${ATQBO_SMTP_PORT:-8725}"
SEED="${ATQBO_SEED:-demo}"
PG_URL="${ATQBO_PG_URL:-postgresql://postgres@127.0.0.1:5432}"
METADATA_DB="${ATQBO_METADATA_DB:-atqbo_airflow}"
STATE_DB="${ATQBO_STATE_DB:-atqbo_state}"
REDIS_URL="${ATQBO_REDIS_URL:-redis://127.0.0.1:6379/0}"
read -r W1_LOG_PORT W2_LOG_PORT TRIGGERER_LOG_PORT <<<"${ATQBO_LOG_PORTS:-8793 8794 8795}"
export PATH="$REPO/.venv/bin:$PATH"
PY="$REPO/.venv/bin/python"
AIRFLOW="$REPO/.venv/bin/airflow"
LOGS="$AIRFLOW_HOME/logs"
mkdir -p "$LOGS"

# PostgreSQL and Redis first (saying which one is missing), the two databases created when missing,
# the state database emptied: the sandbox starts from its seed, so must atqbo's state.
"$PY" scripts/prepare_databases.py --pg-url "$PG_URL" --create "$METADATA_DB" "$STATE_DB" --reset-state "$STATE_DB" \
  --redis-url "$REDIS_URL"

PG_HOSTPART="${PG_URL#*://}"
settings="$("$PY" deploy/airflow_settings.py env distributed --repo "$REPO" --home "$AIRFLOW_HOME" --api-port "$UI_PORT" \
  --metadata-db "postgresql+psycopg2://$PG_HOSTPART/$METADATA_DB" --broker "$REDIS_URL")"
eval "$settings"
# This machine's own: the Celery queue, the log servers' and the health check's ports (several
# processes on one host must not share a port).
export AIRFLOW__OPERATORS__DEFAULT_QUEUE="${ATQBO_QUEUE:-atqbo}"
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="$TRIGGERER_LOG_PORT"
export AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT="${ATQBO_HEALTH_PORT:-8974}"

declare -A pid_of=()  # part name -> the pid (= process group) of its session
stop_all() {
  trap - EXIT INT TERM
  echo "atqbo: stopping..."
  for pid in "${pid_of[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    alive=0
    for pid in "${pid_of[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 1
  done
  for pid in "${pid_of[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  echo "atqbo: stopped"
}
# Ctrl-C or SIGTERM ends the script (never back into the loop below, which would start parts again);
# leaving runs stop_all.
trap stop_all EXIT
trap 'exit 130' INT TERM

# launch NAME: start that part in its own session (process group), logging to $LOGS/NAME.log; its
# pid is kept in $AIRFLOW_HOME/NAME.pid.
CONCURRENCY="${ATQBO_WORKER_CONCURRENCY:-4}"
launch() {
  local name="$1" cmd
  case "$name" in
    sandbox) cmd=("$PY" -m sandbox --port "$SANDBOX_PORT" --smtp-port "$SMTP_PORT" --seed "$SEED") ;;
    api-server) cmd=("$AIRFLOW" api-server --port "$UI_PORT") ;;
    scheduler | dag-processor | triggerer) cmd=("$AIRFLOW" "$name") ;;
    worker1 | worker2)
      local port="$W1_LOG_PORT"
      [ "$name" = worker2 ] && port="$W2_LOG_PORT"
      cmd=(env AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="$port"
        "$AIRFLOW" celery worker --celery-hostname "atqbo-$name@%h" --concurrency "$CONCURRENCY")
      ;;
  esac
  setsid "${cmd[@]}" >>"$LOGS/$name.log" 2>&1 &
  pid_of[$name]=$!
  echo "$!" >"$AIRFLOW_HOME/$name.pid"
}

echo "atqbo: starting the sandbox on http://127.0.0.1:$SANDBOX_PORT (SMTP on $SMTP_PORT), $SEED seed"
: >"$LOGS/sandbox.log"
launch sandbox
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health" >/dev/null 2>&1 && break
  kill -0 "${pid_of[sandbox]}" 2>/dev/null || { cat "$LOGS/sandbox.log"; exit 1; }
  sleep 0.2
done

echo "atqbo: migrating the Airflow metadata database (PostgreSQL $METADATA_DB)"
"$AIRFLOW" db migrate >"$LOGS/db-migrate.log" 2>&1 || { tail -30 "$LOGS/db-migrate.log"; exit 1; }
"$PY" scripts/configure_local_airflow.py --sandbox "http://127.0.0.1:$SANDBOX_PORT" --airflow-home "$AIRFLOW_HOME" \
  --seed "$SEED" --state-db "$PG_URL/$STATE_DB"

echo "atqbo: starting the API server, scheduler, DAG processor, triggerer and two Celery workers"
PARTS=(api-server scheduler dag-processor triggerer worker1 worker2)
for part in "${PARTS[@]}"; do launch "$part"; done
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$UI_PORT/api/v2/monitor/health" >/dev/null 2>&1 && break
  for part in "${PARTS[@]}"; do
    kill -0 "${pid_of[$part]}" 2>/dev/null || { echo "atqbo: $part exited"; tail -50 "$LOGS/$part.log"; exit 1; }
  done
  sleep 1
done
cat <<MSG

  atqbo is running on a distributed Airflow (CeleryExecutor, PostgreSQL, Redis).
    Airflow UI   http://127.0.0.1:$UI_PORT   login: admin, password in $AIRFLOW_HOME/admin-password
    Sandbox      http://127.0.0.1:$SANDBOX_PORT          (state: /_sandbox/state, mail: /_sandbox/mail)
    Databases    $PG_URL: $METADATA_DB (Airflow), $STATE_DB (atqbo)
    Broker       $REDIS_URL, queue $AIRFLOW__OPERATORS__DEFAULT_QUEUE
    Logs         $LOGS/ (api-server, scheduler, dag-processor, triggerer, worker1, worker2, sandbox)
  DAGs start paused: turn on the ones you want in the UI.
  Press Ctrl-C to stop everything.

MSG
# Runs until Ctrl-C. A part that dies is started again (what Compose's restart policy does): a
# Celery worker killed in the middle of a task comes back, and the scheduler hands the task out again.
while true; do
  for part in sandbox "${PARTS[@]}"; do
    if ! kill -0 "${pid_of[$part]}" 2>/dev/null; then
      if [ "$part" = sandbox ]; then
        echo "atqbo: the sandbox exited (its state is lost); see $LOGS/sandbox.log"
        exit 1
      fi
      echo "atqbo: $part exited; starting it again (log: $LOGS/$part.log)"
      launch "$part"
    fi
  done
  sleep 1
done
