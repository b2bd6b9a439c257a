#!/usr/bin/env bash
# Gives the one-machine broker every login in a credentials directory: for each
# <name>.broker-password that `yidi keys init` made, a SCRAM-SHA-512 user <name>.
#
#   scripts/broker-logins.sh TANSU DATA_DIR KEYS_DIR
#
# tansu creates users over the Kafka protocol, and a broker started with --authentication
# serves no request before a login: so the users are written by a second tansu on the same
# SQLite data, listening on a free loopback port without authentication for the few seconds
# this takes, and stopped before the real broker starts. Run it while the real broker is
# stopped. Idempotent: an existing user gets its password again (the file is the truth).
set -euo pipefail
tansu=$1 data=$2 keys=$3
shopt -s nullglob
files=("$keys"/*.broker-password)
[ ${#files[@]} -gt 0 ] || { echo "broker-logins: no *.broker-password in $keys" >&2; exit 1; }

free_port() {
    for _ in $(seq 1 50); do
        local port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
    done
    return 1
}
port=$(free_port)
mkdir -p "$data"
# tansu resolves a SQLite URL against its working directory.
(cd "$data" && exec "$tansu" broker --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "${YIDI_BROKER_STORAGE_URL:-sqlite://tansu.db}") \
    >> "$data/broker-logins.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "broker-logins: tansu did not start; see $data/broker-logins.log" >&2; exit 1; }
    sleep 0.1
done
for file in "${files[@]}"; do
    name=$(basename "$file" .broker-password)
    # The password goes on tansu's command line (its only way in), seen by this machine's
    # processes for a moment: the one-machine network's trust boundary is the machine.
    "$tansu" user create --broker "tcp://127.0.0.1:$port" --mechanism scram512 \
        "$name" "$(cat "$file")" >> "$data/broker-logins.log" 2>&1
done
echo "broker-logins: ${#files[@]} logins" >&2
