"""Helpers of the local server tests: plain HTTP through urllib3 (keep-alive), never through the ubiops client."""

from __future__ import annotations  # urllib3 1.26 has no BaseHTTPResponse to evaluate

import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import urlencode

import urllib3

from ubiops.local import LocalServer

PACKAGES = Path(__file__).parent / "packages"
FINAL = ("completed", "failed", "cancelled")
#: The fields of a record as list shows it.
LIST_FIELDS = {
    "id",
    "deployment",
    "version",
    "status",
    "success",
    "time_created",
    "time_started",
    "time_completed",
    "input_size",
    "output_size",
}


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
    """Requests to one server: paths are relative to the base URL (.../v2.1); the token is sent unless told not."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.pool = urllib3.PoolManager(maxsize=4, retries=False, timeout=urllib3.Timeout(connect=5, read=60))

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        text: Optional[str] = None,
        body: Optional[bytes] = None,
        headers: Optional[Dict[str, str]] = None,
        auth: bool = True,
        query: Optional[Dict[str, Any]] = None,
    ) -> Reply:
        sent = {"Authorization": f"Token {self.token}"} if auth else {}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        elif text is not None:
            body = text.encode()
            sent["Content-Type"] = "text/plain"
        sent.update(headers or {})
        url = self.url + path
        if query:
            url += "?" + urlencode(query)
        return Reply(self.pool.request(method, url, body=body, headers=sent))

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    # -- shortcuts over the requests of one deployment (or version) -------------------------------------------------

    def batch(self, where: str, items: List[Any], **query: Any) -> List[str]:
        reply = self.post(f"{where}/requests/batch", json_body=items, query=query or None)
        assert reply.status == 201, reply
        return [record["id"] for record in reply.json()]

    def record(self, where: str, request_id: str) -> Dict[str, Any]:
        reply = self.get(f"{where}/requests/{request_id}")
        assert reply.status == 200, reply
        return dict(reply.json())

    def wait_status(
        self, where: str, request_id: str, statuses: tuple = FINAL, timeout: float = 30.0
    ) -> Dict[str, Any]:
        """Poll until the request has one of `statuses`; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.record(where, request_id)
            if record["status"] in statuses:
                return record
            assert time.monotonic() < deadline, f"request still {record['status']} after {timeout}s: {record}"
            time.sleep(0.02)

    def wait_all(self, where: str, ids: List[str], timeout: float = 30.0) -> Dict[str, Dict[str, Any]]:
        """Collect until every request is final; returns the records by id."""
        deadline = time.monotonic() + timeout
        while True:
            records = {}
            for start in range(0, len(ids), 250):
                reply = self.post(f"{where}/requests/collect", json_body=ids[start : start + 250])
                assert reply.status == 200, reply
                records.update({r["id"]: r for r in reply.json()})
            if all(r["status"] in FINAL for r in records.values()):
                return records
            assert time.monotonic() < deadline, "requests not final in time"
            time.sleep(0.05)


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{message} not reached within {timeout}s"
        time.sleep(0.02)


def tool_deployment(name: str = "tool", **extra: Any) -> Dict[str, Any]:
    """A plain deployment running the srv_tool test package (see its docstring for the commands)."""
    return {"name": name, "path": str(PACKAGES / "srv_tool"), **extra}


def structured_deployment(name: str = "structured", **extra: Any) -> Dict[str, Any]:
    return {
        "name": name,
        "path": str(PACKAGES / "srv_structured"),
        "input_type": "structured",
        "input_fields": [{"name": "x", "data_type": "double"}, {"name": "mode", "data_type": "string"}],
        "output_type": "structured",
        "output_fields": [{"name": "y", "data_type": "double"}],
        **extra,
    }


def http_for(server: LocalServer) -> Http:
    return Http(server.url, server.token)
