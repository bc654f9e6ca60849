"""Helpers shared by the benchmarks: each figure is printed on its own line against its target.

Example::

    from _common import check   # bench/ is the script's directory, so it is on sys.path

    results = [check("get vs raw urllib3", 1.12, "<=", 1.3)]   # prints "get vs raw urllib3: 1.12x (target <= 1.3x) ok"
    results.append(check("p50 latency", 3.2, "<=", 5, unit=" ms"))  # "p50 latency: 3.20 ms (target <= 5 ms) ok"
    sys.exit(0 if all(results) else 1)
"""

import operator
from typing import Callable, Dict

__all__ = ["check"]

_OPS: Dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}


def check(name: str, value: float, op: str, target: float, unit: str = "x", digits: int = 2) -> bool:
    """Print ``name: value (target op target) ok|MISSED`` and answer whether the target is met."""
    if op not in _OPS:
        raise ValueError(f"check(): op must be one of {', '.join(_OPS)}, got {op!r}")
    ok = _OPS[op](value, target)
    print(f"{name}: {value:.{digits}f}{unit} (target {op} {target:g}{unit}) {'ok' if ok else 'MISSED'}", flush=True)
    return ok
