#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests, on 127.0.0.1:55432, data under /var/tmp (the
# postgres user cannot enter root's home).
# `start` installs Debian's postgresql if needed, initializes once, starts (idempotent) and
# prints the URL; `stop` stops it. initdb refuses to run as root, so the cluster belongs to
# the postgres user (../shared/tech-notes.md §5).
set -euo pipefail
PGDATA_ROOT="${YIDI_PG_DIR:-/var/tmp/yidi-pg}"
PORT="${YIDI_PG_PORT:-55432}"
bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
    if [ -z "$(bin_dir)" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    local bin; bin=$(bin_dir)
    mkdir -p "$PGDATA_ROOT"
    [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA_ROOT"
    if [ ! -f "$PGDATA_ROOT/data/PG_VERSION" ]; then
        as_postgres "$bin/initdb" -D "$PGDATA_ROOT/data" -A trust -U postgres >&2
    fi
    if ! as_postgres "$bin/pg_ctl" -D "$PGDATA_ROOT/data" status >/dev/null 2>&1; then
        as_postgres "$bin/pg_ctl" -D "$PGDATA_ROOT/data" -l "$PGDATA_ROOT/log" -w \
            -o "-p $PORT -k $PGDATA_ROOT -c listen_addresses=127.0.0.1" start >&2
    fi
    echo "postgres://postgres@127.0.0.1:$PORT/postgres"
}

stop() {
    local bin; bin=$(bin_dir)
    [ -n "$bin" ] && [ -f "$PGDATA_ROOT/data/PG_VERSION" ] && \
        as_postgres "$bin/pg_ctl" -D "$PGDATA_ROOT/data" -m fast -w stop >&2 || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
