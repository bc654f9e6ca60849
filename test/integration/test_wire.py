"""What reaches the wire: every CoreApi method against a recording HTTP server on 127.0.0.1, and the answers,
errors, timeouts and call options as the caller sees them."""

import copy
import json
import logging
import socket
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

import pytest
import urllib3
from recording_server import RecordingServer

import ubiops
from ubiops.api.endpoints import AROUND_REQUESTS, BY_NAME, ENDPOINTS
from ubiops.utils import stream_request

TOKEN = "wire-test-token"
P, D, R, V = "my project", "dep/../x", "req?#%2F", "v 1/ü"
ENCODED = {P: "my%20project", D: "dep%2F..%2Fx", R: "req%3F%23%252F", V: "v%201%2F%C3%BC"}
USER_AGENT = f"ubiops-python/{ubiops.__version__}"


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def _check_batch(result: Any) -> None:
    assert [type(r) for r in result] == [ubiops.DeploymentRequestBatchCreateResponse] * 2
    assert result[0].id == "69eca481-8576-49e8-8e20-ea56f2005bcb"
    assert result[0].status == "pending" and result[0].version == "v1"
    assert result[0].time_created == _utc(2020, 3, 28, 20, 0, 26, 613000)


def _check_collect(result: Any) -> None:
    assert [type(r) for r in result] == [ubiops.DeploymentRequestDetail] * 2
    assert result[1].id == "85711124-54db-4794-b83d-24492247c6e1"
    assert result[0].request_data == {"input": 82.2} and result[0].timeout == 300
    assert result[0].time_created == _utc(2020, 3, 29, 8, 9, 10, 729000) and result[0].time_started is None


def _check_created(result: Any) -> None:
    assert type(result) is ubiops.DeploymentRequestCreateResponse
    assert (result.status, result.success, result.error_message) == ("completed", True, None)
    assert result.result == {"output-field-1": "2.1369", "output-field-2": "5.5832"}


def _check_single(result: Any) -> None:
    assert type(result) is ubiops.DeploymentRequestSingleDetail
    assert result.origin == {"created_by": "my.example.user@ubiops.com"}
    assert result.time_created == _utc(2020, 3, 29, 8, 9, 10, 729000)


def _check_listed(result: Any) -> None:
    assert [type(r) for r in result] == [ubiops.DeploymentRequestList] * 2
    assert result[0].id == "69eca481-8576-49e8-8e20-ea56f2005bcb"
    assert result[0].input_size == 10 and result[0].success is False
    assert result[0].time_created == _utc(2020, 3, 28, 20, 0, 26, 613000)


def _equals(expected: Any) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        assert result == expected and type(result) is type(expected)

    return check


class Case(NamedTuple):
    """One call of a default-version method; its versioned twin gets ``version`` and ``/versions/{version}``."""

    args: Tuple[Any, ...]  # after the path arguments
    kwargs: Dict[str, Any]
    method: str
    suffix: str  # after .../requests; {r} is the encoded request id
    content_type: Optional[str]
    body: bytes
    status: int
    check: Callable[[Any], None]


JSON = "application/json"
CASES = {
    "batch_deployment_requests_create": Case(
        ([{"x": 1.5, "s": "ü"}, "plain"],),
        {"timeout": 600, "priority": 0},
        "POST",
        "/batch?timeout=600&priority=0",
        JSON,
        '[{"x":1.5,"s":"ü"},"plain"]'.encode(),
        201,
        _check_batch,
    ),
    "deployment_requests_batch_cancel": Case(
        ([],), {"status": "pending"}, "POST", "/cancel?status=pending", JSON, b"[]", 200, _equals({"cancelled": 2})
    ),
    "deployment_requests_batch_delete": Case(
        (["a", "b"],), {}, "POST", "/delete", JSON, b'["a","b"]', 200, _equals({"deleted": 2})
    ),
    "deployment_requests_batch_get": Case((["a"],), {}, "POST", "/collect", JSON, b'["a"]', 200, _check_collect),
    "deployment_requests_create": Case(
        ("plain ✓\n",),
        {"timeout": 60},
        "POST",
        "?timeout=60",
        "text/plain; charset=utf-8",
        "plain ✓\n".encode(),
        200,
        _check_created,
    ),
    "deployment_requests_delete": Case((), {}, "DELETE", "/{r}", None, b"", 204, _equals(None)),
    "deployment_requests_get": Case(
        (), {"metadata_only": False}, "GET", "/{r}?metadata_only=false", None, b"", 200, _check_single
    ),
    "deployment_requests_list": Case(
        (),
        {
            "status": "completed,failed",
            "limit": 10,
            "offset": 0,
            "start_date": _utc(2020, 1, 1),
            "end_date": "2020-01-02T00:00:00.000Z",
            "search_id": "69e",
        },
        "GET",
        "?status=completed%2Cfailed&limit=10&offset=0&start_date=2020-01-01T00%3A00%3A00%2B00%3A00"
        "&end_date=2020-01-02T00%3A00%3A00.000Z&search_id=69e",
        None,
        b"",
        200,
        _check_listed,
    ),
    "deployment_requests_update": Case(
        (ubiops.DeploymentRequestUpdate(),),
        {},
        "PATCH",
        "/{r}",
        JSON,
        b'{"status":"cancelled"}',
        200,
        lambda result: _equals("cancelled")(result["status"]),
    ),
    "deployment_requests_input_get": Case((), {}, "GET", "/{r}/input", None, b"", 200, _equals({"input": 82.2})),
    "deployment_requests_output_get": Case((), {}, "GET", "/{r}/output", None, b"", 200, _equals("plain output ✓")),
}
METHODS = sorted(e.name + info for e in ENDPOINTS for info in ("", "_with_http_info"))  # the 44 request methods


