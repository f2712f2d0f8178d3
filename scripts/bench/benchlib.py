"""Helpers shared by scripts/bench/throughput and scripts/bench/scale.

Real processes only: redis-server masters and the two sentinels, on free ports below the
kernel's ephemeral range, each killed by the object that started it (never by name).
"""

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

CLK_TCK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RSENTINEL = os.path.normpath(os.path.join(HERE, "..", "..", "target", "release", "rsentinel"))


# The query workloads: name -> (redis-benchmark command, with {name} for a monitored master's
# name; pipeline depth; label for tables).
WORKLOADS = {
    "addr-p16": (["SENTINEL", "get-master-addr-by-name", "{name}"], 16,
                 "SENTINEL get-master-addr-by-name, pipeline 16"),
    "addr-p1": (["SENTINEL", "get-master-addr-by-name", "{name}"], 1,
                "SENTINEL get-master-addr-by-name, no pipeline"),
    "ping-p1": (["PING"], 1, "PING, no pipeline"),
    "masters": (["SENTINEL", "MASTERS"], 1, "SENTINEL MASTERS ({masters} masters), no pipeline"),
}


def benchmark_argv(port, workload, name, requests, clients=50):
    """redis-benchmark running `workload` against the sentinel on `port`."""
    cmd, pipeline, _ = WORKLOADS[workload]
    return ["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", str(requests), "-P", str(pipeline),
            "--csv"] + [a.replace("{name}", name) for a in cmd]


def free_port():
    """A free port below the kernel's ephemeral range (32768+), so it stays ours."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def ping(port):
    try:
        return redis.Redis(port=port, socket_timeout=0.3).ping()
    except Exception:
        return False


def wait_for(cond, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


def implementations(rsentinel_path):
    impls = {"redis-sentinel": shutil.which("redis-sentinel"), "rsentinel": os.path.abspath(rsentinel_path)}
    for name, path in impls.items():
        if not path or not os.path.exists(path):
            sys.exit(f"{name} not found ({path}); build rsentinel with `cargo build --release`")
    return impls


def pinned(cpu, argv):
    """argv run on one CPU (taskset), or as is when cpu is None."""
    return argv if cpu is None else ["taskset", "-c", str(cpu)] + argv


class Procs:
    """Processes this benchmark started; stop() kills exactly them."""

    def __init__(self, prefix):
        self.workdir = tempfile.mkdtemp(prefix=prefix)
        self.procs = []

    def spawn(self, argv, name):
        log = open(os.path.join(self.workdir, name + ".out"), "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(p)
        return p

    def kill(self, p):
        if p.poll() is None:
            p.kill()
        p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def start_redis(self, cpu=None):
        """A master: redis-server with no persistence. Returns its port."""
        for _ in range(10):
            port = free_port()
            d = os.path.join(self.workdir, f"redis-{port}")
            os.makedirs(d, exist_ok=True)
            p = self.spawn(pinned(cpu, ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                        "--appendonly", "no", "--dir", d, "--maxclients", "10000"]),
                           f"redis-{port}")
            if wait_for(lambda: ping(port) or p.poll() is not None, 5) and p.poll() is None:
                return port
            self.kill(p)
        raise RuntimeError("redis-server did not start")

    def start_sentinel(self, binary, masters, cpu=None, extra_conf="", wrapper=(), start_timeout=10):
        """A sentinel monitoring `masters`, a list of (name, port) on 127.0.0.1, quorum 1;
        `extra_conf` follows the monitor lines; `wrapper` goes before the binary (valgrind ...).

        Returns (process, port, t_spawn) where t_spawn is time.monotonic() just before exec.
        """
        for _ in range(10):
            port = free_port()
            d = os.path.join(self.workdir, f"sentinel-{port}")
            os.makedirs(d, exist_ok=True)
            conf = os.path.join(d, "sentinel.conf")
            with open(conf, "w") as f:
                f.write(f'port {port}\nbind 127.0.0.1\ndir "{d}"\nlogfile "sentinel.log"\n')
                for name, mport in masters:
                    f.write(f"sentinel monitor {name} 127.0.0.1 {mport} 1\n")
                f.write(extra_conf)
            t_spawn = time.monotonic()
            p = self.spawn(pinned(cpu, list(wrapper) + [binary, conf]), f"sentinel-{port}")
            if wait_for(lambda: ping(port) or p.poll() is not None, start_timeout, step=0.005) and p.poll() is None:
                return p, port, t_spawn
            self.kill(p)
        raise RuntimeError(f"{binary} did not start")

    def stop(self, keep=False):
        for p in list(self.procs):
            self.kill(p)
        if keep:
            print(f"(logs kept in {self.workdir})")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_masters(procs, servers, cpu=None):
    return [procs.start_redis(cpu) for _ in range(servers)]


def master_names(prefix, count, ports):
    """count master names spread round-robin over the redis-server ports.

    The two implementations get different prefixes (same length, so replies are the same
    size): a sentinel ignores hellos for names it does not monitor, so they do not discover
    each other as peers.
    """
    return [(f"{prefix}{i:05d}", ports[i % len(ports)]) for i in range(count)]


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread, living or exited), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def established_outgoing(pid, listen_port):
    """TCP connections of pid in ESTABLISHED state that it opened (local port is not its own
    listening port): the links to instances."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] != "01" or cols[9] not in inodes:
                        continue
                    local_port = int(cols[1].rsplit(":", 1)[1], 16)
                    if local_port != listen_port:
                        count += 1
        except FileNotFoundError:
            pass
    return count


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def raw_command(conn, *args):
    """Send a command on a redis-py Connection and read the raw reply (no response callbacks,
    which would turn SENTINEL MASTERS into dicts and cost more than the reply itself)."""
    conn.send_command(*args)
    return conn.read_response()


def pairs(flat):
    """A RESP2 flat [k1, v1, k2, v2, ...] list (or a RESP3 map) of bytes as a dict of str."""
    if isinstance(flat, dict):
        return {k.decode(): v.decode() for k, v in flat.items()}
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat) - 1, 2)}


def wait_linked(port, masters, timeout):
    """Wait until SENTINEL MASTERS lists `masters` masters and none is flagged disconnected.
    Polls less often for many masters, whose listing costs the sentinel CPU."""
    conn = redis.Connection(host="127.0.0.1", port=port, protocol=2, socket_timeout=60)

    def linked():
        reply = raw_command(conn, "SENTINEL", "MASTERS")
        return len(reply) == masters and all("disconnected" not in pairs(m)["flags"] for m in reply)

    try:
        return wait_for(linked, timeout, step=max(0.1, masters / 10000))
    finally:
        conn.disconnect()


def own_scheduling_group(nice):
    """With the kernel's autogroup scheduling (sched_autogroup_enabled=1, as here), a nice
    value only ranks threads within their session's group, and groups share the CPU equally:
    a negative nice alone does not let the sentinels run sooner than another session's
    compiler. So the benchmark re-runs itself in a session of its own (setsid) and gives that
    session's group the nice value too (/proc/self/autogroup). Everything it starts inherits it."""
    if os.environ.get("BENCH_OWN_SESSION") != "1":
        os.environ["BENCH_OWN_SESSION"] = "1"
        os.execvp("setsid", ["setsid", "-w", sys.executable] + sys.argv)
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
    except OSError as e:
        print(f"(could not set the autogroup's nice: {e})")


def renice(pid, value):
    """Every thread of pid at nice `value` (nice is per thread on Linux)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), value)
        except OSError:
            pass
