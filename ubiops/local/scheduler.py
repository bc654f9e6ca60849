"""Lane: one served version's pending requests, its dispatchers, and the tickets of its requests in flight.

Pending requests wait in a heap ordered by (priority, creation order). A dispatcher thread per instance takes an idle
slot of the version's runtime, then the next run from the heap: a direct request alone, or batch requests in a
chunk (as many as take about CHUNK_BUDGET seconds by the recent run times, so slow deployments get chunks of one,
but never more than a fair share of the queue, so that a burst of slow requests after fast ones spreads over the
instances), and owns that run until the runtime has ended it. A direct request that finds an idle slot and an empty
heap runs in the calling thread instead (one hand-off less), and stores its outcome itself. Every request in flight
has one Ticket, indexed here so that a cancel finds it: a queued one is taken out of the heap, a running one gets
the cancel event.

Status changes go to the StatusWriter; a dispatcher takes its next run only once the outcomes of its last one are
stored, so a crash reruns at most the runs in progress. A graceful stop lets the runs in progress finish for a grace
period, fails the direct requests that had not started (their callers get that final record), and leaves pending
batch requests pending for the next start.
"""

import heapq
import sys
import threading
import time
from collections import deque
from typing import Any, Deque, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

from ubiops.local.config import DeploymentConfig, VersionConfig
from ubiops.local.metadata import shown_io_type
from ubiops.local.records import compact_json
from ubiops.local.runtime import DeploymentRuntime, Slot
from ubiops.local.store import Finish
from ubiops.local.ticket import Outcome, Ticket
from ubiops.local.validation import output_error, storable, storable_message, stored_size
from ubiops.local.writer import StatusWriter

CHUNK_BUDGET = 0.005  #: seconds of expected run time per chunk of batch requests handed to a worker
MAX_CHUNK = 64  #: requests per chunk
THROUGHPUT_WINDOW = 60.0  #: seconds of ended runs that stats() counts
CHUNK_BYTES = 1 << 20  #: request data per chunk, in characters (a chunk has at least one request)
NOT_STARTED = "The server stopped before the request started"


def now_us() -> int:
    return time.time_ns() // 1000


class QueueEntry(NamedTuple):
    """A pending request in the heap; (priority, time_created) is unique, so tickets are never compared."""

    priority: int
    time_created: int
    ticket: Ticket


