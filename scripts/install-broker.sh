#!/usr/bin/env bash
# Installs the Kafka-protocol broker yidi runs on one machine: tansu, built from crates.io
# with SQLite storage (features dynostore,libsql), as measured in ../shared/tech-notes.md §2.
# The build takes ~10 minutes on 2 cores, so the binary is cached outside the clone and this
# script returns at once when it is already there. Idempotent; prints the binary's path.
set -euo pipefail
TANSU_VERSION=0.6.0
CACHE="${YIDI_CACHE:-$HOME/.cache/yidi}"
ROOT="$CACHE/tansu-$TANSU_VERSION"
BIN="$ROOT/bin/tansu"
if [ -x "$BIN" ] && "$BIN" --help 2>&1 | grep -q "libsql"; then
    echo "$BIN"
    exit 0
fi
mkdir -p "$ROOT"
echo "building tansu $TANSU_VERSION into $ROOT (about 10 minutes, once per machine)" >&2
# A private target dir: cargo install removes it afterwards, and it must not clash with ours.
cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql \
    --root "$ROOT" --target-dir "$CACHE/tansu-build" >&2
"$BIN" --help >/dev/null
echo "$BIN"
