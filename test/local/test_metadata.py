"""Read-only metadata routes, the project logs endpoint (GET with a LogQL subset, the deprecated POST), the log file
format and the 501 answers for platform paths that are not emulated: raw HTTP against a real server."""

import json
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from local_helpers import Http, http_for, structured_deployment, tool_deployment, wait_until

from ubiops.local import LocalServer, default_config
from ubiops.local.logfile import parse_record, read_records

P = "/projects/local"
D = f"{P}/deployments"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    config = default_config()
    config["deployments"] += [
        tool_deployment(versions=[{"name": "v1"}, {"name": "v2"}], default_version="v2", instances=2),
        structured_deployment(),
    ]
    with LocalServer(config=config, data_dir=tmp_path_factory.mktemp("data")) as started:
        yield started


@pytest.fixture(scope="module")
def http(server: LocalServer) -> Http:
    return http_for(server)


def ok(reply: Any) -> Any:
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"] == "application/json"
    return reply.json()


def error(reply: Any, status: int) -> str:
    assert reply.status == status, reply
    body = reply.json()
    assert set(body) == {"error"}, body
    return str(body["error"])


def test_user_and_projects(http: Http) -> None:
    user = ok(http.get("/user"))
    assert user["email"] == "local@ubiops.local" and user["id"] and user["name"] and user["surname"]
    projects = ok(http.get("/projects"))
    assert [(p["name"], p["organization_name"]) for p in projects] == [("local", "local")]
    project = ok(http.get(P))
    assert project["id"] == projects[0]["id"] and project["creation_date"].endswith("+00:00")
    assert project["labels"] == {} and project["suspended"] is False
    assert ok(http.get("/projects", query={"labels": ""})) == projects
    assert ok(http.get("/projects", query={"labels": "team:vision"})) == []  # the project has no labels
    assert "labels:" in error(http.get("/projects", query={"labels": "novalue"}), 400)
    assert "project 'other' not found" in error(http.get("/projects/other"), 404)
    assert http.get("/user", auth=False).status == 401


def test_deployments(http: Http) -> None:
    listed = ok(http.get(D))
    assert [d["name"] for d in listed] == ["echo", "calculator", "tool", "structured"]
    assert ok(http.get(D, query={"labels": ""})) == listed
    assert ok(http.get(D, query={"labels": "team:x"})) == []  # served deployments have no labels
    tool = ok(http.get(f"{D}/tool"))
    assert tool == next(d for d in listed if d["name"] == "tool")
    for key in ("id", "name", "project", "creation_date", "last_updated", "input_type", "output_type", "labels"):
        assert tool[key] is not None, key
    # tool declares no types: shown as structured without fields, so that the official CLI json-parses --data
    assert (tool["default_version"], tool["input_type"], tool["input_fields"]) == ("v2", "structured", [])
    calculator = ok(http.get(f"{D}/calculator"))
    assert calculator["input_fields"][0] == {"name": "x", "data_type": "double", "widget": None}
    assert calculator["output_fields"] == [{"name": "result", "data_type": "double", "widget": None}]
    assert ok(http.get(f"{D}/calculator"))["id"] == calculator["id"]  # stable
    assert "deployment 'nope' not found" in error(http.get(f"{D}/nope"), 404)
    assert "deployment 'a/b' not found" in error(http.get(f"{D}/a%2Fb"), 404)
    assert "labels:" in error(http.get(D, query={"labels": "novalue"}), 400)


def test_versions(http: Http) -> None:
    versions = ok(http.get(f"{D}/tool/versions"))
    assert [(v["version"], v["default"], v["status"]) for v in versions] == [
        ("v1", False, "available"),
        ("v2", True, "available"),
    ]
    v1 = ok(http.get(f"{D}/tool/versions/v1"))
    assert v1 == versions[0]
    assert (v1["deployment"], v1["minimum_instances"], v1["maximum_instances"]) == ("tool", 2, 2)
    assert v1["environment_name"].startswith("python3-") and v1["instance_type"] == "local"
    assert v1["has_request_method"] is True
    for key in ("id", "creation_date", "last_updated", "environment_name", "instance_type_group_name", "labels"):
        assert v1[key] is not None, key
    assert "version 'v9' of deployment 'tool' not found" in error(http.get(f"{D}/tool/versions/v9"), 404)
    assert "deployment 'nope'" in error(http.get(f"{D}/nope/versions"), 404)