def _case(method_name: str) -> Tuple[Case, Tuple[Any, ...], str]:
    """The case, positional arguments and expected raw path of one of the 44 methods."""
    name = method_name.replace("_with_http_info", "")
    case = CASES[name.replace("deployment_version_requests", "deployment_requests")]
    versioned = name != name.replace("deployment_version_requests", "")
    by_id = "{request_id}" in BY_NAME[name].path
    args = (P, D) + ((R,) if by_id else ()) + ((V,) if versioned else ()) + case.args
    path = f"/v2.1/projects/{ENCODED[P]}/deployments/{ENCODED[D]}"
    path += f"/versions/{ENCODED[V]}" if versioned else ""
    path += "/requests" + case.suffix.replace("{r}", ENCODED[R])
    return case, args, path


@pytest.fixture(scope="module")
def server():
    with RecordingServer() as recording:
        yield recording


@pytest.fixture(autouse=True)
def fresh_records(server):
    server.reset()


def _configuration(server: RecordingServer, **settings: Any) -> ubiops.Configuration:
    return ubiops.Configuration(host=server.url, api_key={"Authorization": TOKEN}, **settings)


@pytest.fixture(scope="module")
def api_client(server):
    with ubiops.ApiClient(_configuration(server)) as client:
        yield client


@pytest.fixture
def core_api(api_client):
    return ubiops.CoreApi(api_client)


def test_the_cases_cover_all_62_methods():
    assert len(METHODS) == 44 and len(AROUND_METHODS) == 18
    assert set(METHODS + AROUND_METHODS) == {name for name in vars(ubiops.CoreApi) if not name.startswith("_")}


@pytest.mark.parametrize("method_name", METHODS)
def test_every_method_on_the_wire(server, core_api, method_name):
    case, args, path = _case(method_name)
    result = getattr(core_api, method_name)(*args, **case.kwargs)

    (sent,) = server.requests
    assert (sent.method, sent.path) == (case.method, path)
    assert sent.body == case.body
    assert sent.headers["authorization"] == f"Token {TOKEN}"
    assert sent.headers["user-agent"] == USER_AGENT
    assert sent.headers["accept"] == "application/json"
    assert sent.headers.get("content-type") == case.content_type
    names = [name.lower() for name, _ in sent.header_lines]
    assert len(names) == len(set(names)), sent.header_lines

    if method_name.endswith("_with_http_info"):
        data, status, headers = result
        assert status == case.status
        assert ("Content-Type" in headers) == (status != 204)
    else:
        data = result
    case.check(data)


@pytest.mark.parametrize("method_name", METHODS)
def test_every_method_raises_not_found_with_the_server_message(server, core_api, method_name):
    case, args, _ = _case(method_name)
    server.answer(404, {"error": "deployment 'dep/../x' does not exist"})
    with pytest.raises(ubiops.NotFoundException) as info:
        getattr(core_api, method_name)(*args, **case.kwargs)
    assert info.value.message == "deployment 'dep/../x' does not exist"
    assert len(server.requests) == 1


