"""redis-cli against the sentinel port: SENTINEL masters, get-master-addr-by-name, and
`--csv psubscribe '*'` (plus `[-+]sdown` and `subscribe +switch-master`) across a kill -9 of the
master, against rsentinel and redis-sentinel 7.0.15. The failover is followed the way a shell
script would: poll get-master-addr-by-name, then write with redis-cli to the address it gives."""

import subprocess
import threading
import time

from clientlib import record


def cli(*args, timeout=2):
    r = subprocess.run(["redis-cli", *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return r.stdout


class Listener:
    """A long-running `redis-cli --csv` subscriber whose output lines are collected."""

    def __init__(self, port, *args):
        self.lines = []
        self.proc = subprocess.Popen(["redis-cli", "--csv", "-p", str(port), *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def test_redis_cli_against_the_sentinel_port(group, request):
    s = group.sentinel_ports[0]
    old = group.master_port

    # SENTINEL masters: one master, fields and values as alternating lines, healthy flags.
    lines = cli("-p", s, "SENTINEL", "masters").splitlines()
    fields = dict(zip(lines[0::2], lines[1::2]))
    assert lines[0] == "name" and fields["name"] == "mymaster"
    assert fields["ip"] == "127.0.0.1" and fields["port"] == str(old)
    assert fields["flags"] == "master"
    assert fields["num-slaves"] == "2" and fields["num-other-sentinels"] == "2" and fields["quorum"] == "2"
    # The same in RESP3 (a map per master).
    resp3 = cli("-3", "-p", s, "SENTINEL", "masters")
    assert "flags" in resp3 and "num-other-sentinels" in resp3
    assert cli("-p", s, "SENTINEL", "get-master-addr-by-name", "mymaster").split() == ["127.0.0.1", str(old)]
    for sub in ("slaves", "replicas"):
        out = cli("-p", s, "SENTINEL", sub, "mymaster")
        assert out.count("\nflags\nslave\n") == 2, out
    assert cli("-p", s, "SENTINEL", "sentinels", "mymaster").count("\nrunid\n") == 2

    everything = Listener(s, "psubscribe", "*")
    sdown = Listener(s, "psubscribe", "[-+]sdown")
    switch = Listener(group.sentinel_ports[1], "subscribe", "+switch-master")
    for listener in (everything, sdown, switch):
        request.addfinalizer(listener.stop)
    assert everything.wait_for('"psubscribe","*",1', 5), everything.lines
    assert sdown.wait_for('"psubscribe","[-+]sdown",1', 5), sdown.lines
    assert switch.wait_for('"subscribe","+switch-master",1', 5), switch.lines

    group.kill_master()
    t0 = time.monotonic()
    new = None
    while True:
        addr = cli("-p", s, "SENTINEL", "get-master-addr-by-name", "mymaster").split()
        if len(addr) == 2 and addr[1] != str(old):
            new = int(addr[1])
            if cli("-p", new, "SET", "cli-key", "after").strip() == "OK":
                break
        assert time.monotonic() - t0 < 30, f"no new master within 30 s (last answer {addr})"
        time.sleep(0.01)
    record("redis-cli", group.impl, time.monotonic() - t0)
    assert group.check("cli-key", "after")["ok"]

    expect_switch = f'"+switch-master","mymaster 127.0.0.1 {old} 127.0.0.1 {new}"'
    assert everything.wait_for(f'"pmessage","*",{expect_switch}', 10), everything.lines
    # A sentinel that learns the switch from the leader's hello before its own down-after ends
    # may never flag the old master down as a master; it always does as a replica soon after.
    assert sdown.wait_for('"pmessage","[-+]sdown","+sdown",', 5), sdown.lines
    channels = {line.split(",")[2] for line in sdown.lines if line.startswith('"pmessage"')}
    assert channels <= {'"+sdown"', '"-sdown"'}, f"[-+]sdown matched other channels: {sdown.lines}"
    assert any(f"127.0.0.1 {old}" in line for line in sdown.lines), sdown.lines
    assert switch.wait_for(f'"message",{expect_switch}', 10), switch.lines
