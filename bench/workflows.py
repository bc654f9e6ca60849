"""Benchmark of the workflow helpers against the local server (run in its own process with --quiet, as a real server
would be), on two servers and one memory figure.

The plain loop is what a user writes with the raw CoreApi methods: batch create in chunks of 250, then collect every
unfinished id (250 a call) at once and again each second until all are final. ``run_requests`` runs with default
settings, including a fresh 240-a-minute Pace. The floor of both is one create per 250 items plus one collect per
250 final records.

1. Fast: 10,000 echo items, processing done before submission ends. The one-call wall time must not exceed the plain
   loop's (best of each way's rounds: the loop's best is a round where processing ended before its first poll).
2. Slow: 10,000 items to a deployment with 2 instances that sleep ~4 ms each, so processing outlasts submission by
   ~20 s. Median over the rounds of the API calls (one-call <= 0.5x the loop's) and of the delay from the server
   completing the last request (max ``time_completed``) to the caller holding every record (<= 0.25 s); the calls
   the one-call started in its busiest minute stay within the Pace budget.
3. Peak RSS of a process that submits a 100,000-item generator of ~1 KiB items (to a deployment that holds them
   pending, so the server does not compete for the CPU): the growth must stay far below the items' total size.

    python bench/workflows.py [--items 10000] [--fast-rounds 5] [--rounds 3] [--rss-items 100000]

Exits 1 when a target is missed.
"""

import argparse
import bisect
import json
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Sequence

from _common import check

import ubiops
from ubiops.local.config import BUNDLED_DIR
from ubiops.models.deployment_requests import FINAL_STATUSES
from ubiops.utils import Pace, run_requests, submit_requests
from ubiops.utils.pace import DEFAULT_CALLS_PER_MINUTE

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "bench"
SLEEPER = ROOT / "test" / "workflows" / "packages" / "sleeper"
BATCH = 250
#: The slow server's per-request work: the sleeper sleeps float(item) seconds, so "0.004" + a unique suffix is ~4 ms.
WORK_ITEM = "0.004{:06d}"
SLOW_INSTANCES = 2
#: Bytes per item in the memory run: float() of "3600" padded with spaces is 3600, so the sleeper holds them.
RSS_ITEM = "3600".ljust(1024)
RSS_GROWTH_TARGET_MIB = 40