ERRORS = {
    400: ubiops.BadRequestException,
    401: ubiops.UnauthorizedException,
    403: ubiops.ForbiddenException,
    404: ubiops.NotFoundException,
    409: ubiops.ConflictException,
    413: ubiops.PayloadTooLargeException,
    418: ubiops.ApiRequestError,
    429: ubiops.TooManyRequestsException,
    500: ubiops.ServiceException,
    502: ubiops.ServiceException,
    503: ubiops.ServiceException,
}
RETRIED = {429, 502, 503}  # for a get; the policy itself is tested in test/unit and test/reliability


@pytest.mark.parametrize(("status", "cls"), ERRORS.items())
def test_error_statuses_map_to_their_exception(server, core_api, status, cls):
    message = f"the server says {status}"
    server.answer(status, {"error": message}, headers={"Retry-After": "7"})
    options = {"_retries": 0} if status in RETRIED else {}
    with pytest.raises(cls) as info:
        core_api.deployment_requests_get(P, D, R, **options)
    error = info.value
    assert type(error) is cls
    assert (error.status, error.reason, error.message) == (status, HTTPStatus(status).phrase, message)
    assert str(error) == f"({status}) {HTTPStatus(status).phrase}: {message}"
    assert error.args == (str(error),)
    assert json.loads(error.body) == {"error": message}
    assert error.headers["Retry-After"] == "7"
    assert len(server.requests) == 1
    if status == 429:
        assert error.retry_after == 7.0


