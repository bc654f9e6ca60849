"""Every endpoint over plain HTTP: shapes, status codes, version twins, and the error for each bad input."""

import concurrent.futures
import json
import re
import uuid
from typing import Any, Dict, List

import pytest
import urllib3
from local_helpers import LIST_FIELDS, Http, http_for, tool_deployment, wait_until

from ubiops.local import LocalServer
from ubiops.local._worker import TRACEBACK_HINT

D = "/projects/local/deployments"
ECHO, CALC, TOOL, STRUCT, TYPED = (f"{D}/{name}" for name in ("echo", "calculator", "tool", "structured", "typed"))
TOOL_V1, TOOL_V2 = f"{TOOL}/versions/v1", f"{TOOL}/versions/v2"
ALL_STATUSES = "completed,failed,cancelled,cancelled_pending"

RECORD_FIELDS = LIST_FIELDS | {"timeout", "request_data", "result", "error_message"}


def count(http: Http, where: str) -> int:
    """All requests of a version, once none of them is pending or processing (so the count is stable)."""

    def settled() -> bool:
        return not any(
            http.get(f"{where}/requests", query={"status": status}).json() for status in ("pending", "processing")
        )

    wait_until(settled, message="no pending or processing requests")
    reply = http.get(f"{where}/requests", query={"status": ALL_STATUSES, "limit": 1000})
    assert reply.status == 200, reply
    return len(reply.json())


def error_of(reply: Any, status: int) -> str:
    assert reply.status == status, reply
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    if "error_message" in body:  # errors of /stream carry it too, for the official tools
        assert body.pop("error_message") == body.get("error"), body
    if "path_to_item" in body:  # an item of a list: where it is, as ["data", index]
        path = body.pop("path_to_item")
        assert path[0] == "data" and str(body["error"]).startswith(f"data[{path[1]}]: "), body
    assert set(body) == {"error"} and body["error"], body
    return str(body["error"])


# -- health and authentication ------------------------------------------------------------------------------------


def test_status_needs_no_token(http):
    reply = http.get("/status", auth=False)
    assert (reply.status, reply.json()) == (200, {"status": "ok"})


ROUTES = [
    ("POST", "/requests"),
    ("GET", "/requests"),
    ("POST", "/requests/batch"),
    ("POST", "/requests/stream"),
    ("POST", "/requests/cancel"),
    ("POST", "/requests/delete"),
    ("POST", "/requests/collect"),
    ("GET", "/requests/some-id"),
    ("PATCH", "/requests/some-id"),
    ("DELETE", "/requests/some-id"),
    ("GET", "/requests/some-id/input"),
    ("GET", "/requests/some-id/output"),
]


@pytest.mark.parametrize("prefix", [ECHO, f"{ECHO}/versions/v1"])
@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("authorization", [None, "Token wrong", "Bearer {token}", "{token}", "Token  {token}"])
def test_every_endpoint_but_status_needs_the_token(http, prefix, method, path, authorization):
    headers = {} if authorization is None else {"Authorization": authorization.format(token=http.token)}
    reply = http.request(method, prefix + path, auth=False, headers=headers, json_body=["x"])
    assert "token" in error_of(reply, 401)
    assert reply.headers["WWW-Authenticate"] == "Token"


def test_unknown_route_needs_the_token_too(http):
    assert http.get("/nothing/here", auth=False).status == 401
    assert "no such endpoint: GET /v2.1/nothing/here" in error_of(http.get("/nothing/here"), 404)


# -- direct requests ------------------------------------------------------------------------------------------------


def test_direct_plain_request_as_text_or_json_string(http):
    for reply in (http.post(f"{ECHO}/requests", text="héllo"), http.post(f"{ECHO}/requests", json_body="héllo")):
        body = reply.json()
        assert reply.status == 200
        assert set(body) == {"id", "deployment", "version", "status", "success", "result", "error_message", "timeout"}
        assert body["status"] == "completed" and body["success"] is True and body["result"] == "héllo"
        assert (body["deployment"], body["version"], body["error_message"], body["timeout"]) == (
            "echo",
            "v1",
            None,
            300,
        )
        uuid.UUID(body["id"], version=4)


