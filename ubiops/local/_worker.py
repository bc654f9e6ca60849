"""Code that runs inside one worker process of a DeploymentRuntime.

Protocol on the dedicated Pipe (the deployment's stdout/stderr never touch it):
  parent -> worker, once:   (package_dir, context, log_path)
  worker -> parent, once:   ("ready", None) | ("load_error", message)   (after a load error the worker exits)
  parent -> worker:         ("run", request_id, data, request_mode)
                            | ("chunk", [(request_id, JSON text of the data, request_mode), ...])
                            | ("skip", request_id)   (a cancel of a chunk item that has not started yet)
  worker -> parent:         per request: ("update", text)* then ("done", json_text) | ("error", message)
                            | ("skipped", None)   (the item of a chunk that was skipped)
The worker exits when the parent closes its end of the pipe. This file imports only the standard library, so the
worker process can run it as a file without importing the ubiops package.
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
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

USER_ID = "local"


def main(conn: Connection, package_dir: str, context: Dict[str, Any], log_path: str) -> None:
    """Entry point of the worker process: load the package once, then serve requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker stops (no Ctrl-C tracebacks)
    _redirect_output(log_path)
    faulthandler.enable()  # a segfault in deployment code leaves a Python traceback in the log
    try:
        deployment = _load(Path(package_dir), context)
    except BaseException as exc:  # anything the package does while loading is a load error
        traceback.print_exc()
        sys.stderr.flush()
        conn.send(("load_error", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__))
        return
    conn.send(("ready", None))
    _serve(conn, deployment)


def _redirect_output(log_path: str) -> None:
    """Send fds 1 and 2 (so C extensions and subprocesses too) to the log file, appending."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)


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
        raise FileNotFoundError(f"the deployment package {package_dir} has no deployment.py")
    spec = importlib.util.spec_from_file_location("deployment", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deployment"] = module
    spec.loader.exec_module(module)
    cls = getattr(module, "Deployment", None)
    if not inspect.isclass(cls):
        raise AttributeError("deployment.py does not define a class Deployment")
    if not callable(getattr(cls, "request", None)) and not callable(getattr(cls, "requests", None)):
        raise AttributeError("class Deployment has neither a request nor a requests method")
    args, kwargs = _init_arguments(cls, str(package_dir), context)
    return cls(*args, **kwargs)


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


def _serve(conn: Connection, deployment: Any) -> None:
    request = getattr(deployment, "request", None)
    requests = getattr(deployment, "requests", None)
    request = request if callable(request) else None
    requests = requests if callable(requests) else None
    request_ctx = request is not None and _takes_context(request)
    requests_ctx = requests is not None and _takes_context(requests)

    def call(method: Callable[..., Any], with_context: bool, data: Any, context: Dict[str, Any]) -> Any:
        return method(data, context) if with_context else method(data)

    def dispatch(data: Any, context: Dict[str, Any]) -> Any:
        if isinstance(data, list):
            if requests is not None:
                return call(requests, requests_ctx, data, context)
            assert request is not None
            return [call(request, request_ctx, item, context) for item in data]
        if request is not None:
            return call(request, request_ctx, data, context)
        assert requests is not None
        output = call(requests, requests_ctx, [data], context)
        if isinstance(output, list):
            if len(output) != 1:
                raise ValueError(f"requests() returned {len(output)} outputs for 1 input")
            return output[0]
        return output

    send_lock = threading.Lock()  # deployment code may call streaming_update from its own threads

    def send(message: Tuple[str, Optional[str]]) -> None:
        with send_lock:
            conn.send(message)

    def update(text: str) -> None:
        send(("update", str(text)))

    def run(request_id: str, data: Any, request_mode: str) -> Tuple[str, Optional[str]]:
        context = {"id": request_id, "request_mode": request_mode, "user_id": USER_ID, "streaming_update": update}
        reply: Tuple[str, Optional[str]]
        try:
            output = dispatch(data, context)
        except Exception as exc:  # deployment errors fail the request, the instance stays up
            traceback.print_exc()
            reply = ("error", str(exc) or type(exc).__name__)
        else:
            try:
                reply = ("done", json.dumps(output, allow_nan=False, separators=(",", ":")))
            except (TypeError, ValueError, RecursionError) as exc:
                reply = ("error", f"The deployment output is not JSON-serialisable: {exc}")
        sys.stdout.flush()
        sys.stderr.flush()
        return reply

    skipped: Set[str] = set()  # chunk items cancelled before they started
    poller = select.poll() if hasattr(select, "poll") else None  # one object: a cheap check before every item
    if poller is not None:
        poller.register(conn.fileno(), select.POLLIN)

    def read_skips() -> None:
        """While a chunk runs, the parent sends only skip notices."""
        while poller.poll(0) if poller is not None else conn.poll(0):
            skipped.add(conn.recv()[1])

    while True:
        try:
            message = conn.recv()
            if message[0] == "skip":
                skipped.add(message[1])
            elif message[0] == "run":
                send(run(*message[1:]))
            else:
                for request_id, text, request_mode in message[1]:
                    read_skips()
                    skip = request_id in skipped
                    send(("skipped", None) if skip else run(request_id, json.loads(text), request_mode))
                skipped.clear()
        except EOFError:
            return


if __name__ == "__main__":
    # Started as `python _worker.py FD` by runtime.py. Python put this file's folder (ubiops/local) first on
    # sys.path, where it would shadow deployment modules named like ours (config, app, server, ...).
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]
    _conn = Connection(int(sys.argv[1]))
    main(_conn, *_conn.recv())
