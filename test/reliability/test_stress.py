"""Stress: 8 client threads create (direct and batch), cancel, delete and collect their own requests on a
2-instance deployment for ~10 s, while another thread SIGKILLs a random worker every ~1 s and the main thread stops
the server once and starts it again on the same data directory and port. At the end every surviving request is
final, every completed output is its own input plus the deployment's marker, no request ran twice (the deployment
records each run), and no worker process is left after the last stop."""

import os
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Set

import pytest
import urllib3
from reliability_support import Tally
from server_support import FINAL, Http, Servers, config, deployment, where, worker_pids

THREADS = 8
RUN_SECONDS = 10.0
MARKER = "|ran"
TOKEN = "stress-token"
DEPLOYMENT = "stress"
#: What a client sees while the server is down or stopping: the outcome of the call is unknown.
UNKNOWN = (urllib3.exceptions.HTTPError, OSError)


class Client(threading.Thread):
    """One client thread: its own requests (id -> input), the ones that may be deleted, and what it could not know."""

    def __init__(self, number: int, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"stress-client-{number}")
        self.number = number
        self.http = Http(url, TOKEN, read_timeout=30, maxsize=2)
        self.stop = stop
        self.rng = random.Random(number)
        self.inputs: Dict[str, str] = {}
        self.deleted: Set[str] = set()
        self.maybe_deleted: Set[str] = set()
        self.unknown_creates = 0
        self.failures: List[str] = []
        self.counter = 0

    def text(self) -> str:
        self.counter += 1
        return f"c{self.number}-{self.counter}"

    def run(self) -> None:
        path = where(DEPLOYMENT)
        while not self.stop.is_set():
            action = self.rng.choice(["direct", "batch", "batch", "cancel", "delete", "collect"])
            live = sorted(set(self.inputs) - self.deleted - self.maybe_deleted)
            try:
                if action == "direct":
                    text = self.text()
                    reply = self.http.direct(DEPLOYMENT, text, read=30)
                    if reply.status == 200:
                        body = reply.json()
                        self.inputs[body["id"]] = text
                        if body["status"] not in ("completed", "failed"):
                            self.failures.append(f"direct answered {body}")
                    elif reply.status == 503:
                        self.unknown_creates += 1
                    else:
                        self.failures.append(f"direct: {reply}")
                elif action == "batch":
                    texts = [self.text() for _ in range(self.rng.randint(1, 5))]
                    reply = self.http.post(f"{path}/requests/batch", json_body=texts)
                    if reply.status == 201:
                        self.inputs.update({r["id"]: t for r, t in zip(reply.json(), texts)})
                    elif reply.status == 503:
                        self.unknown_creates += 1
                    else:
                        self.failures.append(f"batch: {reply}")
                elif action == "cancel" and live:
                    reply = self.http.cancel(DEPLOYMENT, self.rng.choice(live))
                    if reply.status not in (200, 503):
                        self.failures.append(f"cancel: {reply}")
                elif action == "delete" and live:
                    request_id = self.rng.choice(live)
                    self.maybe_deleted.add(request_id)
                    reply = self.http.request("DELETE", f"{path}/requests/{request_id}")
                    if reply.status == 204:
                        self.deleted.add(request_id)
                    elif reply.status != 503:
                        self.failures.append(f"delete: {reply}")
                    if reply.status in (204, 503):
                        continue
                    self.maybe_deleted.discard(request_id)
                elif action == "collect" and live:
                    reply = self.http.post(
                        f"{path}/requests/collect", json_body=self.rng.sample(live, min(10, len(live)))
                    )
                    if reply.status not in (200, 503):
                        self.failures.append(f"collect: {reply}")
            except UNKNOWN:
                if action in ("direct", "batch"):
                    self.unknown_creates += 1
                time.sleep(0.05)
            except Exception as exc:  # reported at the end, the thread goes on
                self.failures.append(f"{action}: {exc!r}")
            time.sleep(self.rng.uniform(0.002, 0.02))


def killer(stop: threading.Event, killed: List[int], others: Set[int], restarting: threading.Event) -> None:
    """SIGKILLs one of the test server's workers every ~1 s: not the `others` (workers of servers that other tests of
    this process share, under pytest-xdist), and not while the server restarts (a worker killed while the start
    waits for it to load fails the start, as it should)."""
    rng = random.Random(99)
    while not stop.wait(rng.uniform(0.7, 1.3)):
        pids = [pid for pid in worker_pids() if pid not in others]
        if pids and not restarting.is_set():
            pid = rng.choice(pids)
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except OSError:
                pass


