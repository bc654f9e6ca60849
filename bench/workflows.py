"""Benchmark of the workflow helpers against the local server (run in its own process, as a real server would be).

1. 10,000 echo items through ``run_requests`` (default settings, including the 240-a-minute Pace) vs the plain
   loop a user writes with the raw CoreApi methods: batch create in chunks of 250, then collect every id once a
   second until all are final. Wall time ratio (target <= 0.5x) and the API calls each made.
2. Peak RSS of a process that submits a 100,000-item generator of ~1 KiB items (to a deployment that holds them
   pending, so the server does not compete for the CPU): the growth must stay far below the items' total size.

    python bench/workflows.py [--items 10000] [--rounds 2] [--rss-items 100000]

Exits 1 when a target is missed.
"""

import argparse
import json
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

from _common import check

import ubiops
from ubiops.local.config import BUNDLED_DIR
from ubiops.models.deployment_requests import FINAL_STATUSES
from ubiops.utils import Pace, run_requests, submit_requests

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "bench"
SLEEPER = ROOT / "test" / "workflows" / "packages" / "sleeper"
BATCH = 250
#: Bytes per item in the memory run: float() of "3600" padded with spaces is 3600, so the sleeper holds them.
RSS_ITEM = "3600".ljust(1024)
RSS_GROWTH_TARGET_MIB = 40


class CountingApiClient(ubiops.ApiClient):
    """Counts every API call, by method name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: Dict[str, int] = Counter()
        self._lock = threading.Lock()

    def call(self, endpoint: Any, args: Any, kwargs: Any, with_http_info: bool) -> Any:
        with self._lock:
            self.calls[endpoint.name] += 1
        return super().call(endpoint, args, kwargs, with_http_info)


@contextmanager
def local_server() -> Iterator[ubiops.Configuration]:
    """``ubiops-local serve`` in a subprocess with echo and the sleeper; yields a Configuration for it."""
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(  # JSON is YAML
            json.dumps(
                {
                    "project": PROJECT,
                    "deployments": [
                        {"name": "echo", "path": str(BUNDLED_DIR / "echo"), "instances": 2},
                        {"name": "sleeper", "path": str(SLEEPER)},
                    ],
                }
            )
        )
        command = [sys.executable, "-m", "ubiops.local", "serve", "--port", "0", "--config", str(config)]
        server = subprocess.Popen([*command, "--token", token], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            first = server.stdout.readline()  # "UbiOps local server at http://127.0.0.1:PORT/v2.1"
            if not first.startswith("UbiOps local server at "):
                raise RuntimeError(f"the local server did not start: {first!r}")
            configuration = ubiops.Configuration(host=first.split()[-1], api_key={"Authorization": token})
            configuration.connection_pool_maxsize = 8
            yield configuration
        finally:
            server.terminate()
            server.communicate(timeout=60)


def plain_loop(core_api: ubiops.CoreApi, items: List[str]) -> List[Any]:
    """What a user writes with the raw methods: create in chunks of 250, then collect everything every second."""
    ids: List[str] = []
    for start in range(0, len(items), BATCH):
        ids += [r.id for r in core_api.batch_deployment_requests_create(PROJECT, "echo", items[start : start + BATCH])]
    while True:
        records = []
        for start in range(0, len(ids), BATCH):
            records += core_api.deployment_requests_batch_get(PROJECT, "echo", ids[start : start + BATCH])
        if all(r.status in FINAL_STATUSES for r in records):
            break
        time.sleep(1)
    by_id = {r.id: r for r in records}  # collect does not keep the order
    return [by_id[request_id].result for request_id in ids]


def one_call(core_api: ubiops.CoreApi, items: List[str]) -> List[Any]:
    """Default settings; a fresh default Pace (240 a minute) per run, as a new process would have."""
    return [record.result for record in run_requests(core_api, PROJECT, "echo", items, pace=Pace())]


def timed(configuration: ubiops.Configuration, way: Any, items: List[str]) -> Tuple[float, int]:
    """Seconds and API calls for one run; checks the results came back in input order."""
    with CountingApiClient(configuration) as client:
        started = time.perf_counter()
        results = way(ubiops.CoreApi(client), items)
        seconds = time.perf_counter() - started
        if results != items:
            raise AssertionError(f"{way.__name__}: results are not the inputs in input order")
        return seconds, sum(client.calls.values())


def current_rss_kib() -> int:
    """The resident set size now (ru_maxrss is the peak so far, which start-up may have set higher)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # no /proc: the peak so far, an upper bound


def rss_child(host: str, token: str, count: int) -> None:
    """Runs in its own process: RSS before, and the peak RSS after, submitting a generator of ``count`` items."""
    configuration = ubiops.Configuration(host=host, api_key={"Authorization": token})
    with ubiops.ApiClient(configuration) as client:
        core_api = ubiops.CoreApi(client)
        submit_requests(core_api, PROJECT, "sleeper", [RSS_ITEM], pace=Pace(None))  # warm: imports, connections
        before = current_rss_kib()
        started = time.perf_counter()
        items = (RSS_ITEM for _ in range(count))
        ids = submit_requests(core_api, PROJECT, "sleeper", items, pace=Pace(None))
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert len(ids) == count
    print(json.dumps({"before_kib": before, "after_kib": after, "seconds": seconds}))


def peak_rss(configuration: ubiops.Configuration, count: int) -> Dict[str, float]:
    token = configuration.api_key["Authorization"]
    command = [sys.executable, __file__, "--rss-child", configuration.host, token, str(count)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=1800).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each way; the best of each is compared")
    parser.add_argument("--rss-items", type=int, default=100_000)
    parser.add_argument("--rss-child", nargs=3, metavar=("HOST", "TOKEN", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        host, token, count = args.rss_child
        rss_child(host, token, int(count))
        return 0

    items = [f"item {i}" for i in range(args.items)]
    ok = []
    with local_server() as configuration:
        timed(configuration, one_call, items[:500])  # warm up the server's workers and caches
        runs: Dict[str, List[Tuple[float, int]]] = {"plain_loop": [], "one_call": []}
        for round_number in range(args.rounds):
            ways = (plain_loop, one_call) if round_number % 2 == 0 else (one_call, plain_loop)
            for way in ways:
                runs[way.__name__].append(timed(configuration, way, items))
        plain_seconds, plain_calls = min(runs["plain_loop"])
        one_seconds, one_calls = min(runs["one_call"])
        print(f"{args.items:,} echo items, best of {args.rounds}:")
        print(f"  plain loop: {plain_seconds:.2f} s, {plain_calls} API calls")
        print(f"  one call (run_requests): {one_seconds:.2f} s, {one_calls} API calls")
        ok.append(check("one-call vs plain loop", one_seconds / plain_seconds, "<=", 0.5))
        ok.append(check("one-call API calls vs plain loop", one_calls / plain_calls, "<=", 1.0))

        rss = peak_rss(configuration, args.rss_items)
        items_mib = args.rss_items * len(RSS_ITEM) / 2**20
        growth = (rss["after_kib"] - rss["before_kib"]) / 1024
        print(
            f"submit a {args.rss_items:,}-item generator ({items_mib:.0f} MiB of items): peak RSS "
            f"{rss['after_kib'] / 1024:.1f} MiB, {rss['seconds']:.1f} s"
        )
        ok.append(check("peak RSS growth while submitting", growth, "<=", RSS_GROWTH_TARGET_MIB, unit=" MiB", digits=1))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
