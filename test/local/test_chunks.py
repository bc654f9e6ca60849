"""DeploymentRuntime.run_chunk against real worker processes: several batch requests in one message."""

import json
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import pytest

from ubiops.local.runtime import DeploymentRuntime, Outcome, Ticket

PACKAGES = Path(__file__).resolve().parent / "packages"
CONTEXT: Dict[str, Any] = {
    "project": "proj",
    "deployment": "dep",
    "version": "v1",
    "input_type": "structured",
    "output_type": "structured",
    "input_fields": [],
    "output_fields": [],
    "language": "python3.11",
    "environment_variables": {},
}
TIMEOUT = 60.0


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[DeploymentRuntime]:
    runtime = DeploymentRuntime(PACKAGES / "sleeps", context=CONTEXT, instances=1, log_path=tmp_path / "log")
    runtime.start()
    yield runtime
    runtime.stop()


class Chunk:
    """Runs a chunk on an acquired slot in a thread (as a dispatcher does) and records the reports in order."""

    def __init__(self, runtime: DeploymentRuntime, items: Sequence[Tuple[str, Dict[str, Any], float]]) -> None:
        self.events: List[Tuple[str, str]] = []
        self.outcomes: Dict[str, Outcome] = {}
        self.rest: List[str] = []
        self.tickets = {
            request_id: Ticket(request_id, json.dumps(data), "batch", timeout) for request_id, data, timeout in items
        }
        self._thread = threading.Thread(target=self._run, args=(runtime,))
        self._thread.start()

    def _run(self, runtime: DeploymentRuntime) -> None:
        slot = runtime.acquire()
        assert slot is not None
        try:
            self.rest = [ticket.id for ticket in runtime.execute(slot, list(self.tickets.values()), self)]
        finally:
            runtime.release(slot)

    def started(self, ticket: Ticket) -> None:
        self.events.append(("started", ticket.id))

    def finished(self, outcomes: List[Tuple[Ticket, Outcome]]) -> None:
        for ticket, outcome in outcomes:
            self.events.append(("finished", ticket.id))
            self.outcomes[ticket.id] = outcome

    def cancel(self, request_id: str) -> None:
        self.tickets[request_id].cancel()

    def join(self) -> None:
        self._thread.join(30)
        assert not self._thread.is_alive()


def wait_for(path: Path) -> None:
    give_up = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < give_up, f"{path} never appeared"
        time.sleep(0.01)


def test_items_run_in_order_and_each_is_reported(sleeper: DeploymentRuntime) -> None:
    chunk = Chunk(sleeper, [(f"r{i}", {"seconds": 0.2}, TIMEOUT) for i in range(3)])
    chunk.join()
    # each item takes a while, so the runtime waits for each: it reports the start before the end
    assert chunk.events == [(kind, f"r{i}") for i in range(3) for kind in ("started", "finished")]
    assert all(outcome.status == "completed" for outcome in chunk.outcomes.values())
    starts = [chunk.outcomes[f"r{i}"].result["start"] for i in range(3)]
    assert starts == sorted(starts) and chunk.rest == []


def test_an_item_cancelled_before_it_started_is_skipped(sleeper: DeploymentRuntime, tmp_path: Path) -> None:
    items = [
        (name, {"seconds": 0.5 if name == "first" else 0, "marker_dir": str(tmp_path), "name": name}, TIMEOUT)
        for name in ("first", "second", "third")
    ]
    chunk = Chunk(sleeper, items)
    wait_for(tmp_path / "first.started")
    chunk.cancel("second")
    chunk.join()
    assert {name: outcome.status for name, outcome in chunk.outcomes.items()} == {
        "first": "completed",
        "second": "cancelled",
        "third": "completed",
    }
    assert not (tmp_path / "second.started").exists() and ("started", "second") not in chunk.events


def test_cancel_of_the_running_item_gives_back_the_items_that_did_not_start(
    sleeper: DeploymentRuntime, tmp_path: Path
) -> None:
    items = [("long", {"seconds": 30, "marker_dir": str(tmp_path), "name": "long"}, TIMEOUT)]
    items += [(f"r{i}", {"seconds": 0}, TIMEOUT) for i in range(2)]
    chunk = Chunk(sleeper, items)
    wait_for(tmp_path / "long.started")
    chunk.cancel("long")
    chunk.join()
    assert chunk.outcomes == {"long": Outcome("cancelled")} and chunk.rest == ["r0", "r1"]
    assert sleeper.run(Ticket("after", '{"seconds": 0}', "batch", TIMEOUT)).status == "completed"


def test_each_timeout_counts_from_the_end_of_the_item_before(sleeper: DeploymentRuntime) -> None:
    items = [("slow", {"seconds": 1.5}, 10.0), ("stuck", {"seconds": 30}, 1.0), ("never", {"seconds": 0}, TIMEOUT)]
    chunk = Chunk(sleeper, items)
    chunk.join()
    assert chunk.outcomes["slow"].status == "completed"
    assert chunk.outcomes["stuck"] == Outcome("failed", error_message="Request exceeded its timeout of 1 seconds")
    assert chunk.rest == ["never"]


def test_a_request_the_worker_began_while_its_instance_was_being_ended_is_not_given_back(tmp_path: Path) -> None:
    """The instance of a cancelled request ignores SIGTERM, so in the grace second before SIGKILL the worker finishes
    that request and begins the next one of its chunk: that one ended mid-run, and must not run again."""
    runtime = DeploymentRuntime(PACKAGES / "ignores_sigterm", context=CONTEXT, log_path=tmp_path / "log")
    runtime.start()
    try:
        items = [("a", {"seconds": 0.4, "marker": str(tmp_path / "a")}, TIMEOUT)]
        items += [("b", {"seconds": 30, "marker": str(tmp_path / "b")}, TIMEOUT), ("c", {"seconds": 0}, TIMEOUT)]
        chunk = Chunk(runtime, items)
        wait_for(tmp_path / "a")
        chunk.cancel("a")
        chunk.join()
    finally:
        runtime.stop()
    assert (tmp_path / "b").exists(), "the worker did not begin b before it was killed"
    assert chunk.outcomes["a"] == Outcome("cancelled")
    assert chunk.outcomes["b"].status == "failed" and "it is not run again" in str(chunk.outcomes["b"].error_message)
    assert chunk.rest == ["c"]
