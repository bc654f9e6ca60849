"""Statuses and their transitions, priority, cancel, timeouts, crashes and restarts of a LocalServer."""

import threading
from pathlib import Path
from typing import Any, Dict, List

import pytest
from local_helpers import PACKAGES, Http, http_for, tool_deployment, wait_until

from ubiops.local import LocalServer
from ubiops.local._worker import TRACEBACK_HINT
from ubiops.local.runtime import DeploymentStartError

TOOL = "/projects/local/deployments/tool"


def tool_config(record_file: Path, instances: int = 1, **extra: Any) -> Dict[str, Any]:
    env = {"RECORD_FILE": str(record_file)}
    return {"deployments": [tool_deployment(instances=instances, environment_variables=env, **extra)]}


def runs(record_file: Path) -> List[str]:
    """The labels recorded by `record:LABEL` commands, in the order they ran."""
    if not record_file.exists():
        return []
    return [line.split()[0] for line in record_file.read_text().splitlines()]


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    return tmp_path / "runs.txt"


@pytest.fixture
def tool(start_server, record_file) -> Http:
    """A `tool` deployment with one instance: one request runs at a time."""
    return http_for(start_server(tool_config(record_file)))


def test_pending_processing_completed(tool, record_file):
    first, second = tool.batch(TOOL, ["record:first;sleep:1", "record:second"])
    wait_until(lambda: runs(record_file) == ["first"], message="first running")
    # status writes are group-committed a few ms after the run starts (docs/LocalServer.md)
    wait_until(lambda: tool.record(TOOL, first)["status"] == "processing", message="first listed as processing")
    waiting = tool.record(TOOL, second)
    assert waiting["status"] == "pending" and waiting["time_started"] is None
    done = tool.wait_all(TOOL, [first, second])
    assert [done[i]["status"] for i in (first, second)] == ["completed", "completed"]
    assert done[second]["time_started"] >= done[first]["time_completed"]
    assert runs(record_file) == ["first", "second"]


def test_high_priority_first_then_creation_order_direct_requests_included(tool, record_file):
    blocker = tool.batch(TOOL, ["record:blocker;sleep:1"])[0]
    wait_until(lambda: runs(record_file), message="blocker running")
    standard = tool.batch(TOOL, ["record:s1", "record:s2"])
    high = tool.batch(TOOL, ["record:h1", "record:h2"], priority=0)
    direct: List[Any] = []
    thread = threading.Thread(target=lambda: direct.append(tool.post(f"{TOOL}/requests", text="record:direct")))
    thread.start()
    wait_until(lambda: len(tool.get(f"{TOOL}/requests", query={"status": "pending"}).json()) == 5, message="queued")
    high_direct = tool.post(f"{TOOL}/requests", text="record:direct-high", query={"priority": 0})
    thread.join(30)
    assert high_direct.json()["status"] == direct[0].json()["status"] == "completed"
    tool.wait_all(TOOL, [blocker, *standard, *high])
    assert runs(record_file) == ["blocker", "h1", "h2", "direct-high", "s1", "s2", "direct"]


def test_cancel_pending_request(tool, record_file):
    blocker, waiting = tool.batch(TOOL, ["sleep:0.5", "record:never"])
    reply = tool.request("PATCH", f"{TOOL}/requests/{waiting}", json_body={"status": "cancelled"})
    assert reply.status == 200 and reply.json()["status"] == "cancelled"
    record = tool.record(TOOL, waiting)
    assert record["status"] == "cancelled" and record["time_completed"] and record["time_started"] is None
    assert tool.wait_status(TOOL, blocker)["status"] == "completed"
    assert tool.post(f"{TOOL}/requests", text="after").json()["status"] == "completed"
    assert "never" not in runs(record_file)


def test_cancel_processing_request_goes_through_cancelled_pending(tool, record_file):
    request_id = tool.batch(TOOL, ["nosigterm;record:slow;sleep:60"])[0]
    wait_until(lambda: runs(record_file), message="request running")
    tool.wait_status(TOOL, request_id, ("processing",))  # the claim is stored just after the run began
    reply = tool.request("PATCH", f"{TOOL}/requests/{request_id}", json_body={"status": "cancelled"})
    assert reply.json()["status"] == "cancelled_pending"  # the worker ignores SIGTERM: it takes a grace period
    assert tool.record(TOOL, request_id)["status"] == "cancelled_pending"
    assert tool.request("PATCH", f"{TOOL}/requests/{request_id}", json_body={"status": "cancelled"}).status == 200
    record = tool.wait_status(TOOL, request_id, ("cancelled",))
    assert record["result"] is None and record["error_message"] is None
    assert tool.post(f"{TOOL}/requests", text="next").json()["status"] == "completed"


