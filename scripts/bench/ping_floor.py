#!/usr/bin/env python3
"""EXPERIMENT: the floor of server CPU per unpipelined PING on this kernel.

Measures, with the method of scripts/bench/throughput (server pinned to CPU 0, redis-benchmark
-c 50 -P 1 on CPU 1, µs of the server's utime + stime per request from /proc, implementations
alternating run by run, medians), four servers answering PING:

  redis-sentinel   7.0.15, monitoring --masters names on --servers redis-servers (as in
                   scripts/bench/throughput)
  rsentinel        the same
  epoll floor      scripts/bench/ping_floor (mio, one read and one write per request, no
                   other work): the floor of the design both sentinels share
  io_uring floor   the same with io_uring: recvs kept in flight, every wake-up's sends and
                   recvs submitted in one io_uring_enter that also waits

and, with perf (tracepoints), the system calls each made per request.

    scripts/bench/ping_floor.py [--runs 5] [--requests 50000] [--pipeline 1] [--masters 100]
                                [--servers 10] [--nice -10] [--rsentinel PATH]

Build the floors first:
    (cd scripts/bench/ping_floor && cargo build --release --target-dir ../../../target/ping_floor)
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

import benchlib as bl  # scripts/bench/benchlib.py: Python puts the script's directory on sys.path

FLOOR = os.path.normpath(os.path.join(bl.HERE, "..", "..", "target", "ping_floor", "release", "ping_floor"))


def raw_ping(port):
    """PING over a bare socket (redis-py opens with HELLO, which the floors do not know)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(16) == b"+PONG\r\n"
    except OSError:
        return False


def start_floor(procs, mode, wrapper):
    for _ in range(10):
        port = bl.free_port()
        p = procs.spawn(bl.pinned(0, list(wrapper) + [FLOOR, mode, str(port)]), f"floor-{mode}-{port}")
        if bl.wait_for(lambda: raw_ping(port) or p.poll() is not None, 5) and p.poll() is None:
            return p, port
        procs.kill(p)
    raise RuntimeError(f"ping_floor {mode} did not start")


def bench(p, port, requests, use_perf, pipeline):
    argv = bl.pinned(1, ["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(requests), "-P", str(pipeline),
                         "--csv", "PING"])
    perf = None
    if use_perf:
        perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p", str(p.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.2)
    c0 = bl.cpu_seconds(p.pid)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    c1 = bl.cpu_seconds(p.pid)
    syscalls = None
    if perf:
        perf.send_signal(2)
        _, err = perf.communicate()
        for line in err.splitlines():
            cols = line.split(",")
            if len(cols) > 2 and cols[0].strip().isdigit():
                syscalls = int(cols[0]) / requests
    rps = None
    for line in out.stdout.splitlines():
        cols = [c.strip('"') for c in line.split(",")]
        if len(cols) > 1 and cols[0] != "test":
            rps = float(cols[1])
    return {"us": (c1 - c0) / requests * 1e6, "rps": rps or 0.0, "syscalls": syscalls}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=50_000)
    ap.add_argument("--masters", type=int, default=100)
    ap.add_argument("--servers", type=int, default=10)
    ap.add_argument("--pipeline", type=int, default=1, help="redis-benchmark -P (default 1)")
    ap.add_argument("--nice", type=int, default=None, help="as in scripts/bench/idle_compare")
    ap.add_argument("--rsentinel", default=bl.DEFAULT_RSENTINEL)
    args = ap.parse_args()
    if args.nice is not None:
        bl.own_scheduling_group(args.nice)
    if not os.path.exists(FLOOR):
        sys.exit(f"{FLOOR} missing: build scripts/bench/ping_floor first (see --help)")
    impls = bl.implementations(args.rsentinel)
    use_perf = shutil.which("perf") is not None
    wrapper = ["nice", "-n", str(args.nice)] if args.nice is not None else []
    procs = bl.Procs("bench-ping-floor-")
    try:
        ports = bl.start_masters(procs, min(args.servers, args.masters), cpu=1)
        servers = {}
        for prefix, impl in zip("ab", ["redis-sentinel", "rsentinel"]):
            names = bl.master_names(prefix, args.masters, ports)
            p, port, _ = procs.start_sentinel(impls[impl], names, cpu=0, wrapper=wrapper)
            servers[impl] = (p, port)
        for impl, (p, port) in servers.items():
            if not bl.wait_linked(port, args.masters, 60):
                sys.exit(f"{impl} did not link every master")
        for mode, label in (("epoll", "epoll floor"), ("uring", "io_uring floor")):
            servers[label] = start_floor(procs, mode, wrapper)
        time.sleep(2)
        print(f"PING, pipeline {args.pipeline}, redis-benchmark -c 50 -n {args.requests}; load average {bl.loadavg()}",
              flush=True)
        results = {k: [] for k in servers}
        for run in range(args.runs):
            for name, (p, port) in servers.items():
                r = bench(p, port, args.requests, use_perf, args.pipeline)
                results[name].append(r)
                sc = f"{r['syscalls']:.2f}" if r["syscalls"] is not None else "-"
                print(f"  #{run + 1} {name:<15} {r['us']:7.2f} µs CPU/request  {sc:>5} syscalls/request  "
                      f"{r['rps']:9.0f} req/s", flush=True)
        base = statistics.median(r["us"] for r in results["redis-sentinel"])
        print(f"\nmedians of {args.runs}; load average {bl.loadavg()} at end\n")
        print("| server | µs CPU / request | vs redis-sentinel | syscalls / request | req/s |")
        print("|---|---|---|---|---|")
        for name, rs in results.items():
            us = statistics.median(r["us"] for r in rs)
            sc = [r["syscalls"] for r in rs if r["syscalls"] is not None]
            sc = f"{statistics.median(sc):.2f}" if sc else "-"
            print(f"| {name} | {us:.2f} | {us / base:.2f} | {sc} | {statistics.median(r['rps'] for r in rs):.0f} |")
    finally:
        procs.stop()


if __name__ == "__main__":
    sys.exit(main())
