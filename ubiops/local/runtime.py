"""DeploymentRuntime: runs requests of one deployment version on its instances (worker processes).

A runtime has `instances` slots, each holding one Instance. Whoever acquires a slot owns it, and whatever runs on
it, until release(): `execute()` is the one execute path. It takes a run (the tickets of one or more requests, sent
to the worker in one message and run one after another), reports each ticket when it starts and when it ends, and
leaves the slot with a working instance: a healthy one stays, one that died, timed out, was cancelled mid-request
or broke the protocol is killed with its process group and replaced (a replacement that cannot start is retried
with backoff when the slot is next used, and logged). A cancel is an event on a ticket: it wakes the owner, which
skips an item that has not started or kills the instance that is running it. Every exit path of execute(),
exceptions included, leaves the slot in that state. A package that fails to load is not restarted: each request it
gets fails with the load error.

Deadlines are monotonic times. A direct ("express") request's deadline is set when it is created, so waiting for an
instance, and for the instance to load the package, counts; a batch request's timeout counts from when it starts.
"""

import atexit
import json
import logging
import math
import os
import select
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional, Protocol, Sequence, Set, Tuple, Union

from ubiops.local._worker import DONE, ERROR, LOAD_ERROR, READY, SKIPPED, UPDATE
from ubiops.local.instance import Instance, ProtocolError, kill_all
from ubiops.local.logfile import DEFAULT_MAX_LOG_SIZE, LogFile

logger = logging.getLogger("ubiops.local")

REQUEST_MODES = ("express", "batch")
DEFAULT_MAX_OUTPUT_SIZE = 32 * 1024 * 1024  #: bytes of one request's output as JSON
SPAWN_BACKOFF = (0.1, 5.0)  #: first and longest wait between attempts to start an instance
STOP_WAIT = 10.0  #: seconds stop() waits for the owners of busy slots to end their runs

_LIVE: "weakref.WeakSet[DeploymentRuntime]" = weakref.WeakSet()


@dataclass(frozen=True)
class Outcome:
    status: str  # "completed" | "failed" | "cancelled"
    result: Any = None
    error_message: Optional[str] = None


@dataclass(eq=False)
class Ticket:
    """One request handed to a runtime: its data (JSON text), mode and timeout; cancel() is an event its owner
    reacts to. `updates` receives streaming updates."""

    id: str
    data: str
    mode: str
    timeout: float
    deadline: Optional[float] = None  # monotonic; None: set when the request starts
    updates: Optional[Callable[[str], None]] = None
    cancelled: bool = False
    _wake: Optional[Callable[[], None]] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check_run_arguments(self.mode, self.timeout)

    @classmethod
    def direct(cls, request_id: str, data: str, timeout: float, **kwargs: Any) -> "Ticket":
        return cls(request_id, data, "express", timeout, deadline=time.monotonic() + timeout, **kwargs)

    def cancel(self) -> None:
        self.cancelled = True
        wake = self._wake
        if wake is not None:
            wake()


class Report(Protocol):
    """What an owner of a run hears: a ticket started (only when the runtime has to wait for it), tickets ended."""

    def started(self, ticket: Ticket) -> None: ...

    def finished(self, outcomes: List[Tuple[Ticket, Outcome]]) -> None: ...


