#!/usr/bin/env bash
# Run the libFuzzer targets in fuzz/ one after another, N seconds each (default 600), one
# process each (the machines here have two cores shared with others).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#   scripts/fuzz.sh 600                      # every target, 10 minutes each
#   scripts/fuzz.sh 60 hello info_reply      # two targets, one minute each
#   FUZZ_ARGS="-fork=1 -ignore_crashes=1" scripts/fuzz.sh 600 sentinel_conf
#                                            # keep fuzzing after a crash (one child at a time)
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer, sancov passes); the only toolchain
# here is stable, so RUSTC_BOOTSTRAP=1 lets stable rustc accept them. Crashers land in
# fuzz/artifacts/<target>/; copy them nowhere: tests/it/fuzz_regressions.rs replays that folder
# (and fuzz/corpus/<target>/seed-*) in the normal test suite. Not part of scripts/test.sh.
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
seconds="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(request_parser sentinel_conf hello info_reply resp_reply)
fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O --debug-assertions

mkdir -p logs
status=0
for target in "${targets[@]}"; do
    echo "=== $target: ${seconds}s"
    mkdir -p "corpus/$target"
    # Exit status is non-zero when the target crashed; keep going with the others.
    dict=()
    if [ -f "dicts/$target.dict" ]; then
        dict=(-dict="$PWD/dicts/$target.dict")
    fi
    if ! cargo fuzz run -O --debug-assertions "$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 "${dict[@]}" ${FUZZ_ARGS:-} >"logs/$target.log" 2>&1; then
        echo "!!! $target found a crash: see fuzz/logs/$target.log and fuzz/artifacts/$target/"
        status=1
    fi
    grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
        "logs/$target.log" || true
    echo "corpus: $(find "corpus/$target" -type f | wc -l) inputs"
    # sentinel_conf's scratch directories, one per fuzzing process.
    rm -rf "${TMPDIR:-/tmp}"/rsentinel-fuzz-conf-*
done
exit $status
