#!/usr/bin/env bash
# Starts and stops the whole yidi network on one machine: a Kafka-protocol broker (tansu with
# SQLite storage), the hub, two agencies hosting four insured regions, and four exchanges.
# Idempotent: `up` starts only what is not running; `down` stops what is.
# Everything lives under .run/: data/ (SQLite files), logs/ (one log per process), pids/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${YIDI_RUN:-.run}"
BROKER_PORT=19092
SERVICES=(hub agency-north agency-south exchange-440000 exchange-310000 exchange-110000 exchange-330000)
PROMETHEUS_PORT=19090
TARGET="${CARGO_TARGET_DIR:-target}/release"

binary_of() {
    case "$1" in
        hub) echo yidi-hub ;;
        agency-*) echo yidi-agency ;;
        exchange-*) echo yidi-exchange ;;
    esac
}

running() {
    local pidfile="$RUN/pids/$1.pid"
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

wait_port() {
    local port=$1 what=$2
    # Three minutes: on first start an agency seeds its sample registry and publishes every
    # filing to the hub before it serves, which takes tens of seconds on a busy 2-core machine.
    for _ in $(seq 1 1800); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "network: $what did not open port $port; see $RUN/logs/" >&2
    return 1
}

# The `metrics` address of a service's local config (its /metrics and /ready).
metrics_of() {
    sed -n 's/^metrics = "\(.*\)"/\1/p' "deploy/config/local/$1.toml"
}

wait_ready() {
    local service=$1 address
    address=$(metrics_of "$service")
    # Ready means its store is open and its consumer has its partitions (not just a port):
    # three minutes, as an agency seeds its registry and publishes its filings on first start.
    for _ in $(seq 1 1800); do
        if curl -fsS -o /dev/null "http://$address/ready" 2>/dev/null; then return 0; fi
        if ! running "$service"; then
            echo "network: $service stopped while starting; see $RUN/logs/$service.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "network: $service did not become ready (http://$address/ready); see $RUN/logs/" >&2
    return 1
}

# Debian's Prometheus, scraping every service and evaluating deploy/prometheus/alerts.yml.
start_prometheus() {
    if running prometheus || ! command -v prometheus >/dev/null; then return 0; fi
    mkdir -p "$RUN/prometheus"
    nohup prometheus --config.file=deploy/prometheus/local.yml \
        --storage.tsdb.path="$RUN/prometheus" \
        --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
        > "$RUN/logs/prometheus.log" 2>&1 &
    echo $! > "$RUN/pids/prometheus.pid"
}

up() {
    mkdir -p "$RUN/data" "$RUN/logs" "$RUN/pids"
    local tansu
    tansu=$(scripts/install-broker.sh)
    cargo build --release --locked -p yidi-hub -p yidi-agency -p yidi-exchange -p yidi-cli >&2
    # The network's root and every party's credentials, made once (kept on later runs).
    "$TARGET/yidi" keys init --dir "$RUN/keys" deploy/config/local/*.toml >&2
    if ! running broker; then
        # Every party logs in with its own SCRAM user; a client without one is refused.
        scripts/broker-logins.sh "$tansu" "$RUN/data" "$RUN/keys"
        # tansu resolves a SQLite URL against its working directory. YIDI_BROKER_STORAGE_URL
        # (a postgres:// URL) is for the storage evaluation of scripts/bench-network.sh.
        (cd "$RUN/data" && exec nohup "$tansu" broker --authentication \
            --listener-url "tcp://127.0.0.1:$BROKER_PORT" \
            --advertised-listener-url "tcp://127.0.0.1:$BROKER_PORT" \
            --storage-engine "${YIDI_BROKER_STORAGE_URL:-sqlite://tansu.db}") \
            > "$RUN/logs/broker.log" 2>&1 &
        echo $! > "$RUN/pids/broker.pid"
    fi
    wait_port "$BROKER_PORT" broker
    for service in "${SERVICES[@]}"; do
        if running "$service"; then continue; fi
        # Each service's database lives under $RUN, so that a second network (the benchmark's,
        # YIDI_RUN=.run/bench) never touches the demo's data.
        YIDI_DATABASE="sqlite://$RUN/data/$service.db" YIDI_KEYS="$RUN/keys" \
            nohup "$TARGET/$(binary_of "$service")" --config "deploy/config/local/$service.toml" \
            > "$RUN/logs/$service.log" 2>&1 &
        echo $! > "$RUN/pids/$service.pid"
        # The hub creates the shared topics; start the rest once it is ready.
        if [ "$service" = hub ]; then wait_ready hub; fi
    done
    for service in "${SERVICES[@]}"; do wait_ready "$service"; done
    start_prometheus
    status
}

down() {
    local pids=()
    for name in prometheus "${SERVICES[@]}" broker; do
        if running "$name"; then
            kill -TERM "$(cat "$RUN/pids/$name.pid")" 2>/dev/null || true
            pids+=("$(cat "$RUN/pids/$name.pid")")
        fi
        # Services first, so they commit their offsets while the broker is still there.
        if [ "$name" = exchange-330000 ]; then
            for _ in $(seq 1 100); do
                alive=0; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
                [ $alive = 0 ] && break; sleep 0.1
            done
        fi
    done
    sleep 0.5
    for name in prometheus "${SERVICES[@]}" broker; do
        if running "$name"; then kill -KILL "$(cat "$RUN/pids/$name.pid")" 2>/dev/null || true; fi
        rm -f "$RUN/pids/$name.pid"
    done
    echo "network: stopped"
}

status() {
    for name in broker "${SERVICES[@]}" prometheus; do
        if running "$name"; then state="running (pid $(cat "$RUN/pids/$name.pid"))"; else state="stopped"; fi
        printf '  %-18s %s\n' "$name" "$state"
    done
    echo "  logs: $RUN/logs/   data: $RUN/data/"
    echo "  metrics: each service's /metrics (deploy/config/local/*.toml); Prometheus http://127.0.0.1:$PROMETHEUS_PORT/ (alerts: /alerts)"
    echo "  broker 127.0.0.1:$BROKER_PORT, SASL_PLAINTEXT SCRAM-SHA-512; a hospital of 440000 logs in as"
    echo "  his-440000 with the password in $RUN/keys/his-440000.broker-password (README: Sending a bill)"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
