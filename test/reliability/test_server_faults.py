"""Server-side fault findings: a graceful stop (never a 503 for a stored request), one bad row that must lose
nothing else, a version that must never hang, and a cancel that must never kill an unrelated request.

Real parts only: LocalServer on 127.0.0.1 (port 0) with a data directory under tmp_path, real worker processes, plain
HTTP. Every call has a read timeout and every test a pytest timeout, so a hang fails instead of blocking the run."""

import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from server_support import (
    Http,
    Reply,
    Servers,
    config,
    deployment,
    http_for,
    in_thread,
    joined,
    record_lines,
    wait_until,
    where,
)

STOP_WORD = "stop"


# -- 1. graceful stop ------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_stop_lets_an_in_flight_direct_request_finish_within_the_grace(servers: Servers, tmp_path: Path) -> None:
    """Finding 1 (graceful stop): a direct request in flight at stop() (stop_grace=10, the run takes 2 s) is answered
    200 completed, not 503."""
    record = tmp_path / "runs.txt"
    cfg = config(deployment("tool", environment_variables={"RECORD_FILE": str(record)}))
    server = servers.start(cfg, stop_grace=10)
    http = http_for(server)
    call = in_thread(http.direct, "tool", "record;sleep:2")
    wait_until(lambda: record_lines(record), 20, "the run started")
    server.stop()
    reply = joined(call, 30)
    assert reply.status == 200, reply
    body = reply.json()
    assert (body["status"], body["result"]) == ("completed", "record;sleep:2"), body


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_stop_fails_a_long_direct_request_for_good(servers: Servers, tmp_path: Path) -> None:
    """Finding 1 (graceful stop): a direct request still running when stop_grace=0.5 ends is answered 200 failed
    (error_message says stop), never 503; after a restart on the same data directory it is still failed and did not
    run again (one line in the record file)."""
    record = tmp_path / "runs.txt"
    cfg = config(deployment("tool", environment_variables={"RECORD_FILE": str(record)}))
    server = servers.start(cfg, stop_grace=0.5)
    http = http_for(server)
    call = in_thread(http.direct, "tool", "record;sleep:30")
    wait_until(lambda: record_lines(record), 20, "the run started")
    server.stop()
    reply = joined(call, 20)
    assert reply.status == 200, reply
    body = reply.json()
    assert body["status"] == "failed", body
    assert STOP_WORD in (body["error_message"] or "").lower(), body
    request_id = body["id"]

    again = servers.start(cfg, stop_grace=0.5)
    http = http_for(again)
    time.sleep(1.5)  # a rerun would have written its line by now
    stored = http.record("tool", request_id)
    assert stored["status"] == "failed", stored
    assert STOP_WORD in (stored["error_message"] or "").lower(), stored
    assert record_lines(record) == [request_id]


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_pending_batch_requests_stay_pending_across_a_stop(servers: Servers, tmp_path: Path) -> None:
    """Finding 1 (graceful stop): batch requests pending at a stop (their one instance busy with a long one) are
    still pending in the store after it, and run once to completed after the restart."""
    record = tmp_path / "runs.txt"
    cfg = config(deployment("tool", instances=1, environment_variables={"RECORD_FILE": str(record)}))
    server = servers.start(cfg, stop_grace=0.5)
    http = http_for(server)
    http.batch("tool", ["record;sleep:30"])
    wait_until(lambda: record_lines(record), 20, "the long run started")
    pending = http.batch("tool", ["record"] * 5, priority=0)  # before the long one, should that run again
    assert {r["status"] for r in http.collect("tool", pending).values()} == {"pending"}
    server.stop()

    with sqlite3.connect(str(server.data_dir / "requests.sqlite3")) as db:
        marks = ",".join("?" * len(pending))
        stored = dict(db.execute(f"SELECT id, status FROM requests WHERE id IN ({marks})", pending).fetchall())
    assert stored == {request_id: "pending" for request_id in pending}

    again = servers.start(cfg, stop_grace=0.5)
    records = http_for(again).wait_all("tool", pending, timeout=20)
    assert {r["status"] for r in records.values()} == {"completed"}, records
    lines = record_lines(record)
    assert all(lines.count(request_id) == 1 for request_id in pending), lines


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_stop_ends_a_stream_with_a_failed_record(servers: Servers, tmp_path: Path) -> None:
    """Finding 1 (graceful stop): a stream request running past stop_grace ends with its final JSON record (status
    failed, error_message saying stop), not a 503."""
    record = tmp_path / "runs.txt"
    cfg = config(deployment("tool", environment_variables={"RECORD_FILE": str(record)}))
    server = servers.start(cfg, stop_grace=0.5)
    http = http_for(server)

    def stream() -> Any:
        response = http.request(
            "POST",
            f"{where('tool')}/requests/stream",
            text="record;sleep:30",
            headers={"Accept": "text/event-stream"},
            timeout=20,
            preload_content=False,
        )
        try:
            return response.status, response.read().decode("utf-8")
        finally:
            response.release_conn()

    call = in_thread(stream)
    wait_until(lambda: record_lines(record), 20, "the run started")
    server.stop()
    status, text = joined(call, 20)
    assert status == 200, text
    last = text.rstrip("\n").split("\n")[-1]
    body = json.loads(last)
    assert body.get("status") == "failed", body
    assert STOP_WORD in (body.get("error_message") or "").lower(), body


