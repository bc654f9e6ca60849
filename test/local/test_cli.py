"""`python -m ubiops.local serve` as a subprocess: start-up output, SIGTERM, kill -9 and restart recovery."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import psutil
import pytest
from local_helpers import PACKAGES, Http, wait_until

TOOL = "/projects/local/deployments/tool"
STUBBORN = "/projects/local/deployments/stubborn"


class Served:
    """A `serve` subprocess and what it printed at start-up."""

    def __init__(self, args: List[str], env: Optional[Dict[str, str]] = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ubiops.local", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: List[str] = []
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                break
        assert self.lines and self.lines[-1].startswith("Ctrl-C"), (self.lines, self.process.stderr.read())
        self.url = self.lines[0].rsplit(" ", 1)[1]
        self.token = next(line.split(": ", 1)[1] for line in self.lines if line.startswith("token: "))
        self.http = Http(self.url, self.token)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout)


@pytest.fixture
def serve() -> Iterator:
    started: List[Served] = []

    def start(*args: str, env: Optional[Dict[str, str]] = None) -> Served:
        served = Served(list(args), env)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(10)
        for stream in (served.process.stdout, served.process.stderr):
            if stream is not None:
                stream.close()


def test_serve_prints_url_token_and_exports_then_stops_on_sigterm(serve, tmp_path):
    served = serve(
        "--deployment", str(PACKAGES / "srv_tool"), "--port", "0", "--token", "secret-1", "--data-dir", str(tmp_path)
    )
    assert served.url.startswith("http://127.0.0.1:") and served.url.endswith("/v2.1")
    assert served.token == "secret-1"
    assert f"export UBIOPS_API_HOST={served.url}" in served.lines
    assert "export UBIOPS_API_TOKEN='Token secret-1'" in served.lines
    reply = served.http.post("/projects/local/deployments/srv-tool/versions/v1/requests", text="hi")
    assert reply.json()["result"] == "hi"
    assert served.http.get("/status", auth=False).json() == {"status": "ok"}
    assert served.stop() == 0
    assert served.process.stdout.read().strip().endswith("stopped")
    assert (tmp_path / "requests.sqlite3").exists()


def test_serve_without_config_serves_the_bundled_examples_with_a_generated_token(serve):
    served = serve("--port", "0")
    assert len(served.token) == 40
    assert "echo (v1; default v1)" in served.lines[1] and "calculator" in served.lines[1]
    assert "(temporary)" in served.lines[2]
    reply = served.http.post("/projects/local/deployments/calculator/requests", json_body={"x": 1, "y": 2, "op": "add"})
    assert reply.json()["result"] == {"result": 3.0}
    data_dir = Path(served.lines[2].split(": ", 1)[1].split(" (")[0])
    assert data_dir.exists()
    assert served.stop(signal.SIGINT) == 0
    assert not data_dir.exists()


def test_a_bad_config_is_reported_before_starting(tmp_path):
    file = tmp_path / "server.yaml"
    file.write_text(f"deployments:\n  - name: dep\n    path: {PACKAGES / 'srv_tool'}\n    instances: many\n")
    result = subprocess.run(
        [sys.executable, "-m", "ubiops.local", "serve", "--config", str(file), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{file}: deployment 'dep': key 'instances': must be an integer >= 1" in result.stderr
    assert result.stdout == ""


def test_a_port_in_use_is_reported(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "ubiops.local", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "cannot start" in result.stderr and "in use" in result.stderr


def runs(record_file: Path) -> Dict[str, List[int]]:
    """label -> pids of the runs recorded by srv_tool's `record:LABEL` command."""
    found: Dict[str, List[int]] = {}
    for line in record_file.read_text().splitlines() if record_file.exists() else []:
        label, _process_id, pid = line.split()
        found.setdefault(label, []).append(int(pid))
    return found


@pytest.mark.slow
def test_kill_9_mid_batch_then_restart_loses_nothing_and_runs_each_request_to_one_end(serve, tmp_path):
    record_file = tmp_path / "runs.txt"
    config = tmp_path / "server.yaml"
    config.write_text(
        "deployments:\n"
        f"  - name: tool\n    path: {PACKAGES / 'srv_tool'}\n    instances: 2\n"
        f"    environment_variables: {{RECORD_FILE: {record_file}}}\n"
        f"  - name: stubborn\n    path: {PACKAGES / 'srv_tool'}\n"
        f"    environment_variables: {{RECORD_FILE: {record_file}}}\n"
    )
    args = ("--config", str(config), "--data-dir", str(tmp_path / "data"), "--port", "0")
    served = serve(*args)
    http = served.http
    stubborn = http.batch(STUBBORN, ["nosigterm;record:stubborn;sleep:60"])[0]
    labels = [f"r{i}" for i in range(80)]
    ids = http.batch(TOOL, [f"record:{label};sleep:0.05" for label in labels])
    wait_until(lambda: len(runs(record_file)) > 20, message="a part of the batch ran")
    cancelling = http.request("PATCH", f"{STUBBORN}/requests/{stubborn}", json_body={"status": "cancelled"})
    assert cancelling.json()["status"] == "cancelled_pending"
    workers = psutil.Process(served.process.pid).children(recursive=True)
    served.process.kill()  # kill -9 of the server alone: its workers are orphaned
    served.process.wait(10)
    stubborn_pid = runs(record_file)["stubborn"][0]
    for worker in workers:
        if worker.pid == stubborn_pid:
            worker.kill()  # it ignores SIGTERM and sleeps a minute; the others end on their own
    _gone, alive = psutil.wait_procs(workers, timeout=20)
    assert not alive, f"orphaned workers still running: {alive}"
    ran_before = runs(record_file)

    served = serve(*args)
    http = served.http
    records = http.wait_all(TOOL, ids, timeout=60)
    assert {r["status"] for r in records.values()} == {"completed"}
    assert http.record(STUBBORN, stubborn)["status"] == "cancelled"
    listed = http.get(f"{TOOL}/requests", query={"status": "completed,failed,cancelled", "limit": 1000}).json()
    assert sorted(r["id"] for r in listed) == sorted(ids)  # each request once, final
    ran = runs(record_file)
    assert sorted(label for label in ran if label != "stubborn") == sorted(labels)
    twice = [label for label, pids in ran.items() if len(pids) > 1]
    assert len(twice) <= 2, twice  # at most the requests that the two instances were running at the kill
    assert all(len(ran_before.get(label, [])) == 1 for label in twice)
    assert ran["stubborn"] == [stubborn_pid]
    assert served.stop() == 0


def test_sigterm_while_requests_run_stops_cleanly_and_the_restart_finishes_them(serve, tmp_path):
    record_file = tmp_path / "runs.txt"
    args = ("--deployment", str(PACKAGES / "srv_tool"), "--data-dir", str(tmp_path / "data"), "--port", "0")
    env = {"RECORD_FILE": str(record_file)}
    served = serve(*args, env=env)
    where = "/projects/local/deployments/srv-tool"
    ids = served.http.batch(where, [f"record:r{i};sleep:0.2" for i in range(10)])
    wait_until(lambda: record_file.exists(), message="first run")
    assert served.stop() == 0  # within the wait's 30 s bound
    served = serve(*args, env=env)
    records = served.http.wait_all(where, ids)
    assert {r["status"] for r in records.values()} == {"completed"}
    assert sorted(runs(record_file)) == sorted(f"r{i}" for i in range(10))
