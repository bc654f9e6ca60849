"""Benchmark of the local server; prints figures measured in this one run and exits 1 when a target is missed.

The server runs as `python -m ubiops.local serve` in its own process (with the bundled deployments), as a user
would run it; this script is the client, on one keep-alive urllib3 connection.

1. a direct request to the bundled echo deployment vs GET /status, per call (target <= 5x);
2. 10,000 echo requests created in batches of 250, processed and collected by polling collect on the unfinished
   ids (target >= 1,000 requests/s).

    python bench/local_server.py [--requests 10000] [--calls 300]
"""

import argparse
import json
import secrets
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List

import urllib3

BATCH = 250
POLL_PAUSE = 0.02  #: seconds between collect rounds while the oldest unfinished requests are still running
FINAL = ("completed", "failed", "cancelled")


def per_call(call: Callable[[], Any], calls: int) -> float:
    """Seconds per call: the best of three rounds, so that a neighbour's CPU burst does not decide the figure."""
    call()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def throughput(http: urllib3.PoolManager, base: str, headers: Dict[str, str], total: int) -> float:
    """Requests per second from the first batch create to the last result collected.

    Requests are processed in creation order, so each round collects the oldest 250 unfinished ids, and pauses
    when some of them are not finished yet.
    """
    start = time.perf_counter()
    unfinished: List[str] = []
    for offset in range(0, total, BATCH):
        items = [f"item {i}" for i in range(offset, min(offset + BATCH, total))]
        response = http.request("POST", f"{base}/batch", body=json.dumps(items), headers=headers)
        assert response.status == 201, response.data
        unfinished += [record["id"] for record in json.loads(response.data)]
    completed = 0
    while unfinished:
        chunk = unfinished[:BATCH]
        response = http.request("POST", f"{base}/collect", body=json.dumps(chunk), headers=headers)
        assert response.status == 200, response.data
        records = {record["id"]: record for record in json.loads(response.data)}
        done = {i for i, record in records.items() if record["status"] in FINAL}
        completed += sum(records[i]["status"] == "completed" for i in done)
        unfinished = [i for i in chunk if i not in done] + unfinished[BATCH:]
        if len(done) < len(chunk):
            time.sleep(POLL_PAUSE)
    elapsed = time.perf_counter() - start
    assert completed == total, f"only {completed} of {total} requests completed"
    return total / elapsed


def start_server(token: str) -> "tuple[subprocess.Popen, str]":
    process = subprocess.Popen(
        [sys.executable, "-m", "ubiops.local", "serve", "--port", "0", "--token", token],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().split()[-1]
    for line in process.stdout:
        if line.startswith("Ctrl-C"):
            return process, url
    raise RuntimeError("the server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="requests in the throughput figure")
    parser.add_argument("--calls", type=int, default=300, help="calls per round in the latency figure")
    args = parser.parse_args()
    token = secrets.token_hex(16)
    process, url = start_server(token)
    missed = 0
    try:
        http = urllib3.PoolManager(maxsize=1)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        base = f"{url}/projects/local/deployments/echo/requests"

        def direct() -> None:
            response = http.request("POST", base, body=b'"ping"', headers=headers)
            assert response.status == 200 and json.loads(response.data)["status"] == "completed", response.data

        status = per_call(lambda: http.request("GET", f"{url}/status"), args.calls)
        ratio = per_call(direct, args.calls) / status
        ok = ratio <= 5
        missed += not ok
        print(f"direct vs status: {ratio:.1f}x (target <= 5x) {'ok' if ok else 'MISSED'}")
        print(f"  GET /status: {status * 1e6:.0f} us per call; direct echo request: {ratio * status * 1e6:.0f} us")

        rate = throughput(http, base, headers, args.requests)
        ok = rate >= 1000
        missed += not ok
        print(f"batch create/process/collect: {rate:,.0f} requests/s (target >= 1,000/s) {'ok' if ok else 'MISSED'}")
    finally:
        process.terminate()
        process.wait(30)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
