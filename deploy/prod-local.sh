#!/bin/sh
# `make prod-local` (start) and `make prod-check` (stop): the production topology of deploy/Procfile on this
# machine, without containers, against the local PostgreSQL and Redis (docs/deployment.md, "On one machine").
#
#   start: creates and migrates its own database (PROD_LOCAL_DB, default marketplace_prod_local) and
#          loads the demo into it when empty, makes local-only secrets once (instance/prod-local/secrets.env),
#          then runs honcho in the background (deploy/Procfile.local: 2 gunicorn workers, the scheduler,
#          the task worker, a mail sink printing to the log) and waits until /healthz answers.
#   stop:  stops honcho and every process it started (SIGTERM, then SIGKILL after a while).
#
# Everything it writes is under instance/prod-local/: honcho.pid, honcho.log, secrets.env, uploads, exports.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR=${PROD_LOCAL_DIR:-"$ROOT/instance/prod-local"}
PIDFILE="$DIR/honcho.pid"
LOG="$DIR/honcho.log"
SECRETS="$DIR/secrets.env"
PORT=${PROD_LOCAL_PORT:-8471}
MAIL_PORT=${PROD_LOCAL_MAIL_PORT:-8472}
PGHOST=${PROD_LOCAL_PGHOST:-127.0.0.1}
PGPORT=${PROD_LOCAL_PGPORT:-5432}
PGUSER=${PROD_LOCAL_PGUSER:-postgres}
DB=${PROD_LOCAL_DB:-marketplace_prod_local}
# A Redis database of its own, so `make prod-local` never mixes its queue, cache and limits with others'.
REDIS=${PROD_LOCAL_REDIS_URL:-redis://127.0.0.1:6379/11}
BIN="$ROOT/.venv/bin"

running() {
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

# The process ids honcho reports for the processes it started ("web.1 started (pid=123)").
started_pids() {
    [ -f "$LOG" ] && sed -n 's/.*started (pid=\([0-9][0-9]*\)).*/\1/p' "$LOG" || true
}

environment() {
    mkdir -p "$DIR"
    if [ ! -f "$SECRETS" ]; then
        # Made once and kept: the audit chain's key must never change under the same database.
        (umask 077 && "$BIN/python" - >"$SECRETS" <<'PY'
import secrets

from cryptography.fernet import Fernet

print(f"SECRET_KEY={secrets.token_urlsafe(48)}")
print(f"BID_KEY_WRAPPING_KEYS={Fernet.generate_key().decode()}")
print(f"AUDIT_CHAIN_KEY={secrets.token_urlsafe(48)}")
PY
        )
    fi
    set -a
    . "$SECRETS"
    set +a
    export PATH="$BIN:$PATH"
    export MARKETPLACE_ENV=production
    export DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST:$PGPORT/$DB"
    export REDIS_URL="$REDIS" RATELIMIT_STORAGE_URI="$REDIS"
    # No reverse proxy in front locally: no ProxyFix hops, plain HTTP (so no Secure cookies, no HSTS).
    export TRUSTED_PROXIES=0 PREFERRED_URL_SCHEME=http SESSION_COOKIE_SECURE=0 HSTS_MAX_AGE=0
    export PUBLIC_BASE_URL="http://127.0.0.1:$PORT"
    export MAIL_SERVER=127.0.0.1 MAIL_PORT="$MAIL_PORT" MAIL_FROM=noreply@prod-local.invalid
    export UPLOAD_FOLDER="$DIR/uploads" EXPORT_FOLDER="$DIR/exports" AUDIT_HEADS_DIR="$DIR/audit-heads"
    export GUNICORN_BIND="127.0.0.1:$PORT" WEB_CONCURRENCY=2 GUNICORN_THREADS=${GUNICORN_THREADS:-4}
    export PYTHONUNBUFFERED=1
}

start() {
    if running; then
        echo "prod-local is already running (pid $(cat "$PIDFILE")): http://127.0.0.1:$PORT/"
        return 0
    fi
    environment
    if [ -z "$(psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
        createdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$DB"
        echo "created database $DB"
    fi
    flask --app marketplace db upgrade
    flask --app marketplace seed demo --if-empty
    flask --app marketplace assets build >/dev/null
    : >"$LOG"
    nohup honcho -f deploy/Procfile.local -d "$ROOT" start >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    i=0
    # Up to PROD_LOCAL_START_WAIT half-seconds (4 minutes): a loaded machine starts gunicorn slowly.
    until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; do
        i=$((i + 1))
        if ! running || [ "$i" -ge "${PROD_LOCAL_START_WAIT:-480}" ]; then
            echo "prod-local did not come up; the end of $LOG:" >&2
            tail -n 40 "$LOG" >&2
            stop >&2
            return 1
        fi
        sleep 0.5
    done
    echo "prod-local is running (honcho pid $(cat "$PIDFILE"), log $LOG): http://127.0.0.1:$PORT/"
    echo "Stop it with: make prod-check"
}

stop() {
    pids=$(started_pids)
    if running; then
        kill -TERM "$(cat "$PIDFILE")"
        i=0
        while running && [ "$i" -lt 40 ]; do
            sleep 0.5
            i=$((i + 1))
        done
        running && kill -KILL "$(cat "$PIDFILE")" 2>/dev/null || true
    fi
    # honcho started each process in a session and process group of its own (the group's id is the pid it
    # reports): make sure nothing in those groups outlives it.
    for pid in $pids; do
        if pgrep -g "$pid" >/dev/null; then
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    done
    sleep 0.2
    left=""
    for pid in $pids; do
        left="$left $(pgrep -g "$pid" | tr '\n' ' ')"
    done
    left=$(echo $left)
    rm -f "$PIDFILE"
    if [ -n "$left" ]; then
        echo "prod-local: processes still running:$left" >&2
        return 1
    fi
    echo "prod-local stopped (nothing left running)."
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
