"""Findings of an adversarial review of the local server's core (scheduler, runtime, execution, instance, writer,
backend, server stop). Each test is one finding, bounded by a pytest timeout and by read timeouts on every call.

Real parts only: LocalServer on 127.0.0.1 (port 0), real worker processes running ./packages/review_tool, real
SQLite, plain HTTP (server_support) or a real DeploymentRuntime."""

import logging
import os
import select
import signal
import threading
import time
from pathlib import Path
from typing import Any, Dict

import psutil
import pytest
from server_support import (
    PACKAGES,
    Servers,
    config,
    deployment,
    gone_within,
    http_for,
    in_thread,
    joined,
    read_pid,
    record_lines,
    wait_until,
)

from ubiops.local import scheduler
from ubiops.local.runtime import DeploymentRuntime
from ubiops.local.ticket import Ticket

RECORD = "RECORD_FILE"


def tool(record: Path, **extra: Any) -> Dict[str, Any]:
    env = {RECORD: str(record), **extra.pop("env", {})}
    return deployment("tool", package="review_tool", environment_variables=env, **extra)


# -- 1. an exception inside execute() reran chunk items that had already ended ----------------------------------------


@pytest.mark.timeout(60)
def test_a_frame_that_is_not_utf8_runs_no_chunk_item_twice(
    servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunk [A, B, C]; A writes a forged DONE frame and then a DONE frame whose text is not UTF-8.

    Before: the bad frame raised UnicodeDecodeError out of Instance.messages() (not a ProtocolError), so execute()
    took its exception path, which failed B but requeued A, which had ended and was not reported yet: A ran again
    (three times in all, the bad frame coming back each time). With that fixed, C still ran twice: after a protocol
    error the worker goes on with the chunk while it is being ended, and the items after the current one were
    requeued. Now: every item runs at most once; A completed, B failed (protocol), C failed (it may have run)."""
    record = tmp_path / "runs.txt"
    server = servers.start(config(tool(record)))
    monkeypatch.setattr(scheduler, "CHUNK_BUDGET", 10.0)  # the three requests go to the worker as one chunk
    http = http_for(server)
    ids = http.batch("tool", ["record;forge", "record", "record"])
    records = http.wait_all("tool", ids, timeout=30)
    time.sleep(0.5)  # a rerun would show up in the record file by now
    runs = record_lines(record)
    assert runs.count(ids[0]) == 1, f"the first item ran {runs.count(ids[0])} times"
    assert all(runs.count(request_id) <= 1 for request_id in ids), (runs, ids)
    assert records[ids[0]]["status"] == "completed", records[ids[0]]
    assert records[ids[1]]["status"] == "failed" and "protocol" in records[ids[1]]["error_message"], records[ids[1]]
    assert records[ids[2]]["status"] == "failed" and "may have run" in records[ids[2]]["error_message"], records[ids[2]]
    # the version still serves
    assert http.direct("tool", "ok", read=30).json()["status"] == "completed"


# -- 2. a worker that closed its pipe wedged its request until the timeout ---------------------------------------------


@pytest.mark.timeout(60)
def test_a_worker_that_closes_its_pipe_fails_its_request_at_once(servers: Servers, tmp_path: Path) -> None:
    """Deployment code closes the worker's end of the pipe and goes on running (sleep 120). Nobody can answer the
    request any more, yet the server waited for the request's timeout (a batch request's default is 4 hours),
    with the version's only instance taken. Now the closed pipe fails the request at once and the instance is
    replaced."""
    record = tmp_path / "runs.txt"
    server = servers.start(config(tool(record, instances=1)))
    http = http_for(server)
    [request_id] = http.batch("tool", ["closepipe;sleep:120"])
    body = http.wait_status("tool", request_id, timeout=20)
    assert body["status"] == "failed", body
    reply = http.direct("tool", "ok", read=30)
    assert reply.json()["status"] == "completed", reply


# -- 3. a package that loads slower than the timeout never became ready ------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_slow_loading_package_becomes_ready_despite_timeouts(
    servers: Servers, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A replacement instance's __init__ takes 7 s, the batch timeout is 6 s (a server for tests: min_timeout=1): less
    than the load, so an instance loaded anew for the second request would time it out too, and twice the timeout
    leaves 5 s for starting the process on a busy machine. The first request times out while the instance loads;
    the instance used to be killed for that and a new one started loading from scratch, so every later request
    timed out too and the package never became ready. Now a deadline (or a cancel) while loading ends only the
    request: the instance goes on loading and the next request completes. (The server's start waits for the first
    load, so the slow load is a replacement's: the first instance is killed while idle, and seen dead first.)"""
    caplog.set_level(logging.INFO, logger="ubiops.local.instances")  # when instances start and load, if it fails
    record, sleep_file, pid_file = tmp_path / "runs.txt", tmp_path / "init_sleep", tmp_path / "pid"
    sleep_file.write_text("0")
    server = servers.start(
        config(tool(record, instances=1, env={"INIT_SLEEP_FILE": str(sleep_file)})), stop_grace=0.5, min_timeout=1
    )
    http = http_for(server)
    assert http.direct("tool", f"pid:{pid_file}").json()["status"] == "completed"
    sleep_file.write_text("7")
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGKILL)
    # dead before the batch comes (else the chunk may go to it, and the run it dies in loads anew for the second)
    wait_until(lambda: ended(pid), timeout=10)
    first, second = http.batch("tool", ["first", "second"], timeout=6)
    records = http.wait_all("tool", [first, second], timeout=40)
    events = [f"{r.created:.3f} {r.getMessage()}" for r in caplog.records]
    assert records[first]["status"] == "failed", (records[first], events)
    assert records[second]["status"] == "completed", (records[second], events)


