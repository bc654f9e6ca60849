"""Code that runs inside one worker process of a DeploymentRuntime.

Protocol on the dedicated Pipe (the deployment's stdout/stderr never touch it):
  parent -> worker, once:   (package_dir, context, max_output, log_marker)   pickled, as multiprocessing sends
  worker -> parent, once:   READY | LOAD_ERROR message   (after a load error the worker exits)
  parent -> worker:         ("chunk", [(request_id, JSON text of the data, request_mode), ...])
                            | ("skip", request_id)   (a cancel of a chunk item that has not started yet)
  worker -> parent:         per item: BEGIN (not for a chunk's first), UPDATE text*, then DONE json_text |
                            ERROR message; or SKIPPED
Worker messages are one kind byte and UTF-8 text in a Connection frame: the server never unpickles what deployment
code could have written. The worker exits when the parent closes its end of the pipe, and ends its whole process
group when the server's end of the lifeline closes (the server died). This file imports only the standard library,
so the worker process can run it as a file without importing the ubiops package.

Around each request the worker writes `<log_marker>B <request id>` and `<log_marker>E` lines to fds 1 and 2: the
server's log pumps read them to know which request a line of output belongs to, and do not copy them to the log.
"""

import faulthandler
import importlib.util
import inspect
import json
import os
import select
import signal
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

USER_ID = "local"
READY, LOAD_ERROR, BEGIN, UPDATE, DONE, ERROR, SKIPPED = "R", "L", "B", "U", "D", "E", "S"
KINDS = frozenset((READY, LOAD_ERROR, BEGIN, UPDATE, DONE, ERROR, SKIPPED))
MAX_ERROR_CHARS = 10_000  #: characters of an error message; the rest is cut, saying how much


def cap_text(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 60]}... ({len(text) - limit + 60} characters left out)"


#: Where the traceback of a request that raised is: the worker prints it to stderr while the request is marked.
TRACEBACK_HINT = (
    ' (traceback in this request\'s logs: projects_log_list with filters {"deployment_request_id": <id>}, or the '
    "request's page in the web view)"
)


def failure_text(exc: BaseException) -> str:
    """The error_message of a request whose deployment code raised: ``ZeroDivisionError: division by zero`` and
    where its traceback is."""
    name = type(exc).__name__
    try:
        said = str.__str__(str(exc))  # a str subclass of __str__ could override formatting too
    except Exception as err:  # __str__ raised, or returned no str: the request still fails, the instance stays up
        said = f"<str() of the exception raised {type(err).__name__}>"
    text = f"{name}: {said}" if said else name
    return cap_text(text, MAX_ERROR_CHARS - len(TRACEBACK_HINT)) + TRACEBACK_HINT


def frame(kind: str, text: str = "") -> bytes:
    return kind.encode("ascii") + text.encode("utf-8", "surrogatepass")


def main(
    conn: Connection, lifeline: int, package_dir: str, context: Dict[str, Any], max_output: int, log_marker: str = ""
) -> None:
    """Entry point of the worker process: load the package once, then serve requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker stops (no Ctrl-C tracebacks)
    threading.Thread(target=_watch_lifeline, args=(lifeline,), daemon=True).start()
    _line_buffered_output()
    faulthandler.enable()  # a segfault in deployment code leaves a Python traceback in the log
    try:
        deployment = _load(Path(package_dir), context)
    except BaseException as exc:  # anything the package does while loading is a load error
        traceback.print_exception(type(exc), exc, _from_package(exc.__traceback__, Path(package_dir)))
        sys.stderr.flush()
        conn.send_bytes(frame(LOAD_ERROR, cap_text(describe_load_error(exc, Path(package_dir)))))
        return
    conn.send_bytes(frame(READY))
    _Server(conn, deployment, max_output, log_marker.encode("utf-8"), Path(package_dir)).serve()


def _watch_lifeline(fd: int) -> None:
    """The server holds the only write end: EOF means it is gone, and nothing of this group may outlive it."""
    while True:
        try:
            if not os.read(fd, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    for pid in descendants(os.getpid()):  # children in a session or group of their own too
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os.killpg(os.getpgrp(), signal.SIGKILL)


def descendants(pid: int) -> List[int]:
    """The processes below `pid` (from Linux's /proc/PID/task/TID/children; none where there is no such file)."""
    found: List[int] = []
    parents = [pid]
    while parents:
        parent = parents.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as listing:
                    children = [int(child) for child in listing.read().split()]
            except (OSError, ValueError):
                continue
            found += children
            parents += children
    return found


def _line_buffered_output() -> None:
    """fds 1 and 2 are the server's log pipe; text goes out line by line, whatever bytes it holds."""
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)


class PackageError(Exception):
    """The package is not a deployment package: the message says what is missing."""


