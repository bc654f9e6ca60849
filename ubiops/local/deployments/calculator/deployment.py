"""Bundled example: a structured deployment (x, y: double; op: string) -> (result: double).

Unknown operations and division by zero raise ValueError, so the request fails with that message.
"""

import operator
from typing import Any, Callable, Dict

OPERATIONS: Dict[str, Callable[[float, float], float]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
}


class Deployment:
    def __init__(self, base_directory: str, context: Dict[str, Any]) -> None:
        self.name = context["deployment"]

    def request(self, data: Dict[str, Any], context: Dict[str, Any]) -> Dict[str, float]:
        op = data["op"]
        if op not in OPERATIONS:
            raise ValueError(f"unknown op {op!r}: use one of {', '.join(OPERATIONS)}")
        if op == "div" and data["y"] == 0:
            raise ValueError("division by zero: y must not be 0 when op is div")
        return {"result": float(OPERATIONS[op](data["x"], data["y"]))}
