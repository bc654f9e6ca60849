"""Run a deployment package in this process, as the public client's ``ubiops.utils.run_local`` does.

Standard library only: the client never imports ``ubiops.local``. The conventions are those the local server's
worker follows (``ubiops/local/_worker.py``), so a package behaves the same here and on ``LocalServer``; see
docs/Helpers.md for where that differs from the public helper.
"""

import importlib.util
import os
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

__all__ = ["run_local", "DEFAULT_INIT_CONTEXT", "DEFAULT_REQUEST_CONTEXT"]

#: The init context given when none is (``deployment`` is then the directory's name); keys a caller gives replace
#: these one by one.
DEFAULT_INIT_CONTEXT: Dict[str, Any] = {
    "project": "run-local",
    "deployment": "deployment",
    "version": "v1",
    "input_type": "structured",
    "output_type": "structured",
    "input_fields": [],
    "output_fields": [],
    "language": "python",
    "environment_variables": {},
    "process_id": 0,
}
#: The request context given when none is (``id`` is then a new UUID, ``streaming_update`` prints each update).
DEFAULT_REQUEST_CONTEXT: Dict[str, Any] = {"request_mode": "express", "user_id": "local"}


def run_local(
    deployment_directory: Union[str, "os.PathLike[str]"],
    data: Any,
    init_context: Optional[Dict[str, Any]] = None,
    request_context: Optional[Dict[str, Any]] = None,
) -> Any:
    """Load ``deployment.py`` from ``deployment_directory``, make its ``Deployment`` and return its output for ``data``.

    - The directory and its ``libraries/`` folder are first on ``sys.path`` and the directory is the working
      directory while the package loads and runs; ``init_context["environment_variables"]`` are set in
      ``os.environ``. All three are put back afterwards, and modules imported from the package are forgotten, so the
      next call loads edited code afresh.
    - ``Deployment.__init__`` gets whichever of ``base_directory`` (the directory, absolute) and ``context`` (the
      init context) it names, else as many of them by position as it takes.
    - Dispatch as on UbiOps: one item and ``request`` -> ``request(data)``; a list and ``requests`` ->
      ``requests(data)``; a list and only ``request`` -> ``request`` per item, outputs in a list; one item and only
      ``requests`` -> ``requests([data])``, its one output. ``context`` is passed where the method takes it.
    - An exception of the deployment code is raised as it is, with its traceback.
    """
    directory = Path(os.fspath(deployment_directory)).resolve()
    if not directory.is_dir():
        raise FileNotFoundError(f"run_local: the deployment directory {directory} does not exist")
    if not (directory / "deployment.py").is_file():
        raise FileNotFoundError(f"run_local: the deployment package {directory} has no deployment.py")
    init = {**DEFAULT_INIT_CONTEXT, "deployment": directory.name, **(init_context or {})}
    request = {
        "id": str(uuid.uuid4()),
        **DEFAULT_REQUEST_CONTEXT,
        "streaming_update": _print_update,
        **(request_context or {}),
    }
    with _package_environment(directory, init.get("environment_variables")):
        deployment = _load(directory, init)
        return _dispatch(deployment, data, request)


def _print_update(text: Any) -> None:
    print(text, flush=True)


@contextmanager
def _package_environment(directory: Path, environment: Any) -> Iterator[None]:
    saved_path, saved_cwd, saved_modules = list(sys.path), os.getcwd(), set(sys.modules)
    saved_deployment = sys.modules.get("deployment")
    variables = {str(k): str(v) for k, v in environment.items()} if isinstance(environment, dict) else {}
    saved_environ = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    sys.path[:0] = [str(directory), str(directory / "libraries")]
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name, value in saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for name in set(sys.modules) - saved_modules:
            if _inside(getattr(sys.modules[name], "__file__", None), directory):
                del sys.modules[name]
        if saved_deployment is not None:
            sys.modules["deployment"] = saved_deployment
        else:
            sys.modules.pop("deployment", None)


def _inside(file: Optional[str], directory: Path) -> bool:
    if not file:
        return False
    try:
        Path(file).resolve().relative_to(directory)
    except ValueError:
        return False
    return True


def _load(directory: Path, context: Dict[str, Any]) -> Any:
    spec = importlib.util.spec_from_file_location("deployment", directory / "deployment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deployment"] = module
    spec.loader.exec_module(module)
    cls = getattr(module, "Deployment", None)
    if not isinstance(cls, type):
        raise AttributeError(f"run_local: {directory / 'deployment.py'} does not define a class Deployment")
    if not callable(getattr(cls, "request", None)) and not callable(getattr(cls, "requests", None)):
        raise AttributeError("run_local: class Deployment has neither a request nor a requests method")
    args, kwargs = _init_arguments(cls, str(directory), context)
    return cls(*args, **kwargs)


def _kinds(function: Callable[..., Any]) -> Tuple[Any, int, bool]:
    """The parameters of ``function``, how many may be given by position, and whether it has ``*args``."""
    import inspect  # only when a package is run: inspect is slow to import

    params = inspect.signature(function).parameters
    kinds = [p.kind for p in params.values()]
    positional = sum(
        kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for kind in kinds
    )
    return params, positional, inspect.Parameter.VAR_POSITIONAL in kinds


def _init_arguments(cls: type, base_directory: str, context: Dict[str, Any]) -> Tuple[List[Any], Dict[str, Any]]:
    """Whichever of base_directory and context ``__init__`` names, by name; else by position, as many as it takes."""
    params, positional, var_positional = _kinds(cls)
    offered = {"base_directory": base_directory, "context": context}
    named = {name: value for name, value in offered.items() if name in params}
    if named:
        return [], named
    if var_positional:
        return [base_directory, context], {}
    return [base_directory, context][:positional], {}


def _takes_context(method: Callable[..., Any]) -> bool:
    """A request method takes the context if it names it, or has a second positional or a ``*args`` parameter."""
    params, positional, var_positional = _kinds(method)
    return "context" in params or positional >= 2 or var_positional


def _call(method: Callable[..., Any], data: Any, context: Dict[str, Any]) -> Any:
    return method(data, context) if _takes_context(method) else method(data)


def _dispatch(deployment: Any, data: Any, context: Dict[str, Any]) -> Any:
    request = getattr(deployment, "request", None)
    requests = getattr(deployment, "requests", None)
    request = request if callable(request) else None
    requests = requests if callable(requests) else None
    if isinstance(data, list):
        if requests is not None:
            return _call(requests, data, context)
        assert request is not None
        return [_call(request, item, context) for item in data]
    if request is not None:
        return _call(request, data, context)
    assert requests is not None
    output = _call(requests, [data], context)
    if isinstance(output, list):
        if len(output) != 1:
            raise ValueError(f"run_local: requests() returned {len(output)} outputs for 1 input")
        return output[0]
    return output
