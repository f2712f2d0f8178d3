#!/bin/sh
# client-reconfig-script: keep the name redis-master pointing at the current master.
# Sentinel calls it as: <master-name> <leader|observer> <state> <from-ip> <from-port> <to-ip> <to-port>
# The hosts file is rewritten atomically (temp file in the same directory, then rename), every
# other line kept. Exit 0 on success; 1 asks Sentinel to retry later, 2 or more gives up.
set -eu
HOSTS_FILE="{{HOSTS_FILE}}"
NAME="redis-master"
[ "$#" -eq 7 ] || { echo "usage: $0 <master> <role> <state> <from-ip> <from-port> <to-ip> <to-port>" >&2; exit 2; }
to_ip="$6"
tmp="$HOSTS_FILE.rsentinel.$$"
trap 'rm -f "$tmp"' EXIT
if [ -f "$HOSTS_FILE" ]; then
    awk -v name="$NAME" '{ keep = 1; for (i = 2; i <= NF; i++) if ($i == name) keep = 0; if (keep) print }' "$HOSTS_FILE" > "$tmp" || exit 1
else
    : > "$tmp"
fi
printf '%s %s\n' "$to_ip" "$NAME" >> "$tmp" || exit 1
chmod 644 "$tmp"
mv -f "$tmp" "$HOSTS_FILE" || exit 1
