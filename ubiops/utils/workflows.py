"""Wait for requests, submit many, collect many, and the one call that does all three."""

import itertools
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ubiops.api import CoreApi
from ubiops.api.checks import MAX_ITEMS, type_name
from ubiops.exceptions import ApiException, ApiTypeError
from ubiops.models import DeploymentRequestDetail, DeploymentRequestSingleDetail
from ubiops.models.deployment_requests import FINAL_STATUSES
from ubiops.utils._progress import open_progress
from ubiops.utils._target import Target, check_count
from ubiops.utils.errors import (
    RequestFailedError,
    SubmitError,
    WaitTimeoutError,
    WorkflowError,
    unfinished_text,
)
from ubiops.utils.pace import Backoff, Deadline, Pace, default_pace

__all__ = ["wait_for_request", "submit_requests", "collect_requests", "run_requests", "DEFAULT_BACKOFF"]

#: Poll intervals when none are given: 0.1 s, growing by 1.6x to 10 s.
DEFAULT_BACKOFF = Backoff()
#: Batch calls in flight at once.
DEFAULT_CONCURRENCY = 4
#: The shortest wait between collect calls that the completion rate may ask for, in seconds.
MIN_WAIT = 0.01
#: Once the last unfinished requests fit in two collects, poll each time about this many more should be final.
TAIL_STEP = 50


def wait_for_request(
    core_api: CoreApi,
    project_name: str,
    deployment_name: str,
    request_id: str,
    version: Optional[str] = None,
    *,
    max_wait: Optional[float] = None,
    raise_on_failure: bool = False,
    backoff: Optional[Backoff] = None,
    pace: Optional[Pace] = None,
) -> DeploymentRequestSingleDetail:
    """Wait until a request is final and return it with its data.

    Polls ``get`` with ``metadata_only`` after waits that start at 0.1 s and grow to 10 s (``backoff``), within the
    calls-per-minute budget of ``pace``. After ``max_wait`` seconds (None: no limit) raises WaitTimeoutError
    naming the request and its last status. ``raise_on_failure``: a request that ended ``failed`` or
    ``cancelled`` raises RequestFailedError carrying its ``error_message``.
    """
    target = Target.of("wait_for_request", core_api, project_name, deployment_name, version)
    target.validate("deployment_requests_get", "wait_for_request", request_id=request_id)
    deadline, pace = Deadline(max_wait), pace or default_pace()
    record = wait_until_final(target, request_id, deadline, backoff or DEFAULT_BACKOFF, pace)
    if raise_on_failure and record.status != "completed":
        raise RequestFailedError([(0, record)], [record])
    return record


def wait_until_final(
    target: Target,
    request_id: str,
    deadline: Deadline,
    backoff: Backoff,
    pace: Pace,
    on_poll: Optional[Callable[[DeploymentRequestSingleDetail], None]] = None,
) -> DeploymentRequestSingleDetail:
    """The loop of :func:`wait_for_request`: poll ``get`` with ``metadata_only`` after each wait of ``backoff`` until
    the status is final, then fetch the record with its data. ``on_poll(record)`` sees each metadata-only record
    (also the final one) before the loop decides what to do next; a callback that takes long delays the next poll."""
    delays = backoff.delays()
    while True:
        polled = target.call(pace, "deployment_requests_get", request_id=request_id, metadata_only=True)
        if on_poll is not None:
            on_poll(polled)
        status = polled.status
        if status in FINAL_STATUSES:
            break
        if deadline.expired():
            raise WaitTimeoutError(
                f"request {request_id} is not final after {deadline.max_wait} s of waiting; last status: {status}",
                {request_id: status},
            )
        deadline.sleep(next(delays))
    record: DeploymentRequestSingleDetail = target.call(pace, "deployment_requests_get", request_id=request_id)
    return record


def submit_requests(
    core_api: CoreApi,
    project_name: str,
    deployment_name: str,
    inputs: Iterable[Any],
    version: Optional[str] = None,
    *,
    timeout: Optional[int] = None,
    priority: Optional[int] = None,
    batch_size: int = MAX_ITEMS,
    concurrency: int = DEFAULT_CONCURRENCY,
    pace: Optional[Pace] = None,
    progress: bool = False,
) -> List[str]:
    """Create one batch request per input item and return the request ids in input order.

    ``inputs`` is any iterable (a generator is read lazily: at most ``concurrency`` batches of ``batch_size``
    items are held at once). ``timeout``, ``priority`` and ``version`` are those of the batch create call. A batch
    call that fails after the transport's retries stops the submission and raises SubmitError, which says which
    input positions were created and which were not, so that a resumed run creates nothing twice.
    """
    target = Target.of("submit_requests", core_api, project_name, deployment_name, version)
    submitter = _Submitter(
        target, timeout, priority, batch_size, concurrency, pace or default_pace(), "submit_requests"
    )
    with open_progress(progress, "submit", _length(inputs)) as shown:
        return submitter.run(inputs, lambda ids, done: shown.update(done))


