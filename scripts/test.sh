#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs the Rust unit and integration tests
# (which start real redis-server / redis-sentinel processes) and the cross-client scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --bins
# Every part runs even if an earlier one failed (one failure must not hide another's results);
# any failure fails the run.
failed=()
cargo test --release --all-targets --no-fail-fast -- --test-threads="${TEST_THREADS:-4}" \
    || failed+=("rust: cargo test")
# The client matrix (integration/, docs/CLIENTS.md): every client against an rsentinel group and
# a redis-sentinel group.
export RSENTINEL_BIN="$PWD/target/release/rsentinel"
python3 -m pytest -q integration || failed+=("python: pytest integration")
(cd integration/node && node --test --test-concurrency=1 test/) || failed+=("node: ioredis, node-redis")
(cd integration/rust-clients && cargo test --release -- --test-threads=1) || failed+=("rust: redis-rs, fred")
if [ "${#failed[@]}" -gt 0 ]; then
    printf 'test.sh: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "test.sh: every suite passed"
