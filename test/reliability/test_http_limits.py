"""Limits and life cycle of the local server, with real parts: 1,000 idle connections, running out of file
descriptors, logs on stderr, the data-directory lock and permissions, the token variable, and stop() on a full
disk."""

import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import psutil
import pytest
import urllib3

import ubiops
from ubiops.local import LocalServer, default_config, store
from ubiops.local.http_connections import DEFAULT_MAX_CONNECTIONS

STATUS = b"GET /v2.1/status HTTP/1.1\r\nHost: localhost\r\n\r\n"


def raise_descriptor_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the hard limit of open files ({hard}) is below the {wanted} this test needs")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def test_1000_idle_connections_do_not_starve_a_client_and_threads_stay_bounded():
    raise_descriptor_limit(4096)
    with LocalServer(default_config()) as server:
        before = threading.active_count()
        sockets: List[socket.socket] = []
        try:
            for index in range(1000):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                sockets.append(sock)
                if index % 2:  # keep-alive after one request; the others connected and silent
                    sock.sendall(STATUS)
                    assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            assert threading.active_count() <= before + DEFAULT_MAX_CONNECTIONS + 5
            start = time.monotonic()
            with ubiops.ApiClient(server.configuration()) as client:
                record = ubiops.CoreApi(client).deployment_requests_create("local", "echo", "hi")
            assert record.result == "hi" and time.monotonic() - start < 10
            assert threading.active_count() <= before + DEFAULT_MAX_CONNECTIONS + 5
        finally:
            for sock in sockets:
                sock.close()


class Serve:
    """`python -m ubiops.local serve` in a subprocess; stderr goes to a file, read at the end."""

    def __init__(self, tmp_path: Path, *args: str, env: Optional[Dict[str, str]] = None) -> None:
        self.stderr_path = tmp_path / f"stderr-{time.monotonic_ns()}.txt"
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ubiops.local", "serve", "--port", "0", *args],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, **(env or {})},
            )
        assert self.process.stdout is not None
        self.lines = []
        for line in self.process.stdout:
            self.lines.append(line.strip())
            if line.startswith("Ctrl-C"):
                break
        assert self.lines and self.lines[-1].startswith("Ctrl-C"), self.stderr()
        self.url = self.lines[0].rsplit(" ", 1)[1]
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        self.token = next(line.split(": ", 1)[1] for line in self.lines if line.startswith("token: "))

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    started: List[Serve] = []

    def start(*args: str, env: Optional[Dict[str, str]] = None) -> Serve:
        started.append(Serve(tmp_path, *args, env=env))
        return started[-1]

    yield start
    for each in started:
        if each.process.poll() is None:
            each.process.kill()
            each.process.wait(10)


def test_out_of_file_descriptors_the_accept_loop_backs_off_and_recovers(serve):
    served = serve()
    process = psutil.Process(served.process.pid)
    _, hard = process.rlimit(psutil.RLIMIT_NOFILE)
    process.rlimit(psutil.RLIMIT_NOFILE, (process.num_fds() + 10, hard))
    sockets = [socket.create_connection(("127.0.0.1", served.port), timeout=10) for _ in range(60)]
    try:
        time.sleep(0.5)
        cpu = process.cpu_times()
        time.sleep(2)
        used = sum(process.cpu_times()[:2]) - sum(cpu[:2])
        assert used < 0.5, f"{used:.2f} s of CPU in 2 s while out of file descriptors"
    finally:
        for sock in sockets:
            sock.close()
    http = urllib3.PoolManager(retries=urllib3.Retry(total=None, connect=20, read=0, backoff_factor=0.2))
    assert http.request("GET", f"{served.url}/status", timeout=10).status == 200
    assert "warning: cannot accept connections" in served.stderr()
    assert served.stop() == 0


def test_warnings_reach_stderr_and_log_level_debug_shows_more(serve):
    served = serve("--max-connections", "2")
    sockets = [socket.create_connection(("127.0.0.1", served.port), timeout=10) for _ in range(3)]
    http = urllib3.PoolManager()
    assert http.request("GET", f"{served.url}/status", timeout=10).status == 200
    for sock in sockets:
        sock.close()
    assert served.stop() == 0
    lines = served.stderr().splitlines()
    assert any(" warning: all 2 connection slots are taken" in line for line in lines), lines
    assert not any(" debug: " in line for line in lines)
    served = serve("--log-level", "debug")
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"NOT HTTP\r\n\r\n")
        sock.recv(65536)
    assert served.stop() == 0
    assert " debug: HTTP: " in served.stderr()