# -- 2. one bad row ----------------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_lone_surrogate_in_an_error_loses_no_other_request(servers: Servers) -> None:
    """Finding 2 (one bad row loses nothing else): 20 requests failing with "bad \\ud800 text" while 250 echo
    requests run: every echo request completes without a restart, and the bad ones are failed with their message
    (the surrogate replaced by U+FFFD)."""
    cfg = config(deployment("echo", package="echo", instances=2), deployment("bad", instances=1))
    server = servers.start(cfg)
    http = http_for(server)
    bad_box = in_thread(lambda: [http_for(server).batch("bad", ["surrogate"] * 5) for _ in range(4)])
    echo = http.batch("echo", [f"item-{n}" for n in range(250)])
    bad = [request_id for ids in joined(bad_box, 30) for request_id in ids]

    echo_records = http.wait_all("echo", echo, timeout=30)
    assert [echo_records[i]["status"] for i in echo] == ["completed"] * 250
    assert [echo_records[i]["result"] for i in echo] == [f"item-{n}" for n in range(250)]
    bad_records = http.wait_all("bad", bad, timeout=30)
    for request_id in bad:
        message = bad_records[request_id]["error_message"] or ""
        assert bad_records[request_id]["status"] == "failed", bad_records[request_id]
        assert "bad" in message and "\ud800" not in message and "\ufffd" in message, repr(message)


# -- 3. a version never hangs ------------------------------------------------------------------------------------------


def assert_next_request_completes(http: Http, name: str) -> None:
    started = time.monotonic()
    reply = http.direct(name, "hello", read=25)
    assert reply.status == 200, reply
    assert (reply.json()["status"], reply.json()["result"]) == ("completed", "hello"), reply
    assert time.monotonic() - started < 20


def assert_final(reply: Reply) -> Dict[str, Any]:
    assert reply.status == 200, reply
    body = reply.json()
    assert body["status"] in ("completed", "failed"), body
    if body["status"] == "failed":
        assert body["error_message"], body
    return dict(body)


@pytest.mark.timeout(60)
def test_a_deeply_nested_output_does_not_hang_the_version(servers: Servers) -> None:
    """Finding 3a (a version never hangs): an output nested 985 levels deep ends its request, and the next request
    to the same one-instance version completes within 20 s."""
    server = servers.start(config(deployment("tool", instances=1)))
    http = http_for(server)
    assert_final(http.direct("tool", "deep:985", read=25))
    assert_next_request_completes(http, "tool")


@pytest.mark.timeout(60)
def test_a_deeply_nested_batch_output_does_not_hang_the_version(servers: Servers) -> None:
    """Finding 3a (a version never hangs), batch path: a batch request with an output nested 985 levels deep ends,
    and the next request completes within 20 s."""
    server = servers.start(config(deployment("tool", instances=1)))
    http = http_for(server)
    [request_id] = http.batch("tool", ["deep:985"])
    record = http.wait_status("tool", request_id, timeout=20)
    assert record["status"] == "completed" or record["error_message"], record
    assert_next_request_completes(http, "tool")