def ended(pid: int) -> bool:
    """Whether the process has ended as the server sees it: its pidfd is readable once every thread has ended. Its
    state reads zombie as soon as its first thread has, while the others may still be ending (under load, long
    enough for the server to send it a chunk)."""
    if not hasattr(os, "pidfd_open"):
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    fd = os.pidfd_open(pid)
    try:
        return bool(select.select([fd], [], [], 0)[0])
    finally:
        os.close(fd)


# -- 4. a direct request whose deadline passed as it was taken still went to the worker --------------------------------


@pytest.mark.timeout(60)
def test_a_direct_request_past_its_deadline_is_not_sent_to_the_worker(tmp_path: Path) -> None:
    """A direct request's deadline passed while it waited (here: set in the past) and a slot took it just then: it
    was sent to the worker anyway (its code started) and, being late, failed at once, killing the instance (which
    for a slow package means a long reload). Now it ends timed out without being sent, and the instance stays."""
    record = tmp_path / "runs.txt"
    runtime = DeploymentRuntime(
        PACKAGES / "review_tool",
        context={"deployment": "tool", "environment_variables": {RECORD: str(record)}},
        log_path=tmp_path / "tool.log",
    )
    runtime.start()
    try:
        pid_file = tmp_path / "pid"
        assert runtime.run(Ticket.direct("warm", f'"pid:{pid_file}"', 30)).status == "completed"
        first_pid = int(pid_file.read_text())
        late = Ticket.direct("late", '"record"', 30)
        late.deadline = time.monotonic() - 1
        outcome = runtime.run(late)
        assert outcome.status == "failed" and "timeout" in (outcome.error_message or ""), outcome
        assert runtime.run(Ticket.direct("after", f'"pid:{pid_file}"', 30)).status == "completed"
        assert "late" not in record_lines(record), "the late request was sent to the worker"
        assert int(pid_file.read_text()) == first_pid, "the instance was replaced"
    finally:
        runtime.stop()


# -- 5. two stop() calls at once ---------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_second_stop_waits_for_the_first(servers: Servers, tmp_path: Path) -> None:
    """stop() from two threads (a signal handler and a with block, say): the second found the backend taken by the
    first and went on to close the database and unlock the data directory while the first still let a run finish:
    that run's outcome could not be stored (its direct caller got no completed record) and another server could
    open the directory while the workers ran. Now a second stop() waits for the first; both return once done."""
    record = tmp_path / "runs.txt"
    server = servers.start(config(tool(record, instances=1)), stop_grace=15)
    http = http_for(server)
    call = in_thread(http.direct, "tool", "record;sleep:3")
    wait_until(lambda: record_lines(record), 20, "the run started")
    first = in_thread(server.stop)
    time.sleep(1.0)
    second = in_thread(server.stop)
    joined(second, 30)
    assert not first["thread"].is_alive(), "the second stop() returned while the first was still stopping"
    joined(first, 30)
    reply = joined(call, 30)
    assert reply.status == 200 and reply.json()["status"] == "completed", reply


# -- 6. resources after many cancels, timeouts and crashes -------------------------------------------------------------


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_cancels_leave_no_file_descriptors_threads_or_zombies_behind(servers: Servers, tmp_path: Path) -> None:
    """Twelve runs ended by a cancel (each kills and replaces the instance): the server's file descriptors and
    threads come back to what they were, and no worker is left a zombie."""
    record = tmp_path / "runs.txt"
    server = servers.start(config(tool(record, instances=1)))
    http = http_for(server)
    assert http.direct("tool", "warm", read=30).json()["status"] == "completed"
    time.sleep(0.5)
    fds, threads = fd_count(), len(threading.enumerate())
    for _ in range(12):
        [request_id] = http.batch("tool", ["record;sleep:30"])
        http.wait_status("tool", request_id, ("processing",), timeout=20)
        wait_until(lambda rid=request_id: rid in record_lines(record), 20, "the run started")
        assert http.cancel("tool", request_id).status == 200
        assert http.wait_status("tool", request_id, timeout=20)["status"] == "cancelled"
    assert http.direct("tool", "warm", read=30).json()["status"] == "completed"
    wait_until(lambda: fd_count() <= fds and len(threading.enumerate()) <= threads, 10, "fds and threads back")
    zombies = [p for p in psutil.Process().children(recursive=True) if p.status() == psutil.STATUS_ZOMBIE]
    assert not zombies, zombies


# -- 7. a child in a session of its own --------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_cancel_ends_a_child_that_left_the_process_group(servers: Servers, tmp_path: Path) -> None:
    """Deployment code starts a child with start_new_session=True (setsid, as daemons do): it is no longer in the
    worker's process group, so ending the group on a cancel left it running (for ever, past the server's stop, and
    holding the log pipe, so the log pump thread never ended either)."""
    record = tmp_path / "runs.txt"
    child_file = tmp_path / "child.pid"
    server = servers.start(config(tool(record, instances=1)))
    http = http_for(server)
    [request_id] = http.batch("tool", [f"setsid:{child_file};sleep:30"])
    child = read_pid(child_file)
    servers.pids.append(child)
    assert http.cancel("tool", request_id).status == 200
    assert http.wait_status("tool", request_id, timeout=20)["status"] == "cancelled"
    assert gone_within(child, 10), "the setsid child outlived the cancel"
