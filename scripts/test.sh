#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs the Rust unit and integration tests
# (which start real redis-server / redis-sentinel processes) and the cross-client scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --bins
cargo test --release --all-targets --no-fail-fast -- --test-threads="${TEST_THREADS:-4}"
if compgen -G "integration/test_*.py" >/dev/null; then
    python3 -m pip install --quiet 'pytest>=7'
    RSENTINEL_BIN="$PWD/target/release/rsentinel" python3 -m pytest -q integration
fi
