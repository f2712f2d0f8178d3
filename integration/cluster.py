#!/usr/bin/env python3
"""A sentinel group for the client tests: 1 master, 2 replicas, 3 sentinels, all on 127.0.0.1.

Used two ways:

* from Python (integration/test_*.py): `Group(impl).start()` ... `group.stop()`;
* from any other language (node, Rust): run `python3 integration/cluster.py --impl rsentinel`
  as a child process. It prints one JSON line describing the group once it is ready, then
  reads commands, one per line, on stdin and answers each with one JSON line:

      kill-master        SIGKILL the master (and reap it)       -> {"killed": port}
      check KEY VALUE    wait until the 3 sentinels agree on a master other than the old one,
                         then read KEY there and ask its ROLE    -> {"ok": bool, ...}
      stop               kill everything                        -> exits

  End of stdin (the test runner died or forgot) also kills everything, and so does a
  watchdog after --max-seconds: no process outlives the test that started it.

The sentinel implementation is chosen with --impl: `rsentinel` (RSENTINEL_BIN, default
target/release/rsentinel) or `redis-sentinel` (Redis Sentinel 7.0.15 from the system).
Both get exactly the same configuration files; the group is pre-seeded with each sentinel's
myid and its peers (`known-sentinel`, `known-replica`) so that it is ready in a few seconds
instead of waiting for discovery through hellos.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

MASTER_NAME = "mymaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 10000
HOST = "127.0.0.1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sentinel_binary(impl):
    """The executable for an implementation name; a missing one is an error, never a skip."""
    if impl == "redis-sentinel":
        path = shutil.which("redis-sentinel")
    elif impl == "rsentinel":
        path = os.environ.get("RSENTINEL_BIN") or os.path.join(ROOT, "target", "release", "rsentinel")
    else:
        raise ValueError(f"unknown sentinel implementation {impl!r}")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"{impl} binary not found ({path}); build it with `cargo build --release --bins`")
    return path


def free_port(taken):
    """A port below the kernel's ephemeral range (32768+) that nothing listens on now.

    Another test may still take it before our process binds, so callers retry start-up."""
    while True:
        port = random.randint(20000, 32000)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
        taken.add(port)
        return port


def wait_for(cond, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return True
        except (redis.RedisError, OSError):
            pass
        time.sleep(step)
    return False


def conn(port, timeout=0.5):
    return redis.Redis(host=HOST, port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                       decode_responses=True)


def answers_ping(port):
    try:
        return conn(port, 0.2).ping()
    except (redis.RedisError, OSError):
        return False


class Group:
    """The processes of one group; stop() kills exactly them (and is safe to call twice)."""

    def __init__(self, impl, workdir=None):
        self.impl = impl
        self.binary = sentinel_binary(impl)
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"clients-{impl}-")
        self.procs = []
        self.ports = set()
        self.master_port = None
        self.master_proc = None
        self.replica_ports = []
        self.sentinel_ports = []
        self.old_master_port = None
        self._lock = threading.Lock()

    # -- processes ---------------------------------------------------------------------------

    def _spawn(self, args, name):
        with open(os.path.join(self.workdir, name + ".out"), "wb") as log:
            p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        with self._lock:
            self.procs.append(p)
        return p

    def _start_until_up(self, make_args, name):
        """Start a server on a fresh port, retrying on another port if it cannot bind."""
        for _ in range(10):
            port = free_port(self.ports)
            p = self._spawn(make_args(port), f"{name}-{port}")
            if wait_for(lambda: answers_ping(port) or p.poll() is not None, 10) and p.poll() is None:
                return port, p
            p.kill()
            p.wait()
        raise RuntimeError(f"{name} did not start (see {self.workdir})")

    def _start_redis(self, replica_of=None):
        def args(port):
            d = os.path.join(self.workdir, f"redis-{port}")
            os.makedirs(d, exist_ok=True)
            a = ["redis-server", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
                 "--dir", d, "--repl-diskless-sync-delay", "0"]
            if replica_of:
                a += ["--replicaof", HOST, str(replica_of)]
            return a
        return self._start_until_up(args, "redis")

    def _sentinel_conf(self, port, myid, peers):
        d = os.path.join(self.workdir, f"sentinel-{port}")
        os.makedirs(d, exist_ok=True)
        lines = [
            f"port {port}", f"bind {HOST}", f'dir "{d}"', 'logfile "sentinel.log"',
            f"sentinel myid {myid}",
            f"sentinel monitor {MASTER_NAME} {HOST} {self.master_port} 2",
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
        ]
        lines += [f"sentinel known-replica {MASTER_NAME} {HOST} {r}" for r in self.replica_ports]
        lines += [f"sentinel known-sentinel {MASTER_NAME} {HOST} {p} {i}" for p, i in peers]
        conf = os.path.join(d, "sentinel.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def start(self, settle_timeout=30):
        try:
            self.master_port, self.master_proc = self._start_redis()
            for _ in range(2):
                self.replica_ports.append(self._start_redis(replica_of=self.master_port)[0])
            # Ports and ids for all three first, so each config can name its two peers.
            ids = [secrets.token_hex(20) for _ in range(3)]
            for attempt in range(5):
                ports = [free_port(self.ports) for _ in range(3)]
                started = []
                for i, port in enumerate(ports):
                    peers = [(ports[j], ids[j]) for j in range(3) if j != i]
                    conf = self._sentinel_conf(port, ids[i], peers)
                    p = self._spawn([self.binary, conf], f"sentinel-{port}")
                    started.append((port, p))
                if all(wait_for(lambda: answers_ping(port) or p.poll() is not None, 10) and p.poll() is None
                       for port, p in started):
                    self.sentinel_ports = ports
                    break
                for _, p in started:
                    p.kill()
                    p.wait()
            else:
                raise RuntimeError(f"{self.impl} group did not start (see {self.workdir})")
            if not wait_for(self._settled, settle_timeout, 0.1):
                raise RuntimeError(f"{self.impl} group did not settle in {settle_timeout}s (see {self.workdir})")
            return self
        except BaseException:
            self.stop()
            raise

    def _settled(self):
        """Replication up, and every sentinel sees a healthy master, 2 replicas and 2 peers."""
        for p in self.replica_ports:
            if conn(p).info("replication").get("master_link_status") != "up":
                return False
        for p in self.sentinel_ports:
            s = conn(p)
            if s.sentinel_master(MASTER_NAME)["flags"] != "master":
                return False
            replicas = s.sentinel_slaves(MASTER_NAME)
            if len(replicas) != 2 or any(r["flags"] != "slave" or r["master-link-status"] != "ok" for r in replicas):
                return False
            peers = s.sentinel_sentinels(MASTER_NAME)
            if len(peers) != 2 or any("disconnected" in str(x["flags"]) for x in peers):
                return False
        return True

    def describe(self):
        return {
            "impl": self.impl,
            "master_name": MASTER_NAME,
            "host": HOST,
            "sentinels": self.sentinel_ports,
            "master": self.master_port,
            "replicas": self.replica_ports,
            "down_after_ms": DOWN_AFTER_MS,
            "workdir": self.workdir,
        }

    def kill_master(self):
        self.old_master_port = self.master_port
        self.master_proc.send_signal(signal.SIGKILL)
        self.master_proc.wait()
        return self.old_master_port

    def sentinel_master(self, port):
        host, mport = conn(port).sentinel_get_master_addr_by_name(MASTER_NAME)
        return host, int(mport)

    def check(self, key, value, timeout=15):
        """Where did the write go? Wait until all three sentinels give one new master, then
        read KEY there and ask its ROLE. Returns a dict with ok and the details."""
        agreed = [None]

        def all_agree():
            addrs = {self.sentinel_master(p) for p in self.sentinel_ports}
            if len(addrs) == 1:
                (addr,) = addrs
                if addr[1] != self.old_master_port:
                    agreed[0] = addr
                    return True
            return False

        if not wait_for(all_agree, timeout, 0.05):
            addrs = []
            for p in self.sentinel_ports:
                try:
                    addrs.append(self.sentinel_master(p))
                except (redis.RedisError, OSError) as e:
                    addrs.append(str(e))
            return {"ok": False, "why": "sentinels do not agree on a new master", "addresses": addrs}
        host, port = agreed[0]
        m = conn(port)
        role = m.execute_command("ROLE")[0]
        got = m.get(key)
        ok = role == "master" and got == value and port != self.old_master_port
        return {"ok": ok, "master": port, "old_master": self.old_master_port, "role": role, "value": got}

    def stop(self):
        with self._lock:
            procs = list(self.procs)
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            p.wait()
        if os.environ.get("KEEP_CLIENT_LOGS"):
            print(f"cluster: logs kept in {self.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def serve(group, max_seconds):
    """The line protocol for non-Python tests (see the module docstring)."""
    stopping = threading.Event()

    def shutdown(*_):
        stopping.set()
        group.stop()
        os._exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    watchdog = threading.Timer(max_seconds, shutdown)
    watchdog.daemon = True
    watchdog.start()

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply(group.describe())
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "kill-master":
                reply({"killed": group.kill_master()})
            elif words[0] == "check" and len(words) == 3:
                reply(group.check(words[1], words[2]))
            elif words[0] == "stop":
                break
            else:
                reply({"error": f"unknown command {line.strip()!r}"})
        except Exception as e:  # the test reads the error; the group must still be stopped
            reply({"error": f"{type(e).__name__}: {e}"})
    shutdown()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", required=True, choices=["rsentinel", "redis-sentinel"])
    ap.add_argument("--max-seconds", type=float, default=300, help="kill everything after this long")
    args = ap.parse_args()
    try:
        group = Group(args.impl).start()
    except Exception as e:
        sys.stdout.write(json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n")
        sys.stdout.flush()
        sys.exit(1)
    serve(group, args.max_seconds)


if __name__ == "__main__":
    main()