def collect_requests(
    core_api: CoreApi,
    project_name: str,
    deployment_name: str,
    request_ids: Sequence[str],
    version: Optional[str] = None,
    *,
    max_wait: Optional[float] = None,
    backoff: Optional[Backoff] = None,
    pace: Optional[Pace] = None,
    progress: bool = False,
) -> List[DeploymentRequestDetail]:
    """Wait until every request is final; return their records (with data) in the order of ``request_ids``.

    Each ``collect`` call asks for at most 250 ids, only ones not yet final, oldest first; waits between calls
    follow ``backoff`` and the pace of completion seen so far. After ``max_wait`` seconds raises WaitTimeoutError
    naming the requests not yet final.
    """
    target = Target.of("collect_requests", core_api, project_name, deployment_name, version)
    if isinstance(request_ids, str) or not isinstance(request_ids, Sequence):
        raise ApiTypeError(
            f"collect_requests: `request_ids` must be a list of request ids (str), got {type_name(request_ids)}"
        )
    for index, request_id in enumerate(request_ids):
        if not isinstance(request_id, str):
            raise ApiTypeError(
                f"collect_requests: `request_ids[{index}]` must be a request id (str), got {type_name(request_id)}"
            )
    unique = list(dict.fromkeys(request_ids))
    with open_progress(progress, "collect", len(unique)) as shown:
        collector = _Collector(target, Deadline(max_wait), backoff, pace, shown.update)
        collector.add(unique)
        collector.close()
        collector.run()
    by_id = {record.id: record for record in collector.final_records()}
    return [by_id[request_id] for request_id in request_ids]


def run_requests(
    core_api: CoreApi,
    project_name: str,
    deployment_name: str,
    inputs: Iterable[Any],
    version: Optional[str] = None,
    *,
    timeout: Optional[int] = None,
    priority: Optional[int] = None,
    raise_on_failure: bool = False,
    max_wait: Optional[float] = None,
    batch_size: int = MAX_ITEMS,
    concurrency: int = DEFAULT_CONCURRENCY,
    backoff: Optional[Backoff] = None,
    pace: Optional[Pace] = None,
    progress: bool = False,
) -> List[DeploymentRequestDetail]:
    """Inputs in, final records out, in input order: :func:`submit_requests` and :func:`collect_requests` at once.

    Collecting starts as soon as the first batch is created. A request that failed is reported on its own record
    (``status`` ``failed``, ``error_message``) instead of failing the run; ``raise_on_failure`` raises
    RequestFailedError after all requests are final if any of them did not complete. A failed batch call raises
    SubmitError at once (requests already created keep running; their ids are in the error).
    """
    target = Target.of("run_requests", core_api, project_name, deployment_name, version)
    pace = pace or default_pace()
    submitter = _Submitter(target, timeout, priority, batch_size, concurrency, pace, "run_requests")
    with open_progress(progress, "requests", _length(inputs)) as shown:
        collector = _Collector(
            target,
            Deadline(max_wait),
            backoff,
            pace,
            lambda done, **counts: shown.update(done, submitted=len(collector.ids), **counts),
        )

        def submit() -> None:
            try:
                submitter.run(inputs, lambda ids, done: collector.add(ids))
            except BaseException as err:  # handed to the collecting thread, which raises it
                collector.close(err)
            else:
                collector.close()

        thread = threading.Thread(target=submit, name="ubiops-run-requests-submit", daemon=True)
        thread.start()
        try:
            collector.run()
        finally:
            submitter.stop()
            thread.join()
    records = collector.final_records()
    failures = [(position, record) for position, record in enumerate(records) if record.status != "completed"]
    if raise_on_failure and failures:
        raise RequestFailedError(failures, records)
    return records


def _length(inputs: Iterable[Any]) -> Optional[int]:
    try:
        return len(inputs)  # type: ignore[arg-type]
    except TypeError:
        return None


class _InputError(Exception):
    """Reading the input raised; ``batch`` holds the items of the unfinished batch read before it."""

    def __init__(self, start: int, batch: List[Any], cause: Exception) -> None:
        super().__init__(str(cause))
        self.start, self.batch, self.cause = start, batch, cause