def test_the_token_comes_from_the_variable_unless_given(serve):
    assert serve(env={"UBIOPS_LOCAL_TOKEN": "from-env"}).token == "from-env"
    assert serve("--token", "given", env={"UBIOPS_LOCAL_TOKEN": "from-env"}).token == "given"
    result = subprocess.run(
        [sys.executable, "-m", "ubiops.local", "serve", "--port", "0"],
        env={**os.environ, "UBIOPS_LOCAL_TOKEN": "a b"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "UBIOPS_LOCAL_TOKEN" in result.stderr


def test_the_lock_is_on_the_directory_itself(tmp_path):
    data = tmp_path / "data"
    with LocalServer(default_config(), data_dir=data):
        for name in os.listdir(data):
            if "lock" in name:
                os.remove(data / name)
        with pytest.raises(RuntimeError, match=f"data directory {data} is in use by another ubiops-local server"):
            LocalServer(default_config(), data_dir=data).start()
    with LocalServer(default_config(), data_dir=data):
        pass


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_data_directory_is_private(tmp_path):
    os.umask(0o022)
    with LocalServer(default_config(), data_dir=tmp_path / "new") as server:
        with ubiops.ApiClient(server.configuration()) as client:
            ubiops.CoreApi(client).deployment_requests_create("local", "echo", "hi")
        assert mode(tmp_path / "new") == 0o700 and mode(tmp_path / "new" / "logs") == 0o700
        for name in ("requests.sqlite3", "requests.sqlite3-wal", "requests.sqlite3-shm"):
            assert mode(tmp_path / "new" / name) == 0o600, name
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    (existing / "logs").mkdir(mode=0o755)
    (existing / "requests.sqlite3").touch(mode=0o644)
    os.chmod(existing, 0o755)
    with LocalServer(default_config(), data_dir=existing):
        assert mode(existing) == 0o700 and mode(existing / "logs") == 0o700
        assert mode(existing / "requests.sqlite3") == 0o600


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    # 16 MiB: room for the requests in the WAL (the test holds the checkpoints back); the test fills it up itself
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_stop_on_a_full_disk_logs_the_failure_and_still_unlocks(tiny_disk, caplog, monkeypatch):
    # no checkpoint in between (on a busy machine one could copy the WAL into the database before the disk is full):
    # the requests' results stay in the WAL, and the stop's checkpoint needs room the full disk does not have
    monkeypatch.setattr(store, "CHECKPOINT_INTERVAL", 3600.0)
    data = tiny_disk / "data"
    server = LocalServer(default_config(), data_dir=data).start()
    http = urllib3.PoolManager()
    headers = {"Authorization": f"Token {server.token}", "Content-Type": "application/json"}
    url = f"{server.url}/projects/local/deployments/echo/requests/batch"
    http.request("POST", url, body=json.dumps(["x" * 3000] * 250), headers=headers)
    listing = f"{server.url}/projects/local/deployments/echo/requests?status=completed&limit=1000"
    give_up = time.monotonic() + 30
    while len(json.loads(http.request("GET", listing, headers=headers).data)) < 250:  # their results are in the WAL
        assert time.monotonic() < give_up, "the 250 echo requests did not complete"
        time.sleep(0.05)
    try:
        with open(tiny_disk / "filler", "wb") as filler:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
    except OSError:
        pass
    assert server.stop() is False
    assert "stopping the local server: cannot close the database" in caplog.text
    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)  # room again: the lock is free
    with LocalServer(default_config(), data_dir=data) as again:
        with ubiops.ApiClient(again.configuration()) as client:
            assert len(ubiops.CoreApi(client).deployment_requests_list("local", "echo", limit=1000)) == 250


def test_max_connections_is_checked_with_an_error_naming_it():
    with pytest.raises(ValueError, match="max_connections must be an integer >= 1"):
        LocalServer(default_config(), max_connections=0)
    result = subprocess.run(
        [sys.executable, "-m", "ubiops.local", "serve", "--port", "0", "--max-connections", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "max_connections must be an integer >= 1" in result.stderr