@pytest.mark.parametrize(
    "method, path, feature",
    [
        ("POST", "/projects", "creating projects"),
        ("DELETE", P, "deleting projects"),
        ("POST", D, "creating deployments"),
        ("PATCH", f"{D}/echo", "updating deployments"),
        ("DELETE", f"{D}/echo", "deleting deployments"),
        ("POST", f"{D}/echo/versions", "creating deployment versions"),
        ("DELETE", f"{D}/echo/versions/v1", "deleting deployment versions"),
        ("POST", f"{D}/echo/versions/v1/revisions", "uploading deployment packages"),
        ("GET", f"{D}/echo/versions/v1/builds", "building deployment packages"),
        ("GET", f"{D}/echo/audit", "audit events"),
        ("GET", f"{P}/pipelines", "pipelines"),
        ("POST", f"{P}/pipelines/p/requests", "pipelines"),
        ("GET", f"{P}/buckets", "buckets and files"),
        ("GET", f"{P}/buckets/default/files", "buckets and files"),
        ("GET", f"{P}/environments", "environments"),
        ("GET", f"{P}/environment-variables", "environment variables"),
        ("GET", f"{P}/instance-type-groups", "instance type groups"),
        ("GET", f"{P}/something-new", "the something-new API"),
        ("GET", "/organizations", "organizations"),
        ("PATCH", "/user", "changing the user"),
    ],
)
def test_platform_paths_that_are_not_emulated_answer_501(http: Http, method: str, path: str, feature: str) -> None:
    message = error(http.request(method, path), 501)
    assert feature in message and "is not emulated by ubiops-local" in message and path in message


def test_unknown_names_under_platform_paths_are_404(http: Http) -> None:
    assert "project 'other'" in error(http.get("/projects/other/pipelines"), 404)
    assert "deployment 'nope'" in error(http.post(f"{D}/nope/versions"), 404)
    assert "version 'v9'" in error(http.get(f"{D}/echo/versions/v9/builds"), 404)
    assert "no such endpoint" in error(http.get(f"{D}/echo/requests/x/y"), 404)  # no such request endpoint
    assert "no such endpoint" in error(http.get("/nothing/here"), 404)
    assert http.request("PUT", f"{D}/echo/requests/x").status == 405  # request routes keep 405
    assert http.request("PUT", f"{P}/logs").status == 405


def test_stream_errors_carry_error_message(http: Http) -> None:
    reply = http.post(f"{D}/nope/requests/stream", text="x", headers={"Accept": "text/event-stream"})
    assert reply.status == 404
    body = reply.json()
    assert body["error"] == body["error_message"] and "deployment 'nope'" in body["error"]


# -- logs ------------------------------------------------------------------------------------------------------


def run(http: Http, path: str, text: str) -> str:
    body = ok(http.post(f"{path}/requests", text=text))
    assert body["status"] == "completed", body
    return str(body["id"])


def logs(http: Http, **query: Any) -> List[Dict[str, Any]]:
    query.setdefault("start", "0")
    query.setdefault("end", str(time.time_ns() + 10**9))
    return list(ok(http.get(f"{P}/logs", query=query)))


@pytest.fixture(scope="module")
def printed(http: Http) -> Dict[str, str]:
    """Three tool requests that print (v2 twice, v1 once), their ids by text, once their lines are in the log."""
    ids = {
        "alpha": run(http, f"{D}/tool", "print:alpha"),
        "beta": run(http, f"{D}/tool/versions/v1", "print:beta"),
        "gamma": run(http, f"{D}/tool", "print:gamma"),
    }
    # each instance's pipes are copied by threads of their own: wait for every line, not just the last request's
    wait_until(lambda: len(logs(http, query='|~ "(alpha|beta|gamma)$"')) == 6, message="the six log lines")
    return ids


def test_logs_list_gives_each_line_with_its_request(http: Http, printed: Dict[str, str]) -> None:
    lines = logs(http, query=f'| deployment_request_id="{printed["alpha"]}"')
    assert sorted((line["log"], line["metadata"]["level"]) for line in lines) == [
        ("stderr: alpha", "error"),
        ("stdout: alpha", "info"),
    ]
    for line in lines:
        meta = line["metadata"]
        assert (meta["deployment_name"], meta["deployment_version"], meta["system"]) == ("tool", "v2", False)
        assert isinstance(meta["process_id"], int) and isinstance(line["timestamp"], int)
        assert line["timestamp_str"].endswith("Z")
    stamps = [line["timestamp"] for line in logs(http)]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # forward: oldest first, unique


