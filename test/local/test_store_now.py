"""StatusWriter.store_now: a direct request that ran inline stores its outcome in its own thread, or, when that
fails, hands it to the writer, which retries until it is stored."""

import sqlite3
import threading
from typing import List, Sequence, Tuple

from local_helpers import wait_until

from ubiops.local.store import Finish
from ubiops.local.writer import StatusWriter

FINISH: Finish = (1, 2, "completed", '"ok"', None, 4, "request-1")


class FlakyStore:
    """Refuses the first `failures` writes as a full disk would; records the others with the writing thread."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.applied: List[Tuple[str, Sequence[Finish]]] = []

    def apply(self, claims: Sequence[Tuple[int, str]], finishes: Sequence[Finish]) -> None:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        self.applied.append((threading.current_thread().name, list(finishes)))


def test_store_now_stores_in_the_calling_thread_and_tells_the_waiters() -> None:
    store, told = FlakyStore(failures=0), []
    writer = StatusWriter(store, told.extend)  # type: ignore[arg-type]
    writer.store_now([FINISH])
    assert store.applied == [(threading.current_thread().name, [FINISH])]
    assert told == ["request-1"]


def test_store_now_that_fails_is_queued_for_the_writer_and_stored_once() -> None:
    store, told = FlakyStore(failures=2), []
    writer = StatusWriter(store, told.extend)  # type: ignore[arg-type]
    writer.start()
    try:
        writer.store_now([FINISH])
        wait_until(lambda: told, message="the outcome stored by the writer")
        assert store.applied == [("status-writer", [FINISH])]
        assert told == ["request-1"]
    finally:
        writer.stop(timeout=5)