def test_direct_list_goes_to_the_deployment_as_a_list(http):
    reply = http.post(f"{ECHO}/requests", json_body=["a", "b"], query={"timeout": 20})
    assert reply.status == 200
    assert (reply.json()["result"], reply.json()["timeout"]) == (["a", "b"], 20)
    record = http.record(ECHO, reply.json()["id"])
    assert record["request_data"] == ["a", "b"] and record["input_size"] == len('["a","b"]')


def test_direct_structured_completed_and_failed(http):
    done = http.post(f"{CALC}/requests", json_body={"x": 6, "y": 7, "op": "mul"}).json()
    assert (done["status"], done["result"]) == ("completed", {"result": 42.0})
    failed = http.post(f"{CALC}/requests", json_body={"x": 1, "y": 0, "op": "div"})
    assert failed.status == 200
    assert failed.json()["status"] == "failed" and failed.json()["success"] is False
    assert failed.json()["result"] is None
    assert (
        failed.json()["error_message"]
        == f"ValueError: division by zero: y must not be 0 when op is div{TRACEBACK_HINT}"
    )


def test_direct_request_to_a_version(http):
    body = http.post(f"{TOOL_V2}/requests", text="v2 please").json()
    assert (body["version"], body["result"]) == ("v2", "v2 please")
    assert http.post(f"{TOOL}/requests", text="default").json()["version"] == "v1"


def test_direct_timeout_and_priority_are_checked(http):
    for query, name in [
        ({"timeout": 9}, "timeout"),
        ({"timeout": 3601}, "timeout"),
        ({"timeout": "1.5"}, "timeout"),
        ({"priority": 2}, "priority"),
        ({"priority": "high"}, "priority"),
        ({"priority": "\u0661"}, "priority"),  # an Arabic-Indic digit one
        ({"timeout": "1_000"}, "timeout"),
        ({"timeout": " 100"}, "timeout"),
    ]:
        message = error_of(http.post(f"{ECHO}/requests", text="x", query=query), 400)
        assert message.startswith(f"{name}: must be an integer from")
    assert "from 10 to 3600" in error_of(http.post(f"{ECHO}/requests", text="x", query={"timeout": 5}), 400)


def test_a_server_for_tests_may_accept_shorter_timeouts(start_server):
    """LocalServer(min_timeout=N) (`serve --min-timeout N`) lowers the least timeout, for tests that only need a
    request to time out; the default stays UbiOps's 10 s (test_direct_timeout_and_priority_are_checked)."""
    http = http_for(start_server({"deployments": [tool_deployment()]}, min_timeout=1))
    tool = "/projects/local/deployments/tool"
    (batch,) = http.batch(tool, ["quick"], timeout=1)
    assert http.wait_status(tool, batch)["status"] == "completed"
    late = http.post(f"{tool}/requests", text="sleep:30", query={"timeout": 1}).json()
    assert (late["status"], late["timeout"]) == ("failed", 1), late
    assert late["error_message"] == "Request exceeded its timeout of 1 seconds"
    assert "from 1 to 3600" in error_of(http.post(f"{tool}/requests", text="x", query={"timeout": 0}), 400)
    assert "from 1 to 172800" in error_of(http.post(f"{tool}/requests/batch", text="x", query={"timeout": 0}), 400)


@pytest.mark.parametrize("bad", [0, 11, 1.5, True, "1"])
def test_min_timeout_is_a_whole_number_of_seconds_from_1_to_10(bad):
    with pytest.raises(ValueError, match="min_timeout must be an integer from 1 to 10 seconds"):
        LocalServer(min_timeout=bad)


# -- batch requests -------------------------------------------------------------------------------------------------


def test_batch_create_answers_pending_records_in_input_order(http):
    items = [f"item {i}" for i in range(20)]
    reply = http.post(f"{ECHO}/requests/batch", json_body=items)
    assert reply.status == 201
    records = reply.json()
    assert [set(r) for r in records] == [{"id", "deployment", "version", "status", "time_created"}] * 20
    assert all(r["status"] == "pending" and r["deployment"] == "echo" and r["version"] == "v1" for r in records)
    done = http.wait_all(ECHO, [r["id"] for r in records])
    assert [done[r["id"]]["result"] for r in records] == items
    assert all(done[r["id"]]["timeout"] == 14400 for r in records)