class Lane:
    def __init__(
        self, deployment: DeploymentConfig, config: VersionConfig, runtime: DeploymentRuntime, writer: StatusWriter
    ) -> None:
        self.deployment = deployment
        self.config = config
        self.runtime = runtime
        self._writer = writer
        self._cond = threading.Condition()
        self._heap: List[QueueEntry] = []
        self._queued: Set[str] = set()  # ids in the heap that may run; an entry not in here is skipped
        self._entries: Dict[str, QueueEntry] = {}  # every request of this version in flight: queued or running
        self._busy = 0  # runs in progress, inline ones included
        self._stopping = False
        self._threads: List[threading.Thread] = []
        self._run_seconds = CHUNK_BUDGET  # moving average of the recent run times, for the chunk size
        self._ended: Deque[Tuple[float, int, int]] = deque()  # (monotonic time, completed, failed) of recent runs

    # -- life cycle -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        for index in range(self.config.instances):
            name = f"dispatch-{self.deployment.name}-{self.config.name}-{index}"
            thread = threading.Thread(target=self._dispatch, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, grace: float) -> None:
        """Take no more runs, fail direct requests that did not start, give the runs in progress `grace` seconds,
        then stop the runtime (which ends what still runs as failed)."""
        with self._cond:
            self._stopping = True
            unstarted = [
                self._entries.pop(i).ticket for i in list(self._queued) if self._entries[i].ticket.mode == "express"
            ]
            self._queued.difference_update(t.id for t in unstarted)
            self._cond.notify_all()
            give_up = time.monotonic() + grace
            while self._busy and time.monotonic() < give_up:
                self._cond.wait(give_up - time.monotonic())
        now = now_us()
        self._writer.write(finishes=[(now, now, "failed", None, NOT_STARTED, None, t.id) for t in unstarted])
        self.runtime.stop()
        give_up = time.monotonic() + 10  # one deadline for all: a dispatcher may wait for a failing writer
        for thread in self._threads:
            thread.join(timeout=max(0.0, give_up - time.monotonic()))

    # -- requests -------------------------------------------------------------------------------------------------

    def submit(self, entries: Sequence[QueueEntry]) -> None:
        with self._cond:
            for entry in entries:
                heapq.heappush(self._heap, entry)
                self._queued.add(entry.ticket.id)
                self._entries[entry.ticket.id] = entry
            self._cond.notify(len(entries))

    def reserve_inline(self) -> Optional[Slot]:
        """An idle slot for a direct request to run in its caller's thread, counted as a run in progress."""
        with self._cond:
            if self._queued or self._stopping:
                return None
            slot = self.runtime.try_acquire()
            if slot is not None:
                self._busy += 1
            return slot

    def hold(self, entry: QueueEntry) -> None:
        """Register a direct request about to run inline, as soon as it is stored, so that a cancel finds it."""
        with self._cond:
            self._entries[entry.ticket.id] = entry

    def run_inline(self, slot: Slot, ticket: Ticket) -> None:
        """Run a held direct request (stored as processing) on the reserved slot, in this thread."""
        self._run(slot, [ticket], inline=True)

    def unreserve(self, slot: Slot) -> None:
        """Give back a reserved slot that was not used (storing the request failed)."""
        self._release(slot)

    def cancel(self, ids: Sequence[str]) -> None:
        """Make sure these requests do not run (any more): out of the heap, or a cancel event for their run."""
        running: List[Ticket] = []
        finishes: List[Finish] = []
        now = now_us()
        with self._cond:
            for request_id in ids:
                entry = self._entries.get(request_id)
                if entry is None:
                    continue
                ticket = entry.ticket
                if request_id in self._queued:
                    self._forget(ticket)
                    # Pending ones the store cancelled already; this ends one a cut-short chunk had claimed.
                    finishes.append((now, now, "cancelled", None, None, None, request_id))
                else:
                    running.append(ticket)
        for ticket in running:
            ticket.cancel()
        if finishes:
            self._writer.write(finishes=finishes)

    def expire(self, ticket: Ticket) -> None:
        """A direct request's deadline passed while it was queued: it ends failed (a running one its owner ends)."""
        with self._cond:
            if ticket.id not in self._queued:
                return
            self._forget(ticket)
        now = now_us()
        message = f"Request exceeded its timeout of {ticket.timeout:g} seconds"
        self._writer.write(finishes=[(now, now, "failed", None, message, None, ticket.id)])

    def _forget(self, ticket: Ticket) -> None:
        """The caller holds the lock."""
        self._queued.discard(ticket.id)
        self._entries.pop(ticket.id, None)

    # -- running --------------------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Wait for pending requests, take an idle slot, then the next run, and own it until it ended."""
        while True:
            with self._cond:
                while not self._stopping and not self._queued:
                    self._cond.wait()
                if self._stopping:
                    return
            slot = self.runtime.acquire()
            if slot is None:
                return
            with self._cond:
                tickets = self._take() if not self._stopping else []
                if tickets:
                    self._busy += 1
            if not tickets:
                self.runtime.release(slot)
                continue
            if tickets[0].mode == "express":  # its caller may see stream updates: by then it must list as processing
                self._writer.write(claims=[(now_us(), tickets[0].id)])
                self._writer.wait_written()
            self._run(slot, tickets, inline=False)
            self._writer.wait_written()

    def _take(self) -> List[Ticket]:
        """The next direct request, or the next batch requests up to a chunk: never more than a fair share of the
        queue (its length over the instances, rounded up), so that the other instances get their part rather than
        idle while it waits in this chunk. The caller holds the lock."""
        fair_share = -(-len(self._queued) // self.config.instances)
        limit = max(1, min(MAX_CHUNK, fair_share, int(CHUNK_BUDGET / max(self._run_seconds, 1e-6))))
        tickets: List[Ticket] = []
        size = 0
        while self._heap and len(tickets) < limit and size < CHUNK_BYTES:
            ticket = self._heap[0].ticket
            if ticket.id not in self._queued:  # cancelled, deleted or expired while pending
                heapq.heappop(self._heap)
                continue
            if tickets and ticket.mode == "express":
                break
            heapq.heappop(self._heap)
            self._queued.discard(ticket.id)
            tickets.append(ticket)
            size += len(ticket.data)
            if ticket.mode == "express":
                break
        return tickets

    def _run(self, slot: Slot, tickets: List[Ticket], inline: bool) -> None:
        """Own the run to its end: execute it, requeue (or end, at a stop) what did not start, free the slot."""
        report = _Report(self, inline)
        rest: List[Ticket] = list(tickets)
        try:
            rest = self.runtime.execute(slot, tickets, report)
        except Exception:  # execute() logged it and failed the request it was running; the dispatcher goes on
            pass
        finally:
            self._requeue(rest, report.ended)
            self._release(slot)

    def _requeue(self, rest: List[Ticket], ended: Set[str]) -> None:
        rest = [ticket for ticket in rest if ticket.id not in ended]
        if not rest:
            return
        with self._cond:
            if not self._stopping:
                self.submit([self._entries[t.id] for t in rest if t.id in self._entries])
                return
            for ticket in rest:
                self._entries.pop(ticket.id, None)
        now = now_us()
        # At a stop: a direct request that did not start ends now; a batch request stays pending for the next start.
        ended_now = [(now, now, "failed", None, NOT_STARTED, None, t.id) for t in rest if t.mode == "express"]
        self._writer.write(finishes=ended_now)

    def _release(self, slot: Slot) -> None:
        self.runtime.release(slot)
        with self._cond:
            self._busy -= 1
            if self._stopping:  # only stop() waits for runs to end: idle dispatchers need no wake-up
                self._cond.notify_all()

    # -- outcomes -------------------------------------------------------------------------------------------------

    def finished(self, outcomes: Sequence[Tuple[Ticket, Outcome]], started: int, inline: bool = False) -> int:
        """Queue the outcomes for the writer (an inline run stores them itself); returns when they were taken as
        ended."""
        now = now_us()
        finishes = [(started, now, *self._stored(t, o), t.id) for t, o in outcomes]
        completed = sum(finish[2] == "completed" for finish in finishes)
        with self._cond:
            for ticket, _outcome in outcomes:
                self._entries.pop(ticket.id, None)
            self._run_seconds += 0.2 * ((now - started) / 1e6 / len(outcomes) - self._run_seconds)
            self._note_ended(completed, sum(finish[2] == "failed" for finish in finishes))
        if inline:
            self._writer.store_now(finishes)
        else:
            self._writer.write(finishes=finishes)
        return now

    def _note_ended(self, completed: int, failed: int) -> None:
        """Count runs that ended, for throughput (a minute of them is kept); called holding the condition."""
        clock = time.monotonic()
        self._ended.append((clock, completed, failed))
        while self._ended and self._ended[0][0] < clock - THROUGHPUT_WINDOW:
            self._ended.popleft()

    def stats(self) -> Dict[str, int]:
        """Queue lengths and the runs that ended in the last minute, as the web view shows them."""
        with self._cond:
            since = time.monotonic() - THROUGHPUT_WINDOW
            recent = [(completed, failed) for clock, completed, failed in self._ended if clock >= since]
            pending = len(self._queued)
            return {
                "pending": pending,
                "processing": len(self._entries) - pending,
                "completed_last_minute": sum(completed for completed, _ in recent),
                "failed_last_minute": sum(failed for _, failed in recent),
            }

    def _stored(self, ticket: Ticket, outcome: Outcome) -> Tuple[str, Optional[str], Optional[str], Optional[int]]:
        """What to store of an outcome: (status, result JSON, error message, output size)."""
        if outcome.status != "completed":
            message = outcome.error_message if outcome.status == "failed" else None
            return outcome.status, None, None if message is None else storable_message(message), None
        error = output_error(self.deployment, outcome.result, ticket.data.startswith("["))
        if error is None:
            try:
                text = storable(compact_json(outcome.result))
                return "completed", text, None, stored_size(outcome.result, text)
            except (TypeError, ValueError, RecursionError) as exc:
                error = f"the deployment output cannot be stored as JSON: {exc}"
        return "failed", None, storable_message(error), None


class _Report:
    """Status writes of one run: a claim when the runtime waits for a request, the outcomes as they end. An inline
    run's request was stored as processing, and its outcome is stored in the run's own thread."""

    def __init__(self, lane: Lane, inline: bool) -> None:
        self._lane = lane
        self._inline = inline
        self._clock = now_us()  # when the request the runtime waits for started: the run's start or the last end
        self.ended: Set[str] = set()

    def started(self, ticket: Ticket) -> None:
        if not self._inline:
            self._lane._writer.write(claims=[(self._clock, ticket.id)])

    def finished(self, outcomes: List[Tuple[Ticket, Outcome]]) -> None:
        self.ended.update(ticket.id for ticket, _outcome in outcomes)
        self._clock = self._lane.finished(outcomes, self._clock, inline=self._inline)


def runtime_context(project: str, deployment: DeploymentConfig, version: VersionConfig) -> Dict[str, Any]:
    """The init context a deployment sees, minus process_id (the runtime adds it)."""
    return {
        "project": project,
        "deployment": deployment.name,
        "version": version.name,
        "input_type": shown_io_type(deployment.input_type),  # as the API shows it
        "output_type": shown_io_type(deployment.output_type),
        "input_fields": [{"name": f.name, "data_type": f.data_type} for f in deployment.input_fields],
        "output_fields": [{"name": f.name, "data_type": f.data_type} for f in deployment.output_fields],
        "language": f"python{sys.version_info.major}.{sys.version_info.minor}",
        "environment_variables": dict(version.environment_variables),
    }