def _batches(inputs: Iterable[Any], size: int) -> Iterator[Tuple[range, List[Any]]]:
    iterator, start = iter(inputs), 0
    while True:
        batch: List[Any] = []
        try:
            batch.extend(itertools.islice(iterator, size))
        except Exception as err:
            raise _InputError(start, batch, err) from err
        if not batch:
            return
        yield range(start, start + len(batch)), batch
        start += len(batch)


def _may_have_reached_server(error: BaseException) -> bool:
    """Whether a failed create may still have created its requests: the transport says whether a byte of it was
    sent, and a 4xx answer (a refusal: bad input, a rate limit) proves that a call that was sent was not carried
    out. A 5xx answer or a lost connection after sending proves nothing."""
    if isinstance(error, ApiException):
        return error.sent and not error.refused
    if isinstance(error, WorkflowError):
        return True  # the server answered, with the wrong number of records: it may have created any of them
    return False  # argument checks and other errors raised before sending


InFlight = Tuple[range, List[Any], "Future[Any]"]


class _Submitter:
    """Sends batch creates, ``concurrency`` at a time, reading the input only as calls finish."""

    def __init__(
        self,
        target: Target,
        timeout: Optional[int],
        priority: Optional[int],
        batch_size: int,
        concurrency: int,
        pace: Pace,
        helper: str,
    ) -> None:
        check_count(helper, "batch_size", batch_size, 1, MAX_ITEMS)
        check_count(helper, "concurrency", concurrency, 1)
        target.validate("batch_deployment_requests_create", helper, timeout=timeout, priority=priority)
        self.target, self.batch_size, self.concurrency, self.pace = target, batch_size, concurrency, pace
        self.options = {
            name: value for name, value in (("timeout", timeout), ("priority", priority)) if value is not None
        }
        self.helper = helper
        self._stop = threading.Event()

    def stop(self) -> None:
        """Read no more input (calls in flight still finish)."""
        self._stop.set()

    def create(self, batch: List[Any]) -> List[str]:
        created = self.target.call(self.pace, "batch_deployment_requests_create", data=batch, **self.options)
        if len(created) != len(batch):
            raise WorkflowError(f"the batch create answered {len(created)} records for {len(batch)} items")
        return [record.id for record in created]

    def run(self, inputs: Iterable[Any], on_created: Callable[[List[str], int], None]) -> List[str]:
        """The ids in input order; ``on_created(ids, created_so_far)`` after each batch, in input order."""
        if isinstance(inputs, (str, bytes, dict)) or not isinstance(inputs, Iterable):
            raise ApiTypeError(
                f"{self.helper}: `inputs` must be an iterable of items (a list or generator of dicts or strings), "
                f"got {type_name(inputs)}"
            )
        ids: List[Optional[str]] = []
        in_flight: Deque[InFlight] = deque()
        not_created: List[range] = []
        maybe_created: List[range] = []
        unsent: Dict[int, Any] = {}
        errors: List[Tuple[range, BaseException]] = []

        def settle(positions: range, batch: List[Any], future: "Future[List[str]]") -> None:
            try:
                created = future.result()
            except Exception as err:
                (maybe_created if _may_have_reached_server(err) else not_created).append(positions)
                unsent.update(zip(positions, batch))
                errors.append((positions, err))
                return
            ids[positions.start : positions.stop] = created
            if not errors:
                on_created(created, positions.stop)

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="ubiops-submit") as pool:
            try:
                for positions, batch in _batches(inputs, self.batch_size):
                    ids.extend([None] * len(batch))
                    in_flight.append((positions, batch, pool.submit(self.create, batch)))
                    if len(in_flight) >= self.concurrency:
                        settle(*in_flight.popleft())
                    if errors or self._stop.is_set():
                        break
            except _InputError as err:  # the input itself raised: report what was created so far
                read = range(err.start, err.start + len(err.batch))
                ids.extend([None] * len(err.batch))
                unsent.update(zip(read, err.batch))
                not_created.extend([read] if read else [])
                errors.append((range(read.stop, read.stop), err.cause))
            finally:
                while in_flight:
                    settle(*in_flight.popleft())
        if errors:
            raise SubmitError(ids, not_created, maybe_created, unsent, errors) from errors[0][1]
        return ids  # type: ignore[return-value]  # every position is set when nothing failed


