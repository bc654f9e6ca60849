"""Messages a newcomer meets in the first hour, as the ubiops client shows them from a real local server: each one
says what happened and points at the fix, and the docs show them as they really are."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List

import pytest
import urllib3
from local_helpers import PACKAGES, wait_until

import ubiops
from ubiops.local import LocalServer
from ubiops.utils import SubmitError, submit_requests

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def core_api(shared_server: LocalServer) -> Iterator[ubiops.CoreApi]:
    with ubiops.ApiClient(shared_server.configuration()) as client:
        yield ubiops.CoreApi(client)


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_exceptions_page_shows_the_real_text_of_a_404(core_api: ubiops.CoreApi) -> None:
    with pytest.raises(ubiops.NotFoundException) as raised:
        core_api.deployment_requests_get("local", "echo", "abc")
    assert str(raised.value) == "(404) NOT FOUND: request 'abc' not found in deployment 'echo'"
    assert f"`{raised.value}`" in one_line((DOCS / "Exceptions.md").read_text())


def test_a_failed_batch_names_the_bad_item_by_its_position_in_the_input(core_api: ubiops.CoreApi) -> None:
    items = [{"x": 1.0, "y": 2.0, "op": "+"} for _ in range(260)]
    del items[253]["op"]  # in the second batch (positions 250-259), where it is data[3]
    with pytest.raises(SubmitError) as raised:
        submit_requests(core_api, "local", "calculator", items, concurrency=1)
    error = raised.value
    assert error.position == 253 and error.not_created == [range(250, 260)] and error.created == [range(0, 250)]
    assert error.errors[0][1].path_to_item == ["data", 3]  # the exception of the batch call, as it was raised
    assert str(error).startswith(
        "batch call for positions 250-259 failed at position 253: (400) BAD REQUEST: data[253]: field 'op' is "
        "missing (data_type string); no request was created; created: 0-249; not created: 250-259;"
    ), str(error)


def test_an_item_the_client_refuses_is_named_by_its_position_in_the_input(core_api: ubiops.CoreApi) -> None:
    items = ["a"] * 255 + [7] + ["b"] * 4
    with pytest.raises(SubmitError) as raised:
        submit_requests(core_api, "local", "echo", items, concurrency=1)
    assert raised.value.position == 255
    assert "failed at position 255: batch_deployment_requests_create: `data[255]` must be a dict or a str" in str(
        raised.value
    )


def test_the_server_names_json_types_as_a_python_user_knows_them_too(core_api: ubiops.CoreApi) -> None:
    with pytest.raises(ubiops.BadRequestException) as raised:
        core_api.deployment_requests_create("local", "echo", {"text": "hi"})
    assert raised.value.message == "data: expected a string (plain input), got object (a dict)"
    with pytest.raises(ubiops.BadRequestException) as raised:
        core_api.deployment_requests_create("local", "calculator", [{"x": 1.0, "y": None, "op": "+"}])
    assert raised.value.message == "data[0]: field 'y': expected double, got null (None)"


def test_a_host_without_the_base_path_is_told_so_by_the_server(shared_server: LocalServer) -> None:
    configuration = shared_server.configuration()
    root = configuration.host[: -len("/v2.1")]
    configuration.host = root
    with ubiops.ApiClient(configuration) as client, pytest.raises(ubiops.NotFoundException) as raised:
        ubiops.CoreApi(client).deployment_requests_create("local", "echo", "hi")
    where = "POST /projects/local/deployments/echo/requests"
    assert raised.value.message == (
        f"no such endpoint: {where}; the API is under /v2.1: POST /v2.1{where[5:]} "
        "(does the client's host end in /v2.1?)"
    )  # the client adds no guess of its own to an answer of the API: the server said what it knows


def test_a_path_that_is_no_api_path_gets_no_base_path_hint(shared_server: LocalServer) -> None:
    root = shared_server.url[: -len("/v2.1")]
    answer = urllib3.PoolManager().request("GET", root + "/nothing", headers=auth(shared_server))
    assert answer.status == 404 and json.loads(answer.data) == {"error": "no such endpoint: GET /nothing"}


def auth(server: LocalServer) -> dict:
    return {"Authorization": f"Token {server.token}"}


def test_a_failed_request_names_its_exception_and_where_its_traceback_is(core_api: ubiops.CoreApi) -> None:
    failed = core_api.deployment_requests_create("local", "calculator", {"x": 1.0, "y": 0.0, "op": "div"})
    assert (failed.status, failed.error_message) == (
        "failed",
        "ValueError: division by zero: y must not be 0 when op is div (traceback in this request's logs: "
        'projects_log_list with filters {"deployment_request_id": <id>}, or the request\'s page in the web view)',
    )

    def traceback_lines() -> List[str]:
        logs = core_api.projects_log_list("local", data={"filters": {"deployment_request_id": failed.id}})
        return [line.log for line in logs]

    lines = wait_until(
        lambda: [line for line in traceback_lines() if line.startswith("Traceback")] and traceback_lines()
    )
    assert "ValueError: division by zero: y must not be 0 when op is div" in lines, lines


def test_a_wrong_deployment_or_version_name_gets_the_names_there_are(core_api: ubiops.CoreApi) -> None:
    with pytest.raises(ubiops.NotFoundException) as raised:
        core_api.deployment_requests_create("local", "eco", "hi")
    assert raised.value.message.startswith("deployment 'eco' not found in project 'local' (this server serves: echo, ")
    with pytest.raises(ubiops.NotFoundException) as raised:
        core_api.deployment_version_requests_create("local", "echo", "v9", "hi")
    assert raised.value.message == "version 'v9' of deployment 'echo' not found (its versions: v1)"


def test_an_exception_that_cannot_be_described_fails_its_request_and_the_instance_stays_up(start_server) -> None:
    """failure_text runs in the worker: an exception whose __str__ raises or returns no str must not end it."""
    config = {"project": "local", "deployments": [{"name": "odd", "path": str(PACKAGES / "raises_oddly")}]}
    server = start_server(config)
    with ubiops.ApiClient(server.configuration()) as client:
        api = ubiops.CoreApi(client)
        messages = {
            data: api.deployment_requests_create("local", "odd", data).error_message
            for data in ("raising", "not-str", "str-subclass")
        }
        assert messages["raising"].startswith("StrRaises: <str() of the exception raised RuntimeError> (traceback in")
        assert messages["not-str"].startswith("StrNotStr: <str() of the exception raised TypeError> (traceback in")
        assert messages["str-subclass"].startswith("StrSubclass: odd text (traceback in")
        last = api.deployment_requests_create("local", "odd", "ok")
        assert (last.status, last.result) == ("completed", "fine")


class _RewritingProxy(BaseHTTPRequestHandler):
    """A reverse proxy that serves the API under /ubiops: /ubiops/<path> goes to <upstream>/v2.1/<path>."""

    upstream = ""
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/ubiops/"):
            answer = urllib3.PoolManager(retries=False).request(
                self.command, self.upstream + self.path[len("/ubiops") :], body=body, headers=dict(self.headers)
            )
            status, payload, kind = answer.status, answer.data, answer.headers.get("Content-Type", "")
        else:  # the proxy's own page, as a web server gives for a path it has nothing at
            status, payload, kind = 404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _forward

    def log_message(self, *args: object) -> None:
        pass


def test_the_base_path_hint_is_for_a_404_that_is_no_api_answer(shared_server: LocalServer) -> None:
    """Behind a proxy that maps /ubiops to /v2.1 the host rightly lacks /v2.1: the API's own 404 (a request that is
    not there) gets no hint; the proxy's page for a path it has nothing at does."""
    handler = type("Proxy", (_RewritingProxy,), {"upstream": shared_server.url})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    configuration = shared_server.configuration()
    try:
        for host, said in (
            (f"http://127.0.0.1:{proxy.server_address[1]}/ubiops", "request 'nope' not found in deployment 'echo'"),
            (f"http://127.0.0.1:{proxy.server_address[1]}", None),
        ):
            configuration.host = host
            with ubiops.ApiClient(configuration) as client, pytest.raises(ubiops.NotFoundException) as raised:
                ubiops.CoreApi(client).deployment_requests_get("local", "echo", "nope")
            if said is not None:
                assert raised.value.message == said
            else:
                assert raised.value.message.endswith(f" (Configuration.host probably lacks /v2.1: use {host}/v2.1)")
    finally:
        proxy.shutdown()
        proxy.server_close()
