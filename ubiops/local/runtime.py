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
import logging
import os
import select
import sys
import threading
import time
import weakref
from collections import deque
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple, Union

from ubiops.local.execution import Execution, Outcomes
from ubiops.local.instance import Instance, kill_all
from ubiops.local.logfile import DEFAULT_MAX_LOG_SIZE, LogFile
from ubiops.local.ticket import Outcome, Report, Ticket, stopped_outcome, timed_out

logger = logging.getLogger("ubiops.local")

DEFAULT_MAX_OUTPUT_SIZE = 32 * 1024 * 1024  #: bytes of one request's output as JSON
SPAWN_BACKOFF = (0.1, 5.0)  #: first and longest wait between attempts to start an instance
LOAD_NOTICE = 10.0  #: seconds between the notices that a package is still loading, at start
STOP_WAIT = 10.0  #: seconds stop() waits for the owners of busy slots to end their runs
SUPERSEDED = "a newer change is loaded instead"  #: what reload() returns when a newer reload() came while it loaded

_LIVE: "weakref.WeakSet[DeploymentRuntime]" = weakref.WeakSet()


class DeploymentStartError(Exception):
    """A deployment version cannot start: its environment cannot be built or its package does not load.
    `problems` lists (deployment, version, package_dir, error) of each version that failed."""

    def __init__(self, problems: List[Tuple[str, str, Path, str]]) -> None:
        self.problems = problems
        lines = [f"deployment {d!r} version {v!r} ({path}): {error}" for d, v, path, error in problems]
        super().__init__("\n".join(lines))