class _Collector:
    """Polls ``collect`` for requests not yet final, at most 250 ids a call, oldest first, until all are final.

    Ids may keep arriving (:meth:`add`) until :meth:`close`; an error given to close is raised by :meth:`run`.
    """

    def __init__(
        self,
        target: Target,
        deadline: Deadline,
        backoff: Optional[Backoff],
        pace: Optional[Pace],
        on_progress: Callable[..., None],
    ) -> None:
        self.target, self.deadline, self.on_progress = target, deadline, on_progress
        self.backoff = backoff or DEFAULT_BACKOFF
        self.pace = pace or default_pace()
        self.ids: List[str] = []
        self.records: List[Optional[DeploymentRequestDetail]] = []
        self.statuses: List[Optional[str]] = []
        self.unfinished: Deque[int] = deque()
        self.finished = self.failed = 0
        #: The server's ``time_completed`` (epoch seconds) of the latest final records, for the completion rate.
        self.completions: Deque[float] = deque(maxlen=MAX_ITEMS)
        self.closed = False
        self.ended = threading.Event()
        self.error: Optional[BaseException] = None
        self.cond = threading.Condition()

    def add(self, ids: Sequence[str]) -> None:
        with self.cond:
            start = len(self.ids)
            self.ids.extend(ids)
            self.records.extend([None] * len(ids))
            self.statuses.extend([None] * len(ids))
            self.unfinished.extend(range(start, start + len(ids)))
            self.cond.notify()

    def close(self, error: Optional[BaseException] = None) -> None:
        with self.cond:
            self.closed, self.error = True, error
            self.cond.notify()
        self.ended.set()

    def final_records(self) -> List[DeploymentRequestDetail]:
        return self.records  # type: ignore[return-value]  # all set once run() returned

    def _next_chunk(self) -> List[int]:
        """The oldest unfinished positions, at most 250; empty when all are final and no more ids will come."""
        with self.cond:
            while not self.unfinished and not self.closed:
                if self.deadline.expired():
                    raise self._timeout()
                self.cond.wait(None if self.deadline.max_wait is None else self.deadline.remaining())
            if self.error is not None:
                raise self.error
            return [self.unfinished.popleft() for _ in range(min(MAX_ITEMS, len(self.unfinished)))]

    def run(self) -> None:
        backoff, delay = self.backoff, 0.0
        finished_before = 0  # at the end of the last wait
        while True:
            chunk = self._next_chunk()
            if not chunk:
                return
            ids = [self.ids[position] for position in chunk]
            by_id = {r.id: r for r in self.target.call(self.pace, "deployment_requests_batch_get", data=ids)}
            still: List[int] = []
            for position, request_id in zip(chunk, ids):
                record = by_id.get(request_id)
                if record is None:
                    raise WorkflowError(f"collect did not return request {request_id}")
                self.statuses[position] = record.status
                if record.status in FINAL_STATUSES:
                    self.records[position] = record
                    self.failed += record.status != "completed"
                    if record.time_completed is not None:
                        self.completions.append(record.time_completed.timestamp())
                else:
                    still.append(position)
            self.finished += len(chunk) - len(still)
            with self.cond:
                self.unfinished.extendleft(reversed(still))
                # near the end a wait for a full chunk may run past the last completion: poll in smaller steps
                end = self.closed and len(self.unfinished) <= 2 * MAX_ITEMS
                ahead = min(TAIL_STEP, len(self.unfinished)) if end else MAX_ITEMS
            self.on_progress(self.finished, failed=self.failed)
            if not still:
                continue  # the next chunk at once: it may well be final too
            if self.deadline.expired():
                raise self._timeout()
            rate = self._completion_rate()
            grown = min(backoff.cap, max(backoff.first, delay * backoff.factor))
            if self.finished > finished_before and rate:  # progress since the last wait: when the next `ahead`
                delay = max(MIN_WAIT, min(ahead / rate, grown))  # should be done at the rate seen, no sudden leap
            else:  # no progress, or no rate yet: wait longer each time
                delay = backoff.spread(grown)
            self._sleep(delay)
            finished_before = self.finished

    def _completion_rate(self) -> Optional[float]:
        """Requests a second, from the server's ``time_completed`` of the last final records seen."""
        if len(self.completions) < 2:
            return None
        span = max(self.completions) - min(self.completions)
        return (len(self.completions) - 1) / span if span > 0 else None

    def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` (not past the deadline); the end of the submission cuts it short."""
        if not self.ended.is_set():
            self.ended.wait(min(seconds, self.deadline.remaining()))
        else:
            self.deadline.sleep(seconds)

    def _timeout(self) -> WaitTimeoutError:
        with self.cond:
            unfinished = {self.ids[p]: self.statuses[p] for p in self.unfinished}
        if not unfinished:
            return WaitTimeoutError(
                f"the inputs were still being submitted after {self.deadline.max_wait} s of waiting "
                f"({len(self.ids)} requests created, all final)",
                unfinished,
            )
        return WaitTimeoutError(
            f"{len(unfinished)} of {len(self.ids)} requests are not final after {self.deadline.max_wait} s of "
            f"waiting: {unfinished_text(unfinished)}",
            unfinished,
        )