def test_bulk_cancel_by_status_and_by_ids(tool, record_file):
    running, *pending = tool.batch(TOOL, ["record:running;sleep:60", "a", "b", "c"])
    wait_until(lambda: runs(record_file), message="request running")
    # stored as processing by the status writer, which may come just after the run began
    tool.wait_status(TOOL, running, ("processing",))
    assert tool.post(f"{TOOL}/requests/cancel", json_body=pending[:1]).json() == {"cancelled": 1}
    assert tool.post(f"{TOOL}/requests/cancel", query={"status": "pending"}).json() == {"cancelled": 2}
    reply = tool.post(f"{TOOL}/versions/v1/requests/cancel", json_body=[], query={"status": "processing"})
    assert reply.json() == {"cancelled": 1}
    records = tool.wait_all(TOOL, [running, *pending])
    assert {r["status"] for r in records.values()} == {"cancelled"}


def test_delete_of_a_processing_request_stops_it(tool, record_file):
    request_id = tool.batch(TOOL, ["record:doomed;sleep:60"])[0]
    wait_until(lambda: runs(record_file), message="request running")
    assert tool.request("DELETE", f"{TOOL}/requests/{request_id}").status == 204
    assert tool.get(f"{TOOL}/requests/{request_id}").status == 404
    assert tool.post(f"{TOOL}/requests", text="next", query={"timeout": 20}).json()["status"] == "completed"


def test_crashes_and_exceptions_fail_only_their_request(start_server, record_file):
    server = start_server(tool_config(record_file, instances=1))
    http = http_for(server)
    died = http.post(f"{TOOL}/requests", text="exit:3").json()
    assert died["status"] == "failed" and "exit code 3" in died["error_message"], died
    raised = http.post(f"{TOOL}/requests", text="raise:bad thing").json()
    assert (raised["status"], raised["error_message"]) == ("failed", f"ValueError: bad thing{TRACEBACK_HINT}")
    assert http.post(f"{TOOL}/requests", text="fine").json()["status"] == "completed"
    assert http.get("/status").status == 200


def test_a_package_that_cannot_load_stops_the_start_naming_file_and_line(start_server):
    config = {"deployments": [{"name": "broken", "path": str(PACKAGES / "srv_broken")}]}
    with pytest.raises(DeploymentStartError) as raised:
        start_server(config)
    [(deployment, version, path, error)] = raised.value.problems
    assert (deployment, version, path) == ("broken", "v1", PACKAGES / "srv_broken")
    assert "srv_broken cannot be loaded, on purpose (deployment.py, line 3)" in error


def test_with_keep_going_a_package_that_cannot_load_fails_its_requests(start_server):
    config = {"deployments": [{"name": "broken", "path": str(PACKAGES / "srv_broken")}]}
    http = http_for(start_server(config, keep_going=True))
    body = http.post("/projects/local/deployments/broken/requests", text="x").json()
    assert body["status"] == "failed" and "srv_broken cannot be loaded, on purpose" in body["error_message"]


def test_deployment_output_goes_to_its_log_file(start_server, record_file):
    server = start_server(tool_config(record_file))
    assert http_for(server).post(f"{TOOL}/requests", text="print:hello log").json()["status"] == "completed"
    log = server.data_dir / "logs" / "tool.log"
    # the log pumps copy each pipe in a thread of their own: a line may land just after the answer
    wait_until(lambda: {"stdout: hello log", "stderr: hello log"} <= set(_texts(log)), timeout=10)


def test_a_failed_requests_traceback_in_its_log_starts_in_the_package(start_server, record_file):
    server = start_server(tool_config(record_file))
    failed = http_for(server).post(f"{TOOL}/requests", text="raise:bad thing").json()
    assert failed["status"] == "failed"
    log = server.data_dir / "logs" / "tool.log"
    wait_until(lambda: any(failed["id"] in line and "ValueError: bad thing" in line for line in _lines(log)))
    mine = [line for line in _lines(log) if failed["id"] in line]
    text = "\n".join(mine)
    assert "Traceback (most recent call last):" in text and "srv_tool/deployment.py" in text
    assert "_worker.py" not in text  # the server's own frames only hide where the error is