def _load(package_dir: Path, context: Dict[str, Any]) -> Any:
    """Import deployment.py the way UbiOps does and instantiate its Deployment class."""
    env = context.get("environment_variables")
    if isinstance(env, dict):
        os.environ.update({str(k): str(v) for k, v in env.items()})
    os.chdir(package_dir)
    sys.path.insert(0, str(package_dir / "libraries"))
    sys.path.insert(0, str(package_dir))
    source = package_dir / "deployment.py"
    if not source.is_file():
        raise PackageError(f"the deployment package {package_dir} has no deployment.py")
    spec = importlib.util.spec_from_file_location("deployment", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deployment"] = module
    spec.loader.exec_module(module)
    cls = getattr(module, "Deployment", None)
    if not inspect.isclass(cls):
        raise PackageError("deployment.py does not define a class Deployment (UbiOps loads that class by this name)")
    if not callable(getattr(cls, "request", None)) and not callable(getattr(cls, "requests", None)):
        raise PackageError("class Deployment has neither a request nor a requests method; define request(self, data)")
    args, kwargs = _init_arguments(cls, str(package_dir), context)
    return cls(*args, **kwargs)


def describe_load_error(exc: BaseException, package_dir: Path) -> str:
    """What went wrong while loading, where in the package (file and line), and what to do about it."""
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)  # a SyntaxError's str() has its place already
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    if isinstance(exc, PackageError):
        return text
    where = _where(exc, package_dir)
    hint = _hint(exc, package_dir)
    return text + (f" ({where})" if where else "") + (f"; hint: {hint}" if hint else "")


