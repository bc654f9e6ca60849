"""The API's rules for request data, free of HTTP and of state: what a request may hold, what an output must be,
and what text can be stored. Every violation is an ApiError carrying its HTTP status."""

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ubiops.local._worker import cap_text
from ubiops.local.config import DeploymentConfig, Field

MAX_ITEMS = 250  #: items per batch create, ids per collect/cancel/delete
MAX_DEPTH = 100  #: levels of lists and objects in structured input
MIN_TIMEOUT = 10  #: the API's least request timeout in seconds (LocalServer's min_timeout lowers it, for tests)
DIRECT_TIMEOUT = (MIN_TIMEOUT, 3600, 300)  #: (minimum, maximum, default) seconds
BATCH_TIMEOUT = (MIN_TIMEOUT, 172800, 14400)
STATUSES = ("pending", "processing", "completed", "failed", "cancelled", "cancelled_pending")

#: A JSON value as parsed from a request body, or the text of a text/plain body.
Body = Any


class ApiError(Exception):
    """A request the server refuses; `status` is the HTTP status code, `message` says why, `path_to_item` where the
    bad value is when it is one item of a list (``["data", 3]``; the error body carries it)."""

    def __init__(self, status: int, message: str, path_to_item: Optional[List[Any]] = None) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.path_to_item = path_to_item


@dataclass(frozen=True)
class TextBody:
    """A text/plain request body: the string itself, as opposed to a JSON value."""

    text: str


def with_minimum(bounds: Tuple[int, int, int], minimum: int) -> Tuple[int, int, int]:
    """(minimum, maximum, default) bounds with another minimum: a server started with a lower min_timeout."""
    return (minimum, bounds[1], bounds[2])


def stored_size(value: Any, text: str) -> int:
    """Bytes of the input/output: the utf-8 text of a string, else of its compact JSON."""
    return len((value if isinstance(value, str) else text).encode("utf-8"))


def json_type(value: Any) -> str:
    """The name of a value's type for error messages: the JSON name, and the Python one where they differ (any
    client may be the reader, most often a Python user): ``object (a dict)``, ``array (a list)``, ``null (None)``."""
    if value is None:
        return "null (None)"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array (a list)"
    return "object (a dict)" if isinstance(value, dict) else type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_double(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_SCALAR_CHECKS: Dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "double": _is_double,
    "string": lambda value: isinstance(value, str),
    "bool": lambda value: isinstance(value, bool),
    "dict": lambda value: isinstance(value, dict),
    "file": lambda value: isinstance(value, str),
}


def field_error(value: Any, fields: Sequence[Field]) -> Optional[str]:
    """Why a structured value does not match the declared fields, or None when it does."""
    if not isinstance(value, dict):
        names = ", ".join(f.name for f in fields) or "(none)"
        return f"expected a JSON object (a dict) with the fields {names}, got {json_type(value)}"
    declared = {f.name for f in fields}
    for key in value:
        if key not in declared:
            return f"unknown field {key!r} (declared fields: {', '.join(sorted(declared)) or 'none'})"
    for f in fields:
        if f.name not in value:
            return f"field {f.name!r} is missing (data_type {f.data_type})"
        item = value[f.name]
        if f.data_type.startswith("array_"):
            check = _SCALAR_CHECKS[f.data_type[len("array_") :]]
            if not isinstance(item, list):
                return f"field {f.name!r}: expected {f.data_type} (a list), got {json_type(item)}"
            for index, element in enumerate(item):
                if not check(element):
                    return f"field {f.name!r}[{index}]: expected {f.data_type[6:]}, got {json_type(element)}"
        elif not _SCALAR_CHECKS[f.data_type](item):
            return f"field {f.name!r}: expected {f.data_type}, got {json_type(item)}"
    return None


def too_deep(value: Any) -> bool:
    """Nested deeper than MAX_DEPTH lists/objects: such data cannot safely go through pickle to a worker."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            if depth > MAX_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in children)
    return False


#: What to do about a plain output that is not a string: the usual cause is a package returning a dict.
PLAIN_OUTPUT_HINT = (
    "to return an object, declare output_type: structured with output_fields, "
    "or leave output_type out to return any JSON value"
)


def item_error(value: Any, deployment: DeploymentConfig, direction: str) -> Optional[str]:
    """Why one input or output item does not fit the declared type, or None; an undeclared type takes any value."""
    io_type = deployment.input_type if direction == "input" else deployment.output_type
    if io_type == "structured":
        error = field_error(value, deployment.input_fields if direction == "input" else deployment.output_fields)
    elif io_type == "plain":
        if isinstance(value, str):
            return None
        error = f"expected a string (plain {direction}), got {json_type(value)}"
        return f"{error}; {PLAIN_OUTPUT_HINT}" if direction == "output" else error
    else:
        error = None
    if error is None and direction == "input" and too_deep(value):
        error = f"nested deeper than {MAX_DEPTH} levels of lists and objects"
    return error


def direct_data(deployment: DeploymentConfig, body: Body) -> Any:
    """One item, or a non-empty list of items (for the deployment's `requests` method)."""
    if isinstance(body, TextBody):
        if deployment.input_type == "structured":
            raise ApiError(
                400, "data: a structured deployment takes a JSON object (a dict; Content-Type application/json)"
            )
        return body.text
    if isinstance(body, list):
        if not body:
            raise ApiError(400, "data: the list of requests is empty")
        for index, item in enumerate(body):
            error = item_error(item, deployment, "input")
            if error:
                raise ApiError(400, f"data[{index}]: {error}")
        return body
    error = item_error(body, deployment, "input")
    if error:
        raise ApiError(400, f"data: {error}")
    return body


def batch_items(deployment: DeploymentConfig, body: Body) -> List[Any]:
    if isinstance(body, TextBody):
        if deployment.input_type == "structured":
            raise ApiError(400, "data: a structured deployment takes a JSON object (a dict) or a list of them")
        return [body.text]
    items = body if isinstance(body, list) else [body]
    if not items:
        raise ApiError(400, "data: the list of requests is empty")
    if len(items) > MAX_ITEMS:
        raise ApiError(400, f"data: at most {MAX_ITEMS} requests per batch, got {len(items)}")
    for index, item in enumerate(items):
        error = item_error(item, deployment, "input")
        if error:
            raise ApiError(400, f"data[{index}]: {error}; no request was created", ["data", index])
    return items


def output_error(deployment: DeploymentConfig, result: Any, list_input: bool) -> Optional[str]:
    """Output that does not match the output type fails the request, as on the platform. A list input may get a
    list (one output per item) or one output for all of them."""
    items = result if list_input and isinstance(result, list) else [result]
    for index, item in enumerate(items):
        error = item_error(item, deployment, "output")
        if error:
            where = f"output[{index}]" if items is result else "output"
            return f"the deployment returned an invalid {where}: {error}"
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """Text SQLite can store: a lone surrogate (which UTF-8 cannot hold) becomes U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def storable_message(text: str) -> str:
    """An error message as stored: storable and at most MAX_ERROR_CHARS long."""
    return storable(cap_text(text))