class CountingApiClient(ubiops.ApiClient):
    """Records the start time of every API call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.starts: List[float] = []
        self._lock = threading.Lock()

    def call(self, endpoint: Any, args: Any, kwargs: Any, with_http_info: bool) -> Any:
        with self._lock:
            self.starts.append(time.monotonic())
        return super().call(endpoint, args, kwargs, with_http_info)


@contextmanager
def local_server() -> Iterator[ubiops.Configuration]:
    """``ubiops-local serve --quiet`` in a subprocess with echo, the slow ``worker`` and the sleeper (one instance,
    holds the memory run's items); yields a Configuration for it."""
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(  # JSON is YAML
            json.dumps(
                {
                    "project": PROJECT,
                    "deployments": [
                        {"name": "echo", "path": str(BUNDLED_DIR / "echo"), "instances": 2},
                        {"name": "worker", "path": str(SLEEPER), "instances": SLOW_INSTANCES},
                        {"name": "sleeper", "path": str(SLEEPER)},
                    ],
                }
            )
        )
        command = [sys.executable, "-m", "ubiops.local", "serve", "--quiet", "--port", "0", "--config", str(config)]
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


def plain_loop(core_api: ubiops.CoreApi, deployment: str, items: List[str]) -> List[Any]:
    """What a user writes with the raw methods: create in chunks of 250, then collect the unfinished every second."""
    ids: List[str] = []
    for start in range(0, len(items), BATCH):
        created = core_api.batch_deployment_requests_create(PROJECT, deployment, items[start : start + BATCH])
        ids += [r.id for r in created]
    final: Dict[str, Any] = {}
    while True:
        unfinished = [request_id for request_id in ids if request_id not in final]
        for start in range(0, len(unfinished), BATCH):
            for record in core_api.deployment_requests_batch_get(
                PROJECT, deployment, unfinished[start : start + BATCH]
            ):
                if record.status in FINAL_STATUSES:
                    final[record.id] = record
        if len(final) == len(ids):
            return [final[request_id] for request_id in ids]  # collect does not keep the order
        time.sleep(1)


def one_call(core_api: ubiops.CoreApi, deployment: str, items: List[str]) -> List[Any]:
    """Default settings; a fresh default Pace (240 a minute) per run, as a new process would have."""
    return run_requests(core_api, PROJECT, deployment, items, pace=Pace())


class Run(NamedTuple):
    seconds: float
    calls: int
    #: From the server completing the last request to the caller holding every record.
    delay: float
    #: The most calls started within any 60 s.
    busiest_minute: int


def busiest_minute(starts: Sequence[float]) -> int:
    return max((bisect.bisect_left(starts, start + 60) - i for i, start in enumerate(starts)), default=0)


def timed(configuration: ubiops.Configuration, way: Callable[..., List[Any]], deployment: str, items: List[str]) -> Run:
    """One run of ``way``; checks that every record completed and came back in input order."""
    with CountingApiClient(configuration) as client:
        started = time.perf_counter()
        records = way(ubiops.CoreApi(client), deployment, items)
        held = time.time()
        seconds = time.perf_counter() - started
        if [r.result for r in records] != items or any(r.status != "completed" for r in records):
            raise AssertionError(f"{way.__name__}: the results are not the inputs in input order")
        last_completed = max(r.time_completed.timestamp() for r in records)
        return Run(seconds, len(client.starts), held - last_completed, busiest_minute(sorted(client.starts)))


def compare(
    configuration: ubiops.Configuration, deployment: str, items: List[str], rounds: int
) -> Dict[str, List[Run]]:
    """``rounds`` runs of each way, alternating which goes first."""
    runs: Dict[str, List[Run]] = {"plain_loop": [], "one_call": []}
    for round_number in range(rounds):
        ways = (plain_loop, one_call) if round_number % 2 == 0 else (one_call, plain_loop)
        for way in ways:
            runs[way.__name__].append(timed(configuration, way, deployment, items))
    return runs


def floor_calls(count: int) -> int:
    """One create per 250 items plus one collect per 250 final records."""
    return 2 * -(-count // BATCH)


def describe(name: str, runs: List[Run]) -> None:
    walls = ", ".join(f"{r.seconds:.2f}" for r in runs)
    calls = ", ".join(str(r.calls) for r in runs)
    delays = ", ".join(f"{r.delay:.2f}" for r in runs)
    print(f"  {name}: wall {walls} s; API calls {calls}; delay after the last completion {delays} s", flush=True)


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
    parser.add_argument("--fast-rounds", type=int, default=5, help="runs of each way on the fast server")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each way on the slow server")
    parser.add_argument("--rss-items", type=int, default=100_000)
    parser.add_argument("--rss-child", nargs=3, metavar=("HOST", "TOKEN", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        host, token, count = args.rss_child
        rss_child(host, token, int(count))
        return 0

    floor = floor_calls(args.items)
    ok = []
    with local_server() as configuration:
        echo_items = [f"item {i}" for i in range(args.items)]
        timed(configuration, one_call, "echo", echo_items[:500])  # warm up the server's workers and caches
        timed(configuration, one_call, "worker", [WORK_ITEM.format(i) for i in range(50)])
        fast = compare(configuration, "echo", echo_items, args.fast_rounds)
        print(f"fast: {args.items:,} echo items, {args.fast_rounds} rounds:")
        describe("plain loop", fast["plain_loop"])
        describe("one call", fast["one_call"])
        plain_best = min(r.seconds for r in fast["plain_loop"])
        one_best = min(r.seconds for r in fast["one_call"])
        ok.append(check("fast: one-call wall vs plain loop (best of rounds)", one_best / plain_best, "<=", 1.0))
        print(
            f"fast: API calls (floor {floor}): plain loop {min(r.calls for r in fast['plain_loop'])}, "
            f"one call {min(r.calls for r in fast['one_call'])}"
        )

        work_items = [WORK_ITEM.format(i) for i in range(args.items)]
        slow = compare(configuration, "worker", work_items, args.rounds)
        print(f"slow: {args.items:,} items of ~4 ms on {SLOW_INSTANCES} instances, {args.rounds} rounds:")
        describe("plain loop", slow["plain_loop"])
        describe("one call", slow["one_call"])
        plain_calls = statistics.median(r.calls for r in slow["plain_loop"])
        one_calls = statistics.median(r.calls for r in slow["one_call"])
        print(
            f"slow: API calls, median (floor {floor}): plain loop {plain_calls:.0f} ({plain_calls / floor:.2f}x the "
            f"floor), one call {one_calls:.0f} ({one_calls / floor:.2f}x the floor)"
        )
        ok.append(check("slow: one-call API calls vs plain loop", one_calls / plain_calls, "<=", 0.5))
        plain_delay = statistics.median(r.delay for r in slow["plain_loop"])
        print(
            f"slow: delay from the last completion to holding every record, median (floor 0 s): plain loop "
            f"{plain_delay:.2f} s"
        )
        one_delay = statistics.median(r.delay for r in slow["one_call"])
        ok.append(check("slow: one-call delay after the last completion", one_delay, "<=", 0.25, unit=" s"))
        busiest = max(r.busiest_minute for r in slow["one_call"])
        ok.append(
            check(
                "slow: one-call calls in its busiest minute", busiest, "<=", DEFAULT_CALLS_PER_MINUTE, unit="", digits=0
            )
        )

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