def _where(exc: BaseException, package_dir: Path) -> str:
    """The package's own file and line the error comes from: the syntax error's, else the deepest frame in it."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f"{_relative(exc.filename, package_dir)}, line {exc.lineno}"
    found = ""
    for frame_summary in traceback.extract_tb(exc.__traceback__):
        if _inside(frame_summary.filename, package_dir):
            found = f"{_relative(frame_summary.filename, package_dir)}, line {frame_summary.lineno}"
    return found


def _hint(exc: BaseException, package_dir: Path) -> str:
    if isinstance(exc, SyntaxError):
        return "fix the syntax at that line"
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        return (
            f"put the package that provides {top!r} in the deployment's requirements.txt (ubiops-local installs it "
            "into the package's own environment, unless --no-build), or its source in the package's libraries/ folder"
        )
    if isinstance(exc, FileNotFoundError):
        return f"files are looked up from the package folder {package_dir} (base_directory), as on UbiOps"
    if isinstance(exc, KeyError) and _raised_in_module(exc, "os"):  # os.environ[...] of a variable not set
        return f"set the environment variable {exc} in the version's environment_variables"
    return "Deployment.__init__ or the module's top level raised it; the traceback is in the deployment's log"


def _raised_in_module(exc: BaseException, module: str) -> bool:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__") == module


def _from_package(tb: Optional[TracebackType], package_dir: Path) -> Optional[TracebackType]:
    """The traceback from the package's first frame on: the loader's frames before it only hide the error."""
    start = tb
    while start is not None and not _inside(start.tb_frame.f_code.co_filename, package_dir):
        start = start.tb_next
    return start  # None (no frame of the package: a syntax error, say) prints the error alone


def _inside(filename: str, package_dir: Path) -> bool:
    if not os.path.isabs(filename):  # "<frozen os>", "<string>": not a file of the package
        return False
    try:
        Path(filename).resolve().relative_to(package_dir.resolve())
        return True
    except (ValueError, OSError):
        return False


def _relative(filename: str, package_dir: Path) -> str:
    try:
        return str(Path(filename).resolve().relative_to(package_dir.resolve()))
    except (ValueError, OSError):
        return filename


def _init_arguments(cls: type, base_directory: str, context: Dict[str, Any]) -> Tuple[List[Any], Dict[str, Any]]:
    """Pass whichever of base_directory and context __init__ accepts: by name, else by position."""
    params = inspect.signature(cls).parameters
    offered = {"base_directory": base_directory, "context": context}
    named = {name: value for name, value in offered.items() if name in params}
    if named:
        return [], named
    positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params.values()):
        return [base_directory, context], {}
    return [base_directory, context][: len(positional)], {}


def _takes_context(method: Callable[..., Any]) -> bool:
    """A request method takes the context if it names it, or has a second positional or a *args parameter."""
    params = inspect.signature(method).parameters
    if "context" in params:
        return True
    kinds = [p.kind for p in params.values()]
    positional = sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in kinds)
    return positional >= 2 or inspect.Parameter.VAR_POSITIONAL in kinds


class _Server:
    """Runs the chunks the parent sends, item after item, on the loaded Deployment."""

    def __init__(
        self, conn: Connection, deployment: Any, max_output: int, log_marker: bytes = b"", package_dir: Path = Path()
    ) -> None:
        self.conn = conn
        self.package_dir = package_dir
        self.log_marker = log_marker
        self.max_output = max_output
        request = getattr(deployment, "request", None)
        requests = getattr(deployment, "requests", None)
        self.request = request if callable(request) else None
        self.requests = requests if callable(requests) else None
        self.request_ctx = self.request is not None and _takes_context(self.request)
        self.requests_ctx = self.requests is not None and _takes_context(self.requests)
        self.send_lock = threading.Lock()  # deployment code may call streaming_update from its own threads
        self.skipped: Set[str] = set()  # chunk items cancelled before they started
        self.poller = select.poll() if hasattr(select, "poll") else None  # one object: a cheap check per item
        if self.poller is not None:
            self.poller.register(conn.fileno(), select.POLLIN)

    def serve(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except EOFError:
                return
            if message[0] == "skip":
                self.skipped.add(message[1])
                continue
            for index, (request_id, text, request_mode) in enumerate(message[1]):
                self.read_skips()
                if request_id in self.skipped:
                    self.send(SKIPPED)
                    continue
                if index:  # the server knows that the first one starts; of the others it must hear it
                    self.send(BEGIN)
                self.send(*self.run(request_id, text, request_mode))
            self.skipped.clear()

    def read_skips(self) -> None:
        """While a chunk runs, the parent sends only skip notices."""
        while self.poller.poll(0) if self.poller is not None else self.conn.poll(0):
            self.skipped.add(self.conn.recv()[1])

    def send(self, kind: str, text: str = "") -> None:
        with self.send_lock:
            self.conn.send_bytes(frame(kind, text))

    def update(self, text: Any) -> None:
        text = str(text)
        if len(text) > self.max_output:
            raise ValueError(
                f"a streaming update of {len(text)} characters is over max_output_size ({self.max_output})"
            )
        self.send(UPDATE, text)

    def run(self, request_id: str, text: str, request_mode: str) -> Tuple[str, str]:
        context = {"id": request_id, "request_mode": request_mode, "user_id": USER_ID, "streaming_update": self.update}
        self.mark(b"B " + request_id.encode("utf-8", "replace"))
        try:
            output = self.dispatch(json.loads(text), context)
        except Exception as exc:  # deployment errors fail the request, the instance stays up
            frames = _from_package(exc.__traceback__, self.package_dir) or exc.__traceback__  # not the worker's own
            traceback.print_exception(type(exc), exc, frames)
            reply = (ERROR, failure_text(exc))
        else:
            reply = self.encode(output)
        self.mark(b"E")
        return reply

    def mark(self, directive: bytes) -> None:
        """Tell the log pumps where a request begins or ends, after what was printed (a line cut short ends there)."""
        for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
            try:
                stream.flush()
                if self.log_marker:
                    os.write(fd, self.log_marker + directive + b"\n")
            except (OSError, ValueError):  # deployment code closed or replaced its output: no marker then
                pass

    def encode(self, output: Any) -> Tuple[str, str]:
        try:
            encoded = json.dumps(output, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError) as exc:
            return ERROR, cap_text(f"The deployment output is not JSON-serialisable: {exc}")
        if len(encoded) > self.max_output:  # ASCII (ensure_ascii): characters are bytes
            return ERROR, (
                f"The deployment output is {len(encoded)} bytes of JSON, over the server's max_output_size "
                f"of {self.max_output} bytes"
            )
        return DONE, encoded

    def call(self, method: Callable[..., Any], with_context: bool, data: Any, context: Dict[str, Any]) -> Any:
        return method(data, context) if with_context else method(data)

    def dispatch(self, data: Any, context: Dict[str, Any]) -> Any:
        request, requests = self.request, self.requests
        if isinstance(data, list):
            if requests is not None:
                return self.call(requests, self.requests_ctx, data, context)
            assert request is not None
            return [self.call(request, self.request_ctx, item, context) for item in data]
        if request is not None:
            return self.call(request, self.request_ctx, data, context)
        assert requests is not None
        output = self.call(requests, self.requests_ctx, [data], context)
        if isinstance(output, list):
            if len(output) != 1:
                raise ValueError(f"requests() returned {len(output)} outputs for 1 input")
            return output[0]
        return output


if __name__ == "__main__":
    # Started as `python _worker.py PIPE_FD LIFELINE_FD` by instance.py. Python put this file's folder
    # (ubiops/local) first on sys.path, where it would shadow deployment modules named like ours (config, app, ...).
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]
    _conn = Connection(int(sys.argv[1]))
    main(_conn, int(sys.argv[2]), *_conn.recv())
