"""Worker processes that run a deployment package, one process per instance.

Each instance is a fresh Python process running _worker.py (the server is threaded, so no fork) with a dedicated
Pipe; the deployment's stdout/stderr go to the log file, never to the pipe. Idle instances are handed out to
calling threads; an instance that died, timed out or was cancelled is killed, joined and replaced by a fresh one in
the same slot (same process_id). A package that fails to load is not restarted: each request it gets fails with the
load error. A request's timeout also covers waiting for its instance to finish loading the package (first request,
or the first one after a replacement)."""

import atexit
import json
import math
import multiprocessing
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

from ubiops.local import _worker

REQUEST_MODES = ("express", "batch")
KILL_GRACE = 1.0  # seconds between terminate (SIGTERM) and kill (SIGKILL)
READ_SIZE = 65536  # bytes per read from a worker's pipe

_LIVE: "weakref.WeakSet[DeploymentRuntime]" = weakref.WeakSet()


@dataclass(frozen=True)
class Outcome:
    status: str  # "completed" | "failed" | "cancelled"
    result: Any = None
    error_message: Optional[str] = None


class _Died(Exception):
    """The instance's pipe closed: the process exited or was killed."""


class _TimedOut(Exception):
    pass


class _Unsendable(Exception):
    """The request could not be serialised for the worker; the instance is untouched."""


class _Process:
    """A worker started with subprocess rather than multiprocessing: "spawn" would re-run the parent's main script
    in every worker, so a script that starts a LocalServer without an ``if __name__ == "__main__":`` guard would
    break. Offers the small part of multiprocessing.Process that the runtime uses."""

    def __init__(self, popen: "subprocess.Popen[bytes]") -> None:
        self._popen = popen
        self.pid = popen.pid

    @property
    def exitcode(self) -> Optional[int]:
        return self._popen.poll()

    def join(self, timeout: Optional[float] = None) -> None:
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def terminate(self) -> None:
        if self._popen.poll() is None:
            self._popen.terminate()

    def kill(self) -> None:
        if self._popen.poll() is None:
            self._popen.kill()


