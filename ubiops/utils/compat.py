"""The public UbiOps client's request helpers, by the same names and signatures, over this package's own loops.

Code from UbiOps' tutorials runs unchanged::

    request = core_api.batch_deployment_requests_create("my-project", "my-deployment", [{"x": 1.0}])[0]
    ubiops.utils.wait_for_deployment_request(api_client, "my-project", "my-deployment", request.id)

    for part in ubiops.utils.stream_deployment_request(api_client, "my-project", "my-llm", data={"prompt": "Hi"}):
        print(part, end="")

What differs from the public client (see docs/Helpers.md): the waits poll with backoff (0.1 s growing to 10 s, within
the shared calls-per-minute :class:`~ubiops.utils.Pace`) instead of every 4 s; they return the final record (the
public ones return None); ``client`` may be an ``ApiClient`` or a ``CoreApi``; Ctrl-C is not swallowed.
"""

import time
import warnings
from datetime import datetime
from typing import Any, Dict, Iterator, List, Optional, Union

from ubiops.api import CoreApi
from ubiops.api_client import ApiClient
from ubiops.exceptions import ApiException, ApiTypeError, ApiValueError, OpenApiException
from ubiops.models import DeploymentRequestCreateResponse, DeploymentRequestSingleDetail, DeploymentVersionDetail
from ubiops.models.deployment_requests import FINAL_STATUSES
from ubiops.utils._target import Target
from ubiops.utils.errors import StatusError, WaitTimeoutApiError, WaitTimeoutError
from ubiops.utils.pace import Backoff, Deadline, Pace, default_pace
from ubiops.utils.stream import stream_request
from ubiops.utils.workflows import DEFAULT_BACKOFF, wait_until_final

__all__ = [
    "wait_for_deployment_request",
    "wait_for_deployment_version_request",
    "stream_deployment_request",
    "LogsUnavailableWarning",
]

#: The public helpers' default timeouts, in seconds.
DEFAULT_WAIT_TIMEOUT = 1800
DEFAULT_STREAM_TIMEOUT = 3600
#: Poll intervals while log lines are shown: they arrive no later than the cap, however long the request runs.
LOG_BACKOFF = Backoff(first=0.1, factor=1.6, cap=3.0)
#: After the request is final, log lines are read until none arrived for this many seconds (late lines).
LOG_SETTLE_SECONDS = 3.0
#: Seconds between those last reads.
LOG_SETTLE_INTERVAL = 1.0
#: Per call of the logs endpoint: the most lines it gives (the API's maximum) and the window after the start point.
LOG_LIMIT = 500
LOG_DATE_RANGE = 86400
#: Statuses of the logs endpoint that mean "this server has no logs": absent (404) or not emulated (501).
NO_LOGS_STATUSES = (404, 501)


class LogsUnavailableWarning(UserWarning):
    """``stream_logs=True`` and the client or the server has no logs: the helper waits without showing them."""


def wait_for_deployment_request(
    client: Union[ApiClient, CoreApi],
    project_name: str,
    deployment_name: str,
    request_id: str,
    timeout: Optional[float] = DEFAULT_WAIT_TIMEOUT,
    quiet: bool = False,
    stream_logs: bool = False,
) -> DeploymentRequestSingleDetail:
    """Wait until a request to the deployment's default version is final and return its record (with its data).

    Prints ``Deployment request: <status>`` to stdout on each change of status unless ``quiet``. ``stream_logs``
    (only when not ``quiet``): prints the request's log lines while waiting, if the client and server have logs.
    A request that ends ``failed`` or ``cancelled`` raises :class:`~ubiops.utils.errors.StatusError`
    (``"Deployment request: failed: <error_message>"``); after ``timeout`` seconds (None: no limit) raises
    :class:`~ubiops.utils.errors.WaitTimeoutApiError`, an ``ApiException`` with status 504 as the public client's.
    """
    return _wait(
        "wait_for_deployment_request",
        "Deployment request",
        client,
        project_name,
        deployment_name,
        None,
        request_id,
        timeout,
        quiet,
        stream_logs,
    )


def wait_for_deployment_version_request(
    client: Union[ApiClient, CoreApi],
    project_name: str,
    deployment_name: str,
    version: str,
    request_id: str,
    timeout: Optional[float] = DEFAULT_WAIT_TIMEOUT,
    quiet: bool = False,
    stream_logs: bool = False,
) -> DeploymentRequestSingleDetail:
    """:func:`wait_for_deployment_request` for a request to ``version`` (``deployment_version_requests_get``);
    prints and raises with ``Deployment version request`` in the text."""
    return _wait(
        "wait_for_deployment_version_request",
        "Deployment version request",
        client,
        project_name,
        deployment_name,
        version,
        request_id,
        timeout,
        quiet,
        stream_logs,
    )


