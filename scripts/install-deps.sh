#!/usr/bin/env bash
# Installs what rsentinel's run and test commands need on a Debian machine, then checks that
# every piece is really there: a missing dependency fails loudly, it is never skipped.
set -euo pipefail

need_apt=()
for bin in redis-server redis-sentinel redis-cli ip iptables haproxy openssl; do
    command -v "$bin" >/dev/null 2>&1 || need_apt+=("$bin")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "install-deps: installing Debian packages (missing: ${need_apt[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # haproxy: the HAProxy deployment scenarios (tests/it/deploy_haproxy.rs); Debian 12 ships 2.6.
    # openssl: the TLS tests make their certificates with it (tests/it/tls.rs).
    # iptables: one-way partitions in the netns lab (tests/it/write_safety.rs).
    apt-get install -y redis-server redis-sentinel redis-tools iproute2 iptables haproxy openssl
fi

# prometheus: the metrics endpoint is scraped by a real Prometheus (tests/ops_metrics.rs).
# Without recommends: the node exporter it recommends would be a running service for nothing.
if ! command -v prometheus >/dev/null 2>&1; then
    echo "install-deps: installing prometheus"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends prometheus
fi

if ! python3 -c 'import redis' >/dev/null 2>&1; then
    echo "install-deps: installing redis-py"
    python3 -m pip install --quiet 'redis>=8,<9'
fi

# The client matrix (integration/, issue 6): pytest, Node.js >= 20 with npm (ioredis and
# node-redis need 20), and the pinned node packages installed from the lock file.
if ! python3 -c 'import pytest' >/dev/null 2>&1; then
    echo "install-deps: installing pytest"
    python3 -m pip install --quiet 'pytest>=7'
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: installing Node.js and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y nodejs npm
fi
if [ ! -d integration/node/node_modules/ioredis ] || [ ! -d integration/node/node_modules/redis ] \
    || [ integration/node/package-lock.json -nt integration/node/node_modules/.package-lock.json ]; then
    echo "install-deps: installing the node clients (npm ci in integration/node)"
    (cd integration/node && npm ci --no-audit --no-fund --loglevel=error)
fi

missing=0
for bin in redis-server redis-sentinel redis-cli haproxy ip cargo python3 node npm prometheus dpkg-deb; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "install-deps: FATAL: $bin is not available" >&2
        missing=1
    fi
done
cargo nextest --version >/dev/null 2>&1 || { echo "install-deps: FATAL: cargo-nextest is not available (scripts/test.sh runs the Rust suite with it)" >&2; missing=1; }
python3 -c 'import redis' || { echo "install-deps: FATAL: redis-py is not importable" >&2; missing=1; }
grep -q 'version 2\.' <<<"$(haproxy -v 2>&1)" || { echo "install-deps: FATAL: haproxy 2.x is needed, found: $(haproxy -v 2>&1 | head -1)" >&2; missing=1; }
python3 -c 'import pytest' || { echo "install-deps: FATAL: pytest is not importable" >&2; missing=1; }
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
    || { echo "install-deps: FATAL: Node.js >= 20 is needed for the client tests, found $(node --version 2>&1)" >&2; missing=1; }
(cd integration/node && node -e 'require("ioredis"); require("redis")') \
    || { echo "install-deps: FATAL: ioredis / node-redis are not installed in integration/node" >&2; missing=1; }
redis-sentinel --version | grep -q 'v=7\.' || { echo "install-deps: FATAL: redis-sentinel is not 7.x: $(redis-sentinel --version)" >&2; missing=1; }
# Debian starts a system redis-server on 6379 on install where a service manager runs; our
# tests never use fixed ports, so it is harmless, but stop it to keep the machine quiet.
if command -v service >/dev/null 2>&1; then
    service redis-server stop >/dev/null 2>&1 || true
    service redis-sentinel stop >/dev/null 2>&1 || true
    service haproxy stop >/dev/null 2>&1 || true
    service prometheus stop >/dev/null 2>&1 || true
fi
exit "$missing"