class _Instance:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, slot: int, package_dir: Path, context: Dict[str, Any], log_path: Path) -> None:
        self.slot = slot
        self.ready = False
        self.killed = False  # terminated by a cancel
        self.send_lock = threading.Lock()  # cancel() may send a skip notice while a chunk is being sent
        self.load_error: Optional[str] = None
        self.conn, child = multiprocessing.Pipe(duplex=True)
        self._received = bytearray()  # read from the pipe, not unpacked yet
        # The child runs _worker.py as a standalone file that imports only the standard library, so an instance
        # start does not pay for importing the ubiops client.
        popen = subprocess.Popen(
            [sys.executable, _worker.__file__, str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        self.process = _Process(popen)
        child.close()  # so that the parent sees EOF as soon as the worker is gone
        self.conn.send((str(package_dir), {**context, "process_id": slot}, str(log_path)))
        # One reusable poll object: a single syscall per wait, where Connection.poll builds a selector each time.
        self._poller = select.poll() if hasattr(select, "poll") else None
        if self._poller is not None:
            self._poller.register(self.conn.fileno(), select.POLLIN)

    def _readable(self, timeout: float) -> bool:
        if self._poller is None:
            return self.conn.poll(timeout)
        return bool(self._poller.poll(timeout * 1000))

    def receive(self, deadline: float, before_wait: Optional[Callable[[], None]] = None) -> Tuple[str, Any]:
        """The next message. Reads whatever the worker has sent so far at once (a chunk's results often come in
        together), so most messages cost no system call. before_wait is called if the message is not there yet."""
        while True:
            message = self._unpack()
            if message is not None:
                return message
            if before_wait is not None:
                before_wait()
                before_wait = None
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._readable(remaining):
                raise _TimedOut
            try:
                data = os.read(self.conn.fileno(), READ_SIZE)
            except OSError as exc:
                raise _Died from exc
            if not data:
                raise _Died
            self._received += data

    def _unpack(self) -> Optional[Tuple[str, Any]]:
        """The first whole message in the buffer, framed as multiprocessing.Connection.send frames it: a 4-byte
        big-endian length (-1 for an 8-byte length after it), then the pickle."""
        buffer = self._received
        if len(buffer) < 4:
            return None
        (size,) = struct.unpack_from("!i", buffer)
        start = 4
        if size == -1:
            if len(buffer) < 12:
                return None
            (size,) = struct.unpack_from("!Q", buffer, 4)
            start = 12
        if len(buffer) < start + size:
            return None
        message: Tuple[str, Any] = pickle.loads(buffer[start : start + size])
        del buffer[: start + size]
        return message

    def send(self, message: Tuple[Any, ...]) -> None:
        try:
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # e.g. RecursionError for deeply nested data: nothing was sent
            raise _Unsendable(f"{type(exc).__name__}: {exc}") from exc
        try:
            with self.send_lock:
                self.conn.send_bytes(payload)
        except OSError as exc:
            raise _Died from exc

    def death(self) -> str:
        """How the process ended, e.g. "exit code 3" or "killed by signal SIGSEGV"."""
        self.process.join(KILL_GRACE)
        code = self.process.exitcode
        if code is None:
            return "it closed its pipe"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def kill(self) -> None:
        """Terminate, kill after a grace period, and always join (no zombies)."""
        if self.process.exitcode is None:
            self.process.terminate()
            self.process.join(KILL_GRACE)
            if self.process.exitcode is None:
                self.process.kill()
        self.process.join()
        self.conn.close()


class _Call:
    """One request of a run() or run_chunk() in progress; cancel() marks it. A chunk item that has not started
    is skipped by the worker; a started one is stopped by killing its instance."""

    __slots__ = ("instance", "cancelled", "started")

    def __init__(self, started: bool = True) -> None:
        self.instance: Optional[_Instance] = None
        self.cancelled = False
        self.started = started


class DeploymentRuntime:
    """Runs requests on `instances` worker processes of one deployment package; thread-safe."""

    def __init__(self, package_dir: Path, *, context: dict, instances: int = 1, log_path: Path) -> None:
        """context: the init context minus process_id (project, deployment, version, input_type, output_type,
        input_fields, output_fields, language, environment_variables)."""
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
        self.log_path = Path(log_path).resolve()
        self._cond = threading.Condition()
        self._slots: List[_Instance] = []
        self._idle: Deque[_Instance] = deque()
        self._calls: Dict[str, _Call] = {}
        self._started = False
        self._stopped = False

    def start(self) -> None:
        """Start the worker processes; loading happens in the background (load errors fail the requests)."""
        with self._cond:
            if self._started or self._stopped:
                raise RuntimeError("a DeploymentRuntime can be started only once")
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._slots = [self._spawn(slot) for slot in range(self.instances)]
            self._idle.extend(self._slots)
            self._started = True
            _LIVE.add(self)

    def run(
        self,
        request_id: str,
        data: Any,
        *,
        request_mode: str,
        timeout: float,
        streaming_update: Optional[Callable[[str], None]] = None,
    ) -> Outcome:
        """Run one request on a free instance (waiting for one if all are busy) and block until it finished."""
        if request_mode not in REQUEST_MODES:
            raise ValueError(f"request_mode must be one of {', '.join(REQUEST_MODES)}, got {request_mode!r}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < math.inf:
            raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
        call = _Call()
        with self._cond:
            if not self._started:
                raise RuntimeError("start() the DeploymentRuntime before run()")
            self._calls[request_id] = call
            while not self._idle and not self._stopped and not call.cancelled:
                self._cond.wait()
            if self._stopped or call.cancelled:
                del self._calls[request_id]
                return Outcome("cancelled") if call.cancelled else _stopped_outcome()
            instance = call.instance = self._idle.popleft()
        outcome, healthy = self._execute(instance, request_id, data, request_mode, timeout, streaming_update)
        with self._cond:
            self._calls.pop(request_id, None)
            if call.cancelled:
                outcome, healthy = Outcome("cancelled"), False
            elif self._stopped and outcome.status != "completed":
                outcome = _stopped_outcome()
        self._hand_back(instance, healthy)
        return outcome

    def run_chunk(
        self,
        items: Sequence[Tuple[str, str, float]],
        started: Callable[[str], None],
        finished: Callable[[List[Tuple[str, Outcome]]], None],
    ) -> List[str]:
        """Run batch-mode requests (request_id, JSON text of the data, timeout) one after another on one instance,
        with one message to the worker for all of them. Item k starts, and its timeout starts counting, when item
        k-1 ended. Called in this thread: finished([(request_id, outcome), ...]) with the items that ended, before
        each wait for the worker and at the end, and then started(request_id) for the item being waited for (so an
        item that ended before the runtime got to it is only reported finished). A timeout, a dead instance, a
        cancel of the running item or a stop cuts the chunk short: returns the ids of the items that did not start
        (free to run again); an item cancelled before it started is skipped and ends cancelled."""
        calls = {request_id: _Call(started=False) for request_id, _data, _timeout in items}
        with self._cond:
            if not self._started:
                raise RuntimeError("start() the DeploymentRuntime before run_chunk()")
            self._calls.update(calls)
            while not self._idle and not self._stopped:
                self._cond.wait()
            if self._stopped:
                for request_id in calls:
                    del self._calls[request_id]
                return list(calls)
            instance = self._idle.popleft()
            for call in calls.values():
                call.instance = instance
        try:
            healthy, done = self._execute_chunk(instance, items, calls, time.monotonic(), started, finished)
        except BaseException:  # a callback failed: the worker may still be busy with the chunk, so it goes
            healthy, done = False, len(items)
            raise
        finally:
            rest = self._end_chunk(instance, items, calls, healthy, done)
        skipped = [(request_id, Outcome("cancelled")) for request_id in rest if calls[request_id].cancelled]
        if skipped:
            finished(skipped)
        return [request_id for request_id in rest if not calls[request_id].cancelled]

    def _end_chunk(
        self,
        instance: _Instance,
        items: Sequence[Tuple[str, str, float]],
        calls: Dict[str, _Call],
        healthy: bool,
        done: int,
    ) -> List[str]:
        """Forget the chunk's calls, give the instance back or replace it; returns the ids that did not start."""
        with self._cond:
            for request_id in calls:
                self._calls.pop(request_id, None)
        self._hand_back(instance, healthy)
        return [request_id for request_id, _data, _timeout in items[done:]]

    def _execute_chunk(
        self,
        instance: _Instance,
        items: Sequence[Tuple[str, str, float]],
        calls: Dict[str, _Call],
        begin: float,
        started: Callable[[str], None],
        finished: Callable[[List[Tuple[str, Outcome]]], None],
    ) -> Tuple[bool, int]:
        """Returns whether the instance can serve the next request and how many items ended."""
        try:
            if not instance.ready and instance.load_error is None:
                self._await_load(instance, begin + items[0][2])
        except _TimedOut:
            started(items[0][0])
            finished([(items[0][0], _timed_out(items[0][2]))])
            return False, 1
        if instance.load_error is None:
            try:
                instance.send(("chunk", [(request_id, data, "batch") for request_id, data, _timeout in items]))
            except _Died:
                pass  # the first receive sees it
        ended: List[Tuple[str, Outcome]] = []

        def report() -> None:
            if ended:
                outcomes = ended[:]
                ended.clear()
                finished(outcomes)

        try:
            for index, (request_id, _data, timeout) in enumerate(items):
                call = calls[request_id]
                with self._cond:
                    call.started = True
                    skipped = call.cancelled

                def waiting(request_id: str = request_id, skipped: bool = skipped) -> None:
                    report()
                    if not skipped:
                        started(request_id)

                healthy = True
                try:
                    outcome = Outcome("failed", error_message=instance.load_error) if instance.load_error else None
                    while outcome is None:
                        kind, payload = instance.receive(begin + timeout, waiting)
                        if kind == "done":
                            outcome = Outcome("completed", result=json.loads(payload))
                        elif kind in ("error", "skipped"):
                            outcome = Outcome("failed", error_message=payload)
                except _TimedOut:
                    outcome, healthy = _timed_out(timeout), False
                except _Died:
                    if instance.killed and not call.cancelled:  # a cancel meant for the item before this one
                        return False, index
                    message = f"The deployment instance died while processing the request ({instance.death()})"
                    outcome, healthy = Outcome("failed", error_message=message), False
                with self._cond:
                    if call.cancelled:
                        outcome = Outcome("cancelled")
                    elif self._stopped and outcome.status != "completed":
                        outcome = _stopped_outcome()
                    del self._calls[request_id]
                ended.append((request_id, outcome))
                if not healthy:
                    return False, index + 1
                begin = time.monotonic()
            return True, len(items)
        finally:
            report()

    def cancel(self, request_id: str) -> bool:
        """Stop a running (or instance-waiting) request; its run() returns Outcome("cancelled")."""
        with self._cond:
            call = self._calls.get(request_id)
            if call is None or call.cancelled:
                return False
            call.cancelled = True
            if call.instance is None:
                self._cond.notify_all()
            elif not call.started:
                try:
                    call.instance.send(("skip", request_id))
                except _Died:  # the chunk's run sees the dead instance; the item ends cancelled
                    pass
            elif call.instance.process.exitcode is None:
                call.instance.killed = True
                # run() sees EOF, then joins and replaces the instance; SIGKILL if SIGTERM is ignored.
                call.instance.process.terminate()
                escalate = threading.Timer(KILL_GRACE, call.instance.process.kill)
                escalate.daemon = True
                escalate.start()
            return True

    def stop(self) -> None:
        """Terminate all workers; idempotent; never hangs (SIGKILL after a grace period)."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            slots, idle = list(self._slots), list(self._idle)
            self._idle.clear()
            self._cond.notify_all()
        _LIVE.discard(self)
        for instance in slots:
            if instance.process.exitcode is None:
                instance.process.terminate()
        for instance in slots:
            instance.process.join(KILL_GRACE)
            if instance.process.exitcode is None:
                instance.process.kill()
            instance.process.join()
        for instance in idle:
            instance.conn.close()

    def _hand_back(self, instance: _Instance, healthy: bool) -> None:
        """After a run: the instance rejoins the idle ones, or is killed (and replaced unless stopping)."""
        with self._cond:
            if healthy and not self._stopped:
                self._idle.append(instance)
                self._cond.notify()
                return
            stopped = self._stopped
        instance.kill()
        if not stopped:
            self._replace(instance)

    def _spawn(self, slot: int) -> _Instance:
        return _Instance(slot, self.package_dir, self.context, self.log_path)

    def _replace(self, dead: _Instance) -> None:
        fresh = self._spawn(dead.slot)
        with self._cond:
            if not self._stopped:
                self._slots[dead.slot] = fresh
                self._idle.append(fresh)
                self._cond.notify()
                return
        fresh.kill()

    def _execute(
        self,
        instance: _Instance,
        request_id: str,
        data: Any,
        request_mode: str,
        timeout: float,
        streaming_update: Optional[Callable[[str], None]],
    ) -> Tuple[Outcome, bool]:
        """Returns the outcome and whether the instance can serve the next request."""
        deadline = time.monotonic() + timeout
        try:
            if not instance.ready and instance.load_error is None:
                self._await_load(instance, deadline)
            if instance.load_error is not None:
                return Outcome("failed", error_message=instance.load_error), True
            instance.send(("run", request_id, data, request_mode))
            while True:
                kind, payload = instance.receive(deadline)
                if kind != "update":
                    break
                if streaming_update is not None:
                    try:
                        streaming_update(payload)
                    except Exception:  # e.g. the streaming client went away; the request goes on
                        streaming_update = None
        except _Unsendable as exc:
            return Outcome(
                "failed", error_message=f"The request data could not be passed to the deployment: {exc}"
            ), True
        except _TimedOut:
            return _timed_out(timeout), False
        except _Died:
            message = f"The deployment instance died while processing the request ({instance.death()})"
            return Outcome("failed", error_message=message), False
        if kind == "done":
            return Outcome("completed", result=json.loads(payload)), True
        return Outcome("failed", error_message=payload), True

    @staticmethod
    def _await_load(instance: _Instance, deadline: float) -> None:
        """The first message of a worker says whether the package loaded; after a load error the worker exits."""
        try:
            kind, payload = instance.receive(deadline)
        except _Died:
            kind, payload = "load_error", f"the instance died ({instance.death()})"
        if kind == "ready":
            instance.ready = True
            return
        instance.load_error = f"The deployment could not be loaded: {payload}"
        instance.process.join(KILL_GRACE)  # the worker exits on its own after a load error; reap it


def _timed_out(timeout: float) -> Outcome:
    return Outcome("failed", error_message=f"Request exceeded its timeout of {timeout:g} seconds")


def _stopped_outcome() -> Outcome:
    return Outcome("failed", error_message="The deployment runtime was stopped")


@atexit.register
def _stop_all() -> None:
    """Workers nobody stopped are stopped at exit, so none outlives the server."""
    for runtime in list(_LIVE):
        runtime.stop()