def test_an_unreadable_answer_is_an_error_naming_the_method(server, core_api):
    server.answer(200, b"<html>not json</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(ubiops.ApiException, match="deployment_requests_get: the answer could not be read"):
        core_api.deployment_requests_get(P, D, R)


def test_dot_segments_stay_in_the_path(server, core_api):
    core_api.deployment_requests_get("..", ".", "..")
    assert server.requests[0].path == "/v2.1/projects/%2E%2E/deployments/%2E/requests/%2E%2E"


def test_async_req_returns_an_object_with_get(server, core_api):
    thread = core_api.deployment_requests_get(P, D, R, async_req=True)
    _check_single(thread.get(timeout=10))
    data, status, _ = core_api.deployment_requests_list_with_http_info(P, D, async_req=True).get(timeout=10)
    _check_listed(data)
    assert status == 200
    server.answer(404, {"error": "gone"})
    with pytest.raises(ubiops.NotFoundException, match="gone"):
        core_api.deployment_requests_get(P, D, R, async_req=True).get(timeout=10)


def test_preload_content_false_returns_the_raw_response_unread(core_api):
    response = core_api.deployment_requests_output_get(P, D, R, _preload_content=False)
    assert isinstance(response, urllib3.HTTPResponse)
    assert response.status == 200
    assert response.read() == "plain output ✓".encode()
    response.release_conn()


def test_return_http_data_only(core_api):
    _check_single(core_api.deployment_requests_get_with_http_info(P, D, R, _return_http_data_only=True))
    data, status, _ = core_api.deployment_requests_get_with_http_info(P, D, R, _return_http_data_only=False)
    _check_single(data)
    assert status == 200


@pytest.mark.parametrize("timeout", [5, 5.0, (5, 5)])
def test_request_timeout_that_is_not_reached(core_api, timeout):
    _check_single(core_api.deployment_requests_get(P, D, R, _request_timeout=timeout))


@pytest.mark.parametrize("timeout", [0.3, (5, 0.3)])
def test_read_timeout_against_a_server_that_sleeps(server, core_api, timeout):
    server.answer(200, {"id": "late"}, delay=1.5)
    with pytest.raises(ubiops.ApiTimeoutError) as info:
        core_api.deployment_requests_get(P, D, R, _request_timeout=timeout, _retries=0)
    assert info.value.status == 0
    assert len(server.requests) == 1


def test_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = ubiops.Configuration(host=f"http://127.0.0.1:{port}/v2.1", api_key={"Authorization": TOKEN})
    with ubiops.ApiClient(configuration) as client:
        with pytest.raises(ubiops.ApiConnectionError) as info:
            ubiops.CoreApi(client).deployment_requests_get(P, D, R, _retries=0)
    assert type(info.value) is ubiops.ApiConnectionError
    assert info.value.status == 0


def test_api_client_as_context_manager_shuts_the_async_pool(server):
    with ubiops.ApiClient(_configuration(server)) as client:
        _check_single(ubiops.CoreApi(client).deployment_requests_get(P, D, R, async_req=True).get(timeout=10))
        pool = client.pool
    with pytest.raises(ValueError, match="Pool not running"):
        pool.apply_async(int)
    client.close()  # closing twice is harmless


def test_close_shuts_the_async_pool(server):
    client = ubiops.ApiClient(_configuration(server))
    pool = client.pool
    client.close()
    with pytest.raises(ValueError, match="Pool not running"):
        pool.apply_async(int)


def test_one_pool_manager_and_one_connection_for_50_calls():
    with RecordingServer() as fresh, ubiops.ApiClient(_configuration(fresh)) as client:
        core_api = ubiops.CoreApi(client)
        manager = client.rest_client.pool_manager
        calls = [
            lambda: core_api.deployment_requests_get(P, D, R),
            lambda: core_api.deployment_requests_create(P, D, {"x": 1}),
            lambda: core_api.deployment_requests_delete(P, D, R),
            lambda: core_api.deployment_version_requests_update(P, D, R, V, ubiops.DeploymentRequestUpdate()),
            lambda: core_api.deployment_requests_list(P, D, limit=5),
        ]
        for index in range(50):
            if index == 25:
                fresh.answer(404, {"error": "an error answer keeps the connection too"})
                with pytest.raises(ubiops.NotFoundException):
                    calls[0]()
            else:
                calls[index % len(calls)]()
        assert client.rest_client.pool_manager is manager
        assert len(fresh.requests) == 50
        assert fresh.connections == 1


def test_without_client_side_validation_the_server_decides(server):
    with ubiops.ApiClient(_configuration(server, client_side_validation=False)) as client:
        server.answer(400, {"error": "priority must be 0 or 1"})
        with pytest.raises(ubiops.BadRequestException, match="priority must be 0 or 1"):
            ubiops.CoreApi(client).deployment_requests_create(P, D, {"x": 1}, timeout="soon", priority=7)
        server.answer(400, {"error": "data must be an object"})
        with pytest.raises(ubiops.BadRequestException, match="data must be an object"):
            ubiops.CoreApi(client).deployment_requests_create(P, D, 5)
    assert [r.path.split("/requests")[1] for r in server.requests] == ["?timeout=soon&priority=7", ""]
    assert server.requests[1].body == b"5"


def test_call_headers_are_merged_without_sending_a_header_twice(server, api_client, core_api):
    api_client.set_default_header("x-team", "wire")
    try:
        core_api.deployment_requests_get(
            P, D, R, _headers={"authorization": "Token not-this", "accept": "text/plain", "X-Trace": "1"}
        )
    finally:
        del api_client.default_headers["x-team"]
    sent = server.requests[0]
    names = [name.lower() for name, _ in sent.header_lines]
    assert len(names) == len(set(names)), sent.header_lines
    assert sent.headers["authorization"] == f"Token {TOKEN}"
    assert (sent.headers["accept"], sent.headers["x-trace"], sent.headers["x-team"]) == ("text/plain", "1", "wire")


def test_environment_configuration_on_the_wire(server, monkeypatch):
    monkeypatch.setenv("UBIOPS_API_HOST", server.url + "/")
    monkeypatch.setenv("UBIOPS_API_TOKEN", "Token from-the-environment")
    core_api = ubiops.CoreApi()
    try:
        _check_single(core_api.deployment_requests_get(P, D, R))
    finally:
        core_api.api_client.close()
    assert server.requests[0].headers["authorization"] == "Token from-the-environment"
    assert server.requests[0].path.startswith("/v2.1/projects/")


def test_debug_logging_never_shows_the_token(server, caplog):
    configuration = ubiops.Configuration(host=server.url, api_key={"Authorization": "Token very-secret"}, debug=True)
    try:
        with caplog.at_level(logging.DEBUG, logger="ubiops"), ubiops.ApiClient(configuration) as client:
            ubiops.CoreApi(client).deployment_requests_get(P, D, R)
    finally:
        configuration.debug = False
    assert any(record.name == "ubiops" and "GET" in record.getMessage() for record in caplog.records)
    assert "very-secret" not in caplog.text


def test_debug_of_one_client_does_not_reach_or_silence_another(server, capsys):
    loud = ubiops.Configuration(host=server.url, api_key={"Authorization": "Token loud-secret"}, debug=True)
    quiet = ubiops.Configuration(host=server.url, api_key={"Authorization": "Token quiet-secret"})
    copied = copy.copy(loud)
    with ubiops.ApiClient(loud) as loud_client, ubiops.ApiClient(quiet) as quiet_client:
        loud_api, quiet_api = ubiops.CoreApi(loud_client), ubiops.CoreApi(quiet_client)
        capsys.readouterr()
        loud_api.deployment_requests_get(P, D, "loud-1")
        quiet_api.deployment_requests_get(P, D, "quiet-1")
        copied.debug = False  # a copy shares nothing that switching it off could take away
        quiet.debug = False
        loud_api.deployment_requests_get(P, D, "loud-2")
        server.answer(503, {"error": "busy"})
        loud_api.deployment_requests_get(P, D, "loud-3", _retries=ubiops.RetryPolicy(total=1, backoff_factor=0))
    err = capsys.readouterr().err
    calls = [line.split(" ubiops: ", 1)[1].split("/requests/")[-1] for line in err.splitlines()]
    assert [call.split(" in ")[0] for call in calls] == [
        "loud-1 -> 200",
        "loud-2 -> 200",
        "loud-3 -> 503",
        "loud-3 after HTTP 503 (retry 1 of 1)",
        "loud-3 -> 200",
    ]
    assert "secret" not in err


@pytest.mark.parametrize("method_name", ["deployment_requests_get", "deployment_requests_output_get_with_http_info"])
def test_an_error_keeps_the_server_message_without_preloading(server, core_api, method_name):
    server.answer(400, {"error": "request 'x' is not valid"})
    with pytest.raises(ubiops.BadRequestException) as info:
        getattr(core_api, method_name)(P, D, R, _preload_content=False)
    error = info.value
    assert error.message == "request 'x' is not valid"
    assert json.loads(error.body) == {"error": "request 'x' is not valid"}
    assert str(error) == "(400) Bad Request: request 'x' is not valid"


def test_an_error_after_retries_keeps_the_last_server_message_without_preloading(server, core_api):
    server.answer(503, {"error": "busy, first"})
    server.answer(503, {"error": "busy, second"})
    with pytest.raises(ubiops.ServiceException) as info:
        core_api.deployment_requests_get(
            P, D, R, _preload_content=False, _retries=ubiops.RetryPolicy(total=1, backoff_factor=0)
        )
    assert info.value.message == "busy, second (gave up after 2 attempts)"
    assert json.loads(info.value.body) == {"error": "busy, second"}
    assert len(server.requests) == 2


def test_a_streaming_call_that_is_refused_keeps_the_server_message(server, core_api):
    server.answer(404, {"error": "deployment 'dep/../x' does not exist", "error_message": "no such deployment"})
    with pytest.raises(ubiops.NotFoundException) as info:
        list(stream_request(core_api, P, D, {"x": 1}))
    assert info.value.message == "deployment 'dep/../x' does not exist"
    assert "error_message" in info.value.body
    assert server.requests[0].path.endswith("/requests/stream")
    assert server.requests[0].headers["accept"] == "text/event-stream"


# -- the read-only methods around requests -----------------------------------------------------------------------------

_PROJECT = {
    "id": "7ab4b7b9-5cbd-4f4f-8c7d-9fbf4c3e2f2a",
    "name": "my project",
    "creation_date": "2020-03-28T20:00:26.613+00:00",
    "advanced_permissions": False,
    "credits": 1000.0,
    "organization_name": "my-organization",
    "labels": {"team": "vision"},
}
_FIELDS = [{"name": "input", "data_type": "double"}, {"name": "tags", "data_type": "array_string"}]
_DEPLOYMENT = {
    "id": "903ccd12-81d1-46e1-9ac9-b9d70af118de",
    "name": "dep/../x",
    "supports_request_format": True,
    "project": "my project",
    "description": "Deployment created via client library",
    "input_type": "structured",
    "output_type": "plain",
    "input_fields": _FIELDS,
    "output_fields": [],
    "labels": {"type": "deployment"},
    "creation_date": "2020-05-12T16:23:15.456812+00:00",
    "last_updated": "2020-06-22T18:04:56.123754+00:00",
}
_VERSION = {
    "id": "4ae7d14b-4803-4e16-b467-4c1a8a7b4a45",
    "deployment": "dep/../x",
    "version": "v 1/ü",
    "default": True,
    "description": "",
    "environment": "python3-11",
    "environment_display_name": "Python 3.11",
    "status": "available",
    "active_revision": "da27ef7c-aa3f-4963-a815-6ebf1865638e",
    "latest_revision": "da27ef7c-aa3f-4963-a815-6ebf1865638e",
    "maximum_instances": 4,
    "minimum_instances": 0,
    "maximum_idle_time": 300,
    "labels": {},
    "creation_date": "2020-05-12T16:23:15.456812+00:00",
    "last_updated": "2020-06-22T18:04:56.123754+00:00",
    "request_retention_time": 604800,
    "request_retention_mode": "full",
    "maximum_queue_size": 100000,
    "static_ip": False,
    "restart_request_interruption": False,
    "ports": [{"public_port": 2222, "deployment_port": 2222, "protocol": "tcp"}],
    "instance_type": "512mb",
    "scaling_strategy": "default",
    "instance_processes": 1,
}
_LOG = {
    "id": "5f6c3a0e2b9d4a1b",
    "log": "Loading model...",
    "date": "2020-03-28T20:00:26.613+00:00",
    "deployment_name": "dep/../x",
    "deployment_version": "v1",
    "deployment_request_id": "2f909aeb-5c7e-4974-970d-cd0a6a073aca",
    "system": False,
    "level": "info",
    "a_key_of_a_newer_server": 1,
}


def _check_status(result: Any) -> None:
    assert type(result) is ubiops.models.Status and result.status == "ok"


def _check_projects(result: Any) -> None:
    assert [type(r) for r in result] == [ubiops.models.ProjectList]
    assert result[0].name == "my project" and result[0].labels == {"team": "vision"}
    assert result[0].creation_date == _utc(2020, 3, 28, 20, 0, 26, 613000) and result[0].credits == 1000.0


def _check_project(result: Any) -> None:
    assert type(result) is ubiops.models.ProjectDetail
    assert (result.organization_name, result.suspended, result.cors_origins) == ("my-organization", False, [])


def _check_logs(result: Any) -> None:
    assert [type(r) for r in result] == [ubiops.models.Logs]
    assert (result[0].log, result[0].level, result[0].date) == ("Loading model...", "info", _LOG["date"])
    assert result[0].a_key_of_a_newer_server == 1 and "a_key_of_a_newer_server" not in result[0].to_dict()


_LOG_LINE = {
    "timestamp": 1585425626613000000,
    "timestamp_str": "2020-03-28T20:00:26.613000000Z",
    "log": "Loading model...",
    "metadata": {"deployment_name": "dep/../x", "deployment_version": "v1", "level": "info", "system": False},
}


def _check_log_lines(result: Any) -> None:
    assert [type(r) for r in result] == [ubiops.models.LogList]
    assert (result[0].timestamp, result[0].log) == (1585425626613000000, "Loading model...")
    assert isinstance(result[0].metadata, ubiops.models.LogMetadata)
    assert (result[0].metadata.deployment_name, result[0].metadata.level) == ("dep/../x", "info")


def _check_deployments(result: Any) -> None:
    assert [type(r) for r in result] == [ubiops.models.DeploymentList]
    assert [type(f) for f in result[0].input_fields] == [ubiops.models.InputOutputFieldList] * 2
    assert [(f.name, f.data_type) for f in result[0].input_fields] == [("input", "double"), ("tags", "array_string")]
    assert result[0].last_updated == _utc(2020, 6, 22, 18, 4, 56, 123754) and result[0].output_fields == []


def _check_deployment(result: Any) -> None:
    assert type(result) is ubiops.models.DeploymentDetail
    assert (result.input_type, result.output_type, result.default_version) == ("structured", "plain", "v 1/ü")
    assert result.input_fields[0] == ubiops.models.InputOutputFieldDetail(
        name="input", data_type="double", widget=ubiops.models.InputOutputWidgetList(type="slider")
    )
    assert result.to_dict()["input_fields"][0]["widget"] == {"type": "slider", "configuration": None}


def _check_versions(result: Any) -> None:
    assert [type(r) for r in result] == [ubiops.models.DeploymentVersionList]
    assert (result[0].version, result[0].status, result[0].default) == ("v 1/ü", "available", True)
    assert result[0].ports == [ubiops.models.DeploymentVersionPort(2222, 2222, "tcp")]


def _check_version(result: Any) -> None:
    assert type(result) is ubiops.models.DeploymentVersionDetail
    assert result.status == "available" and result.has_request_method is True
    assert result.last_file_upload == _utc(2020, 6, 1, 12, 0)


class AroundCase(NamedTuple):
    args: Tuple[Any, ...]
    kwargs: Dict[str, Any]
    method: str
    path: str  # the raw path after /v2.1
    body: bytes
    answer: Any
    check: Callable[[Any], None]


DEPLOYMENT_PATH = f"/projects/{ENCODED[P]}/deployments/{ENCODED[D]}"
AROUND_CASES = {
    "service_status": AroundCase((), {}, "GET", "/status", b"", {"status": "ok"}, _check_status),
    "projects_list": AroundCase(
        (),
        {"labels": "team:vision,env:prod"},
        "GET",
        "/projects?labels=team%3Avision%2Cenv%3Aprod",
        b"",
        [_PROJECT],
        _check_projects,
    ),
    "projects_get": AroundCase(
        (P,),
        {},
        "GET",
        f"/projects/{ENCODED[P]}",
        b"",
        {**_PROJECT, "suspended": False, "suspended_reason": None, "cors_origins": []},
        _check_project,
    ),
    "projects_log_list": AroundCase(
        (P,),
        {"data": ubiops.models.LogsCreate(filters={"deployment_name": D, "deployment_version": "v1"}, limit=10)},
        "POST",
        f"/projects/{ENCODED[P]}/logs",
        b'{"filters":{"deployment_name":"dep/../x","deployment_version":"v1"},"limit":10}',
        [_LOG],
        _check_logs,
    ),
    "logs_list": AroundCase(
        (P,),
        {"query": '{deployment_name="d"} |= "x"', "start": "2020-01-01T00:00:00Z", "end": "0", "limit": 10},
        "GET",
        f"/projects/{ENCODED[P]}/logs?query=%7Bdeployment_name%3D%22d%22%7D+%7C%3D+%22x%22"
        "&start=2020-01-01T00%3A00%3A00Z&end=0&limit=10",
        b"",
        [_LOG_LINE],
        _check_log_lines,
    ),
    "deployments_list": AroundCase(
        (P,),
        {"labels": ""},
        "GET",
        f"/projects/{ENCODED[P]}/deployments?labels=",
        b"",
        [_DEPLOYMENT],
        _check_deployments,
    ),
    "deployments_get": AroundCase(
        (P, D),
        {},
        "GET",
        DEPLOYMENT_PATH,
        b"",
        {
            **_DEPLOYMENT,
            "input_fields": [{**_FIELDS[0], "widget": {"type": "slider"}}],
            "default_version": "v 1/ü",
        },
        _check_deployment,
    ),
    "deployment_versions_list": AroundCase(
        (P, D),
        {},
        "GET",
        DEPLOYMENT_PATH + "/versions",
        b"",
        [_VERSION],
        _check_versions,
    ),
    "deployment_versions_get": AroundCase(
        (P, D, V),
        {},
        "GET",
        f"{DEPLOYMENT_PATH}/versions/{ENCODED[V]}",
        b"",
        {
            **_VERSION,
            "last_file_upload": "2020-06-01T12:00:00Z",
            "has_request_method": True,
            "has_requests_method": False,
        },
        _check_version,
    ),
}
AROUND_METHODS = sorted(e.name + info for e in AROUND_REQUESTS for info in ("", "_with_http_info"))


@pytest.mark.parametrize("method_name", AROUND_METHODS)
def test_every_method_around_requests_on_the_wire(server, core_api, method_name):
    case = AROUND_CASES[method_name.replace("_with_http_info", "")]
    server.answer(200, case.answer)
    result = getattr(core_api, method_name)(*case.args, **case.kwargs)

    (sent,) = server.requests
    assert (sent.method, sent.path, sent.body) == (case.method, "/v2.1" + case.path, case.body)
    assert sent.headers["authorization"] == f"Token {TOKEN}"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers.get("content-type") == (JSON if case.body else None)
    if method_name.endswith("_with_http_info"):
        result, status, headers = result
        assert status == 200 and headers["Content-Type"] == JSON
    case.check(result)


@pytest.mark.parametrize("method_name", AROUND_METHODS)
def test_every_method_around_requests_raises_with_the_server_message(server, core_api, method_name):
    case = AROUND_CASES[method_name.replace("_with_http_info", "")]
    server.answer(404, {"error": "project 'my project' does not exist"})
    with pytest.raises(ubiops.NotFoundException, match="project 'my project' does not exist"):
        getattr(core_api, method_name)(*case.args, **case.kwargs)


def test_the_logs_query_as_a_dict_or_left_out(server, core_api):
    server.answer(200, [])
    server.answer(200, [])
    assert core_api.projects_log_list(P, data={"date": "2020-01-01T00:00:00Z", "date_range": -3600}) == []
    assert core_api.projects_log_list(P) == []
    assert server.requests[0].json == {"date": "2020-01-01T00:00:00Z", "date_range": -3600}
    assert (server.requests[1].body, server.requests[1].headers.get("content-type")) == (b"", None)


def test_query_parameters_around_requests_are_sent_only_when_given(server, core_api):
    for _ in range(3):
        server.answer(200, [])
    core_api.projects_list(organization="my org")
    core_api.deployments_list(P, supports_request_format=True)
    core_api.deployments_list(P)
    assert [r.path.split("/v2.1")[1] for r in server.requests] == [
        "/projects?organization=my+org",
        f"/projects/{ENCODED[P]}/deployments?supports_request_format=true",
        f"/projects/{ENCODED[P]}/deployments",
    ]


def test_an_unread_answer_deserialized_by_the_api_client(api_client, core_api):
    response = core_api.deployment_requests_batch_get(P, D, ["a"], _preload_content=False)
    try:
        _check_collect(api_client.deserialize(response, "list[DeploymentRequestDetail]"))
    finally:
        response.release_conn()
    response = core_api.deployment_requests_batch_cancel(P, D, [], status="pending", _preload_content=False)
    assert api_client.deserialize(response, "dict(str, object)") == {"cancelled": 2}


def test_a_retry_after_a_redirect_to_another_host_still_sends_the_token(server):
    """A same-host redirect, then one to another host that answers 503: the retried attempt starts again at the
    configured host, with the token. (urllib3 1.26 drops Authorization from the headers it is given, in place.)"""
    with RecordingServer() as elsewhere:
        for _ in range(2):
            server.answer(302, headers={"Location": "/v2.1/hop"})
            server.answer(302, headers={"Location": f"http://localhost:{elsewhere.url.split(':')[2]}"})
        elsewhere.answer(503, headers={"Retry-After": "0"})
        elsewhere.answer(200, [])
        with ubiops.ApiClient(_configuration(server)) as client:
            assert ubiops.CoreApi(client).deployment_requests_list(P, D) == []
    assert [r.headers.get("authorization") for r in server.requests] == [f"Token {TOKEN}"] * 4
    assert [r.headers.get("authorization") for r in elsewhere.requests] == [None, None]


def test_an_unread_redirect_to_a_bad_location_gives_its_connection_back(server):
    """With _preload_content=False a redirect whose Location is no valid URL fails at once, not retried; its
    connection goes back to the pool instead of staying open under the exception, so the next call reuses it."""
    server.answer(302, headers={"Location": "http://127.0.0.1:99999/v2.1"})
    server.answer(200, [])
    before = server.connections
    with ubiops.ApiClient(_configuration(server)) as client:
        core_api = ubiops.CoreApi(client)
        with pytest.raises(ubiops.ApiConnectionError) as caught:
            core_api.deployment_requests_list(P, D, _preload_content=False)
        assert core_api.deployment_requests_list(P, D) == []
    assert "99999" in str(caught.value) and server.connections - before == 1


def test_a_redirect_to_a_location_that_cannot_be_read_is_a_clear_error_not_retried(server):
    server.answer(302, headers={"Location": "http://[::1"})
    with ubiops.ApiClient(_configuration(server)) as client:
        with pytest.raises(ubiops.ApiConnectionError) as caught:
            ubiops.CoreApi(client).deployment_requests_list(P, D)
    assert "'http://[::1', which is not a URL" in str(caught.value)
    assert "not retried" in str(caught.value) and len(server.requests) == 1


def test_a_refused_connection_is_reported_as_refused_even_past_the_request_timeout():
    """A refused connection that a busy machine reported after _request_timeout had passed (here: a timeout shorter
    than any connect) is still a failed connection, not a timeout that never happened."""
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = ubiops.Configuration(host=f"http://127.0.0.1:{port}/v2.1", api_key={"Authorization": "t"})
    with ubiops.ApiClient(configuration) as client:
        with pytest.raises(ubiops.ApiConnectionError) as caught:
            ubiops.CoreApi(client).deployment_requests_get(P, D, "x", _request_timeout=1e-6, _retries=0)
    assert not isinstance(caught.value, ubiops.ApiTimeoutError), caught.value
    assert "could not connect" in str(caught.value) and caught.value.sent is False
