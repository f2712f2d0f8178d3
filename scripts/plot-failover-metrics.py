#!/usr/bin/env python3
"""Plot a real failover as rsentinel's metrics show it, from a real Prometheus.

Starts a master with two replicas, three rsentinels (quorum 2, each with metrics-port) and
Prometheus scraping them every 100 ms; kills the master (SIGKILL), waits for the failover,
restarts the old master (which the sentinels turn into a replica), then reads the series back
with Prometheus's /api/v1/query_range and draws them with matplotlib:

    python3 -m pip install matplotlib
    cargo build --release --bins
    python3 scripts/plot-failover-metrics.py [--bin target/release/rsentinel] [--out docs/img/failover-metrics.png]

Everything it starts listens on 127.0.0.1, on free ports below 32768, and is killed on exit.
"""
import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

procs = []


def free_port():
    while True:
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                pass


def start(args, **kw):
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, **kw)
    procs.append(p)
    return p


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def redis(port, d, *extra):
    p = start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", d, *extra])
    wait_port(port)
    return p


def event_timeline(ax, counters):
    """One row per event type, a mark (with the count) where its counter rose. A counter that
    appears mid-range starts from 0: the event had not happened before."""
    order = ["+sdown", "+odown", "+try-failover", "+elected-leader", "+switch-master",
             "-sdown", "+convert-to-slave"]
    counters = sorted(counters, key=lambda c: order.index(c[0]["type"]) if c[0]["type"] in order else 99)
    for row, (m, xs, ys) in enumerate(counters):
        previous = 0.0
        for x, y in zip(xs, ys):
            if y > previous:
                ax.plot([x], [row], "o", color=f"C{row}")
                ax.annotate(f"{int(y - previous)}", (x, row), xytext=(4, 4),
                            textcoords="offset points", fontsize=7)
            previous = y
    ax.set_yticks(range(len(counters)))
    ax.set_yticklabels([m["type"] for m, _, _ in counters], fontsize=8)
    ax.set_ylim(-0.7, len(counters) - 0.3)
    ax.grid(alpha=0.3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/rsentinel")
    ap.add_argument("--out", default="docs/img/failover-metrics.png")
    ap.add_argument("--down-after", type=int, default=3000)
    a = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    work = tempfile.mkdtemp(prefix="rsentinel-plot-")
    mport, r1, r2 = free_port(), free_port(), free_port()
    master = redis(mport, work)
    redis(r1, work, "--replicaof", "127.0.0.1", str(mport))
    redis(r2, work, "--replicaof", "127.0.0.1", str(mport))
    targets = []
    for i in range(3):
        port, metrics = free_port(), free_port()
        d = os.path.join(work, f"s{i}")
        os.mkdir(d)
        conf = os.path.join(d, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {port}\nbind 127.0.0.1\ndir {d}\nlogfile sentinel.log\n"
                    f"metrics-port {metrics}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {mport} 2\n"
                    f"sentinel down-after-milliseconds mymaster {a.down_after}\n"
                    f"sentinel failover-timeout mymaster 10000\n")
        start([a.bin, conf])
        wait_port(metrics)
        targets.append(f"127.0.0.1:{metrics}")
    pport = free_port()
    pconf = os.path.join(work, "prometheus.yml")
    with open(pconf, "w") as f:
        f.write("global:\n  scrape_interval: 100ms\nscrape_configs:\n  - job_name: rsentinel\n"
                f"    static_configs:\n      - targets: {json.dumps(targets)}\n")
    start(["prometheus", f"--config.file={pconf}", f"--storage.tsdb.path={work}/tsdb",
           f"--web.listen-address=127.0.0.1:{pport}"], cwd=work)
    wait_port(pport)
    deadline = time.time() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{pport}/-/ready", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit("prometheus never became ready")
        time.sleep(0.2)

    def api(path, **params):
        url = f"http://127.0.0.1:{pport}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)["data"]["result"]

    # Baseline: every sentinel sees the others and both replicas.
    deadline = time.time() + 60
    while time.time() < deadline:
        got = api("query", query="rsentinel_master_sentinels_reachable")
        if len(got) == 3 and all(float(r["value"][1]) == 2 for r in got):
            break
        time.sleep(0.5)
    else:
        sys.exit("the sentinels never found each other")
    time.sleep(5)
    t_kill = time.time()
    master.send_signal(signal.SIGKILL)
    master.wait()
    deadline = time.time() + 60
    while time.time() < deadline:
        got = api("query", query="rsentinel_failovers_total")
        if len(got) == 3 and all(float(r["value"][1]) == 1 for r in got):
            break
        time.sleep(0.5)
    else:
        sys.exit("no failover")
    time.sleep(4)
    t_restart = time.time()
    redis(mport, work)  # the old master, back as a master: the sentinels convert it
    time.sleep(14)
    t_end = time.time()
    start_t = t_kill - 6

    def series(q):
        out = []
        for r in api("query_range", query=q, start=start_t, end=t_end, step="0.1"):
            xs = [float(t) - t_kill for t, _ in r["values"]]
            ys = [float(v) for _, v in r["values"]]
            out.append((r["metric"], xs, ys))
        return out

    def who(metric):
        return "sentinel " + str(targets.index(metric["instance"]) + 1)

    fig, axes = plt.subplots(5, 1, figsize=(10, 12), sharex=True)
    # In a PromQL regex a leading + is a quantifier: [+] is the character.
    events = "[+]sdown|[+]odown|[+]try-failover|[+]elected-leader|[+]switch-master|[+]convert-to-slave|[-]sdown"
    panels = [
        ("master up (link up and not SDOWN), per sentinel", ["rsentinel_master_up"]),
        ("SDOWN (solid) and ODOWN (dashed) of the master, per sentinel",
         ["rsentinel_master_sdown", "rsentinel_master_odown"]),
        ("events: when rsentinel_events_total rose (all three sentinels; the number is how many)",
         [f'sum by (type) (rsentinel_events_total{{type=~"{events}",master="mymaster"}})']),
        ("config epoch, per sentinel", ["rsentinel_master_config_epoch"]),
        ("instances this sentinel sees SDOWN (the killed master, as a replica after the switch)",
         ["sum by (instance) (rsentinel_instance_sdown)"]),
    ]
    for ax, (title, queries) in zip(axes, panels):
        if "events" in title:
            event_timeline(ax, series(queries[0]))
            ax.set_title(title, fontsize=9, loc="left")
            ax.axvline(0, color="red", lw=0.8, ls="--")
            ax.axvline(t_restart - t_kill, color="gray", lw=0.8, ls=":")
            continue
        for n, q in enumerate(queries):
            style = "-" if n == 0 else "--"
            for i, (m, xs, ys) in enumerate(sorted(series(q), key=lambda s: str(s[0]))):
                label = m["type"] if "type" in m else who(m)
                ax.step(xs, [y + 0.03 * i for y in ys], where="post", ls=style,
                        label=label if n == 0 else None)
        ax.set_title(title, fontsize=9, loc="left")
        ax.grid(alpha=0.3)
        ax.axvline(0, color="red", lw=0.8, ls="--")
        ax.axvline(t_restart - t_kill, color="gray", lw=0.8, ls=":")
        ax.legend(loc="upper left", fontsize=7)
    axes[0].annotate("kill -9 master", (0, 1.0), xytext=(0.3, 0.5), fontsize=8, color="red")
    axes[-1].annotate("old master restarted", (t_restart - t_kill, 1.0),
                      xytext=(t_restart - t_kill + 0.3, 0.3), fontsize=8, color="gray")
    axes[-1].set_xlabel(f"seconds after kill -9 of the master (down-after-milliseconds {a.down_after}, "
                        "quorum 2 of 3, Prometheus scraping every 100 ms)")
    fig.suptitle("A failover as rsentinel's metrics show it (Prometheus query_range)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    fig.savefig(a.out, dpi=80)
    # The numbers behind the picture, for the docs.
    for name, q in [("sdown", "rsentinel_master_sdown"), ("odown", "rsentinel_master_odown"),
                    ("epoch", "rsentinel_master_config_epoch")]:
        for m, xs, ys in series(q):
            first = next((x for x, y in zip(xs, ys) if x >= 0 and y > 0 and (name != "epoch" or y >= 1)), None)
            print(f"{who(m)}: first {name} sample at {first} s")
    dur = api("query", query="rsentinel_last_failover_duration_seconds")
    for r in dur:
        print(f"{who(r['metric'])}: led the failover, +try-failover to +switch-master {float(r['value'][1]):.3f} s")
    print(a.out)


try:
    main()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
