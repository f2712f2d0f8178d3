#!/usr/bin/env bash
# Recovery time of every client in the matrix, rsentinel against redis-sentinel 7.0.15:
# runs the client tests RUNS times (default 3) and prints the median per client and
# implementation as a Markdown table (pasted into docs/CLIENTS.md).
#
#     bash integration/measure_clients.sh [RUNS]
#
# Recovery time = from the SIGKILL of the master to the first write the client gets
# acknowledged afterwards (the tests then check that write is on the new master).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
export RSENTINEL_BIN="${RSENTINEL_BIN:-$PWD/target/release/rsentinel}"
[ -x "$RSENTINEL_BIN" ] || { echo "measure: build rsentinel first (cargo build --release --bins)" >&2; exit 1; }
results="$(mktemp /tmp/client-results.XXXXXX)"
export CLIENT_RESULTS="$results"
(cd integration/rust-clients && cargo test --release --no-run -q)
for i in $(seq 1 "$runs"); do
    echo "measure: run $i of $runs" >&2
    python3 -m pytest -q integration >/dev/null || echo "measure: a python test failed in run $i" >&2
    (cd integration/node && node --test --test-concurrency=1 test/ >/dev/null) || echo "measure: a node test failed in run $i" >&2
    (cd integration/rust-clients && cargo test --release -q -- --test-threads=1 >/dev/null 2>&1) || echo "measure: a rust test failed in run $i" >&2
done
python3 - "$results" "$runs" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["client"], {}).setdefault(r["impl"], []).append(r["seconds"])
print(f"| client | rsentinel (s) | redis-sentinel (s) | rsentinel / redis-sentinel | runs |")
print(f"|---|---:|---:|---:|---|")
for client in sorted(by):
    rs = by[client].get("rsentinel", [])
    rd = by[client].get("redis-sentinel", [])
    mrs = statistics.median(rs) if rs else float("nan")
    mrd = statistics.median(rd) if rd else float("nan")
    runs = "rsentinel " + " ".join(f"{x:.2f}" for x in rs) + "; redis-sentinel " + " ".join(f"{x:.2f}" for x in rd)
    print(f"| {client} | {mrs:.2f} | {mrd:.2f} | {mrs / mrd:.2f} | {runs} |")
PY
rm -f "$results"
