"""Process hygiene findings: no process a deployment starts outlives its request's end (cancel, stop, timeout), a
worker that forks and exits is noticed at once, and workers do not outlive a server killed with SIGKILL.

Processes are found with psutil; "gone" means no such process or a zombie (it ended, only its status is left)."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from server_support import Http, Servers, alive, config, deployment, gone_within, http_for, kill_quietly, read_pid

GRACE = 10.0  #: seconds a process may take to go


def start_spawning_request(servers: Servers, tmp_path: Path, timeout: int = 300, **server_kwargs: object) -> tuple:
    """A batch request whose deployment starts `sleep 600` (pid written to a file) and then sleeps 60 s."""
    server = servers.start(config(deployment("tool", instances=1)), **server_kwargs)
    http = http_for(server)
    pid_file = tmp_path / "child.pid"
    [request_id] = http.batch("tool", [f"spawn:{pid_file};sleep:60"], timeout=timeout)
    child = read_pid(pid_file)
    servers.pids.append(child)
    assert alive(child)
    return server, http, request_id, child


@pytest.mark.timeout(60)
def test_a_cancel_ends_the_processes_the_request_started(servers: Servers, tmp_path: Path) -> None:
    """Finding 5a (process hygiene): cancelling a request whose deployment started a child process ends that child
    within 10 s."""
    _server, http, request_id, child = start_spawning_request(servers, tmp_path)
    assert http.cancel("tool", request_id).status == 200
    assert http.wait_status("tool", request_id, timeout=20)["status"] == "cancelled"
    assert gone_within(child, GRACE), f"child process {child} outlived the cancelled request"


@pytest.mark.timeout(60)
def test_a_stop_ends_the_processes_the_requests_started(servers: Servers, tmp_path: Path) -> None:
    """Finding 5a (process hygiene): server.stop() while a request's child process runs ends that child within
    10 s."""
    server, _http, _request_id, child = start_spawning_request(servers, tmp_path, stop_grace=0.5)
    server.stop()
    assert gone_within(child, GRACE), f"child process {child} outlived the server"


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_timeout_ends_the_processes_the_request_started(servers: Servers, tmp_path: Path) -> None:
    """Finding 5a (process hygiene): a request that runs past its timeout (4 s: a server for tests, min_timeout=1)
    fails, and the child process it started is gone within 10 s."""
    _server, http, request_id, child = start_spawning_request(servers, tmp_path, timeout=4, min_timeout=1)
    record = http.wait_status("tool", request_id, timeout=30)
    assert record["status"] == "failed", record
    assert "timeout" in (record["error_message"] or "").lower(), record
    assert gone_within(child, GRACE), f"child process {child} outlived the timed-out request"


@pytest.mark.timeout(60)
def test_a_worker_that_forks_and_exits_is_noticed_at_once(servers: Servers, tmp_path: Path) -> None:
    """Finding 5b (process hygiene): the deployment forks (the child keeps the worker's pipe open and sleeps) and the
    worker exits with code 3: the request fails within 10 s (not at its timeout) naming the instance or its exit,
    the forked child is gone, and the next request completes."""
    server = servers.start(config(deployment("tool", instances=1)))
    http = http_for(server)
    pid_file = tmp_path / "forked.pid"
    started = time.monotonic()
    try:
        reply = http.direct("tool", f"fork:{pid_file}", timeout=120, read=20)
    finally:
        if pid_file.exists():
            servers.pids.append(int(pid_file.read_text()))
    assert time.monotonic() - started < 10
    assert reply.status == 200, reply
    body = reply.json()
    assert body["status"] == "failed", body
    message = (body["error_message"] or "").lower()
    assert "instance" in message or "exit" in message, body
    forked = read_pid(pid_file, 5)
    assert gone_within(forked, GRACE), f"forked process {forked} outlived its worker"
    after = http.direct("tool", "hello", read=25)
    assert (after.status, after.json()["status"], after.json()["result"]) == (200, "completed", "hello"), after


def read_banner(process: "subprocess.Popen[str]", deadline: float) -> tuple:
    """The URL and token that `ubiops-local serve` prints at start."""
    url = token = None
    assert process.stdout is not None
    while (url is None or token is None) and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        found = re.search(r"UbiOps local server at (\S+)", line)
        url = found.group(1) if found else url
        found = re.search(r"export UBIOPS_API_TOKEN='Token (\S+)'", line)
        token = found.group(1) if found else token
    assert url and token, "the server printed no URL and token"
    return url, token


@pytest.mark.timeout(60)
def test_workers_do_not_outlive_a_server_killed_with_sigkill(tmp_path: Path) -> None:
    """Finding 5c (process hygiene): `ubiops-local serve` killed with SIGKILL while a worker runs a long request:
    the worker process is gone within 10 s."""
    config_file = tmp_path / "server.yaml"
    config_file.write_text(yaml.safe_dump(config(deployment("tool", instances=1))))
    pid_file = tmp_path / "worker.pid"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "ubiops.local", "serve", "--config", str(config_file)]
    command += ["--data-dir", str(tmp_path / "data"), "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    worker = None
    try:
        url, token = read_banner(server, time.monotonic() + 30)
        assert url.startswith("http://127.0.0.1:"), url
        Http(url, token).batch("tool", [f"pid:{pid_file};sleep:60"])
        worker = read_pid(pid_file)
        assert alive(worker)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        assert gone_within(worker, GRACE), f"worker {worker} outlived the killed server"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        if worker is not None:
            kill_quietly([worker])