def wait_for_deployment_version(
    client: Union[ApiClient, CoreApi],
    project_name: str,
    deployment_name: str,
    version: str,
    revision_id: Optional[str] = None,
    timeout: Optional[float] = DEFAULT_WAIT_TIMEOUT,
    quiet: bool = False,
    stream_logs: bool = False,
) -> DeploymentVersionDetail:
    """Wait until the version's ``status`` is ``available`` and return its details (``deployment_versions_get``),
    polling with backoff; prints ``Deployment version: <status>`` per change unless ``quiet``. On the platform the
    public helper also follows the version's environment build and revision, for which this client has no methods:
    ``revision_id`` and ``stream_logs`` are taken for the public signature and not used. Calls count against the
    shared Pace. Past ``timeout`` it raises the ApiException the public helper raises (status 504, ``Timeout was
    reached``)."""
    helper = "wait_for_deployment_version"
    core_api = _core_api(helper, client)
    deadline = _deadline(helper, timeout)
    printer = None if quiet else _StatusPrinter("Deployment version")
    pace = default_pace()  # the calls-per-minute budget every helper shares
    for delay in DEFAULT_BACKOFF.delays():
        detail = pace.call(core_api.deployment_versions_get, project_name, deployment_name, version)
        if printer is not None:
            printer.show(str(detail.status))
        if detail.status == "available":
            return detail
        if deadline.expired():
            message = f"version {version} of {deployment_name} is not available after {timeout} s: {detail.status}"
            raise ApiException(504, "Deployment version Timeout", body="Timeout was reached", message=message)
        time.sleep(min(delay, deadline.remaining()))
    raise AssertionError("unreachable: the delays never end")  # pragma: no cover


def stream_deployment_request(
    client: Union[ApiClient, CoreApi],
    project_name: str,
    deployment_name: str,
    version: Optional[str] = None,
    data: Union[None, str, dict, list] = None,
    timeout: Optional[int] = DEFAULT_STREAM_TIMEOUT,
    full_response: bool = False,
) -> Iterator[Union[str, DeploymentRequestCreateResponse]]:
    """A direct request over ``.../requests/stream``: yields each partial result (``str``) as the deployment sends
    it and, with ``full_response=True``, then the final ``DeploymentRequestCreateResponse``.

    Note the public order of the arguments: ``version`` comes before ``data`` (``version=None``: the default
    version). A request that ends with an ``error_message`` raises :class:`~ubiops.utils.errors.StatusError`
    (``"Request failed with error message: <error_message>"``), a UbiOpsException as the public client's; the
    partial results before it have been yielded. Nothing is sent until the iteration starts.
    """
    helper = "stream_deployment_request"
    core_api = _core_api(helper, client)
    if isinstance(data, bool) or not isinstance(data, (str, dict, list)):
        raise ApiTypeError(
            f"{helper}: `data` must be a dict (or list of dicts) for a structured deployment or a str for a plain "
            f"one, got {type(data).__name__}"
        )
    parts = stream_request(
        core_api, project_name, deployment_name, data, version, timeout=timeout, raise_on_failure=False
    )
    return _public_stream(parts, full_response)


def _public_stream(
    parts: Iterator[Union[str, DeploymentRequestCreateResponse]], full_response: bool
) -> Iterator[Union[str, DeploymentRequestCreateResponse]]:
    for part in parts:
        if isinstance(part, str):
            yield part
            continue
        if part.error_message or part.status != "completed":
            raise StatusError(f"Request failed with error message: {part.error_message or part.status}", part)
        if full_response:
            yield part


def _deadline(helper: str, timeout: Optional[float]) -> Deadline:
    try:
        return Deadline(timeout)
    except ValueError:
        raise ApiValueError(f"{helper}: `timeout` must be a number of seconds >= 0 or None, got {timeout!r}") from None


def _core_api(helper: str, client: Any) -> CoreApi:
    if isinstance(client, CoreApi):
        return client
    if isinstance(client, ApiClient):
        return CoreApi(client)
    raise ApiTypeError(f"{helper}: `client` must be a ubiops.ApiClient or ubiops.CoreApi, got {type(client).__name__}")