class Slot:
    """A place for one instance, with the pipe that wakes its owner (a cancel or a stop)."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.instance: Optional[Instance] = None
        self.spawn_failures = 0
        self.generation = 0  # the runtime's code generation its instance was started with (see reload())
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
        python: str = sys.executable,
        broken: Optional[str] = None,
    ) -> None:
        """context: the init context minus process_id (project, deployment, version, input_type, output_type,
        input_fields, output_fields, language, environment_variables). log_path: where the instances' output goes,
        or a LogFile that other versions of the deployment share. python: the interpreter the instances run in
        (see environments.py)."""
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
        self.python = python
        self.broken = broken  # why this version cannot run (no instance starts; every request fails with it)
        self.log = log_path if isinstance(log_path, LogFile) else LogFile(Path(log_path).resolve(), max_log_size)
        self._cond = threading.Condition()
        self._slots: List[Slot] = []
        self._idle: Deque[Slot] = deque()
        self._started = False
        self._stopped = False
        self._generation = 0  # bumped by each reload() whose new code loaded
        self._reloads = 0  # reload() calls so far: only the newest one's new code may take a slot
        self._trials: List[Slot] = []  # the slots where a reload's new code is loading

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
                for slot in self._slots if self.broken is None else ():
                    slot.instance = self._spawn(slot)
            except BaseException:
                self._stopped = True
                kill_all([slot.instance for slot in self._slots if slot.instance is not None])
                raise
            self._idle.extend(self._slots)
            self._started = True
            _LIVE.add(self)

    def wait_loaded(self) -> Optional[str]:
        """Wait until every instance loaded the package, as UbiOps does when it builds a version; the load error
        if one failed (that instance stays, and each request it gets fails with the error), else None. Call it
        after start() and before the first request."""
        error = self.broken
        began = time.monotonic()
        with self._cond:  # owned while they load: a stop() meanwhile ends them through their owner, as for a run
            held = [slot for slot in self._slots if slot in self._idle]
            for slot in held:
                self._idle.remove(slot)
        try:
            for slot in held:
                failed = self._await_slot(slot, began)  # every slot is awaited, also after one failed
                error = error or failed
        finally:
            for slot in held:
                self.release(slot)
        return error

    def _await_slot(self, slot: Slot, began: float) -> Optional[str]:
        instance = slot.instance
        while instance is not None and not instance.ready and instance.load_error is None and not self._stopped:
            deadline = time.monotonic() + LOAD_NOTICE
            if not instance.await_load(deadline, slot.wake_fd, slot.drain, lambda: self._stopped):
                self.discard(slot)  # it closed its pipe without exiting: a fresh one loads at its first request
            elif not instance.ready and instance.load_error is None and not self._stopped:
                logger.info("%s: still loading after %.0f s", instance.label, time.monotonic() - began)
                continue
            return instance.load_error
        return None

    def instance_states(self) -> List[Dict[str, Any]]:
        """Each slot's instance as the web view shows it: index, state (idle, busy, starting, failed, crashed), pid
        and the load error. Read without taking the slots: a busy slot's owner may be replacing its instance."""
        with self._cond:
            idle = set(map(id, self._idle))
        states = []
        for slot in self._slots:
            instance = slot.instance  # read once
            error = self.broken or (instance.load_error if instance is not None else None)
            if error is not None:
                state = "failed"
            elif instance is None or (instance.ready and instance.exited()):
                state = "crashed" if slot.spawn_failures or instance is not None else "starting"
            elif id(slot) in idle:
                state = "idle"  # a replacement may still be loading: only its next run reads whether it loaded
            else:
                state = "busy" if instance.ready else "starting"
            pid = instance.pid if instance is not None else None
            states.append({"index": slot.index, "state": state, "pid": pid, "error": error})
        return states

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
            return self.unserved(ticket)
        outcomes = Outcomes()
        try:
            self.execute(slot, [ticket], outcomes)
        finally:
            self.release(slot)
        return outcomes.of(ticket) or stopped_outcome()

    def unserved(self, ticket: Ticket) -> Outcome:
        if ticket.cancelled:
            return Outcome("cancelled")
        if self._stopped:
            return stopped_outcome()
        return timed_out(ticket.timeout)

    def execute(self, slot: Slot, tickets: Sequence[Ticket], report: Report) -> List[Ticket]:
        """The one execute path: run the tickets in order on the slot (which the caller acquired), reporting
        each; returns the tickets that did not start, free to run again. A ticket cancelled before it started ends
        cancelled. Item k's batch timeout counts from when item k-1 ended."""
        run = Execution(self, slot, tickets, report)
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
        """After a run the slot holds a working instance again: the same one, or a fresh one (also when the code
        was reloaded while it ran)."""
        if slot.instance is not None and healthy and not self._stopped and slot.generation == self._generation:
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
            slot.generation = self._generation
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
        if slot.instance is not None and slot.instance.ready and slot.instance.exited():  # died idle: not our fault
            self.discard(slot)
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

    def reload(self, python: Optional[str] = None) -> Optional[str]:
        """Run the package's current code (in `python`, a rebuilt environment, if given): a new instance loads it in
        the first slot that is free, beside the old one; if it loads, it takes the slot, the other idle slots get new
        instances now and the busy ones when their run ends (runs in progress finish on the old code). Returns the
        load error when the new code does not load: then the old instances go on serving. A newer reload() ends one
        whose code still loads (which then returns SUPERSEDED), so that code that hangs in loading does not hold its
        slot for good."""
        if self.broken is not None and python is None:
            return f"{self.broken} (change requirements.txt, or restart, to build it again)"
        with self._cond:
            self._reloads += 1
            mine = self._reloads
            older = list(self._trials)
        for loading in older:  # their code is out of date (and may never load): they give up their slots
            loading.wake()
        slot = self.acquire()
        if slot is None:  # stopped
            return None
        try:
            trial = self._spawn(slot, python)
            with self._cond:
                self._trials.append(slot)  # a newer reload() that missed it: await_load checks first
            trial.await_load(None, slot.wake_fd, slot.drain, lambda: self._stopped or self._reloads != mine)
            with self._cond:
                superseded = self._reloads != mine
                current = trial.ready and not self._stopped and not superseded
                if current:  # in one step with the checks: a stop() or a newer reload() sees the new instance
                    self._generation += 1
                    self.python = python or self.python
                    self.broken = None
                    old, slot.instance, slot.generation, slot.spawn_failures = slot.instance, trial, self._generation, 0
            if not current:
                trial.kill()
                if superseded and not self._stopped:
                    return SUPERSEDED
                return trial.load_error or "stopped while loading"
            if old is not None:
                old.kill()
        finally:
            with self._cond:
                if slot in self._trials:
                    self._trials.remove(slot)
            self.release(slot)
        self._renew_idle()
        return None

    def _renew_idle(self) -> None:
        """Give each idle slot of an older generation a new instance (busy ones renew in _settle)."""
        stale = []
        with self._cond:
            for slot in list(self._idle):
                if slot.generation != self._generation:
                    self._idle.remove(slot)
                    stale.append(slot)
        for slot in stale:
            try:
                self.discard(slot)
                if not self._stopped:
                    self._refill(slot)
            finally:
                self.release(slot)

    def _spawn(self, slot: Slot, python: Optional[str] = None) -> Instance:
        return Instance(
            slot.index, self.package_dir, self.context, self.log, self.max_output_size, python=python or self.python
        )

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
            instance = slot.instance  # read once: its owner may be replacing it right now
            if instance is not None:
                instance.terminate()  # its owner sees the exit and ends the run
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


def _wait_fd(fd: int, seconds: float) -> None:
    select.select([fd], [], [], max(0.0, seconds))


@atexit.register
def _stop_all() -> None:
    """Workers nobody stopped are stopped at exit, so none outlives the server."""
    for runtime in list(_LIVE):
        runtime.stop()
