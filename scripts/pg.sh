#!/usr/bin/env bash
# The project's own PostgreSQL for tests and benchmarks: loopback only, non-root, own data dir.
#   scripts/pg.sh start|stop|status|url|createdb NAME
# Env: PG_PORT (55432), PG_DATA_DIR (/tmp/casetrail-pg-$PG_PORT), PG_FSYNC (on|off)
set -euo pipefail
PG_PORT=${PG_PORT:-55432}
PG_DATA_DIR=${PG_DATA_DIR:-/tmp/casetrail-pg-$PG_PORT}
PG_USER_OS=${PG_USER_OS:-casetrail}
PG_FSYNC=${PG_FSYNC:-on}
MARKER="$PG_DATA_DIR/.started-by-casetrail"
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] || { echo "pg.sh: no PostgreSQL server binaries under /usr/lib/postgresql" >&2; exit 1; }
URL="postgresql://casetrail:casetrail@127.0.0.1:$PG_PORT/casetrail"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER_OS" -- "$@"; else "$@"; fi
}

answering() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

start() {
  if answering; then
    echo "pg.sh: a server already answers on 127.0.0.1:$PG_PORT; using it"
    return 0
  fi
  if [ "$(id -u)" = 0 ] && ! id "$PG_USER_OS" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER_OS"
  fi
  mkdir -p "$PG_DATA_DIR"
  [ "$(id -u)" = 0 ] && chown "$PG_USER_OS" "$PG_DATA_DIR"
  chmod 700 "$PG_DATA_DIR"
  if [ ! -f "$PG_DATA_DIR/PG_VERSION" ]; then
    pwfile=$(mktemp); echo casetrail > "$pwfile"; chmod 644 "$pwfile"
    as_pg "$BIN/initdb" -D "$PG_DATA_DIR" -U casetrail --pwfile="$pwfile" -A scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  fi
  local sync_opts=""
  [ "$PG_FSYNC" = off ] && sync_opts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  as_pg "$BIN/pg_ctl" -D "$PG_DATA_DIR" -l "$PG_DATA_DIR/server.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DATA_DIR -c max_connections=200 \
     -c shared_buffers=256MB $sync_opts" >/dev/null
  touch "$MARKER"
  for _ in $(seq 1 120); do answering && break; sleep 0.5; done
  answering || { tail -n 30 "$PG_DATA_DIR/server.log" >&2; exit 1; }
  PGPASSWORD=casetrail psql -h 127.0.0.1 -p "$PG_PORT" -U casetrail -d postgres \
    -tAc "SELECT 1 FROM pg_database WHERE datname='casetrail'" | grep -q 1 ||
    PGPASSWORD=casetrail psql -h 127.0.0.1 -p "$PG_PORT" -U casetrail -d postgres -qc \
      "CREATE DATABASE casetrail"
  echo "pg.sh: PostgreSQL started on 127.0.0.1:$PG_PORT (data $PG_DATA_DIR)"
}

stop() {
  if [ -f "$MARKER" ] && [ -f "$PG_DATA_DIR/postmaster.pid" ]; then
    as_pg "$BIN/pg_ctl" -D "$PG_DATA_DIR" -m fast -w -t 60 stop >/dev/null || true
    rm -f "$MARKER"
    echo "pg.sh: PostgreSQL stopped"
  fi
  return 0
}

createdb() {
  local name=$1
  PGPASSWORD=casetrail psql -h 127.0.0.1 -p "$PG_PORT" -U casetrail -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$name'" | grep -q 1 ||
    PGPASSWORD=casetrail psql -h 127.0.0.1 -p "$PG_PORT" -U casetrail -d postgres -qc \
      "CREATE DATABASE \"$name\""
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if answering; then echo "up on 127.0.0.1:$PG_PORT"; else echo down; exit 1; fi ;;
  url) echo "$URL" ;;
  createdb) createdb "${2:?database name}" ;;
  *) echo "usage: $0 start|stop|status|url|createdb NAME" >&2; exit 2 ;;
esac
