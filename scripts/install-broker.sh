#!/usr/bin/env bash
# Installs the Kafka-protocol broker yidi runs on one machine: tansu 0.6.0 with SQLite storage
# (features dynostore,libsql), built from the crates.io source of its crates with yidi's carried
# patches applied: to tansu-storage (deploy/broker/tansu-0.6.0-storage.patch: fetches that wake
# on produce instead of sleeping out their wait, statements prepared once, an index on headers)
# and to tansu-broker (deploy/broker/tansu-0.6.0-broker.patch: a consumer group member that dies
# without leaving gives its partitions back; connections are not asked to re-authenticate).
# ARCHITECTURE.md "The broker" and BENCH.md say why.
# The build takes ~10 minutes on 2 cores, so the binary is cached outside the clone, under a
# name that includes the patch's hash, and this script returns at once when it is already there.
# Idempotent; prints the binary's path.
#
#   YIDI_BROKER_PATCH=none   build tansu 0.6.0 exactly as published (for before/after figures)
#   YIDI_BROKER_PATCH=FILE   the storage patch FILE instead of the carried one (the broker patch
#                            is applied with it)
#   YIDI_BROKER_STORAGE=postgres
#                            also build tansu's PostgreSQL engine, with the fix it needs on
#                            PostgreSQL 15 (tansu-0.6.0-postgres15.patch): the evaluation of
#                            issue #9 §2 (scripts/bench-broker-postgres.sh), not what yidi runs
set -euo pipefail
cd "$(dirname "$0")/.."
TANSU_VERSION=0.6.0
CACHE="${YIDI_CACHE:-$HOME/.cache/yidi}"
PATCH="${YIDI_BROKER_PATCH:-$PWD/deploy/broker/tansu-$TANSU_VERSION-storage.patch}"
BROKER_PATCH="$PWD/deploy/broker/tansu-$TANSU_VERSION-broker.patch"
PG_PATCH="$PWD/deploy/broker/tansu-$TANSU_VERSION-postgres15.patch"
FEATURES=dynostore,libsql
if [ "$PATCH" = none ]; then
    flavour=published
else
    flavour="patched-$(cat "$PATCH" "$BROKER_PATCH" | sha256sum | cut -c1-12)"
fi
STORAGE="${YIDI_BROKER_STORAGE:-sqlite}"
if [ "$STORAGE" = postgres ]; then
    FEATURES=dynostore,libsql,postgres
    flavour="$flavour-postgres-$(sha256sum "$PG_PATCH" | cut -c1-8)"
fi
ROOT="$CACHE/tansu-$TANSU_VERSION-$flavour"
BIN="$ROOT/bin/tansu"
if [ -x "$BIN" ] && "$BIN" --help 2>&1 | grep -q "libsql"; then
    echo "$BIN"
    exit 0
fi
mkdir -p "$CACHE"
# One build at a time (make up and make test may both ask): the others wait, then find it built.
exec 9> "$CACHE/install-broker.lock"
flock 9
if [ -x "$BIN" ] && "$BIN" --help 2>&1 | grep -q "libsql"; then
    echo "$BIN"
    exit 0
fi
echo "building tansu $TANSU_VERSION ($flavour) into $ROOT (about 10 minutes, once per machine)" >&2

# The published sources of tansu and tansu-storage, through cargo itself (crates.io is the only
# registry this machine reaches): a throwaway manifest makes `cargo fetch` download them.
# One source folder for every flavour: cargo then rebuilds only tansu-storage and what depends
# on it when the patch changes, not all ~600 crates.
SRC="$CACHE/tansu-src"
rm -rf "$SRC"
mkdir -p "$SRC/fetch/src"
cat > "$SRC/fetch/Cargo.toml" <<EOF
[package]
name = "yidi-fetch-tansu"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
tansu = { version = "=$TANSU_VERSION", default-features = false, features = ["${FEATURES//,/\", \"}"] }
EOF
echo 'fn main() {}' > "$SRC/fetch/src/main.rs"
cargo fetch --manifest-path "$SRC/fetch/Cargo.toml" >&2
registry="${CARGO_HOME:-$HOME/.cargo}/registry/cache"
for crate in tansu tansu-storage tansu-broker; do
    file=$(find "$registry" -name "$crate-$TANSU_VERSION.crate" | head -n 1)
    [ -n "$file" ] || { echo "install-broker: $crate $TANSU_VERSION was not downloaded" >&2; exit 1; }
    tar -xzf "$file" -C "$SRC"
done

if [ "$PATCH" != none ]; then
    # The patch names its files as in tansu's repository (tansu-storage/src/...).
    (cd "$SRC/tansu-storage-$TANSU_VERSION" && git apply -p2 "$PATCH")
    (cd "$SRC/tansu-broker-$TANSU_VERSION" && git apply -p2 "$BROKER_PATCH")
fi
if [ "$STORAGE" = postgres ]; then
    (cd "$SRC/tansu-storage-$TANSU_VERSION" && git apply -p2 "$PG_PATCH")
fi
# Build the published tansu package against these copies of tansu-storage and tansu-broker.
# Its own Cargo.lock pins every other dependency as released; cargo changes only their entries.
cat >> "$SRC/tansu-$TANSU_VERSION/Cargo.toml" <<EOF

[patch.crates-io]
tansu-storage = { path = "../tansu-storage-$TANSU_VERSION" }
tansu-broker = { path = "../tansu-broker-$TANSU_VERSION" }
EOF
cargo build --release --manifest-path "$SRC/tansu-$TANSU_VERSION/Cargo.toml" \
    --features "$FEATURES" --bin tansu --target-dir "$CACHE/tansu-build" >&2
mkdir -p "$ROOT/bin"
cp "$CACHE/tansu-build/release/tansu" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
"$BIN" --help >/dev/null
echo "$BIN"
