#!/usr/bin/env bash
# Runs a sentinel on conf/sentinel.conf, after installing what it needs. A scratch copy of the
# config is used, because the sentinel rewrites its config file as its state changes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --bins
work=$(mktemp -d)
cp conf/sentinel.conf "$work/sentinel.conf"
echo "run: config at $work/sentinel.conf"
exec target/release/rsentinel "$work/sentinel.conf"
