#!/usr/bin/env bash
# Installs what rsentinel's run and test commands need on a Debian machine, then checks that
# every piece is really there: a missing dependency fails loudly, it is never skipped.
set -euo pipefail

need_apt=()
for bin in redis-server redis-sentinel redis-cli ip haproxy; do
    command -v "$bin" >/dev/null 2>&1 || need_apt+=("$bin")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "install-deps: installing Debian packages (missing: ${need_apt[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # haproxy: the HAProxy deployment scenarios (tests/deploy_haproxy.rs); Debian 12 ships 2.6.
    apt-get install -y redis-server redis-sentinel redis-tools iproute2 haproxy
fi

if ! python3 -c 'import redis' >/dev/null 2>&1; then
    echo "install-deps: installing redis-py"
    python3 -m pip install --quiet 'redis>=8,<9'
fi

missing=0
for bin in redis-server redis-sentinel redis-cli haproxy ip cargo python3; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "install-deps: FATAL: $bin is not available" >&2
        missing=1
    fi
done
python3 -c 'import redis' || { echo "install-deps: FATAL: redis-py is not importable" >&2; missing=1; }
grep -q 'version 2\.' <<<"$(haproxy -v 2>&1)" || { echo "install-deps: FATAL: haproxy 2.x is needed, found: $(haproxy -v 2>&1 | head -1)" >&2; missing=1; }
redis-sentinel --version | grep -q 'v=7\.' || { echo "install-deps: FATAL: redis-sentinel is not 7.x: $(redis-sentinel --version)" >&2; missing=1; }
# Debian starts a system redis-server on 6379 on install where a service manager runs; our
# tests never use fixed ports, so it is harmless, but stop it to keep the machine quiet.
if command -v service >/dev/null 2>&1; then
    service redis-server stop >/dev/null 2>&1 || true
    service redis-sentinel stop >/dev/null 2>&1 || true
    service haproxy stop >/dev/null 2>&1 || true
fi
exit "$missing"
