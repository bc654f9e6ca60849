"""What the server-fault tests share: a plain-HTTP client (urllib3, every call bounded by a read timeout), config
builders for the test packages in ./packages, and process helpers (psutil) to see which processes are alive.

Copied in spirit from test/local/local_helpers.py (test folders do not import from each other)."""

from __future__ import annotations  # urllib3 1.26 has no BaseHTTPResponse to evaluate

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional
from urllib.parse import urlencode

import psutil
import urllib3

from ubiops.local import LocalServer

PACKAGES = Path(__file__).parent / "packages"
ECHO_PACKAGE = Path(__file__).resolve().parents[2] / "ubiops" / "local" / "deployments" / "echo"
PROJECT = "local"
FINAL = ("completed", "failed", "cancelled")


def where(deployment: str, version: Optional[str] = None) -> str:
    path = f"/projects/{PROJECT}/deployments/{deployment}"
    return path + (f"/versions/{version}" if version else "")


class Reply:
    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.status = response.status
        self.data = response.data
        self.headers = response.headers

    def json(self) -> Any:
        return json.loads(self.data)

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.data[:300]!r})"


class Http:
    """Requests to one server; paths relative to the base URL (.../v2.1). Every call has a read timeout, so a hang
    on the server fails the test instead of blocking it."""

    def __init__(self, url: str, token: str, read_timeout: float = 30.0, maxsize: int = 8) -> None:
        self.url = url
        self.token = token
        self.pool = urllib3.PoolManager(
            maxsize=maxsize, retries=False, timeout=urllib3.Timeout(connect=5, read=read_timeout)
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        text: Optional[str] = None,
        query: Optional[Dict[str, Any]] = None,
        headers: Optional[Dict[str, str]] = None,
        timeout: Optional[float] = None,
        preload_content: bool = True,
    ) -> Any:
        sent = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        elif text is not None:
            body = text.encode("utf-8")
            sent["Content-Type"] = "text/plain"
        sent.update(headers or {})
        url = self.url + path + ("?" + urlencode(query) if query else "")
        kwargs: Dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = urllib3.Timeout(connect=5, read=timeout)
        response = self.pool.request(method, url, body=body, headers=sent, preload_content=preload_content, **kwargs)
        return response if not preload_content else Reply(response)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    # -- shortcuts -----------------------------------------------------------------------------------------------

    def direct(self, deployment: str, text: str, timeout: Optional[int] = None, read: float = 30.0) -> Reply:
        query = {"timeout": timeout} if timeout is not None else None
        return self.post(f"{where(deployment)}/requests", text=text, query=query, timeout=read)

    def batch(self, deployment: str, items: List[Any], **query: Any) -> List[str]:
        reply = self.post(f"{where(deployment)}/requests/batch", json_body=items, query=query or None)
        assert reply.status == 201, reply
        return [record["id"] for record in reply.json()]

    def record(self, deployment: str, request_id: str) -> Dict[str, Any]:
        reply = self.get(f"{where(deployment)}/requests/{request_id}")
        assert reply.status == 200, reply
        return dict(reply.json())

    def cancel(self, deployment: str, request_id: str) -> Reply:
        return self.request("PATCH", f"{where(deployment)}/requests/{request_id}", json_body={"status": "cancelled"})

    def collect(self, deployment: str, ids: List[str]) -> Dict[str, Dict[str, Any]]:
        records: Dict[str, Dict[str, Any]] = {}
        for start in range(0, len(ids), 250):
            reply = self.post(f"{where(deployment)}/requests/collect", json_body=ids[start : start + 250])
            assert reply.status == 200, reply
            records.update({r["id"]: r for r in reply.json()})
        return records

    def wait_status(
        self, deployment: str, request_id: str, statuses: Iterable[str] = FINAL, timeout: float = 30.0
    ) -> Dict[str, Any]:
        statuses = tuple(statuses)
        deadline = time.monotonic() + timeout
        while True:
            record = self.record(deployment, request_id)
            if record["status"] in statuses:
                return record
            assert time.monotonic() < deadline, f"request still {record['status']} after {timeout}s: {record}"
            time.sleep(0.02)

    def wait_all(self, deployment: str, ids: List[str], timeout: float = 30.0) -> Dict[str, Dict[str, Any]]:
        """Collect until every request is final; on the deadline, fail saying how many are not."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.collect(deployment, ids)
            waiting = [r for r in records.values() if r["status"] not in FINAL]
            if not waiting:
                return records
            assert time.monotonic() < deadline, (
                f"{len(waiting)} of {len(ids)} requests not final after {timeout}s, e.g. {waiting[0]}"
            )
            time.sleep(0.05)


def http_for(server: LocalServer, read_timeout: float = 30.0) -> Http:
    return Http(server.url, server.token, read_timeout=read_timeout)


def deployment(name: str, package: str = "fault_tool", **extra: Any) -> Dict[str, Any]:
    """A plain deployment running a package of ./packages (or the bundled echo for package="echo")."""
    path = ECHO_PACKAGE if package == "echo" else PACKAGES / package
    return {"name": name, "path": str(path), "input_type": "plain", "output_type": "plain", **extra}


def config(*deployments: Dict[str, Any]) -> Dict[str, Any]:
    return {"project": PROJECT, "deployments": list(deployments)}


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{message} not reached within {timeout}s"
        time.sleep(0.05)


def read_pid(path: Path, timeout: float = 20.0) -> int:
    """The pid a deployment wrote to `path` (it writes atomically)."""
    wait_until(path.exists, timeout, f"{path.name} written")
    return int(path.read_text())


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie has ended; only its exit status is left)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone_within(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def kill_quietly(pids: Iterable[int]) -> None:
    """Teardown: no process a test made outlives it, whatever the server did."""
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def worker_pids() -> List[int]:
    """The ubiops-local worker processes under this test process (LocalServer runs in-process)."""
    pids = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any(part.endswith("_worker.py") for part in child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                pids.append(child.pid)
        except psutil.Error:
            pass
    return pids


class Servers:
    """Starts LocalServers for one test and stops every one of them at its end (even after a failure)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: List[LocalServer] = []
        self.pids: List[int] = []  # processes the test made that must not outlive it

    def start(self, config: Any, data_dir: Optional[Path] = None, **kwargs: Any) -> LocalServer:
        server = LocalServer(config=config, data_dir=data_dir or self.tmp_path / "data", **kwargs)
        self.started.append(server)
        return server.start()

    def close(self) -> None:
        for server in self.started:
            try:
                server.stop()
            except Exception:
                pass
        kill_quietly(self.pids)


def record_lines(path: Path) -> List[str]:
    return path.read_text().split() if path.exists() else []


def in_thread(target: Any, *args: Any) -> Dict[str, Any]:
    """Runs target(*args) in a daemon thread; the dict gets "value" or "error", and "thread"."""
    box: Dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = target(*args)
        except BaseException as exc:  # reported by the test
            box["error"] = exc

    box["thread"] = threading.Thread(target=run, daemon=True)
    box["thread"].start()
    return box


def joined(box: Dict[str, Any], timeout: float) -> Any:
    box["thread"].join(timeout)
    assert not box["thread"].is_alive(), f"no answer within {timeout}s"
    if "error" in box:
        raise AssertionError(f"the call raised {box['error']!r}")
    return box["value"]
