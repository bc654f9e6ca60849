"""One worker process of a deployment: its process group, its pipe and framing, its lifeline and its log.

The worker runs _worker.py (the server is threaded, so no fork) in a session and process group of its own, so that
ending an instance ends whatever the deployment code started too. Its exit is seen from the process (a pidfd where
the OS has one), not from the pipe: a forked child may keep the pipe open long after the worker is gone. A lifeline
pipe, whose only write end the server holds, tells the worker that the server died (even by SIGKILL): the worker
then ends its whole group, so no orphan keeps running a request that a restarted server runs again.

Messages from the worker are framed as multiprocessing's Connection frames them (a 4-byte big-endian length) and
hold one kind byte and UTF-8 text: nothing the worker sends is unpickled here.
"""

import logging
import os
import secrets
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from multiprocessing import Pipe
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ubiops.local import _worker
from ubiops.local.logfile import LogFile

instance_events = logging.getLogger("ubiops.local.instances")  #: starts, loads, exits and crashes, for the terminal

KILL_GRACE = 1.0  #: seconds between SIGTERM and SIGKILL of an instance's process group
READ_SIZE = 65536  #: bytes per read from a worker's pipe
FRAME_OVERHEAD = 1 << 16  #: bytes a frame may hold beyond the output limit (kind byte, error text)
SERVER_TOKEN_VARIABLE = "UBIOPS_LOCAL_TOKEN"  #: the server's token, never passed on to deployment code
EXIT_POLL = 0.5  #: seconds between exit checks where the OS offers no pidfd
EXIT_AFTER_EOF = 1.0  #: seconds a worker whose pipe closed gets to be seen exiting (else it closed the pipe itself)
LOAD_FAILED = "The deployment could not be loaded"


class ProtocolError(Exception):
    """The worker's pipe carried something that is not a message of ours (deployment code wrote to it?)."""


