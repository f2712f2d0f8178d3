#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs the Rust unit and integration tests
# (which start real redis-server / redis-sentinel processes) and the cross-client scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --bins
cargo test --release --all-targets --no-fail-fast -- --test-threads="${TEST_THREADS:-4}"
# The client matrix (integration/, docs/CLIENTS.md): every client against an rsentinel group and
# a redis-sentinel group. Each part runs even if an earlier one failed; any failure fails the run.
export RSENTINEL_BIN="$PWD/target/release/rsentinel"
clients_failed=()
python3 -m pytest -q integration || clients_failed+=("python: pytest integration")
(cd integration/node && node --test --test-concurrency=1 test/) || clients_failed+=("node: ioredis, node-redis")
(cd integration/rust-clients && cargo test --release -- --test-threads=1) || clients_failed+=("rust: redis-rs, fred")
if [ "${#clients_failed[@]}" -gt 0 ]; then
    printf 'test.sh: client tests FAILED: %s\n' "${clients_failed[@]}" >&2
    exit 1
fi
