"""`python -m ubiops.local serve` as a subprocess: start-up output, SIGTERM, kill -9 and restart recovery."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import psutil
import pytest
from local_helpers import PACKAGES, Http, wait_until

import ubiops

TOOL = "/projects/local/deployments/tool"
STUBBORN = "/projects/local/deployments/stubborn"


class Served:
    """A `serve` subprocess and what it printed at start-up; its stderr (the terminal log) goes to a file, so that
    a full pipe never blocks the server."""

    def __init__(self, args: List[str], env: Optional[Dict[str, str]] = None) -> None:
        fd, name = tempfile.mkstemp(prefix="ubiops-local-stderr-")
        os.close(fd)
        self.stderr_path = Path(name)
        with open(self.stderr_path, "w") as stderr_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ubiops.local", "serve", *args],
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                text=True,
                env={**os.environ, **(env or {})},
            )
        self.lines: List[str] = []
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                break
        assert self.lines and self.lines[-1].startswith("Ctrl-C"), (self.lines, self.stderr())
        self.url = self.lines[0].rsplit(" ", 1)[1]
        self.token = next(line.split(": ", 1)[1] for line in self.lines if line.startswith("token: "))
        self.http = Http(self.url, self.token)

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:  # where it is stuck: every thread's stack (SIGUSR1), then its stderr
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(1)
            self.process.kill()
            self.process.wait(10)
            stderr = self.stderr()[-20000:]
            raise AssertionError(f"no exit {timeout} s after signal {sig}; its stderr:\n{stderr}") from None


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
        if served.process.stdout is not None:
            served.process.stdout.close()
        served.stderr_path.unlink(missing_ok=True)


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
    assert "(temporary, removed at stop)" in served.lines[2]
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


def serve_once(*args: str, timeout: float = 60) -> "subprocess.CompletedProcess[str]":
    """`ubiops-local serve ...` that is expected to end by itself (a start that fails)."""
    command = [sys.executable, "-m", "ubiops.local", "serve", "--port", "0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_without_arguments_it_prints_help_and_with_version_its_version():
    result = subprocess.run([sys.executable, "-m", "ubiops.local"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "serve" in result.stdout and "--deployment DIR" in result.stdout
    version = subprocess.run(
        [sys.executable, "-m", "ubiops.local", "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and version.stdout.strip() == f"ubiops-local {ubiops.__version__}"
    help_text = subprocess.run(
        [sys.executable, "-m", "ubiops.local", "serve", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    for promised in ("examples:", "text/plain body as plain text", "logs/<deployment>.log", "--keep-going"):
        assert promised in help_text


def test_a_package_with_a_syntax_error_stops_the_start_naming_file_and_line():
    result = serve_once("--deployment", str(PACKAGES / "syntax_error"))
    assert result.returncode == 1
    assert "deployment 'syntax-error' version 'v1'" in result.stderr
    assert "SyntaxError: '(' was never closed (deployment.py, line 6)" in result.stderr
    assert "hint: fix the syntax at that line" in result.stderr
    assert "syntax-error v1 instance 0 !     total = (" in result.stderr  # the error as Python shows it
    assert result.stdout == ""  # no banner: nothing was served


def test_a_missing_module_gets_a_hint_about_requirements(tmp_path):
    package = tmp_path / "needs_module"
    package.mkdir()
    (package / "deployment.py").write_text(
        "import nowhere_to_be_found\n\n\nclass Deployment:\n    def request(self, data):\n        return data\n"
    )
    result = serve_once("--deployment", str(package), "--quiet")
    assert result.returncode == 1
    assert "No module named 'nowhere_to_be_found' (deployment.py, line 1)" in result.stderr
    assert "requirements.txt" in result.stderr and "without --quiet the details are shown" in result.stderr


def test_keep_going_serves_the_others_and_fails_the_broken_ones_requests(serve):
    served = serve(
        "--deployment",
        str(PACKAGES / "srv_tool"),
        "--deployment",
        str(PACKAGES / "srv_broken"),
        "--port",
        "0",
        "--keep-going",
    )
    assert served.http.post("/projects/local/deployments/srv-tool/requests", text="ok").json()["result"] == "ok"
    failed = served.http.post("/projects/local/deployments/srv-broken/requests", text="x").json()
    assert failed["status"] == "failed" and "srv_broken cannot be loaded, on purpose" in failed["error_message"]
    assert served.stop() == 0
    assert "error: deployment srv-broken version v1" in served.stderr()


def test_min_timeout_lowers_the_least_request_timeout_for_tests(serve):
    served = serve("--deployment", str(PACKAGES / "srv_tool"), "--port", "0", "--min-timeout", "1")
    late = served.http.post("/projects/local/deployments/srv-tool/requests", text="sleep:30", query={"timeout": 1})
    assert (late.json()["status"], late.json()["timeout"]) == ("failed", 1), late
    assert served.stop() == 0
    refused = serve_once("--deployment", str(PACKAGES / "srv_tool"), "--min-timeout", "0")
    assert refused.returncode == 2
    assert "min_timeout must be an integer from 1 to 10 seconds, got 0" in refused.stderr


def test_the_terminal_shows_api_calls_instances_and_output_with_request_ids(serve):
    served = serve("--deployment", str(PACKAGES / "srv_tool"), "--port", "0")
    assert any(line.startswith("try: curl ") for line in served.lines)
    record = served.http.post("/projects/local/deployments/srv-tool/requests", text="print:hi there").json()
    assert record["status"] == "completed"
    assert served.stop() == 0
    log = served.stderr()
    assert "srv-tool v1 instance 0: started (pid " in log and "srv-tool v1 instance 0: loaded in " in log
    assert re.search(r"POST /v2.1/projects/local/deployments/srv-tool/requests 200 [0-9.]+ ms", log), log
    assert f"srv-tool v1 {record['id']} | stdout: hi there" in log
    assert f"srv-tool v1 {record['id']} ! stderr: hi there" in log
    assert "srv-tool v1 instance 0: stopped" in log


def test_quiet_shows_no_lines_for_calls_or_output(serve):
    served = serve("--deployment", str(PACKAGES / "srv_tool"), "--port", "0", "--quiet")
    assert served.http.post("/projects/local/deployments/srv-tool/requests", text="print:x").json()["result"]
    assert served.stop() == 0
    assert served.stderr() == ""


def test_a_crashed_instance_is_reported_on_the_terminal(serve):
    served = serve("--deployment", str(PACKAGES / "srv_tool"), "--port", "0")
    assert served.http.post("/projects/local/deployments/srv-tool/requests", text="exit:3").json()["status"] == "failed"
    assert served.stop() == 0
    assert "warning: srv-tool v1 instance 0: exited (exit code 3)" in served.stderr()


def test_a_restart_on_the_same_data_dir_keeps_the_token(serve, tmp_path):
    first = serve("--port", "0", "--data-dir", str(tmp_path), env={"UBIOPS_LOCAL_TOKEN": ""})
    assert first.stop() == 0
    assert (tmp_path / "token").read_text().strip() == first.token
    assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
    second = serve("--port", "0", "--data-dir", str(tmp_path), env={"UBIOPS_LOCAL_TOKEN": ""})
    assert second.token == first.token
    assert second.http.get("/projects/local").status == 200  # the token printed the first time is accepted
    assert second.stop() == 0
    given = serve("--port", "0", "--data-dir", str(tmp_path), "--token", "given-one")
    assert given.token == "given-one" and (tmp_path / "token").read_text().strip() == first.token
    assert given.stop() == 0


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
    assert "--port 0 picks a free one" in result.stderr


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


def test_sigusr1_writes_every_thread_s_stack_and_the_server_goes_on(serve, tmp_path):
    served = serve("--port", "0", "--data-dir", str(tmp_path), "--quiet")
    served.process.send_signal(signal.SIGUSR1)
    wait_until(lambda: "serve_forever" in served.stderr(), message="the stacks on stderr")
    assert served.http.get("/projects/local").status == 200
    assert served.stop() == 0