def test_batch_of_one_item(http):
    for reply in (
        http.post(f"{ECHO}/requests/batch", text="plain text"),
        http.post(f"{ECHO}/requests/batch", json_body="json string"),
        http.post(f"{CALC}/requests/batch", json_body={"x": 1, "y": 2, "op": "add"}),
    ):
        assert reply.status == 201 and len(reply.json()) == 1, reply


def test_batch_timeout_and_version(http):
    ids = http.batch(TOOL_V2, ["a"], timeout=172800, priority=0)
    record = http.wait_status(TOOL_V2, ids[0])
    assert (record["version"], record["timeout"], record["status"]) == ("v2", 172800, "completed")
    assert "from 10 to 172800" in error_of(
        http.post(f"{ECHO}/requests/batch", text="x", query={"timeout": 172801}), 400
    )


def test_batch_of_250_is_fine_and_251_is_refused(http):
    before = count(http, STRUCT)
    items = [{"x": i, "mode": "ok"} for i in range(251)]
    assert "at most 250 requests per batch, got 251" in error_of(
        http.post(f"{STRUCT}/requests/batch", json_body=items), 400
    )
    assert count(http, STRUCT) == before
    ids = http.batch(STRUCT, items[:250])
    assert len(set(ids)) == 250
    assert count(http, STRUCT) == before + 250


def test_batch_with_one_bad_item_creates_nothing(http):
    before = count(http, STRUCT)
    items: List[Dict[str, Any]] = [{"x": 1, "mode": "ok"}, {"x": 2, "mode": "ok"}, {"x": "3", "mode": "ok"}]
    message = error_of(http.post(f"{STRUCT}/requests/batch", json_body=items), 400)
    assert message == "data[2]: field 'x': expected double, got string; no request was created"
    assert "data[1]" in error_of(http.post(f"{ECHO}/requests/batch", json_body=["a", 5]), 400)
    assert count(http, STRUCT) == before


def test_empty_batch_is_refused(http):
    assert "empty" in error_of(http.post(f"{ECHO}/requests/batch", json_body=[]), 400)


# -- structured input ------------------------------------------------------------------------------------------------

GOOD = {
    "int": 3,
    "double": 2.5,
    "string": "s",
    "bool": True,
    "dict": {"a": [1]},
    "file": "ubiops-file://bucket/f.txt",
    "array_int": [1, 2],
    "array_double": [1, 2.5],
    "array_string": ["a"],
    "array_file": ["ubiops-file://bucket/f.txt"],
}
BAD = [
    ("int", 2.5, "expected int, got double"),
    ("int", True, "expected int, got bool"),
    ("int", "3", "expected int, got string"),
    ("double", "2.5", "expected double, got string"),
    ("double", None, "expected double, got null (None)"),
    ("string", 5, "expected string, got int"),
    ("bool", 1, "expected bool, got int"),
    ("dict", [1], "expected dict, got array (a list)"),
    ("file", {"a": 1}, "expected file, got object (a dict)"),
    ("array_int", 1, "expected array_int (a list), got int"),
    ("array_int", [1, 2.5], "field 'array_int'[1]: expected int, got double"),
    ("array_double", [1, "x"], "field 'array_double'[1]: expected double, got string"),
    ("array_string", ["a", None], "field 'array_string'[1]: expected string, got null (None)"),
    ("array_file", [3], "field 'array_file'[0]: expected file, got int"),
]


def test_structured_input_of_every_data_type_is_accepted(http):
    assert http.post(f"{TYPED}/requests/batch", json_body=[GOOD, {**GOOD, "double": 7}]).status == 201


@pytest.mark.parametrize("field, value, rule", BAD)
def test_structured_input_of_the_wrong_type_is_refused(http, field, value, rule):
    message = error_of(http.post(f"{TYPED}/requests", json_body={**GOOD, field: value}), 400)
    assert rule in message and f"'{field}'" in message, message


def test_structured_input_missing_or_unknown_fields(http):
    missing = {k: v for k, v in GOOD.items() if k != "bool"}
    assert error_of(http.post(f"{TYPED}/requests", json_body=missing), 400) == (
        "data: field 'bool' is missing (data_type bool)"
    )
    assert "unknown field 'colour'" in error_of(http.post(f"{TYPED}/requests", json_body={**GOOD, "colour": 1}), 400)
    assert "expected a JSON object" in error_of(http.post(f"{TYPED}/requests", json_body=5), 400)
    assert "structured deployment" in error_of(http.post(f"{TYPED}/requests", text="x"), 400)
    assert "data[1]: " in error_of(http.post(f"{TYPED}/requests", json_body=[GOOD, {}]), 400)