class Instance:
    """A started worker process; owned by one thread at a time (the one running requests on it)."""

    def __init__(
        self,
        slot: int,
        package_dir: Path,
        context: Dict[str, Any],
        log: LogFile,
        max_output: int,
        *,
        python: str = sys.executable,
    ) -> None:
        """python: the interpreter that runs the worker (the package's environment); _worker.py needs only its
        standard library."""
        self.slot = slot
        self.label = f"{context.get('deployment')} {context.get('version')} instance {slot}"
        self.ready = False
        self.load_error: Optional[str] = None
        self.max_frame = max_output + FRAME_OVERHEAD
        self.conn, child = Pipe(duplex=True)
        lifeline_read, lifeline = os.pipe()
        self._lifeline: Optional[int] = lifeline
        try:
            self.process = subprocess.Popen(
                [python, _worker.__file__, str(child.fileno()), str(lifeline_read)],
                pass_fds=(child.fileno(), lifeline_read),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env=_worker_environment(),
            )
        except BaseException:
            self.conn.close()
            os.close(lifeline)
            raise
        finally:
            child.close()  # only the worker holds these ends now
            os.close(lifeline_read)
        self.pid = self.process.pid
        self._started = time.monotonic()
        instance_events.info("%s: started (pid %d)", self.label, self.pid)
        self._pidfd = _pidfd(self.pid)
        self._buffer = bytearray()
        self._eof = False
        self._ended = False
        self._terminated = False  # the server asked it to end (so its exit is no crash)
        self._end_lock = threading.Lock()  # kill() may come from the owner and from a stopping runtime at once
        self._fd_lock = threading.Lock()  # exited() may come from any thread (the web view) while close() runs
        self._strays: Optional[List[Tuple[int, Optional[int]]]] = None  # (pid, pidfd) of the descendants, at the end
        # stdout and stderr: one pump each, which follows the worker's request markers (see logfile.py)
        marker = f"\x1bubiops-local-{secrets.token_hex(8)}:"
        self._pumps = []
        for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr)):
            assert stream is not None
            pump = threading.Thread(
                target=log.pump,
                args=(stream, name, str(context.get("deployment")), str(context.get("version")), slot, marker.encode()),
                name=f"log-{context.get('deployment')}-{slot}-{name}",
                daemon=True,
            )
            pump.start()
            self._pumps.append(pump)
        # if it died, wait() sees that
        self.send((str(package_dir), {**context, "process_id": slot}, max_output, marker))

    # -- sending and receiving ----------------------------------------------------------------------------------

    def send(self, message: Tuple[Any, ...]) -> bool:
        """False when the worker is gone (its exit is seen by the next wait)."""
        try:
            self.conn.send(message)
            return True
        except OSError:
            return False

    def wait(self, deadline: Optional[float], wake_fd: int) -> Tuple[bool, bool]:
        """Block until the pipe is readable, the process exited, wake_fd was written or the deadline passed;
        returns (exited, woken). Data that arrived is read into the buffer."""
        poller = select.poll()
        if not self._eof:
            poller.register(self.conn.fileno(), select.POLLIN)
        if self._pidfd is not None:
            poller.register(self._pidfd, select.POLLIN)
        poller.register(wake_fd, select.POLLIN)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if self._pidfd is None:
            remaining = EXIT_POLL if remaining is None else min(remaining, EXIT_POLL)
        events = dict(poller.poll(None if remaining is None else remaining * 1000))
        if not self._eof and events.get(self.conn.fileno()):
            self._read()
        exited = bool(events.get(self._pidfd)) if self._pidfd is not None else self.exited()  # a pidfd: one poll
        return exited, bool(events.get(wake_fd))

    def await_load(
        self, deadline: Optional[float], wake_fd: int, drain: Callable[[], None], give_up: Callable[[], bool]
    ) -> bool:
        """Wait for the worker's first message, which says whether the package loaded (after a load error the
        worker exits); sets `ready` or `load_error`. Returns early with neither set when give_up() says so (checked
        at the start and whenever wake_fd is written), or the deadline passed. False when the worker closed its
        pipe without exiting: it cannot be trusted."""
        exited = False
        while True:
            try:
                for kind, text in self.messages():
                    if kind == _worker.READY:
                        self.ready = True
                        instance_events.info("%s: loaded in %.2f s", self.label, time.monotonic() - self._started)
                    else:
                        self.load_error = f"{LOAD_FAILED}: {text if kind == _worker.LOAD_ERROR else kind}"
                    return True
            except ProtocolError as exc:
                self.load_error = f"{LOAD_FAILED}: the instance broke the protocol ({exc})"
                return True
            if exited:
                self.load_error = f"{LOAD_FAILED}: the instance died ({self.death()})"
                return True
            if self.closed:  # a worker that exits closes the pipe just before it is seen to exit
                exited = self.wait_exit(EXIT_AFTER_EOF)
                if not exited:
                    self.load_error = f"{LOAD_FAILED}: the instance closed its pipe"
                    return False
                self.read_available()
                continue
            if give_up() or (deadline is not None and time.monotonic() >= deadline):
                return True
            exited, woken = self.wait(deadline, wake_fd)
            if exited:
                self.read_available()
            if woken:
                drain()

    def leftover(self) -> bool:
        """After the last answer of a run: something more arrived (nothing of ours sends it), or the pipe closed."""
        self.read_available()
        return bool(self._buffer) or self._eof

    def read_available(self) -> None:
        """Whatever the pipe holds right now (after an exit, the last messages the worker sent)."""
        while not self._eof and _readable(self.conn.fileno()):  # Connection.poll() builds a selector per call
            self._read()

    def _read(self) -> None:
        try:
            data = os.read(self.conn.fileno(), READ_SIZE)
        except OSError:
            data = b""
        if not data:
            self._eof = True
        self._buffer += data

    def messages(self) -> Iterator[Tuple[str, str]]:
        """The whole messages in the buffer, as (kind, text); raises ProtocolError on anything else."""
        buffer = self._buffer
        while len(buffer) >= 4:
            (size,) = struct.unpack_from("!i", buffer)
            if not 1 <= size <= self.max_frame:
                raise ProtocolError(f"a frame of {size} bytes")
            if len(buffer) < 4 + size:
                return
            kind = chr(buffer[4])
            if kind not in _worker.KINDS:
                raise ProtocolError(f"a message of unknown kind {kind!r}")
            try:
                text = bytes(buffer[5 : 4 + size]).decode("utf-8", "surrogatepass")
            except UnicodeDecodeError as exc:
                raise ProtocolError(f"a message of kind {kind!r} whose text is not UTF-8 ({exc.reason})") from None
            del buffer[: 4 + size]
            yield kind, text

    # -- the process ----------------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """The pipe gave EOF: every process holding the worker's end closed it, so nothing can answer any more."""
        return self._eof

    def wait_exit(self, seconds: float) -> bool:
        """Whether the process exits within `seconds`."""
        give_up = time.monotonic() + seconds
        while not self.exited():
            remaining = give_up - time.monotonic()
            if remaining <= 0:
                return False
            if self._pidfd is not None:
                select.select([self._pidfd], [], [], remaining)
            else:
                time.sleep(min(remaining, 0.01))
        return True

    def exited(self) -> bool:
        with self._fd_lock:  # never select() a pidfd that close() closed, or the number some other file reused
            if self._pidfd is not None:
                return _readable(self._pidfd)
        return self.process.poll() is not None

    def death(self) -> str:
        """How the process ended, e.g. "exit code 3" or "killed by signal SIGSEGV". Looked at without reaping it:
        until end() reaps it, its pid (and process group id) cannot be given to another process, so signalling the
        group can never reach a stranger that got the number (pids wrap around at 32768 on many systems)."""
        code = self._exit_code()
        if code is None:
            return "it stopped answering"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def _exit_code(self) -> Optional[int]:
        """The exit code (negative: the signal), or None while it runs; the process stays unreaped."""
        if self.process.returncode is not None or not hasattr(os, "waitid"):
            return self.process.poll()
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # reaped already
            return self.process.returncode
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def terminate(self) -> None:
        """Ask the whole process group to end (SIGTERM); kill() finishes the job."""
        self._collect_strays()
        with self._end_lock:
            ended = self._ended
        if not ended:  # once reaped, the group id may belong to someone else
            self._terminated = True
            self._signal_group(signal.SIGTERM)

    def kill(self, grace: float = KILL_GRACE) -> None:
        """end(), then close the server's ends."""
        self.end(grace)
        self.close()

    def end(self, grace: float = KILL_GRACE) -> None:
        """End the process group: SIGTERM, SIGKILL after `grace` seconds, then reap; what the worker sent before
        stays readable. Idempotent, never raises."""
        with self._end_lock:
            if self._ended:
                return
            self._ended = True
        self._collect_strays()
        if self.exited() and not self._terminated:  # on its own: it crashed, or exited after a load error
            level = logging.INFO if self.load_error is not None else logging.WARNING
            instance_events.log(level, "%s: exited (%s)", self.label, self.death())
        else:
            instance_events.info("%s: stopped", self.label)
        if not self.exited():
            self._signal_group(signal.SIGTERM)
            give_up = time.monotonic() + grace
            while not self.exited() and time.monotonic() < give_up:
                time.sleep(0.01)
        self._signal_group(signal.SIGKILL)  # also the children that outlived the worker
        self.process.wait()
        with self._end_lock:
            for _pid, pidfd in self._strays or []:
                if pidfd is not None:
                    os.close(pidfd)
            self._strays = []

    def close(self) -> None:
        """Close the server's ends; the worker sees its lifeline end (if it is still there to see it)."""
        self.conn.close()
        with self._fd_lock:
            fds, self._lifeline, self._pidfd = (self._lifeline, self._pidfd), None, None
        for fd in fds:  # taken once: a second close() at once closes nothing (not a number reused meanwhile)
            if fd is not None:
                os.close(fd)

    def _collect_strays(self) -> None:
        """The worker's descendants, found while it still lives (once it is gone they are nobody's children): a
        child that left the process group (setsid, as daemons do) is ended with the group all the same."""
        with self._end_lock:
            if self._strays is not None or self.exited():
                return
            self._strays = [(pid, _pidfd(pid)) for pid in _worker.descendants(self.pid)]

    def _signal_group(self, signum: int) -> None:
        if self.process.returncode is None:  # reaped: the group id may be another's now
            try:
                os.killpg(self.pid, signum)  # the worker leads its own group: its pid is the group id
            except (ProcessLookupError, PermissionError):
                pass
        with self._end_lock:  # kill() closes the pidfds under this lock: never signal a number reused meanwhile
            for pid, pidfd in self._strays or []:
                try:
                    if pidfd is not None:
                        signal.pidfd_send_signal(pidfd, signum)
                    else:
                        os.kill(pid, signum)
                except OSError:  # gone already
                    pass


def _worker_environment() -> Dict[str, str]:
    """The server's environment minus its own secret: deployment code that prints its environment (or a library
    that reports it) must not put the server's token in a log."""
    return {name: value for name, value in os.environ.items() if name != SERVER_TOKEN_VARIABLE}


def _pidfd(pid: int) -> Optional[int]:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:  # an old kernel
        return None


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def kill_all(instances: List[Instance], grace: float = KILL_GRACE) -> None:
    """End many instances at once: one grace period for all of them, not one each."""
    for instance in instances:
        instance.terminate()
    give_up = time.monotonic() + grace
    while time.monotonic() < give_up and not all(instance.exited() for instance in instances):
        time.sleep(0.01)
    for instance in instances:
        instance.kill(grace=0)
