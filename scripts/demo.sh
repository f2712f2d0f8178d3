#!/usr/bin/env bash
# A guided failover on localhost: installs what it needs, builds rsentinel, starts 1 master,
# 2 replicas and 3 rsentinels, shows what the sentinels see, kills the master, prints the
# failover events as they happen and the new master, then stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --bins
BIN="$PWD/target/release/rsentinel"

work=$(mktemp -d /tmp/rsentinel-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A free port below the kernel's ephemeral range, so nothing else takes it meanwhile.
free_port() {
    local p
    while :; do
        p=$(shuf -i 20000-32000 -n 1)
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
}
wait_port() {
    for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
    echo "demo: nothing answers on port $1" >&2; return 1
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

master=$(free_port)
redis-server --port "$master" --bind 127.0.0.1 --save "" --dir "$work" --logfile "$work/master.log" & pids+=($!)
wait_port "$master"
replicas=()
for i in 1 2; do
    p=$(free_port)
    redis-server --port "$p" --bind 127.0.0.1 --save "" --dir "$work" --logfile "$work/replica$i.log" \
        --replicaof 127.0.0.1 "$master" & pids+=($!)
    wait_port "$p"
    replicas+=("$p")
done
for p in "${replicas[@]}"; do
    until redis-cli -p "$p" info replication | grep -q master_link_status:up; do sleep 0.1; done
done

sentinels=()
for i in 1 2 3; do
    p=$(free_port)
    mkdir -p "$work/s$i"
    cat > "$work/s$i/sentinel.conf" <<EOF
port $p
bind 127.0.0.1
dir "$work/s$i"
logfile "sentinel.log"
sentinel monitor mymaster 127.0.0.1 $master 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 10000
EOF
    "$BIN" "$work/s$i/sentinel.conf" & pids+=($!)
    wait_port "$p"
    sentinels+=("$p")
done

say "1 master (port $master), 2 replicas (${replicas[*]}), 3 rsentinels (${sentinels[*]})"
echo "waiting for the sentinels to find each other and the replicas..."
for p in "${sentinels[@]}"; do
    until [ "$(redis-cli -p "$p" sentinel sentinels mymaster | grep -c '^name$')" = 2 ] &&
          [ "$(redis-cli -p "$p" sentinel replicas mymaster | grep -c '^name$')" = 2 ]; do sleep 0.2; done
done

say "SENTINEL MASTERS, as the first sentinel sees it"
redis-cli -p "${sentinels[0]}" sentinel masters | paste - - | head -20

say "the master is killed (kill -9); failover events from the first sentinel:"
redis-cli -p "${sentinels[0]}" --csv psubscribe '*' > "$work/events.csv" & pids+=($!)
sleep 0.3
start=$(date +%s%3N)
{ kill -9 "${pids[0]}" && wait "${pids[0]}"; } 2>/dev/null || true
for _ in $(seq 1000); do
    grep -q switch-master "$work/events.csv" && break
    sleep 0.01
done
end=$(date +%s%3N)
sleep 0.5
grep -v '"psubscribe"\|Reading messages' "$work/events.csv" | cut -d, -f3- | tr -d '"' | sed 's/^/  /'

say "the new master, according to each sentinel"
for p in "${sentinels[@]}"; do
    echo "  sentinel $p: $(redis-cli -p "$p" sentinel get-master-addr-by-name mymaster | paste -sd:)"
done
echo "(+switch-master seen $((end - start)) ms after the kill, down-after-milliseconds being 1000)"
say "done: stopping everything this demo started"
