"""Shared pieces of the Python client tests: the group fixture and result recording."""

import json
import os
import time

import pytest

from cluster import Group

IMPLS = ["rsentinel", "redis-sentinel"]


@pytest.fixture(params=IMPLS)
def group(request):
    """A fresh 1 master + 2 replicas + 3 sentinels group, killed at the end whatever happens."""
    g = Group(request.param)
    request.addfinalizer(g.stop)
    g.start()
    return g


def record(client, impl, seconds):
    """Append one recovery time to $CLIENT_RESULTS (read by integration/measure_clients.sh)."""
    path = os.environ.get("CLIENT_RESULTS")
    print(f"recovery {client} {impl}: {seconds:.3f}s")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"client": client, "impl": impl, "seconds": round(seconds, 4)}) + "\n")


def until_ok(action, timeout, step=0.01):
    """Call action() until it stops raising; return how long that took. The last error is
    re-raised if it never succeeds within timeout."""
    t0 = time.monotonic()
    while True:
        try:
            action()
            return time.monotonic() - t0
        except Exception:
            if time.monotonic() - t0 > timeout:
                raise
            time.sleep(step)
