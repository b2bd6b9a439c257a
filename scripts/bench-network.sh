#!/usr/bin/env bash
# The network benchmark (`make bench-network`, part of `make bench`): for each broker flavour, a
# fresh network under .run/bench-<flavour>, then in one run: the idle network's CPU, the
# open-loop step table (latency, bills lost, CPU per settlement of every process, from /proc),
# and the raw broker's round trip and bulk rate. Figures, never thresholds.
#   BROKERS="patched published"   the flavours to compare (default: patched, the one make up runs)
#   BROKERS="patched postgres"    postgres: the patched tansu on its PostgreSQL storage (issue #9
#       §2), on scripts/postgres.sh's server, in a fresh database made from the schema file
#       YIDI_TANSU_PG_SCHEMA (etc/initdb.d/010-schema.sql of tansu's repository at v0.6.0: the
#       crate does not ship it, so it is the evaluator's to provide)
#   STEPS=50,100,200,500,1000,2000  STEP_SECONDS=60  IDLE_SECONDS=20
set -euo pipefail
cd "$(dirname "$0")/.."
YIDI="${1:-${CARGO_TARGET_DIR:-target}/release/yidi}"
if YIDI_RUN=.run scripts/network.sh status | grep -q "running"; then
    echo "bench: the demo network (.run) is running on the same ports; stop it with make down" >&2
    exit 1
fi
# CPU ticks (utime + stime) of every running postgres process.
postgres_cpu_ticks() {
    local total=0 pid
    for pid in $(pgrep -x postgres || true); do
        total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0) ))
    done
    echo "$total"
}
for flavour in ${BROKERS:-patched}; do
    export YIDI_RUN=".run/bench-$flavour"
    if [ "$flavour" = published ]; then export YIDI_BROKER_PATCH=none; else unset YIDI_BROKER_PATCH; fi
    unset YIDI_BROKER_STORAGE YIDI_BROKER_STORAGE_URL
    engine="SQLite storage"
    if [ "$flavour" = postgres ]; then
        schema="${YIDI_TANSU_PG_SCHEMA:?set YIDI_TANSU_PG_SCHEMA to tansu v0.6.0 etc/initdb.d/010-schema.sql}"
        server=$(scripts/postgres.sh start)
        psql -q "$server" -c "DROP DATABASE IF EXISTS tansu_bench" -c "CREATE DATABASE tansu_bench"
        psql -q -v ON_ERROR_STOP=1 "${server%/*}/tansu_bench" -f "$schema" > /dev/null
        export YIDI_BROKER_STORAGE=postgres YIDI_BROKER_STORAGE_URL="${server%/*}/tansu_bench"
        engine="PostgreSQL storage ($(psql -tAq "$server" -c 'SHOW server_version'))"
    fi
    scripts/network.sh down > /dev/null 2>&1 || true
    rm -rf "$YIDI_RUN"
    scripts/network.sh up > /dev/null
    # The agencies publish their seeded filings on first start; let the hub take them in.
    sleep 10
    echo "== broker: tansu 0.6.0, $flavour, $engine ($(nproc) cores, $(uname -m))"
    before=$(postgres_cpu_ticks)
    "$YIDI" loadgen --steps "${STEPS:-50,100,200,500,1000,2000}" --duration "${STEP_SECONDS:-60}" \
        --idle "${IDLE_SECONDS:-20}" --pids "$YIDI_RUN/pids" --keys "$YIDI_RUN/keys" || status=$?
    if [ "$flavour" = postgres ]; then
        # The loadgen counts the processes of .run/pids; the PostgreSQL server's are not there.
        echo "PostgreSQL server (every postgres process, the whole run above, idle and steps included): $(( ($(postgres_cpu_ticks) - before) * 1000 / $(getconf CLK_TCK) )) ms of CPU"
    fi
    scripts/network.sh down > /dev/null
    [ "${status:-0}" = 0 ] || exit "$status"
done
