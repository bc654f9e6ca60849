"""Errors of the workflow helpers; all are :class:`ubiops.UbiOpsException`, so one ``except`` still catches all.

::

    UbiOpsException
    └── WorkflowError                a workflow could not finish as asked
        ├── WaitTimeoutError         max_wait passed before the requests were final (also a TimeoutError)
        │   └── WaitTimeoutApiError  the wait_for_deployment_*request helpers' timeout: also an ApiException (504)
        ├── RequestFailedError       raise_on_failure: a request ended failed or cancelled
        │   └── StatusError          the public client's helpers' failure (also a ValueError)
        ├── SubmitError              a batch call failed: which input positions were created, which were not
        └── StreamError              the stream reported an error or ended without a final response
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

from ubiops.exceptions import ApiException, UbiOpsException

__all__ = [
    "WorkflowError",
    "WaitTimeoutError",
    "WaitTimeoutApiError",
    "RequestFailedError",
    "StatusError",
    "SubmitError",
    "StreamError",
    "ranges_text",
]

#: How many request ids an error message names before it says "and N more".
SHOWN_IDS = 5


class WorkflowError(UbiOpsException):
    """Base of the errors of :mod:`ubiops.utils`."""


class WaitTimeoutError(WorkflowError, TimeoutError):
    """``max_wait`` passed first. ``unfinished`` maps each request id still not final to its last seen status."""

    def __init__(self, message: str, unfinished: Dict[str, Optional[str]]) -> None:
        super().__init__(message)
        self.unfinished = unfinished

    @property
    def request_id(self) -> Optional[str]:
        """The (first) request that was not final."""
        return next(iter(self.unfinished), None)

    @property
    def last_status(self) -> Optional[str]:
        return self.unfinished.get(self.request_id or "")


class WaitTimeoutApiError(WaitTimeoutError, ApiException):
    """The timeout of :func:`~ubiops.utils.wait_for_deployment_request` and its version twin.

    The public client raises ``ApiException(status=504, reason="Deployment request Timeout", body="Timeout was
    reached")`` there, so this is that ApiException (``status`` 504, the same ``reason`` and ``body``) and also a
    :class:`WaitTimeoutError` (``.request_id``, ``.last_status``, ``.unfinished``), whose text says which request and
    its last status.
    """

    def __init__(self, object_name: str, request_id: str, last_status: Optional[str], timeout: float) -> None:
        self.object_name, self.timeout = object_name, timeout
        self.unfinished = {request_id: last_status}
        ApiException.__init__(
            self,
            504,
            f"{object_name} Timeout",
            body="Timeout was reached",
            message=f"request {request_id} is not final after {timeout} s of waiting; last status: {last_status}",
            sent=True,
        )

    def __reduce__(self) -> Any:
        return (self.__class__, (self.object_name, self.request_id, self.last_status, self.timeout))


class RequestFailedError(WorkflowError):
    """Requests ended ``failed`` or ``cancelled`` and ``raise_on_failure`` was set.

    ``failures`` holds ``(position, record)`` per unsuccessful request (position in the input or id order);
    ``records`` holds every final record in that order, so the successful results are not lost.
    """

    def __init__(self, failures: List[Tuple[int, Any]], records: Sequence[Any]) -> None:
        self.failures = failures
        self.records = list(records)
        position, first = failures[0]
        total = len(self.records)
        head = (
            f"request {first.id} {first.status}"
            if total == 1
            else f"{len(failures)} of {total} requests did not complete; first: position {position}, "
            f"request {first.id} {first.status}"
        )
        super().__init__(f"{head}: {first.error_message}" if first.error_message else head)

    @property
    def request_id(self) -> str:
        return str(self.failures[0][1].id)

    @property
    def error_message(self) -> Optional[str]:
        message = self.failures[0][1].error_message
        return None if message is None else str(message)


class StatusError(RequestFailedError, ValueError):
    """A request ended ``failed`` or ``cancelled`` in a helper of the public client's shape
    (:func:`~ubiops.utils.wait_for_deployment_request`, :func:`~ubiops.utils.stream_deployment_request`).

    The public client raises ``ubiops.utils.exceptions.StatusError`` (a UbiOpsException and ValueError) with the text
    ``"Deployment request: failed: <error_message>"``; this is that class, with the same text, and also a
    RequestFailedError, so ``.records[0]`` is the request's record and ``.error_message`` its message.
    """

    def __init__(self, message: str, record: Any) -> None:
        super().__init__([(0, record)], [record])
        self.args = (message,)

    def __reduce__(self) -> Any:
        return (self.__class__, (str(self), self.records[0]))


class SubmitError(WorkflowError):
    """A batch call failed after the transport's retries; nothing more was read from the input.

    Positions are 0-based indexes into the input. ``ids[p]`` is the request id made for position ``p`` or None.
    ``created``, ``not_created`` and ``maybe_created`` are lists of ``range``: ``maybe_created`` are positions whose
    call may have reached the server (the exception's ``sent`` is True) and did not answer their ids: look them up
    before sending them again. ``not_created`` are positions whose call was not sent or was refused with 429.
    ``items`` maps every position read but not known to be created to its input item; positions from
    ``next_position`` on were never read. ``errors`` pairs each failed range with its exception, as the batch call
    raised it: an index in it (``data[3]``, ``path_to_item``) counts within that batch. ``position`` is the input
    position of the item the first error names, when it names one (``path_to_item``), else None; the message
    gives that position in its place.
    """

    def __init__(
        self,
        ids: List[Optional[str]],
        not_created: List[range],
        maybe_created: List[range],
        items: Dict[int, Any],
        errors: List[Tuple[range, BaseException]],
    ) -> None:
        self.ids = ids
        self.not_created = not_created
        self.maybe_created = maybe_created
        self.created = _runs(p for p, request_id in enumerate(ids) if request_id is not None)
        self.items = items
        self.errors = errors
        self.next_position = len(ids)
        failed, error = errors[0]
        self.position = _input_position(failed, error)
        parts = [
            f"batch call for positions {ranges_text([failed])} failed{_at(failed, error, self.position)}"
            if failed
            else f"reading the input failed at position {failed.start}: {type(error).__name__}: {error}",
            f"created: {ranges_text(self.created) or 'none'}",
            f"not created: {ranges_text(not_created) or 'none'}",
        ]
        if maybe_created:
            parts.append(f"maybe created (look them up before resending): {ranges_text(maybe_created)}")
        parts.append(f"not read from the input: {self.next_position} onwards")
        super().__init__("; ".join(parts))


def _input_position(failed: range, error: BaseException) -> Optional[int]:
    """The input position of the item ``path_to_item`` names (``["data", i]``, i within the failed batch)."""
    path = getattr(error, "path_to_item", None)
    if not isinstance(path, list) or len(path) != 2 or path[0] != "data" or type(path[1]) is not int:
        return None
    return failed.start + path[1] if 0 <= path[1] < len(failed) else None


def _at(failed: range, error: BaseException, position: Optional[int]) -> str:
    """`` at position P: <error>``, the error's ``data[i]`` (i within the batch) written ``data[P]``."""
    if position is None:
        return f": {error}"
    within = f"data[{position - failed.start}]"
    return f" at position {position}: " + str(error).replace(within, f"data[{position}]", 1)


class StreamError(WorkflowError):
    """The stream carried an error, or ended before its final response."""


def _runs(positions: Any) -> List[range]:
    runs: List[range] = []
    for position in positions:
        if runs and runs[-1].stop == position:
            runs[-1] = range(runs[-1].start, position + 1)
        else:
            runs.append(range(position, position + 1))
    return runs


def ranges_text(ranges: Sequence[range]) -> str:
    """``[range(0, 250), range(500, 501)]`` -> ``"0-249, 500"``."""
    return ", ".join(f"{r.start}-{r.stop - 1}" if len(r) > 1 else f"{r.start}" for r in ranges)


def unfinished_text(unfinished: Dict[str, Optional[str]]) -> str:
    """``"req-1 (pending), req-2 (processing) and 3 more"``."""
    shown = ", ".join(f"{request_id} ({status})" for request_id, status in list(unfinished.items())[:SHOWN_IDS])
    more = len(unfinished) - SHOWN_IDS
    return f"{shown} and {more} more" if more > 0 else shown
