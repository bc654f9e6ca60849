"""Writes ``ubiops/api/core_api.pyi``, the typed declarations of every CoreApi method, from the endpoint table.

Run after adding or changing an endpoint (and its ``Operation()`` line in ``core_api.py``)::

    python -m ubiops.api._stubgen           # rewrite ubiops/api/core_api.pyi
    python -m ubiops.api._stubgen --check   # exit 1 if the committed stub is out of date

The declarations are exactly the signatures :mod:`ubiops.api.signatures` gives the methods at run time, one per
method. There is no overload for ``async_req=True`` (which returns a ``multiprocessing.pool.AsyncResult``): with
overloads, mypy reports a bad call as "no overload variant matches" instead of naming the argument, so the stub
declares the answer and an ``async_req=True`` caller casts (see docs/DeploymentRequests.md).
"""

import builtins
import re
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set

from ubiops.api import signatures
from ubiops.api.core_api import CoreApi, Operation
from ubiops.api.signatures import Argument, Declaration

__all__ = ["STUB", "declarations", "render", "main"]

STUB = Path(__file__).with_name("core_api.pyi")

_HEADER = '''"""Typed declarations of ``ubiops.api.core_api``, generated from the endpoint table.

Do not edit: regenerate with ``python -m ubiops.api._stubgen`` (see that module).
"""

{imports}

__all__ = ["CoreApi", "Operation"]

R = TypeVar("R")

class Operation(Generic[R]):
    endpoint: Endpoint
    with_http_info: bool
    def __set_name__(self, owner: type, name: str) -> None: ...
    def __get__(self, api: Optional[CoreApi], owner: type) -> Callable[..., R]: ...

class CoreApi:
    api_client: ApiClient
    def __init__(self, api_client: Optional[ApiClient] = None) -> None: ...
'''
#: Names the fixed part of the stub uses, besides those of the annotations.
_FIXED = {"Callable": "typing", "Generic": "typing", "Optional": "typing", "TypeVar": "typing"}
_FIXED.update({"Endpoint": "ubiops.api.endpoints", "ApiClient": "ubiops.api_client"})


def declarations() -> List[Declaration]:
    """One declaration per CoreApi method, in the order the class registers them."""
    found = []
    for operation in vars(CoreApi).values():
        if isinstance(operation, Operation):
            found.append(signatures.declare(operation.endpoint, operation.with_http_info))
    return found


def _argument(argument: Argument) -> str:
    text = f"{argument.name}: {argument.annotation}"
    return text if argument.required else f"{text} = {argument.default!r}"


def _method(declaration: Declaration) -> Iterator[str]:
    lines = ["self"]
    for argument in declaration.arguments:
        if argument.kind == "keyword" and "*" not in lines:
            lines.append("*")
        lines.append(_argument(argument))
    yield f"    def {declaration.name}("
    yield from (f"        {line}," for line in lines)
    yield f"    ) -> {declaration.returns}: ..."


def _imports(texts: Sequence[str]) -> str:
    import ubiops.models

    modules: Dict[str, Set[str]] = {}
    for name, module in _FIXED.items():
        modules.setdefault(module, set()).add(name)
    for name in set(re.findall(r"[A-Za-z_]\w*", " ".join(texts))):
        if name in signatures.NAMES:
            modules.setdefault(signatures.NAMES[name], set()).add(name)
        elif isinstance(getattr(ubiops.models, name, None), type):
            modules.setdefault("ubiops.models", set()).add(name)
        elif not hasattr(builtins, name):
            raise ValueError(f"an annotation uses {name!r}, which is neither in signatures.NAMES nor a model")
    groups: Dict[int, List[str]] = {}  # standard library, urllib3, ubiops: as ruff's isort sorts them
    for module in sorted(modules):
        names = sorted(modules[module], key=lambda n: (n[0].islower(), n))  # classes and constants first
        line = f"from {module} import {', '.join(names)}"
        if len(line) > 120:
            line = f"from {module} import (\n" + "".join(f"    {name},\n" for name in names) + ")"
        group = 2 if module.startswith("ubiops") else 1 if module.startswith("urllib3") else 0
        groups.setdefault(group, []).append(line)
    return "\n\n".join("\n".join(groups[key]) for key in sorted(groups))


def render() -> str:
    """The text of ``core_api.pyi`` for the endpoint table and the CoreApi registrations as they are now."""
    found = declarations()
    texts = [a.annotation for d in found for a in d.arguments] + [d.returns for d in found]
    lines = [_HEADER.format(imports=_imports(texts)).rstrip("\n")]
    for declaration in found:
        lines += list(_method(declaration))
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = render()
    if args == ["--check"]:
        if STUB.exists() and STUB.read_text(encoding="utf-8") == text:
            return 0
        print(f"{STUB} is out of date: run python -m ubiops.api._stubgen", file=sys.stderr)
        return 1
    if args:
        print("usage: python -m ubiops.api._stubgen [--check]", file=sys.stderr)
        return 2
    STUB.write_text(text, encoding="utf-8")
    print(f"wrote {STUB} ({len(declarations())} methods)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
