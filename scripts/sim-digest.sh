#!/bin/sh
# The simulator's summary for a fixed seed range with the timing fields (jobs, actions/s,
# seconds) taken out, so that two builds can be compared: an optimisation of the simulator
# or of the core's hot path must leave this line byte for byte the same.
#
#     scripts/sim-digest.sh [SIM_BINARY] [SEEDS] [FIRST] > before.txt   # on the old tree
#     scripts/sim-digest.sh ... > after.txt && diff before.txt after.txt
#
# SIM_BINARY defaults to target/release/examples/sim (build it with
# `cargo build --release --example sim`); SEEDS to 2000, FIRST to 0. Extra simulator options
# can be passed in SIM_ARGS (e.g. SIM_ARGS="--sentinels 5 --quorum 3").
set -eu
bin=${1:-target/release/examples/sim}
seeds=${2:-2000}
first=${3:-0}
# shellcheck disable=SC2086
"$bin" --seeds "$seeds" --first "$first" --jobs 1 ${SIM_ARGS:-} |
    sed -E 's/, jobs [0-9]+:/:/; s/ [0-9]+ actions\/s, [0-9.]+ s;/;/'
