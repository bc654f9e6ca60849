"""Findings of the review of the i10 change (bring your own deployment package: fail-fast start, --reload, the
terminal, stored tokens, untyped and zipped packages, environments), each proven against a real LocalServer on
127.0.0.1 with real worker processes."""

import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterable, List

import pytest
from local_helpers import http_for, wait_until

from ubiops.local import LocalServer

pytestmark = pytest.mark.timeout(120)

SLOW_INIT = """import time


class Deployment:
    def __init__(self):
        time.sleep({seconds})

    def request(self, data):
        return "{tag}"
"""


def write_code(package: Path, text: str) -> None:
    """Write deployment.py with a modification time that surely differs from the one before."""
    file = package / "deployment.py"
    before = file.stat().st_mtime_ns if file.exists() else 0
    file.write_text(text)
    os.utime(file, ns=(before + 2_000_000_000, before + 2_000_000_000))


def package_with(tmp_path: Path, name: str, code: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    write_code(folder, code)
    return folder


def threads_named(prefix: str, besides: Iterable[threading.Thread] = ()) -> List[str]:
    """Live threads named prefix..., other than `besides` (the threads of servers that other tests of this process
    share, such as a session fixture's, when pytest-xdist ran them here first)."""
    known = set(besides)
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix) and t not in known]


@pytest.mark.parametrize("keep_going", [False, True])
def test_a_stop_while_start_waits_for_a_slow_load_leaves_nothing_serving(tmp_path: Path, keep_going: bool) -> None:
    """stop() from another thread while start() waits for a package's __init__: start() went on after the stop
    (with keep_going it bound the port and served with no backend, and started the status writer and the
    dispatchers after they were stopped); without keep_going it blamed the package ("the instance died")."""
    package = package_with(tmp_path, "slow", SLOW_INIT.format(seconds=30, tag="x"))
    others = threading.enumerate()
    server = LocalServer(
        config={"deployments": [{"name": "slow", "path": str(package)}]},
        data_dir=tmp_path / "data",
        keep_going=keep_going,
    )
    outcome: List[BaseException] = []

    def start() -> None:
        try:
            server.start()
        except BaseException as exc:
            outcome.append(exc)

    starter = threading.Thread(target=start)
    starter.start()
    wait_until(lambda: (tmp_path / "data" / "logs").is_dir(), timeout=10)
    time.sleep(0.5)
    assert server.stop()
    starter.join(20)
    assert not starter.is_alive()
    try:
        assert not server.running
        assert len(outcome) == 1 and type(outcome[0]) is RuntimeError, outcome
        assert threads_named("dispatch-slow", others) == [] and threads_named("status-writer", others) == []
    finally:
        server.stop()


def started_instances(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        r.name == "ubiops.local.instances" and r.getMessage().endswith(")") and ": started (pid" in r.getMessage()
        for r in caplog.records
    )


def test_a_reload_that_hangs_in_init_is_given_up_for_a_newer_change(start_server, tmp_path: Path, caplog) -> None:
    """A reload waited for its new instance without end: code whose __init__ hangs held the only slot for good, and
    the fix saved next waited behind it for ever (only a restart helped)."""
    caplog.set_level(logging.INFO, logger="ubiops.local")
    package = package_with(tmp_path, "live", SLOW_INIT.format(seconds=0, tag="one"))
    server = start_server({"deployments": [{"name": "live", "path": str(package)}]}, reload=True)
    http = http_for(server)
    url = "/projects/local/deployments/live/requests"
    assert http.post(url, text="x").json()["result"] == "one"
    write_code(package, SLOW_INIT.format(seconds=3600, tag="hangs"))
    wait_until(lambda: started_instances(caplog) == 2, timeout=10)
    time.sleep(1.0)  # it imported the code that hangs
    write_code(package, SLOW_INIT.format(seconds=0, tag="fixed"))
    wait_until(lambda: http.post(url, text="x").json().get("result") == "fixed", timeout=20)


@pytest.mark.parametrize("request_line", [b"GET / HTTP/9.9", b"GARBAGE", b"GET /" + b"a" * 70000 + b" HTTP/1.1"])
def test_a_malformed_first_request_is_answered_and_logged_without_a_traceback(
    start_server, caplog, request_line: bytes
) -> None:
    """The access log read the request's path, which a request line too broken to parse never set: each such
    request ended its connection with an error and a traceback on the terminal (also with --quiet)."""
    caplog.set_level(logging.INFO, logger="ubiops.local")
    server = start_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request_line + b"\r\n\r\n")
        answer = b""
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 600 and answer.endswith(b"}")
    wait_until(lambda: [r for r in caplog.records if r.name == "ubiops.local.access"], timeout=5)
    [access] = [r for r in caplog.records if r.name == "ubiops.local.access"]
    assert access.args is not None and access.args[2] == str(status)  # type: ignore[index]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_reload_does_not_watch_the_servers_own_data_dir_inside_the_package(start_server, tmp_path: Path, caplog):
    """`ubiops-local serve --deployment . --data-dir data --reload`: the watcher took the server's own database and
    the deployment's log file for package files, so each request (and each load that prints) reloaded the version
    again, without end."""
    caplog.set_level(logging.INFO, logger="ubiops.local")
    code = 'print("loading")\n\n\nclass Deployment:\n    def request(self, data):\n        print(data)\n'
    code += "        return data\n"
    package = package_with(tmp_path, "here", code)
    server = start_server(
        {"deployments": [{"name": "here", "path": str(package)}]}, reload=True, data_dir=package / "data"
    )
    http = http_for(server)
    for _ in range(3):
        assert http.post("/projects/local/deployments/here/requests", text="x").json()["status"] == "completed"
    time.sleep(2.0)  # four looks of the watcher
    reloads = [r for r in caplog.records if r.name == "ubiops.local" and r.getMessage().endswith("changed; reloading")]
    assert reloads == []


# -- design questions of the review, settled ---------------------------------------------------------------------------

ENVIRONMENT_PROBE = """import os


class Deployment:
    def request(self, data):
        print("\\x1b[31mred\\x1b[0m\\rback")
        return os.environ.get(data, "absent")
"""


def test_deployment_code_gets_neither_the_servers_token_nor_terminal_control_codes(
    start_server, tmp_path: Path, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("UBIOPS_LOCAL_TOKEN", "server-secret")
    monkeypatch.setenv("SOMETHING_ELSE", "passed on")
    caplog.set_level(logging.INFO, logger="ubiops.local.output")
    package = package_with(tmp_path, "probe", ENVIRONMENT_PROBE)
    http = http_for(start_server({"deployments": [{"name": "probe", "path": str(package)}]}))
    url = "/projects/local/deployments/probe/requests"
    assert http.post(url, text="UBIOPS_LOCAL_TOKEN").json()["result"] == "absent"
    assert http.post(url, text="SOMETHING_ELSE").json()["result"] == "passed on"
    lines = wait_until(lambda: [r.getMessage() for r in caplog.records if "red" in r.getMessage()])
    assert lines[0].endswith("| \\x1b[31mred\\x1b[0m\\x0dback"), lines  # shown, not obeyed
    assert "\x1b" not in lines[0]


def test_a_stored_token_that_is_not_a_regular_file_is_named(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "token")
    with pytest.raises(ValueError, match=r"token .* is not a regular file; delete it"):
        LocalServer(data_dir=tmp_path)