class Slot:
    """A place for one instance, with the pipe that wakes its owner (a cancel or a stop)."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.instance: Optional[Instance] = None
        self.spawn_failures = 0
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)

    @property
    def wake_fd(self) -> int:
        return self._wake_read

    def wake(self) -> None:
        try:
            os.write(self._wake_write, b"!")
        except (BlockingIOError, OSError):  # full: a wake-up is pending anyway; closed: the runtime stopped
            pass

    def drain(self) -> None:
        try:
            while os.read(self._wake_read, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        for fd in (self._wake_read, self._wake_write):
            os.close(fd)


def _check_run_arguments(request_mode: str, timeout: Any) -> None:
    if request_mode not in REQUEST_MODES:
        raise ValueError(f"request_mode must be one of {', '.join(REQUEST_MODES)}, got {request_mode!r}")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")


class DeploymentRuntime:
    """Runs requests on `instances` worker processes of one deployment package; thread-safe."""

    def __init__(
        self,
        package_dir: Path,
        *,
        context: dict,
        instances: int = 1,
        log_path: Union[Path, LogFile],
        max_output_size: int = DEFAULT_MAX_OUTPUT_SIZE,
        max_log_size: int = DEFAULT_MAX_LOG_SIZE,
    ) -> None:
        """context: the init context minus process_id (project, deployment, version, input_type, output_type,
        input_fields, output_fields, language, environment_variables). log_path: where the instances' output goes,
        or a LogFile that other versions of the deployment share."""
        package_dir = Path(package_dir).resolve()
        if not package_dir.is_dir():
            raise ValueError(f"package_dir must be an existing directory, got {str(package_dir)!r}")
        if not isinstance(instances, int) or isinstance(instances, bool) or instances < 1:
            raise ValueError(f"instances must be an integer >= 1, got {instances!r}")
        if not isinstance(context, dict):
            raise ValueError(f"context must be a dict, got {type(context).__name__}")
        self.package_dir = package_dir
        self.context = dict(context)
        self.instances = instances
        self.max_output_size = max_output_size
        self.log = log_path if isinstance(log_path, LogFile) else LogFile(Path(log_path).resolve(), max_log_size)
        self._cond = threading.Condition()
        self._slots: List[Slot] = []
        self._idle: Deque[Slot] = deque()
        self._started = False
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def start(self) -> None:
        """Start the worker processes; loading happens in the background (load errors fail the requests)."""
        with self._cond:
            if self._started or self._stopped:
                raise RuntimeError("a DeploymentRuntime can be started only once")
            self._slots = [Slot(index) for index in range(self.instances)]
            try:
                for slot in self._slots:
                    slot.instance = self._spawn(slot)
            except BaseException:
                self._stopped = True
                kill_all([slot.instance for slot in self._slots if slot.instance is not None])
                raise
            self._idle.extend(self._slots)
            self._started = True
            _LIVE.add(self)

    # -- slots ----------------------------------------------------------------------------------------------------

    def acquire(self, deadline: Optional[float] = None, tickets: Sequence[Ticket] = ()) -> Optional[Slot]:
        """An idle slot, waiting for one; None when the runtime stopped, the deadline passed, or every one of
        `tickets` was cancelled while waiting."""
        with self._cond:
            if not self._started:
                raise RuntimeError("start() the DeploymentRuntime before running requests")
            for ticket in tickets:
                ticket._wake = self._notify_all
            try:
                while not self._idle and not self._stopped and not (tickets and all(t.cancelled for t in tickets)):
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return None
                    self._cond.wait(remaining)
                if self._stopped or (tickets and all(t.cancelled for t in tickets)):
                    return None
                return self._idle.popleft()
            finally:
                for ticket in tickets:
                    ticket._wake = None

    def try_acquire(self) -> Optional[Slot]:
        """An idle slot if there is one now."""
        with self._cond:
            return self._idle.popleft() if self._idle and not self._stopped else None

    def release(self, slot: Slot) -> None:
        with self._cond:
            self._idle.append(slot)
            self._cond.notify_all()

    def _notify_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- running --------------------------------------------------------------------------------------------------

    def run(self, ticket: Ticket) -> Outcome:
        """Run one request on a free instance, waiting for one, and return its outcome."""
        slot = self.acquire(ticket.deadline, [ticket])
        if slot is None:
            return self._unserved(ticket)
        outcomes = _Outcomes()
        try:
            self.execute(slot, [ticket], outcomes)
        finally:
            self.release(slot)
        return outcomes.of(ticket) or _stopped_outcome()

    def _unserved(self, ticket: Ticket) -> Outcome:
        if ticket.cancelled:
            return Outcome("cancelled")
        if self._stopped:
            return _stopped_outcome()
        return _timed_out(ticket.timeout)

    def execute(self, slot: Slot, tickets: Sequence[Ticket], report: Report) -> List[Ticket]:
        """The one execute path: run the tickets in order on the slot (which the caller acquired), reporting
        each; returns the tickets that did not start, free to run again. A ticket cancelled before it started ends
        cancelled. Item k's batch timeout counts from when item k-1 ended."""
        run = _Run(self, slot, tickets, report)
        for ticket in tickets:
            ticket._wake = slot.wake
        try:
            run.go()
        except BaseException:
            logger.exception("running requests %s failed", ", ".join(t.id for t in tickets))
            run.abandon()
            raise
        finally:
            for ticket in tickets:
                ticket._wake = None
            self._settle(slot, run.healthy)
        return run.rest()

    def _settle(self, slot: Slot, healthy: bool) -> None:
        """After a run the slot holds a working instance again: the same one, or a fresh one."""
        if slot.instance is not None and healthy and not self._stopped:
            return
        self.discard(slot)
        if not self._stopped:
            self._refill(slot)

    @staticmethod
    def discard(slot: Slot) -> None:
        """End the slot's instance with its process group."""
        if slot.instance is not None:
            slot.instance.kill()
            slot.instance = None

    def _refill(self, slot: Slot) -> bool:
        """Start an instance in an empty slot; False (and logged) when that failed."""
        try:
            slot.instance = self._spawn(slot)
        except OSError as exc:  # e.g. out of file descriptors or processes: tried again when the slot is used
            slot.spawn_failures += 1
            logger.error(
                "deployment %s: cannot start instance %d (%s); trying again",
                self.context.get("deployment"),
                slot.index,
                exc,
            )
            return False
        slot.spawn_failures = 0
        return True

    def instance_for(self, slot: Slot, deadline: Optional[float], cancelled: Callable[[], bool]) -> Optional[Instance]:
        """The slot's instance, starting one with backoff if it has none; None if the deadline passed, the runtime
        stopped or the run was cancelled first."""
        while slot.instance is None:
            if self._stopped or cancelled() or self._refill(slot):
                break
            first, longest = SPAWN_BACKOFF
            wait = min(longest, first * 2 ** min(slot.spawn_failures, 10))
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    break
            _wait_fd(slot.wake_fd, wait)
            slot.drain()
        return slot.instance

    def _spawn(self, slot: Slot) -> Instance:
        return Instance(slot.index, self.package_dir, self.context, self.log, self.max_output_size)

    def stop(self) -> None:
        """Terminate all workers (running requests end failed); idempotent; never hangs (SIGKILL after a grace
        period), and returns once every worker is reaped or STOP_WAIT has passed."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            idle = list(self._idle)
            self._idle.clear()
            self._cond.notify_all()
        _LIVE.discard(self)
        busy = [slot for slot in self._slots if slot not in idle]
        for slot in busy:
            if slot.instance is not None:
                slot.instance.terminate()  # its owner sees the exit and ends the run
            slot.wake()
        kill_all([slot.instance for slot in idle if slot.instance is not None])
        with self._cond:
            give_up = time.monotonic() + STOP_WAIT
            while len(self._idle) < len(busy) and time.monotonic() < give_up:
                self._cond.wait(give_up - time.monotonic())
        with self._cond:
            for slot in self._idle:  # every slot whose owner is done (an owner stuck past STOP_WAIT keeps its own)
                slot.instance = None
                slot.close()
        self.log.close()


class _Run:
    """The state of one execute(): which ticket runs, what ended, whether the instance is still good."""

    def __init__(self, runtime: DeploymentRuntime, slot: Slot, tickets: Sequence[Ticket], report: Report) -> None:
        self.runtime = runtime
        self.slot = slot
        self.tickets = tickets
        self.report = report
        self.healthy = True
        self.index = 0  # the ticket being run; the ones before it ended
        self.ended: List[Tuple[Ticket, Outcome]] = []  # not reported yet
        self.skips_sent: Set[str] = set()  # the worker was told to skip these (or never got them)

    def go(self) -> None:
        first = self.tickets[0]
        if first.deadline is None:
            first.deadline = time.monotonic() + first.timeout
        instance = self.runtime.instance_for(self.slot, first.deadline, lambda: all(t.cancelled for t in self.tickets))
        if instance is None:
            self._end_unstarted(first)
            return
        if not instance.ready and instance.load_error is None:
            self._await_load(instance, first)
        if instance.load_error is not None or not self.healthy:
            self._fail_all(instance.load_error)
            return
        unsent = {t.id for t in self.tickets if t.cancelled}
        self.skips_sent = set(unsent)
        if len(unsent) < len(self.tickets):
            instance.send(("chunk", [(t.id, t.data, t.mode) for t in self.tickets if t.id not in unsent]))
        begin = time.monotonic()
        while self.index < len(self.tickets) and self.healthy:
            ticket = self.tickets[self.index]
            if ticket.id in unsent:
                outcome = Outcome("cancelled")
            else:
                if ticket.deadline is None:
                    ticket.deadline = begin + ticket.timeout
                outcome = self._wait_for(instance, ticket)
                if not self.healthy:  # the request has stopped only once its instance has
                    self.runtime.discard(self.slot)
            self.ended.append((ticket, outcome))
            self.index += 1
            begin = time.monotonic()
        self._flush()

    def _wait_for(self, instance: Instance, ticket: Ticket) -> Outcome:
        """Read the worker's messages for this ticket until it ends; react to cancels, exits, timeouts, stops."""
        announced = False
        exited = False
        while True:
            try:
                for kind, text in instance.messages():
                    outcome = self._message(ticket, kind, text)
                    if outcome is not None:
                        return outcome
            except ProtocolError as exc:
                return self._fail(
                    f"The deployment instance broke the protocol with the server ({exc}); was "
                    "something written to its pipe?"
                )
            if exited:
                if self.runtime.stopped:
                    return self._fail(_STOPPED)
                return self._fail(f"The deployment instance died while processing the request ({instance.death()})")
            if ticket.cancelled and ticket.id not in self.skips_sent:  # it runs: only ending the instance stops it
                self.healthy = False
                return Outcome("cancelled")
            if self.runtime.stopped:
                return self._fail(_STOPPED)
            if not announced:
                self._flush()
                self.report.started(ticket)
                announced = True
            exited, woken = instance.wait(ticket.deadline, self.slot.wake_fd)
            if exited:
                instance.read_available()
            if woken:
                self.slot.drain()
                self._send_skips(instance)
            if not exited and ticket.deadline is not None and time.monotonic() >= ticket.deadline:
                return self._fail(_timed_out(ticket.timeout).error_message or "")

    def _message(self, ticket: Ticket, kind: str, text: str) -> Optional[Outcome]:
        if kind == UPDATE:
            if ticket.updates is not None:
                try:
                    ticket.updates(text)
                except Exception:  # e.g. the streaming client went away; the request goes on
                    ticket.updates = None
            return None
        if kind == DONE:
            try:
                return Outcome("completed", result=json.loads(text))
            except RecursionError:
                return Outcome("failed", error_message="The deployment output is nested too deeply to be stored")
        if kind == ERROR:
            return Outcome("failed", error_message=text)
        if kind == SKIPPED:
            return Outcome("cancelled")
        return self._fail(f"The deployment instance sent an unexpected message ({kind!r})")

    def _await_load(self, instance: Instance, first: Ticket) -> None:
        """The first message of a worker says whether the package loaded; after a load error the worker exits."""
        exited = False
        while True:
            try:
                for kind, text in instance.messages():
                    if kind == READY:
                        instance.ready = True
                        return
                    instance.load_error = f"The deployment could not be loaded: {text if kind == LOAD_ERROR else kind}"
                    return
            except ProtocolError as exc:
                instance.load_error = f"The deployment could not be loaded: the instance broke the protocol ({exc})"
                return
            if exited:
                instance.load_error = f"The deployment could not be loaded: the instance died ({instance.death()})"
                return
            late = first.deadline is not None and time.monotonic() >= first.deadline
            if late or self.runtime.stopped or all(t.cancelled for t in self.tickets):
                self.healthy = False
                return
            exited, woken = instance.wait(first.deadline, self.slot.wake_fd)
            if exited:
                instance.read_available()
            if woken:
                self.slot.drain()

    def _send_skips(self, instance: Instance) -> None:
        for ticket in self.tickets[self.index + 1 :]:
            if ticket.cancelled and ticket.id not in self.skips_sent:
                self.skips_sent.add(ticket.id)
                instance.send(("skip", ticket.id))

    def _fail(self, message: str) -> Outcome:
        self.healthy = False
        return Outcome("failed", error_message=message)

    def _fail_all(self, load_error: Optional[str]) -> None:
        """The package did not load (every ticket fails with why), or loading was cut short (by a timeout, a
        cancel or a stop: the first ticket ends, the others may run again)."""
        if load_error is not None:
            self.ended += [
                (t, Outcome("cancelled") if t.cancelled else Outcome("failed", error_message=load_error))
                for t in self.tickets
            ]
            self.index = len(self.tickets)
        else:
            self._end_unstarted(self.tickets[0])
        self._flush()

    def _end_unstarted(self, first: Ticket) -> None:
        """No instance to run on (yet): the first ticket ends (cancelled, stopped or timed out)."""
        if self.runtime.stopped and not first.cancelled:
            return  # it never started: free to run again
        self.ended.append((first, self.runtime._unserved(first)))
        self.index = 1
        self._flush()

    def _flush(self) -> None:
        if self.ended:
            ended, self.ended = self.ended, []
            self.report.finished(ended)

    def abandon(self) -> None:
        """After an exception: the instance may be in the middle of anything, so it goes; the started ticket fails."""
        self.healthy = False
        if self.index < len(self.tickets):
            ticket = self.tickets[self.index]
            self.index += 1
            try:
                self.report.finished([(ticket, Outcome("failed", error_message="internal error of the local server"))])
            except Exception:
                logger.exception("reporting request %s failed", ticket.id)

    def rest(self) -> List[Ticket]:
        """The tickets that did not start: cancelled ones are reported as such, the others may run again."""
        rest = list(self.tickets[self.index :])
        cancelled = [(t, Outcome("cancelled")) for t in rest if t.cancelled]
        if cancelled:
            self.report.finished(cancelled)
        return [t for t in rest if not t.cancelled]


class _Outcomes:
    """A Report that keeps the outcomes, for run()."""

    def __init__(self) -> None:
        self._outcomes: Dict[str, Outcome] = {}

    def started(self, ticket: Ticket) -> None:
        pass

    def finished(self, outcomes: List[Tuple[Ticket, Outcome]]) -> None:
        self._outcomes.update((ticket.id, outcome) for ticket, outcome in outcomes)

    def of(self, ticket: Ticket) -> Optional[Outcome]:
        return self._outcomes.get(ticket.id)


def _wait_fd(fd: int, seconds: float) -> None:
    select.select([fd], [], [], max(0.0, seconds))


_STOPPED = "The server stopped while the request was processing"


def _timed_out(timeout: float) -> Outcome:
    return Outcome("failed", error_message=f"Request exceeded its timeout of {timeout:g} seconds")


def _stopped_outcome() -> Outcome:
    return Outcome("failed", error_message=_STOPPED)


@atexit.register
def _stop_all() -> None:
    """Workers nobody stopped are stopped at exit, so none outlives the server."""
    for runtime in list(_LIVE):
        runtime.stop()