@pytest.mark.timeout(60)
def test_garbage_on_the_worker_pipe_does_not_hang_the_version(servers: Servers) -> None:
    """Finding 3b (a version never hangs): deployment code that writes junk bytes to the worker's pipe ends its
    request (failed is fine), and the next request completes within 20 s."""
    server = servers.start(config(deployment("tool", instances=1)))
    http = http_for(server)
    assert_final(http.direct("tool", "garbage", read=25))
    assert_next_request_completes(http, "tool")


@pytest.mark.timeout(60)
def test_garbage_on_the_worker_pipe_in_a_batch_does_not_hang_the_version(servers: Servers) -> None:
    """Finding 3b (a version never hangs), batch path: junk bytes on the pipe during a batch request end it, and
    the next request completes within 20 s."""
    server = servers.start(config(deployment("tool", instances=1)))
    http = http_for(server)
    [request_id] = http.batch("tool", ["garbage"])
    http.wait_status("tool", request_id, timeout=20)
    assert_next_request_completes(http, "tool")


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_direct_timeout_counts_while_waiting_for_an_instance(servers: Servers) -> None:
    """Finding 3c (a version never hangs): with the one instance busy for 40 s, a direct request with timeout=2 (a
    server for tests: min_timeout=1) fails with a timeout message within ~17 s, not after the 40 s run."""
    server = servers.start(config(deployment("tool", instances=1)), stop_grace=0.5, min_timeout=1)
    http = http_for(server)
    [busy] = http.batch("tool", ["sleep:40"])
    http.wait_status("tool", busy, ("processing",), timeout=20)
    started = time.monotonic()
    reply = http.direct("tool", "hello", timeout=2, read=30)
    assert time.monotonic() - started < 17
    assert reply.status == 200, reply
    body = reply.json()
    assert body["status"] == "failed", body
    assert "timeout" in (body["error_message"] or "").lower(), body


# -- 4. a cancel never kills an unrelated request --------------------------------------------------------------------


def assert_clean(reply: Reply) -> None:
    assert reply.status == 200, reply
    body = reply.json()
    message = body.get("error_message") or ""
    assert "SIGTERM" not in message and "signal" not in message.lower(), f"next request failed: {message!r}"
    assert (body["status"], body["result"]) == ("completed", "hello"), f"{body['status']}: {message!r}"


@pytest.mark.timeout(60)
def test_a_cancel_that_the_run_outlives_does_not_poison_the_instance(servers: Servers) -> None:
    """Finding 4 (a cancel never kills an unrelated request): a batch run ignores SIGTERM and finishes after its
    cancel; whatever the cancel does to its instance afterwards must not fail the next requests."""
    server = servers.start(config(deployment("tool", instances=1)))
    http = http_for(server)
    [request_id] = http.batch("tool", ["nosigterm;sleep:0.5"])
    http.wait_status("tool", request_id, ("processing",), timeout=20)
    assert http.cancel("tool", request_id).status == 200
    assert http.wait_status("tool", request_id, timeout=20)["status"] == "cancelled"
    time.sleep(1.5)  # past any delayed kill meant for the cancelled run
    for _ in range(3):
        assert_clean(http.direct("tool", "hello", read=25))


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_cancels_racing_the_end_of_runs_never_fail_later_requests(servers: Servers) -> None:
    """Finding 4 (a cancel never kills an unrelated request): in a bounded loop (200 rounds or 15 s), cancel the last
    request of a small batch at a random moment around its end, then send a direct request: none may fail with a
    SIGTERM/signal message."""
    server = servers.start(config(deployment("tool", instances=1)))
    http = http_for(server)
    rng = random.Random(4)
    all_ids: List[str] = []
    deadline = time.monotonic() + 15
    rounds = 0
    while rounds < 200 and time.monotonic() < deadline:
        ids = http.batch("tool", ["sleep:0.002"] * 4)
        all_ids += ids
        time.sleep(rng.uniform(0, 0.015))
        assert http.cancel("tool", ids[-1]).status == 200
        assert_clean(http.direct("tool", "hello", read=25))
        rounds += 1
    assert rounds >= 20
    records = http.wait_all("tool", all_ids, timeout=20)
    assert {r["status"] for r in records.values()} <= {"completed", "cancelled"}, [
        r for r in records.values() if r["status"] not in ("completed", "cancelled")
    ][:3]
