"""A recording HTTP server for the client's wire tests: it keeps every request exactly as it arrived and answers
from a programmable queue, or with a canned success body per route (the reference document's examples).

Example::

    with RecordingServer() as server:
        server.answer(404, {"error": "request 'x' does not exist"})
        ...                                   # a call to server.url
        server.requests[0].path               # '/v2.1/projects/...?...' as sent, percent-encoding intact
"""

import json
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Deque, Dict, List, NamedTuple, Optional, Tuple

__all__ = ["RecordingServer", "Recorded", "Answer", "CANNED", "canned_answer"]

#: The base path of the API, as in ``https://api.ubiops.com/v2.1``.
BASE_PATH = "/v2.1"


class Recorded(NamedTuple):
    """One request as it reached the server; ``headers`` has lower-case names, ``header_lines`` every header line
    as sent (so a header sent twice shows)."""

    method: str
    path: str
    headers: Dict[str, str]
    body: bytes
    header_lines: Tuple[Tuple[str, str], ...] = ()

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Answer(NamedTuple):
    """What the server answers: ``delay`` seconds of silence first (for timeout tests)."""

    status: int
    body: bytes = b""
    headers: Tuple[Tuple[str, str], ...] = ()
    delay: float = 0.0


def json_answer(status: int, value: Any, headers: Tuple[Tuple[str, str], ...] = ()) -> Answer:
    return Answer(status, json.dumps(value).encode(), (("Content-Type", "application/json"), *headers))


_BATCH_CREATED = [
    {
        "id": "69eca481-8576-49e8-8e20-ea56f2005bcb",
        "deployment": "deployment-1",
        "version": "v1",
        "status": "pending",
        "time_created": "2020-03-28T20:00:26.613+00:00",
    },
    {
        "id": "2521378e-263e-4e2e-85e9-a96254b36536",
        "deployment": "deployment-1",
        "version": "v1",
        "status": "pending",
        "time_created": "2020-03-28T20:00:26.613+00:00",
    },
]
_DETAIL = {
    "id": "2f909aeb-5c7e-4974-970d-cd0a6a073aca",
    "deployment": "deployment-1",
    "version": "v1",
    "status": "pending",
    "success": False,
    "time_created": "2020-03-29T08:09:10.729+00:00",
    "time_started": None,
    "time_completed": None,
    "timeout": 300,
    "request_data": {"input": 82.2},
    "result": None,
    "error_message": None,
    "input_size": 14,
    "output_size": None,
}
_LISTED = {
    **_BATCH_CREATED[0],
    "success": False,
    "time_started": None,
    "time_completed": None,
    "input_size": 10,
    "output_size": None,
}
_CREATED = {
    "id": "ffce45da-1562-419a-89a0-0a0837e55392",
    "deployment": "deployment-1",
    "version": "v2",
    "status": "completed",
    "success": True,
    "result": {"output-field-1": "2.1369", "output-field-2": "5.5832"},
    "error_message": None,
    "timeout": 300,
}

#: Canned success answers by (method, last path part): the reference document's response examples.
CANNED: Dict[Tuple[str, str], Answer] = {
    ("POST", "batch"): json_answer(201, _BATCH_CREATED),
    ("POST", "cancel"): json_answer(200, {"cancelled": 2}),
    ("POST", "delete"): json_answer(200, {"deleted": 2}),
    ("POST", "collect"): json_answer(200, [_DETAIL, {**_DETAIL, "id": "85711124-54db-4794-b83d-24492247c6e1"}]),
    ("POST", "requests"): json_answer(200, _CREATED),
    ("GET", "requests"): json_answer(200, [_LISTED, {**_LISTED, "id": _BATCH_CREATED[1]["id"]}]),
    ("GET", "request"): json_answer(200, {**_DETAIL, "origin": {"created_by": "my.example.user@ubiops.com"}}),
    ("PATCH", "request"): json_answer(200, {**_LISTED, "status": "cancelled"}),
    ("DELETE", "request"): Answer(204),
    ("GET", "input"): json_answer(200, {"input": 82.2}),
    ("GET", "output"): Answer(200, "plain output ✓".encode(), (("Content-Type", "text/plain; charset=utf-8"),)),
}
_ROUTE = re.compile(
    r"^/v2\.1/projects/[^/?]+/deployments/[^/?]+(?:/versions/[^/?]+)?/requests"
    r"(?:/(?P<last>batch|cancel|delete|collect)|/(?P<id>[^/?]+)(?:/(?P<io>input|output))?)?(?:\?.*)?$"
)


def canned_answer(method: str, path: str) -> Answer:
    """The canned success answer for a request, or a 404 for an unknown route."""
    match = _ROUTE.match(path)
    if match is not None:
        last = match["io"] or match["last"] or ("request" if match["id"] else "requests")
        answer = CANNED.get((method, last))
        if answer is not None:
            return answer
    return json_answer(404, {"error": f"no route for {method} {path}"})


class RecordingServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that records and answers requests."""

    def __init__(self) -> None:
        self.requests: List[Recorded] = []
        #: TCP connections accepted since the start (keep-alive makes this smaller than the request count).
        self.connections = 0
        self._answers: Deque[Answer] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.recorder = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        """The API host to configure: ``http://127.0.0.1:<port>/v2.1``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{BASE_PATH}"

    def answer(
        self, status: int, body: Any = None, headers: Optional[Dict[str, str]] = None, delay: float = 0.0
    ) -> None:
        """Queue the answer to the next request: ``body`` bytes as they are, anything else as JSON."""
        extra = tuple((headers or {}).items())
        if isinstance(body, bytes):
            queued = Answer(status, body, extra, delay)
        elif body is None:
            queued = Answer(status, b"", extra, delay)
        else:
            queued = json_answer(status, body, extra)._replace(delay=delay)
        with self._lock:
            self._answers.append(queued)

    def reset(self) -> None:
        """Forget recorded requests and queued answers (connections stay counted)."""
        with self._lock:
            self.requests.clear()
            self._answers.clear()

    def _record(self, request: Recorded) -> Answer:
        with self._lock:
            self.requests.append(request)
            if self._answers:
                return self._answers.popleft()
        return canned_answer(request.method, request.path)

    def _count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def start(self) -> "RecordingServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "RecordingServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    recorder: RecordingServer

    def process_request(self, request: Any, client_address: Any) -> None:
        self.recorder._count_connection()
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        lines = tuple(self.headers.items())
        headers = {name.lower(): value for name, value in lines}
        answer = self.server.recorder._record(Recorded(self.command, self.path, headers, body, lines))
        if answer.delay:
            time.sleep(answer.delay)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            if answer.status != 204:
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.status != 204:
                self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (timeout tests)
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the tests read self.requests instead
        pass