def read_with_retries(http: Http, method: str, path: str, **kwargs: object):
    """Reads retry connection errors (the server may be restarting)."""
    for _attempt in range(20):
        try:
            return http.request(method, path, **kwargs)
        except UNKNOWN:
            time.sleep(0.1)
    raise AssertionError(f"{method} {path}: no answer after 20 attempts")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_stress_with_worker_kills_and_a_restart(tmp_path: Path, tally: Tally) -> None:
    """Finding 9 (stress): creates, cancels, deletes and collects from 8 threads, a worker SIGKILLed every ~1 s,
    and one stop + restart on the same data directory and port: every surviving request ends final with its own
    output, none runs twice, and no worker process is left behind."""
    record = tmp_path / "runs.txt"
    cfg = config(deployment(DEPLOYMENT, "stress_echo", instances=2, environment_variables={"RECORD_FILE": str(record)}))
    servers = Servers(tmp_path)
    others = set(worker_pids())
    stop_clients, stop_killer, restarting = threading.Event(), threading.Event(), threading.Event()
    try:
        server = servers.start(cfg, token=TOKEN)
        url, port = server.url, server.port
        clients = [Client(n, url, stop_clients) for n in range(THREADS)]
        killed: List[int] = []
        kill_thread = threading.Thread(target=killer, args=(stop_killer, killed, others, restarting), daemon=True)
        for client in clients:
            client.start()
        kill_thread.start()
        begin = time.monotonic()
        time.sleep(RUN_SECONDS * 0.4)
        restarting.set()
        server.stop()
        time.sleep(0.3)
        server = servers.start(cfg, token=TOKEN, port=port)
        restarting.clear()
        time.sleep(max(0.0, begin + RUN_SECONDS - time.monotonic()))
        stop_clients.set()
        for client in clients:
            client.join(35)
        stop_killer.set()
        kill_thread.join(5)
        assert not any(client.is_alive() for client in clients), "a client thread hung"
        failures = [failure for client in clients for failure in client.failures]
        assert not failures, failures[:5]

        http = Http(url, TOKEN, read_timeout=30)
        path = f"{where(DEPLOYMENT)}/requests"
        deadline = time.monotonic() + 20
        while True:
            busy = [
                read_with_retries(http, "GET", path, query={"status": status, "limit": 1000}).json()
                for status in ("pending", "processing", "cancelled_pending")
            ]
            if not any(busy):
                break
            assert time.monotonic() < deadline, f"still busy after 20 s: {[len(b) for b in busy]}"
            time.sleep(0.2)

        inputs = {rid: text for client in clients for rid, text in client.inputs.items()}
        sure = [rid for client in clients for rid in client.inputs if rid not in client.maybe_deleted]
        records = {}
        for start in range(0, len(sure), 250):
            reply = read_with_retries(http, "POST", f"{path}/collect", json_body=sure[start : start + 250])
            assert reply.status == 200, reply
            records.update({r["id"]: r for r in reply.json()})
        for client in clients:  # may or may not be deleted: check the ones that are still there
            for rid in client.maybe_deleted - client.deleted:
                reply = read_with_retries(http, "GET", f"{path}/{rid}")
                if reply.status == 200:
                    records[rid] = reply.json()
        assert set(sure) <= set(records), "a request that was not deleted is gone"
        not_final = [r for r in records.values() if r["status"] not in FINAL]
        assert not not_final, not_final[:3]
        wrong = [r for r in records.values() if r["status"] == "completed" and r["result"] != inputs[r["id"]] + MARKER]
        assert not wrong, wrong[:3]

        runs = record.read_text().split() if record.exists() else []
        duplicates = {rid: n for rid, n in Counter(runs).items() if n > 1}
        tally.requests_checked += len(records)
        tally.runs_recorded += len(runs)
        tally.run_duplicates += len(duplicates)
        assert len(records) > 100, f"only {len(records)} requests made"
        assert len(killed) >= 3, killed
        assert not duplicates, f"{len(duplicates)} requests ran more than once, e.g. {list(duplicates.items())[:3]}"
    finally:
        stop_killer.set()  # also after a failure: a killer left running would kill the workers of later tests
        stop_clients.set()
        servers.close()
    deadline = time.monotonic() + 10
    while set(worker_pids()) - others and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(worker_pids()) - others == set(), "worker processes outlived the server"
