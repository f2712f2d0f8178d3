"""redis-py's redis.sentinel.Sentinel (master_for / slave_for), RESP2 and RESP3, across a kill -9
of the master, against rsentinel and against redis-sentinel 7.0.15."""

import time
import uuid

import pytest
import redis
from redis.sentinel import Sentinel

from clientlib import record, until_ok


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_sentinel_failover(group, protocol):
    sentinels = [(group.describe()["host"], p) for p in group.sentinel_ports]
    timeouts = dict(socket_timeout=0.3, socket_connect_timeout=0.3)
    s = Sentinel(sentinels, sentinel_kwargs=dict(protocol=protocol, **timeouts), protocol=protocol, **timeouts)

    # Discovery goes through SENTINEL MASTERS (flags parsed) then get-master-addr-by-name.
    assert s.discover_master("mymaster") == ("127.0.0.1", group.master_port)
    assert sorted(p for _, p in s.discover_slaves("mymaster")) == sorted(group.replica_ports)
    state = s.sentinels[0].sentinel_master("mymaster")
    assert state["is_master"] and not state["is_sdown"] and not state["is_odown"]
    assert state["num-slaves"] == 2 and state["num-other-sentinels"] == 2

    master = s.master_for("mymaster", decode_responses=True, **timeouts)
    replica = s.slave_for("mymaster", decode_responses=True, **timeouts)
    key = f"k-{uuid.uuid4().hex}"
    assert master.set(key, "before")
    assert master.get(key) == "before"
    assert master.execute_command("ROLE")[0] == "master"
    deadline = time.monotonic() + 5
    while replica.get(key) != "before":
        assert time.monotonic() < deadline, "the replica never saw the write"
        time.sleep(0.02)
    with pytest.raises(redis.ReadOnlyError):
        replica.set(key, "nope")

    group.kill_master()
    recovery = until_ok(lambda: master.set(key, "after"), timeout=30)
    record(f"redis-py RESP{protocol}", group.impl, recovery)

    result = group.check(key, "after")
    assert result["ok"], result
    assert s.discover_master("mymaster") == ("127.0.0.1", result["master"])
    # Clients that parse SENTINEL MASTERS' flags (redis-py, redis-rs) skip a master flagged
    # s_down / o_down. As with redis-sentinel, a sentinel shows either the old master, flagged
    # down (the leader keeps it until its failover ends), or the new one flagged plain "master",
    # never the new address with a down flag; in the end every sentinel shows the new one.
    seen = set()
    deadline = time.monotonic() + 10
    while True:
        states = [redis.Redis(port=p, decode_responses=True).sentinel_masters()["mymaster"]
                  for p in group.sentinel_ports]
        seen.update((st["port"], st["flags"]) for st in states)
        if all(st["port"] == result["master"] for st in states) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    # redis-sentinel on this 2-core machine, starved by the suite beside it, sometimes judges
    # the new master down right after the switch (the promotion's CLIENT KILL dropped its links)
    # and starts a second failover: Sentinel's behaviour under load, not a client matter. The
    # flags rule is asserted for the reference only when that did not happen; always for ours.
    second_failover = any(port == result["master"] and "s_down" in flags for port, flags in seen)
    if group.impl == "redis-sentinel" and second_failover:
        print(f"redis-sentinel started a second failover under load: {seen}")
        return
    for port, flags in seen:
        if port == result["master"]:
            assert flags in ("master", "master,disconnected"), seen
        else:
            assert port == group.old_master_port and "s_down" in flags, seen
    assert all(st["port"] == result["master"] for st in states), seen
    # The replica pool follows too: a read through slave_for reaches the remaining replica
    # (or the master, redis-py's fallback) and sees the write.
    until_ok(lambda: _expect(replica.get(key), "after"), timeout=10, step=0.05)


def _expect(got, want):
    if got != want:
        raise AssertionError(f"{got!r} != {want!r}")
