"""What the clients in the matrix send on connect and while discovering, sent to rsentinel and to
redis-sentinel 7.0.15 side by side (same config), replies compared: HELLO 3, CLIENT SETINFO,
CLIENT MAINT_NOTIFICATIONS (node-redis 5.9+ / redis-py 7+ try it and must get the same
answer), ROLE, and the SENTINEL subcommands they read, in RESP2 and RESP3."""

import os
import shutil
import subprocess
import tempfile

import pytest
import redis

from cluster import HOST, answers_ping, free_port, sentinel_binary, wait_for

VOLATILE = {"runid", "last-ping-sent", "last-ok-ping-reply", "last-ping-reply", "down-after-milliseconds",
            "info-refresh", "role-reported-time", "link-pending-commands", "link-refcount",
            "last-hello-message", "voted-leader", "voted-leader-epoch", "id", "s-down-time",
            "master-link-down-time"}


@pytest.fixture(scope="module")
def pair(request):
    """Two redis-servers, one watched by an rsentinel, one by a redis-sentinel, with the same
    config apart from the ports (on one master they would discover each other)."""
    workdir = tempfile.mkdtemp(prefix="clients-handshake-")
    procs = []

    def stop():
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    request.addfinalizer(stop)
    taken = set()

    def start(args, port):
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        procs.append(p)
        assert wait_for(lambda: answers_ping(port) or p.poll() is not None, 10) and p.poll() is None, args
        return port

    ports = {}
    for impl in ("rsentinel", "redis-sentinel"):
        master = free_port(taken)
        start(["redis-server", "--port", str(master), "--bind", HOST, "--save", "", "--dir", workdir], master)
        port = free_port(taken)
        conf = os.path.join(workdir, f"{impl}.conf")
        with open(conf, "w") as f:
            f.write(f"port {port}\nbind {HOST}\ndir {workdir}\nsentinel monitor mymaster {HOST} {master} 1\n")
        ports[impl] = (start([sentinel_binary(impl), conf], port), master)
    for port, _ in ports.values():
        assert wait_for(lambda: redis.Redis(port=port).sentinel_master("mymaster")["flags"] == "master", 10)
    return ports


def both(pair, protocol, *args):
    out = {}
    for impl, (port, master) in pair.items():
        c = redis.Redis(host=HOST, port=port, protocol=protocol, decode_responses=True, socket_timeout=2)
        try:
            out[impl] = same_master(c.execute_command(*args), str(master))
        except redis.ResponseError as e:
            out[impl] = ("error", str(e))
        finally:
            c.close()
    return out["rsentinel"], out["redis-sentinel"]


def same_master(value, master_port):
    """Each sentinel watches its own master: name both ports alike."""
    if isinstance(value, dict):
        return {k: same_master(v, master_port) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [same_master(v, master_port) for v in value]
    return "<master-port>" if value in (master_port, int(master_port)) else value


def masked(value):
    if isinstance(value, dict):
        return {k: ("*" if k in VOLATILE else masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) % 2 == 0 and all(isinstance(x, str) for x in value[0::2]) and "name" in value[0::2]:
            pairs = list(zip(value[0::2], value[1::2]))
            return [(k, "*" if k in VOLATILE else v) for k, v in pairs]
        return [masked(v) for v in value]
    return value


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("args", [
    ("CLIENT", "MAINT_NOTIFICATIONS", "ON"),
    ("CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type", "internal-ip"),
    ("ROLE",),
    ("SENTINEL", "MASTERS"),
    ("SENTINEL", "MASTER", "mymaster"),
    ("SENTINEL", "SLAVES", "mymaster"),
    ("SENTINEL", "REPLICAS", "mymaster"),
    ("SENTINEL", "SENTINELS", "mymaster"),
    ("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"),
    ("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuchmaster"),
    ("SENTINEL", "MASTER", "nosuchmaster"),
])
def test_same_reply_as_redis_sentinel(pair, protocol, args):
    ours, theirs = both(pair, protocol, *args)
    # Field names, their order, flags and addresses must match; volatile numbers are masked.
    assert masked(ours) == masked(theirs), (ours, theirs)


@pytest.mark.parametrize("protocol", [3])
def test_hello_3_and_setinfo(pair, protocol):
    ours, theirs = both(pair, protocol, "HELLO", "3")
    assert masked(ours) == masked(theirs)
    assert ours["mode"] == "sentinel" and ours["proto"] == 3
    # CLIENT SETINFO: unknown to 7.0.15, the version rsentinel announces, so both answer the
    # same error (docs/COMPATIBILITY.md). Every client in the matrix ignores it.
    ours, theirs = both(pair, protocol, "CLIENT", "SETINFO", "lib-name", "redis-py")
    assert ours == theirs
    assert theirs[0] == "error" and "unknown subcommand" in theirs[1]
