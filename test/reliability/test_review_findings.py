"""Findings of an adversarial review of the local server's core (scheduler, runtime, execution, instance, writer,
backend, server stop). Each test is one finding, bounded by a pytest timeout and by read timeouts on every call.

Real parts only: LocalServer on 127.0.0.1 (port 0), real worker processes running ./packages/review_tool, real
SQLite, plain HTTP (server_support) or a real DeploymentRuntime."""

import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from server_support import PACKAGES, Servers, config, deployment, http_for, wait_until, where

from ubiops.local import scheduler
from ubiops.local.execution import Outcomes
from ubiops.local.runtime import DeploymentRuntime
from ubiops.local.ticket import Ticket

RECORD = "RECORD_FILE"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    running = Servers(tmp_path)
    yield running
    running.close()


def tool(record: Path, **extra: Any) -> Dict[str, Any]:
    env = {RECORD: str(record), **extra.pop("env", {})}
    return deployment("tool", package="review_tool", environment_variables=env, **extra)


def record_lines(path: Path) -> List[str]:
    return path.read_text().split() if path.exists() else []


def in_thread(target: Any, *args: Any) -> Dict[str, Any]:
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