def test_logs_query_filters(http: Http, printed: Dict[str, str]) -> None:
    texts = lambda **q: sorted(line["log"] for line in logs(http, **q))  # noqa: E731
    assert texts(query='| deployment_version="v1"') == ["stderr: beta", "stdout: beta"]
    assert texts(query='| deployment_name="tool" and level="error" |~ "(ph|mm)a$"') == [
        "stderr: alpha",
        "stderr: gamma",
    ]
    assert texts(query='| level=`info` | deployment_version=~"v[12]" != "beta"') == ["stdout: alpha", "stdout: gamma"]
    either = f'| deployment_request_id="{printed["alpha"]}" or deployment_request_id="{printed["beta"]}" |= "stdout"'
    assert texts(query=either) == ["stdout: alpha", "stdout: beta"]
    assert texts(query='{deployment_name="echo"}') == []
    assert texts(query='| deployment_request_id!~".+" |= "alpha"') == []
    assert len(logs(http, limit=1)) == 1
    assert "query:" in error(http.get(f"{P}/logs", query={"query": '| deployment_name > "x"'}), 400)
    assert "query:" in error(http.get(f"{P}/logs", query={"query": "deployment_name"}), 400)
    assert "start:" in error(http.get(f"{P}/logs", query={"start": "yesterday"}), 400)
    assert "limit:" in error(http.get(f"{P}/logs", query={"limit": "5001"}), 400)
    assert "project 'x'" in error(http.get("/projects/x/logs"), 404)


def test_logs_dates_and_direction(http: Http, printed: Dict[str, str]) -> None:
    forward = logs(http, query='|= "gamma"')
    first, second = forward
    now = str(time.time_ns() + 10**9)
    backward = logs(http, query='|= "gamma"', start=now, end="0")
    assert backward == [second, first]  # newest first
    assert logs(http, query='|= "gamma"', start=str(second["timestamp"])) == [second]  # start is inclusive
    assert logs(http, query='|= "gamma"', end=str(second["timestamp"])) == [first]  # end is exclusive
    assert logs(http, query='|= "gamma"', start="2000-01-01T00:00:00Z", end=now) == forward
    assert len(ok(http.get(f"{P}/logs", query={"query": '|= "gamma"'}))) == 2  # default: the last 24 hours


def test_deprecated_post_logs(http: Http, printed: Dict[str, str]) -> None:
    body = {"filters": {"deployment_name": "tool", "deployment_request_id": printed["beta"]}, "date_range": -3600}
    lines = ok(http.post(f"{P}/logs", json_body=body))
    assert sorted(line["log"] for line in lines) == ["stderr: beta", "stdout: beta"]
    assert all(line["deployment_version"] == "v1" and line["id"] and line["date"] for line in lines)
    older = ok(http.post(f"{P}/logs", json_body={"id": lines[0]["id"], "date_range": 3600, "limit": 1}))
    assert older == [lines[0]]
    assert "filters:" in error(http.post(f"{P}/logs", json_body={"filters": {"colour": "red"}}), 400)
    assert "date_range:" in error(http.post(f"{P}/logs", json_body={"date_range": 100000}), 400)


def test_the_log_file_has_a_prefix_per_line(server: LocalServer, printed: Dict[str, str]) -> None:
    text = (server.data_dir / "logs" / "tool.log").read_text()
    line = next(line for line in text.splitlines() if line.endswith("stdout: beta"))
    stamp, level, deployment, version, process_id, request_id, rest = line.split(" ", 6)
    assert (level, deployment, version, request_id, rest) == ("info", "tool", "v1", printed["beta"], "stdout: beta")
    assert stamp.endswith("Z") and len(stamp) == 30 and process_id in ("0", "1")
    assert "ubiops-local-" not in text  # the markers never reach the file
    record = parse_record(line)
    assert record is not None and record.request_id == printed["beta"]


def test_log_rotation_keeps_records_whole(start_server: Any, tmp_path: Path) -> None:
    server = start_server({"deployments": [tool_deployment()]}, max_log_size=4096)
    http = http_for(server)
    for i in range(60):
        run(http, f"{D}/tool", f"print:line {i} " + "x" * 40)
    # the pumps write after the answers: a listing may fall between a rotation's rename and the new file's creation,
    # and the last line of stdout or of stderr may still be on its way
    logs = server.data_dir / "logs"

    def both_last_lines() -> Any:
        files = sorted(logs.iterdir()) if (logs / "tool.log").exists() else []
        texts = [r.text for r in read_records(files[::-1])] if len(files) == 2 else []
        return files if json.dumps(texts).count("line 59") == 2 else None

    files = wait_until(both_last_lines, message="tool.log and tool.log.1 with the last line of stdout and stderr")
    assert [f.name for f in files] == ["tool.log", "tool.log.1"]
    assert all(f.stat().st_size <= 4096 for f in files)
    records = list(read_records([files[1], files[0]]))
    assert records and all(r.deployment == "tool" and r.request_id for r in records)
    assert json.dumps([r.text for r in records]).count("line 59") == 2