def _wait(
    helper: str,
    object_name: str,
    client: Any,
    project_name: str,
    deployment_name: str,
    version: Optional[str],
    request_id: str,
    timeout: Optional[float],
    quiet: bool,
    stream_logs: bool,
) -> DeploymentRequestSingleDetail:
    target = Target.of(helper, _core_api(helper, client), project_name, deployment_name, version)
    target.validate("deployment_requests_get", helper, request_id=request_id)
    deadline = _deadline(helper, timeout)
    pace = default_pace()
    printer = None if quiet else _StatusPrinter(object_name)
    logs = _LogReader(target, request_id, pace) if stream_logs and not quiet else None

    def on_poll(record: DeploymentRequestSingleDetail) -> None:
        if printer is not None and record.status not in FINAL_STATUSES:
            printer.show(record.status)
        if logs is not None:
            logs.read(record)

    try:
        record = wait_until_final(target, request_id, deadline, LOG_BACKOFF if logs else DEFAULT_BACKOFF, pace, on_poll)
    except WaitTimeoutError as err:
        raise WaitTimeoutApiError(object_name, request_id, err.last_status, timeout or 0) from err
    if logs is not None:
        logs.settle(record)
    if printer is not None:
        printer.show(record.status)
    if record.status != "completed":
        text = f"{object_name}: {record.status}"
        raise StatusError(f"{text}: {record.error_message}" if record.error_message else text, record)
    return record


class _StatusPrinter:
    """``<object name>: <status>`` on stdout, once per status."""

    def __init__(self, object_name: str) -> None:
        self.object_name = object_name
        self.last: Optional[str] = None

    def show(self, status: Optional[str]) -> None:
        if status != self.last:
            self.last = status
            print(f"{self.object_name}: {status}", flush=True)


def _field(entry: Any, name: str) -> Any:
    """A field of one log entry, whether the client returns models or plain dicts."""
    return entry.get(name) if isinstance(entry, dict) else getattr(entry, name, None)


class _LogReader:
    """The request's log lines from ``CoreApi.projects_log_list``, each printed once, oldest first.

    Reads from the request's creation onwards, then from the last line seen (the API includes the line whose ``id``
    is given, so that one is skipped). When the client has no ``projects_log_list``, the server answers 404 or 501,
    or any other error of the logs call, it warns once (:class:`LogsUnavailableWarning`) and reads no more: the wait
    goes on without logs.
    """

    def __init__(self, target: Target, request_id: str, pace: Pace) -> None:
        self.target, self.request_id, self.pace = target, request_id, pace
        method = getattr(target.core_api, "projects_log_list", None)
        self.method = method if callable(method) else None
        self.filters: Optional[Dict[str, Any]] = None
        self.start: Optional[str] = None
        self.last_id: Optional[str] = None
        if self.method is None:
            self._give_up("this client has no CoreApi.projects_log_list")

    def _give_up(self, why: str) -> None:
        self.method = None
        warnings.warn(
            f"stream_logs: no log lines will be shown ({why}); waiting for request {self.request_id} without them",
            LogsUnavailableWarning,
            stacklevel=2,
        )

    def read(self, record: Any) -> int:
        """Print the lines that arrived since the last read; how many."""
        if self.method is None:
            return 0
        if self.filters is None:
            self.filters = {
                "deployment_name": self.target.deployment_name,
                "deployment_version": record.version or self.target.version,
                "deployment_request_id": self.request_id,
            }
            created = getattr(record, "time_created", None)
            self.start = created.isoformat(timespec="milliseconds") if isinstance(created, datetime) else created
        printed = 0
        while True:
            page = self._page()
            if page is None:
                return printed
            for entry in page:
                if self.last_id is not None and _field(entry, "id") == self.last_id:
                    continue
                text = _field(entry, "log")
                if text:
                    print(str(text).rstrip("\n"), flush=True)
                    printed += 1
            if page:
                self.last_id = _field(page[-1], "id")
            if len(page) < LOG_LIMIT or self.last_id is None:
                return printed

    def _page(self) -> Optional[List[Any]]:
        data: Dict[str, Any] = {"filters": self.filters, "date_range": LOG_DATE_RANGE, "limit": LOG_LIMIT}
        if self.last_id is not None:
            data["id"] = self.last_id
        elif self.start is not None:
            data["date"] = self.start
        try:
            page = self.pace.call(self.method, self.target.project_name, data=data)  # type: ignore[arg-type]
        except ApiException as err:
            if err.status in NO_LOGS_STATUSES:
                self._give_up(f"the server answered {err.status} to the logs call")
            else:
                self._give_up(f"the logs call failed: {err}")
            return None
        except OpenApiException as err:  # the client refused the arguments
            self._give_up(f"the logs call was refused: {err}")
            return None
        return list(page or [])

    def settle(self, record: Any) -> None:
        """After the request is final: read until no line arrived for LOG_SETTLE_SECONDS (lines come late)."""
        quiet_for = 0.0
        while self.method is not None and quiet_for < LOG_SETTLE_SECONDS:
            time.sleep(LOG_SETTLE_INTERVAL)
            quiet_for = 0.0 if self.read(record) else quiet_for + LOG_SETTLE_INTERVAL