@pytest.mark.slow
def test_timeouts_count_from_the_start_of_processing(start_server, record_file):
    """Direct and batch requests past their timeout fail; time spent pending does not count. (A server for tests
    with min_timeout=1: a timeout of 3 s, not the API's least 10 s; the two queued runs take 2 s each.)"""
    config = {
        "deployments": [
            tool_deployment("queue"),
            tool_deployment("late-direct"),
            tool_deployment("late-batch"),
        ]
    }
    http = http_for(start_server(config, min_timeout=1))
    queue = "/projects/local/deployments/queue"
    first, second = http.batch(queue, ["sleep:2", "sleep:2"], timeout=3)
    late_batch = http.batch("/projects/local/deployments/late-batch", ["sleep:30"], timeout=3)[0]
    direct = http.post("/projects/local/deployments/late-direct/requests", text="sleep:30", query={"timeout": 3})
    assert direct.json()["status"] == "failed"
    assert direct.json()["error_message"] == "Request exceeded its timeout of 3 seconds"
    late = http.wait_status("/projects/local/deployments/late-batch", late_batch)
    assert (late["status"], late["error_message"]) == ("failed", "Request exceeded its timeout of 3 seconds")
    records = http.wait_all(queue, [first, second])
    assert [records[i]["status"] for i in (first, second)] == ["completed", "completed"]
    assert records[second]["time_started"] >= records[first]["time_completed"]  # pending for 2 s, then 2 s: 4 s > 3 s


def test_clean_stop_ends_every_direct_caller_and_runs_each_batch_request_once(tmp_path, record_file):
    """A graceful stop: the run in progress finishes, the queued direct request's caller gets a final record (failed,
    not a 503), and after the restart the pending batch requests run; nothing runs twice."""
    data_dir = tmp_path / "data"
    with LocalServer(tool_config(record_file), data_dir=data_dir) as server:
        http = http_for(server)
        ids = http.batch(TOOL, [f"record:r{i};sleep:0.3" for i in range(6)])
        wait_until(lambda: len(runs(record_file)) >= 2, message="two requests ran")
        direct: List[Any] = []

        def wait_direct() -> None:
            direct.append(http.post(f"{TOOL}/requests", text="record:direct"))

        thread = threading.Thread(target=wait_direct)
        thread.start()
        wait_until(lambda: len(http.get(f"{TOOL}/requests", query={"status": "pending"}).json()) >= 2, message="q")
    thread.join(30)
    record = direct[0].json()
    assert direct[0].status == 200 and record["status"] == "failed"
    assert record["error_message"] == "The server stopped before the request started"
    with LocalServer(tool_config(record_file), data_dir=data_dir) as server:
        http = http_for(server)
        records = http.wait_all(TOOL, ids)
        assert {r["status"] for r in records.values()} == {"completed"}
        assert http.record(TOOL, record["id"])["status"] == "failed"
    assert sorted(runs(record_file)) == sorted(f"r{i}" for i in range(6))


def test_requests_of_a_version_no_longer_served_fail_at_restart(tmp_path, record_file):
    data_dir = tmp_path / "data"
    two = {"deployments": [tool_deployment("tool"), tool_deployment("gone")]}
    with LocalServer(two, data_dir=data_dir) as server:
        http = http_for(server)
        http.batch("/projects/local/deployments/gone", ["sleep:60"])
        waiting = http.batch("/projects/local/deployments/gone", ["never"])[0]
    with LocalServer({"deployments": [tool_deployment("tool")]}, data_dir=data_dir):
        pass
    with LocalServer(two, data_dir=data_dir) as server:
        record = http_for(server).record("/projects/local/deployments/gone", waiting)
        assert record["status"] == "failed"
        assert (
            "version v1 of deployment gone (project local) is not in the server configuration"
            in (record["error_message"])
        )


def _lines(log: Path) -> List[str]:
    """The log's lines, none while the log pumps have not written its first line yet."""
    return log.read_text().splitlines() if log.exists() else []


def _texts(log: Path) -> List[str]:
    """The text of each record (after time, level, deployment, version, process id and request id)."""
    return [line.split(" ", 6)[-1] for line in _lines(log)]
