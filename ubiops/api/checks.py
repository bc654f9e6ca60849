"""Argument checks run before any network I/O. Each raises ApiTypeError or ApiValueError naming the parameter,
the method and the rule, so a mistake is reported where it was made rather than as a 400 from the server."""

from datetime import datetime
from typing import Any, Callable, Collection

from ubiops.exceptions import ApiTypeError, ApiValueError
from ubiops.models import DeploymentRequestUpdate, LogsCreate

__all__ = [
    "Check",
    "type_name",
    "MAX_ITEMS",
    "name_text",
    "direct_data",
    "batch_data",
    "request_ids",
    "update_body",
    "logs_filter",
    "integer_in",
    "one_of",
    "boolean",
    "text",
    "date",
    "moment",
]

#: Items per batch create and ids per collect, cancel or delete call.
MAX_ITEMS = 250

#: A check takes (method name, parameter name, value) and raises when the value breaks its rule.
Check = Callable[[str, str, Any], None]


def type_name(value: Any) -> str:
    """A value's type as a Python user writes it: ``dict``, ``list``, ``None`` (not ``NoneType``)."""
    return "None" if value is None else type(value).__name__


def _type_error(method: str, param: str, rule: str, value: Any) -> ApiTypeError:
    return ApiTypeError(f"{method}: `{param}` must be {rule}, got {type_name(value)}", [param])


def name_text(method: str, param: str, value: Any) -> None:
    """A path segment: a non-empty string."""
    if not isinstance(value, str):
        raise _type_error(method, param, "a str", value)
    if not value:
        raise ApiValueError(f"{method}: `{param}` must not be empty", [param])


def _is_item(value: Any) -> bool:
    return isinstance(value, (dict, str))


def direct_data(method: str, param: str, value: Any) -> None:
    """A direct request: a dict (structured), a str (plain), or a list of them (the deployment's ``requests``)."""
    if _is_item(value):
        return
    if not isinstance(value, list):
        raise _type_error(method, param, "a dict, a str or a list of them", value)
    _check_items(method, param, value)


def batch_data(method: str, param: str, value: Any) -> None:
    """A batch: a list of 1 to 250 dicts or strings; a single dict or str is a batch of one."""
    if _is_item(value):
        return
    if not isinstance(value, list):
        raise _type_error(method, param, "a list of dicts or strings (or a single dict or str)", value)
    if not value:
        raise ApiValueError(f"{method}: `{param}` must hold at least 1 item", [param])
    if len(value) > MAX_ITEMS:
        raise ApiValueError(
            f"{method}: `{param}` holds {len(value)} items, at most {MAX_ITEMS} are allowed per call", [param]
        )
    _check_items(method, param, value)


def _check_items(method: str, param: str, items: list) -> None:
    for index, item in enumerate(items):
        if not _is_item(item):
            raise ApiTypeError(
                f"{method}: `{param}[{index}]` must be a dict or a str, got {type_name(item)}", [param, index]
            )


def request_ids(method: str, param: str, value: Any) -> None:
    """A list of at most 250 request ids."""
    if not isinstance(value, (list, tuple)):
        raise _type_error(method, param, "a list of request ids (str)", value)
    if len(value) > MAX_ITEMS:
        raise ApiValueError(
            f"{method}: `{param}` holds {len(value)} ids, at most {MAX_ITEMS} are allowed per call", [param]
        )
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ApiTypeError(
                f"{method}: `{param}[{index}]` must be a request id (str), got {type_name(item)}", [param, index]
            )


def update_body(method: str, param: str, value: Any) -> None:
    """An update: ``DeploymentRequestUpdate(status="cancelled")`` or ``{"status": "cancelled"}``."""
    if isinstance(value, DeploymentRequestUpdate):
        status = value.status
    elif isinstance(value, dict):
        extra = sorted(set(value) - {"status"})
        if extra:
            raise ApiValueError(f"{method}: `{param}` has unknown field '{extra[0]}'; only 'status' can be updated")
        status = value.get("status")
    else:
        raise _type_error(method, param, "a DeploymentRequestUpdate or a dict", value)
    if status != "cancelled":
        raise ApiValueError(
            f"{method}: `{param}.status` must be 'cancelled' (the only update there is), got {status!r}"
        )


def logs_filter(method: str, param: str, value: Any) -> None:
    """Which logs to list: a ``LogsCreate`` or a dict of its fields (``filters``, ``date``, ``date_range``, ``id``,
    ``limit``)."""
    if isinstance(value, LogsCreate):
        return
    if not isinstance(value, dict):
        raise _type_error(method, param, "a LogsCreate or a dict", value)
    unknown = sorted(set(value) - set(LogsCreate._fields))
    if unknown:
        raise ApiValueError(
            f"{method}: `{param}` has unknown field '{unknown[0]}'; fields are {', '.join(LogsCreate._fields)}", [param]
        )


def integer_in(low: int, high: float) -> Check:
    """An int from ``low`` to ``high`` inclusive."""
    bounds = f"from {low} to {int(high)}" if high != float("inf") else f">= {low}"

    def check(method: str, param: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(method, param, "an int", value)
        if not low <= value <= high:
            raise ApiValueError(f"{method}: `{param}` must be {bounds}, got {value}", [param])

    return check


def one_of(allowed: Collection[Any]) -> Check:
    """One of a few values."""

    types = {type(choice) for choice in allowed}

    def check(method: str, param: str, value: Any) -> None:
        # type() too, so that 1.0 or True, which compare equal to 1, are not sent as "1.0" or "True"
        if type(value) not in types or value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ApiValueError(f"{method}: `{param}` must be one of {choices}, got {value!r}", [param])

    return check


def boolean(method: str, param: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _type_error(method, param, "a bool", value)


def text(method: str, param: str, value: Any) -> None:
    if not isinstance(value, str):
        raise _type_error(method, param, "a str", value)


def moment(method: str, param: str, value: Any) -> None:
    """A point in time as ISO 8601 text, a ``datetime``, or seconds (or nanoseconds) since the epoch as an int (the
    public client turns any of them into text)."""
    if isinstance(value, bool) or not isinstance(value, (str, datetime, int)):
        raise _type_error(method, param, "an ISO 8601 str, a datetime or an int timestamp", value)


def date(method: str, param: str, value: Any) -> None:
    """An ISO 8601 date-time as text or a ``datetime``."""
    if not isinstance(value, (str, datetime)):
        raise _type_error(method, param, "an ISO 8601 str or a datetime", value)
