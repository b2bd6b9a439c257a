#!/usr/bin/env bash
# Installs what yidi's build and tests need on a fresh Debian machine with a Rust toolchain.
# Idempotent: checks before installing, so a second run does nothing.
set -euo pipefail

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
command -v cc >/dev/null || need_apt+=(gcc)
command -v make >/dev/null || need_apt+=(make)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need_apt+=(postgresql)
# librdkafka's TLS and SCRAM (the broker's logins) link OpenSSL, found through pkg-config.
[ -e /usr/include/openssl/ssl.h ] || need_apt+=(libssl-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# Headless Chromium opens the ministry dashboard in the end-to-end test.
command -v chromium >/dev/null || need_apt+=(chromium)
# …and a CJK font, so that its screenshot shows the provinces' Chinese names.
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need_apt+=(fonts-wqy-zenhei)
# Prometheus scrapes the network under `make up`; its promtool checks the scrape config and
# the alert rules in `make test`.
command -v promtool >/dev/null || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
command -v cargo >/dev/null || { echo "setup: a Rust toolchain (cargo) is required" >&2; exit 1; }