def test_structured_input_nested_too_deeply_is_refused(http):
    deep: Any = 1
    for _ in range(99):  # with the item itself: 100 levels
        deep = {"a": deep}
    assert http.post(f"{TYPED}/requests/batch", json_body={**GOOD, "dict": deep}).status == 201
    message = error_of(http.post(f"{TYPED}/requests/batch", json_body=[GOOD, {**GOOD, "dict": {"b": deep}}]), 400)
    assert message == "data[1]: nested deeper than 100 levels of lists and objects; no request was created"


def test_plain_input_must_be_text(http):
    assert "expected a string (plain input), got object" in error_of(
        http.post(f"{ECHO}/requests", json_body={"a": 1}), 400
    )
    assert "empty" in error_of(http.post(f"{ECHO}/requests", json_body=[]), 400)


@pytest.mark.parametrize(
    "mode, message",
    [
        ("wrong_type", "invalid output: field 'y': expected double, got string"),
        ("missing", "invalid output: field 'y' is missing"),
        ("extra", "invalid output: unknown field 'extra'"),
        ("not_a_dict", "invalid output: expected a JSON object (a dict) with the fields y, got array (a list)"),
        ("nan", "JSON"),
    ],
)
def test_structured_output_is_checked_against_the_output_fields(http, mode, message):
    body = http.post(f"{STRUCT}/requests", json_body={"x": 1, "mode": mode}).json()
    assert body["status"] == "failed" and message in body["error_message"], body


# -- get, input, output ----------------------------------------------------------------------------------------------


def test_get_full_record_and_metadata_only(http):
    request_id = http.post(f"{CALC}/requests", json_body={"x": 1, "y": 2, "op": "add"}).json()["id"]
    record = http.record(CALC, request_id)
    assert set(record) == RECORD_FIELDS | {"origin"}
    assert record["origin"] == {"created_by": "local"}
    assert record["request_data"] == {"x": 1, "y": 2, "op": "add"} and record["result"] == {"result": 3.0}
    assert record["input_size"] == len('{"x":1,"y":2,"op":"add"}') and record["output_size"] == len('{"result":3.0}')
    assert record["time_created"] <= record["time_started"] <= record["time_completed"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", record["time_created"])
    for value in ("true", "True", "1"):
        meta = http.get(f"{CALC}/requests/{request_id}", query={"metadata_only": value}).json()
        assert set(meta) == RECORD_FIELDS - {"request_data", "result"} | {"origin"}
    assert http.get(f"{CALC}/requests/{request_id}", query={"metadata_only": "false"}).json() == record
    assert "metadata_only: must be true or false" in error_of(
        http.get(f"{CALC}/requests/{request_id}", query={"metadata_only": "maybe"}), 400
    )


def test_deployment_level_finds_every_version_and_version_level_only_its_own(http):
    v2_id = http.post(f"{TOOL_V2}/requests", text="x").json()["id"]
    assert http.record(TOOL, v2_id)["version"] == "v2"
    assert http.record(TOOL_V2, v2_id)["version"] == "v2"
    message = error_of(http.get(f"{TOOL_V1}/requests/{v2_id}"), 404)
    assert message == f"request '{v2_id}' not found in version 'v1' of deployment 'tool'"
    assert error_of(http.get(f"{ECHO}/requests/{v2_id}"), 404) == f"request '{v2_id}' not found in deployment 'echo'"
    assert http.get(f"{TOOL}/requests/{v2_id}/input").data == b"x"
    assert http.get(f"{TOOL_V1}/requests/{v2_id}/input").status == 404


def test_input_and_output_getters(http):
    plain_id = http.post(f"{ECHO}/requests", text="plain ✓").json()["id"]
    for which in ("input", "output"):
        reply = http.get(f"{ECHO}/requests/{plain_id}/{which}")
        assert reply.status == 200 and reply.data == "plain ✓".encode()
        assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert reply.headers["Content-Disposition"] == f'attachment; filename="{plain_id}-{which}.txt"'
        assert http.get(f"{ECHO}/versions/v1/requests/{plain_id}/{which}").data == reply.data
    structured_id = http.post(f"{CALC}/requests", json_body={"x": 1, "y": 1, "op": "sub"}).json()["id"]
    reply = http.get(f"{CALC}/requests/{structured_id}/output")
    assert reply.json() == {"result": 0.0} and reply.headers["Content-Type"] == "application/json"
    assert reply.headers["Content-Disposition"] == f'attachment; filename="{structured_id}-output.json"'
    failed_id = http.post(f"{CALC}/requests", json_body={"x": 1, "y": 1, "op": "pow"}).json()["id"]
    assert http.get(f"{CALC}/requests/{failed_id}/input").json() == {"x": 1, "y": 1, "op": "pow"}
    assert error_of(http.get(f"{CALC}/requests/{failed_id}/output"), 404) == (
        f"request {failed_id} has no output (status failed)"
    )


# -- collect ---------------------------------------------------------------------------------------------------------


def test_collect_gives_full_records(http):
    ids = http.batch(ECHO, ["a", "b", "c"])
    records = http.wait_all(ECHO, ids)
    assert all(set(r) == RECORD_FIELDS for r in records.values())
    got = http.record(ECHO, ids[1])
    assert got.pop("origin") == {"created_by": "local"} and got == records[ids[1]]
    twice = http.post(f"{ECHO}/requests/collect", json_body=[ids[0], ids[0]]).json()
    assert [r["id"] for r in twice] == [ids[0]]
    assert http.post(f"{ECHO}/versions/v1/requests/collect", json_body=ids).status == 200


def test_collect_with_an_unknown_id_returns_nothing(http):
    ids = http.batch(ECHO, ["a"])
    unknown = str(uuid.uuid4())
    message = error_of(http.post(f"{ECHO}/requests/collect", json_body=[ids[0], unknown]), 404)
    assert unknown in message
    v2_id = http.batch(TOOL_V2, ["b"])[0]
    assert error_of(http.post(f"{TOOL_V1}/requests/collect", json_body=[v2_id]), 404).startswith(f"request '{v2_id}'")
    assert http.post(f"{TOOL}/requests/collect", json_body=[v2_id]).status == 200


@pytest.mark.parametrize("endpoint", ["collect", "delete", "cancel"])
def test_id_lists_are_checked(http, endpoint):
    path = f"{ECHO}/requests/{endpoint}"
    assert "at most 250 request ids" in error_of(http.post(path, json_body=["x"] * 251), 400)
    assert error_of(http.post(path, json_body={"ids": []}), 400) == (
        "data: expected a JSON array (a list) of request ids (strings), got object (a dict)"
    )
    assert error_of(http.post(path, json_body=["a", 1, 2]), 400) == (
        "data: expected a JSON array (a list) of request ids (strings), got int at data[1]"
    )
    assert "Content-Type: must be application/json" in error_of(http.post(path, text="abc"), 400)


def test_collect_and_delete_need_a_body(http):
    for endpoint in ("collect", "delete"):
        assert "expected a JSON array (a list)" in error_of(http.post(f"{ECHO}/requests/{endpoint}"), 400)


# -- cancel ----------------------------------------------------------------------------------------------------------


def test_update_accepts_only_status_cancelled(http):
    request_id = http.batch(ECHO, ["a"])[0]
    path = f"{ECHO}/requests/{request_id}"
    for body in ({"status": "completed"}, {"status": "cancelled", "x": 1}, ["cancelled"]):
        assert error_of(http.request("PATCH", path, json_body=body), 400) == (
            'data: the only allowed update is {"status": "cancelled"}'
        )
    assert error_of(http.request("PATCH", f"{ECHO}/requests/nope", json_body={"status": "cancelled"}), 404)


def test_cancelling_a_final_request_changes_nothing(http):
    request_id = http.post(f"{ECHO}/requests", text="done").json()["id"]
    reply = http.request("PATCH", f"{ECHO}/requests/{request_id}", json_body={"status": "cancelled"})
    assert reply.status == 200
    assert set(reply.json()) == RECORD_FIELDS - {"request_data", "result"} | {"origin"}
    assert reply.json()["status"] == "completed"
    assert http.post(f"{ECHO}/requests/cancel", json_body=[request_id]).json() == {"cancelled": 0}


def test_bulk_cancel_rules(http):
    unknown = str(uuid.uuid4())
    assert unknown in error_of(http.post(f"{ECHO}/requests/cancel", json_body=[unknown]), 404)
    assert "either a list of ids or the status" in error_of(
        http.post(f"{ECHO}/requests/cancel", json_body=["x"], query={"status": "pending"}), 400
    )
    assert "must be pending or processing" in error_of(
        http.post(f"{ECHO}/requests/cancel", json_body=[], query={"status": "completed"}), 400
    )
    assert http.post(f"{ECHO}/requests/cancel", json_body=[]).json() == {"cancelled": 0}


# -- delete ----------------------------------------------------------------------------------------------------------


def test_delete_one_and_many(http):
    ids = http.batch(ECHO, ["a", "b", "c"])
    http.wait_all(ECHO, ids)
    reply = http.request("DELETE", f"{ECHO}/requests/{ids[0]}")
    assert (reply.status, reply.data) == (204, b"")
    assert http.get(f"{ECHO}/requests/{ids[0]}").status == 404
    assert http.request("DELETE", f"{ECHO}/requests/{ids[0]}").status == 404
    unknown = str(uuid.uuid4())
    assert unknown in error_of(http.post(f"{ECHO}/versions/v1/requests/delete", json_body=[ids[1], unknown]), 404)
    assert http.get(f"{ECHO}/requests/{ids[1]}").status == 200
    assert http.post(f"{ECHO}/versions/v1/requests/delete", json_body=ids[1:]).json() == {"deleted": 2}
    assert http.post(f"{ECHO}/requests/collect", json_body=ids[1:2]).status == 404


def test_version_level_delete_only_sees_its_version(http):
    v2_id = http.batch(TOOL_V2, ["a"])[0]
    assert http.request("DELETE", f"{TOOL_V1}/requests/{v2_id}").status == 404
    http.wait_status(TOOL, v2_id)
    assert http.request("DELETE", f"{TOOL_V2}/requests/{v2_id}").status == 204


# -- streaming -------------------------------------------------------------------------------------------------------


def test_stream_sends_updates_then_the_direct_response(http):
    response = http.pool.request(
        "POST",
        f"{http.url}{TOOL}/requests/stream",
        body=b"stream:first|two\nlines|last",
        headers={"Authorization": f"Token {http.token}", "Content-Type": "text/plain", "Accept": "text/event-stream"},
        preload_content=False,
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Transfer-Encoding"] == "chunked"
    text = response.read().decode()
    response.release_conn()
    *events, final = text.rstrip("\n").split("\n\n")
    assert events == ["data:first", "data:two\ndata:lines", "data:last"]
    body = json.loads(final)
    assert (body["status"], body["result"], body["version"]) == ("completed", "stream:first|two\nlines|last", "v1")
    assert http.record(TOOL, body["id"])["status"] == "completed"


def test_stream_errors_before_the_run_are_plain_json(http):
    assert "field 'x'" in error_of(http.post(f"{CALC}/requests/stream", json_body={"x": "1", "y": 1, "op": "add"}), 400)
    assert http.post(f"{TOOL_V2}/requests/stream", text="hi").status == 200


# -- unknown names, methods and bodies ---------------------------------------------------------------------------------


def test_unknown_project_deployment_version_and_request(http):
    assert "project 'other'" in error_of(http.post("/projects/other/deployments/echo/requests", text="x"), 404)
    assert "deployment 'nope'" in error_of(http.post(f"{D}/nope/requests/batch", text="x"), 404)
    assert "version 'v9'" in error_of(http.get(f"{ECHO}/versions/v9/requests"), 404)
    assert "version 'v9'" in error_of(http.get(f"{ECHO}/versions/v9/requests/x"), 404)
    assert "request 'x'" in error_of(http.get(f"{ECHO}/requests/x"), 404)


def test_names_are_percent_decoded_and_never_change_the_path(http):
    assert http.post("/projects/local/deployments/%65cho/requests", text="x").status == 200
    message = error_of(http.get("/projects/local/deployments/echo%2Fversions%2Fv1/requests"), 404)
    assert message.startswith("deployment 'echo/versions/v1' not found in project 'local' (this server serves: ")
    message = error_of(http.get(f"{ECHO}/requests/a%2F..%2Fb"), 404)
    assert message == "request 'a/../b' not found in deployment 'echo'"
    assert "project 'local/deployments/echo'" in error_of(
        http.get("/projects/local%2Fdeployments%2Fecho/deployments/echo/requests"), 404
    )


def test_wrong_method_gets_405_with_allow(http):
    reply = http.request("PUT", f"{ECHO}/requests/some-id")
    assert "method PUT is not allowed here" in error_of(reply, 405)
    assert set(reply.headers["Allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
    assert error_of(http.get(f"{ECHO}/requests/batch"), 404)  # GET of an id named "batch"
    assert http.request("DELETE", f"{ECHO}/requests").status == 405


@pytest.mark.parametrize(
    "body, content_type, rule",
    [
        (b'{"x": ', "application/json", "body: malformed JSON"),
        (b"[NaN]", "application/json", "body: malformed JSON: NaN is not valid JSON"),
        (b"[1e999999]", "application/json", "body: malformed JSON"),
        (b"[" * 100000 + b"]" * 100000, "application/json", "body: malformed JSON"),
        (b"\xff\xfe", "application/json", "body: malformed JSON"),
        (b"\xff\xfe", "text/plain", "body: not valid text"),
        (b"x=1", "application/x-www-form-urlencoded", "Content-Type: must be application/json or text/plain"),
        (b"", "application/json", "data: the request body is empty"),
    ],
)
def test_bad_bodies_get_400(http, body, content_type, rule):
    reply = http.post(f"{ECHO}/requests/batch", body=body, headers={"Content-Type": content_type})
    assert rule in error_of(reply, 400)


@pytest.mark.parametrize(
    "path, body, where",
    [
        (f"{ECHO}/requests", b'"\\ud800"', "data"),
        (f"{ECHO}/requests/batch", b'["ok", "\\udfff x"]', "data[1]"),
        (f"{CALC}/requests", b'{"x": 1, "y": 2, "op": "\\ud800"}', "data['op']"),
        (f"{ECHO}/requests/collect", b'["\\ud800"]', "data[0]"),
    ],
)
def test_a_lone_surrogate_in_a_json_string_is_refused(http, path, body, where):
    reply = http.post(path, body=body, headers={"Content-Type": "application/json"})
    assert error_of(reply, 400).startswith(f"{where}: a string holds a lone surrogate escape")
    paired = http.post(f"{ECHO}/requests", body=b'"\\ud83d\\ude00"', headers={"Content-Type": "application/json"})
    assert paired.json()["result"] == "\U0001f600"


def test_oversized_body_gets_413_and_the_server_goes_on(http):
    big = b'"' + b"x" * (10 * 1024 * 1024) + b'"'
    reply = http.post(f"{ECHO}/requests/batch", body=big, headers={"Content-Type": "application/json"})
    assert "over the limit of 10485760 bytes" in error_of(reply, 413)
    assert http.post(f"{ECHO}/requests", text="still here").json()["result"] == "still here"


def test_chunked_request_body_is_read_and_limited(http):
    def chunks(size: int):
        yield b'"'
        for _ in range(size // 65536):
            yield b"x" * 65536
        yield b'"'

    headers = {"Authorization": f"Token {http.token}", "Content-Type": "application/json"}
    url = f"{http.url}{ECHO}/requests"
    reply = http.pool.request("POST", url, body=chunks(65536 * 2), headers=headers, chunked=True)
    assert reply.status == 200 and len(json.loads(reply.data)["result"]) == 65536 * 2
    reply = http.pool.request("POST", url, body=chunks(11 * 1024 * 1024), headers=headers, chunked=True)
    assert reply.status == 413


def test_many_concurrent_direct_requests(http):
    """Direct requests each hold a connection thread while they wait; the server keeps answering."""
    pool = urllib3.PoolManager(maxsize=40)
    headers = {"Authorization": f"Token {http.token}", "Content-Type": "text/plain"}

    def one(i: int) -> str:
        reply = pool.request("POST", f"{http.url}{TOOL}/requests", body=f"sleep:0.05;n{i}".encode(), headers=headers)
        return str(json.loads(reply.data)["result"])

    with concurrent.futures.ThreadPoolExecutor(40) as executor:
        results = list(executor.map(one, range(40)))
    assert results == [f"sleep:0.05;n{i}" for i in range(40)]
    assert http.get("/status", auth=False).status == 200
