"""The local server's state and rules, free of HTTP: requests, their statuses, the queues and the workers.

Every rule violation is an ApiError carrying its HTTP status. Scheduling: per version, `instances` slots; pending
requests are taken by (priority, creation order) by one of `instances` dispatcher threads, which runs them on the
version's DeploymentRuntime: a direct request alone, batch requests in chunks (one message to a worker for several
requests; as many as take about CHUNK_BUDGET seconds by the recent run times, so slow deployments get chunks of
one). A direct request that finds a free slot and an empty queue runs in the calling thread (the order is the same,
one hand-off less). The queue entries hold the request data, so taking a request reads nothing from the store.

Status writes (pending -> processing when a run starts, the outcome when it ends) go to one writer thread, which
applies all that queued up in one transaction and only then wakes whoever waits for those requests; a status change
reaches the store a few milliseconds late at most. A request whose "processing" was not written before a crash is
simply still pending after the restart. The store decides every race (conditional updates); a cancel or delete of
a pending request also takes it out of the in-memory queue, so it never runs.
"""

import functools
import heapq
import json
import logging
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

from ubiops.local.config import DeploymentConfig, Field, ServerConfig, VersionConfig
from ubiops.local.runtime import DeploymentRuntime, Outcome
from ubiops.local.store import FINAL_STATUSES, Finish, Scope, Store, StoredRequest

logger = logging.getLogger("ubiops.local")

MAX_ITEMS = 250  #: items per batch create, ids per collect/cancel/delete
MAX_DEPTH = 100  #: levels of lists and objects in structured input
DIRECT_TIMEOUT = (10, 3600, 300)  #: (minimum, maximum, default) seconds
BATCH_TIMEOUT = (10, 172800, 14400)
STATUSES = ("pending", "processing", "completed", "failed", "cancelled", "cancelled_pending")
CANCEL_RETRY = 0.01  #: seconds between attempts to stop a run that had been claimed but had not reached a worker
CHUNK_BUDGET = 0.005  #: seconds of expected run time per chunk of batch requests handed to a worker
MAX_CHUNK = 64  #: requests per chunk
CHUNK_BYTES = 1 << 20  #: request data per chunk, in characters (a chunk has at least one request)

#: A JSON value as parsed from a request body, or the text of a text/plain body.
Body = Any


class QueueEntry(NamedTuple):
    """A pending request in its version's heap; ordered by (priority, time_created), which is unique."""

    priority: int
    time_created: int
    id: str
    mode: str  # "direct" | "batch"
    timeout: int
    data: str  # the stored JSON text


class ApiError(Exception):
    """A request the server refuses; `status` is the HTTP status code, `message` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class TextBody:
    """A text/plain request body: the string itself, as opposed to a JSON value."""

    text: str


def now_us() -> int:
    return time.time_ns() // 1000


@functools.lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def iso(us: Optional[int]) -> Optional[str]:
    """Microseconds since the epoch as ISO 8601 UTC with milliseconds, e.g. 2020-03-28T20:00:26.613+00:00."""
    if us is None:
        return None
    seconds, micro = divmod(us, 1_000_000)
    return f"{_iso_seconds(seconds)}.{micro // 1000:03d}+00:00"


def new_ids(count: int) -> List[str]:
    """uuid4 strings, with one call for the randomness of all of them (uuid.UUID objects are slow to make)."""
    randomness = bytearray(os.urandom(16 * count))
    randomness[6::16] = bytes(byte & 0x0F | 0x40 for byte in randomness[6::16])  # version 4
    randomness[8::16] = bytes(byte & 0x3F | 0x80 for byte in randomness[8::16])  # RFC 4122 variant
    hexes = (randomness[i : i + 16].hex() for i in range(0, 16 * count, 16))
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in hexes]


def compact_json(value: Any) -> str:
    if isinstance(value, str):  # the common plain item; what json.dumps would give, without its overhead
        return encode_basestring(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def stored_size(value: Any, text: str) -> int:
    """Bytes of the input/output: the utf-8 text of a string, else of its compact JSON."""
    return len((value if isinstance(value, str) else text).encode("utf-8"))


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


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
        return f"expected a JSON object with the fields {names}, got {json_type(value)}"
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


def _item_error(value: Any, deployment: DeploymentConfig, direction: str) -> Optional[str]:
    if (deployment.input_type if direction == "input" else deployment.output_type) == "structured":
        error = field_error(value, deployment.input_fields if direction == "input" else deployment.output_fields)
        if error is None and direction == "input" and too_deep(value):
            error = f"nested deeper than {MAX_DEPTH} levels of lists and objects"
        return error
    return None if isinstance(value, str) else f"expected a string (plain {direction}), got {json_type(value)}"


# -- response records --------------------------------------------------------------------------------------------


class JsonText(str):
    """Encoded JSON, sent by the HTTP layer as it is. Records are encoded by hand: the stored request data and
    result are JSON texts already, and collecting thousands of records is the hot path of polling clients."""


def _text(value: Optional[str]) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def _number(value: Optional[int]) -> str:
    return "null" if value is None else str(value)


def _time(us: Optional[int]) -> str:
    return "null" if us is None else f'"{iso(us)}"'


def _names(row: StoredRequest) -> str:
    """Ids are our uuids and names match config.NAME_PATTERN: neither needs escaping."""
    return f'"id":"{row.id}","deployment":"{row.deployment}","version":"{row.version}","status":"{row.status}",' + (
        '"success":true' if row.status == "completed" else '"success":false'
    )


def _metadata(row: StoredRequest) -> str:
    return (
        f'{_names(row)},"time_created":{_time(row.time_created)},"time_started":{_time(row.time_started)},'
        f'"time_completed":{_time(row.time_completed)},"input_size":{row.input_size},'
        f'"output_size":{_number(row.output_size)}'
    )


def list_record(row: StoredRequest) -> str:
    return "{" + _metadata(row) + "}"


def full_record(row: StoredRequest, metadata_only: bool = False, origin: bool = False) -> str:
    data = "" if metadata_only else f',"request_data":{row.request_data},"result":{row.result or "null"}'
    tail = ',"origin":{"created_by":"local"}' if origin else ""
    return f'{{{_metadata(row)},"timeout":{row.timeout}{data},"error_message":{_text(row.error_message)}{tail}}}'


def direct_record(row: StoredRequest) -> JsonText:
    return JsonText(
        f'{{{_names(row)},"result":{row.result or "null"},"error_message":{_text(row.error_message)},'
        f'"timeout":{row.timeout}}}'
    )


def json_list(items: Iterable[str]) -> JsonText:
    return JsonText("[" + ",".join(items) + "]")


# -- versions and their queues ------------------------------------------------------------------------------------


@dataclass
class _Version:
    """A served version: its runtime, its queue of pending requests and its free slots."""

    deployment: DeploymentConfig
    config: VersionConfig
    runtime: DeploymentRuntime
    cond: threading.Condition  # on the backend's lock
    queue: List[QueueEntry] = field(default_factory=list)
    free: int = 0
    threads: List[threading.Thread] = field(default_factory=list)
    run_seconds: float = CHUNK_BUDGET  #: moving average of the recent run times, for the chunk size


def runtime_context(project: str, deployment: DeploymentConfig, version: VersionConfig) -> Dict[str, Any]:
    """The init context a deployment sees, minus process_id (the runtime adds it)."""
    return {
        "project": project,
        "deployment": deployment.name,
        "version": version.name,
        "input_type": deployment.input_type,
        "output_type": deployment.output_type,
        "input_fields": [{"name": f.name, "data_type": f.data_type} for f in deployment.input_fields],
        "output_fields": [{"name": f.name, "data_type": f.data_type} for f in deployment.output_fields],
        "language": f"python{sys.version_info.major}.{sys.version_info.minor}",
        "environment_variables": dict(version.environment_variables),
    }


class Backend:
    """All 22 request endpoints (+ stream) as methods; the HTTP layer only parses and serialises."""

    def __init__(self, config: ServerConfig, store: Store, log_dir: Path) -> None:
        self.config = config
        self.store = store
        self._lock = threading.Lock()
        self._versions: Dict[Tuple[str, str], _Version] = {}
        for deployment in config.deployments:
            for version in deployment.versions:
                runtime = DeploymentRuntime(
                    version.path,
                    context=runtime_context(config.project, deployment, version),
                    instances=version.instances,
                    log_path=log_dir / f"{deployment.name}.log",
                )
                self._versions[deployment.name, version.name] = _Version(
                    deployment, version, runtime, threading.Condition(self._lock)
                )
        self._clock = 0
        self._stopping = False
        self._waiters: Dict[str, threading.Event] = {}
        self._streams: Dict[str, queue.Queue[Optional[str]]] = {}
        self._queued: Set[str] = set()  # ids in the heaps that may run; a heap entry not in here is skipped
        self._running: Dict[str, _Version] = {}  # taken from a queue, outcome not known yet
        self._to_cancel: Set[str] = set()
        self._cancel_wakeup = threading.Condition(self._lock)
        self._helpers: List[threading.Thread] = []
        writes_lock = threading.Lock()
        self._writes = threading.Condition(writes_lock)  # the writer waits for work
        self._written = threading.Condition(writes_lock)  # dispatchers wait for a commit
        self._taken = 0  # transactions the writer has started
        self._committed = 0  # ... and ended
        self._claims: List[Tuple[int, str]] = []
        self._finishes: List[Finish] = []
        self._writer_stop = False
        self._writer = threading.Thread(target=self._write_loop, name="status-writer", daemon=True)

    # -- life cycle -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Recover the store, start the workers and the dispatchers, queue what is pending."""
        now = now_us()
        self.store.recover(now)
        self.store.fail_unserved({(self.config.project, d, v) for d, v in self._versions}, now)
        self._clock = self.store.last_created()
        for request_id, _project, deployment, version, mode, priority, created, timeout, data in self.store.pending():
            heapq.heappush(
                self._versions[deployment, version].queue,
                QueueEntry(priority, created, request_id, mode, timeout, data),
            )
            self._queued.add(request_id)
        started: List[_Version] = []
        try:
            for state in self._versions.values():
                state.runtime.start()
                started.append(state)
        except BaseException:
            for state in started:
                state.runtime.stop()
            raise
        self._writer.start()
        for (deployment, version), state in self._versions.items():
            state.free = state.config.instances
            for index in range(state.config.instances):
                thread = threading.Thread(
                    target=self._dispatch, args=(state,), name=f"dispatch-{deployment}-{version}-{index}", daemon=True
                )
                thread.start()
                state.threads.append(thread)
        canceller = threading.Thread(target=self._cancel_loop, name="canceller", daemon=True)
        canceller.start()
        self._helpers.append(canceller)

    def stop(self) -> None:
        """Stop taking work, wake every waiter, stop the workers. Unfinished requests run again at the next start."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._cancel_wakeup.notify_all()
            waiters, streams = list(self._waiters.values()), list(self._streams.values())
        for state in self._versions.values():
            with state.cond:
                state.cond.notify_all()
        for event in waiters:
            event.set()
        for stream in streams:
            stream.put(None)
        for state in self._versions.values():
            state.runtime.stop()
        for thread in [t for s in self._versions.values() for t in s.threads] + self._helpers:
            thread.join(timeout=10)
        with self._writes:
            self._writer_stop = True
            self._writes.notify()
        if self._writer.is_alive():
            self._writer.join(timeout=10)

    @property
    def stopping(self) -> bool:
        return self._stopping

    # -- lookups --------------------------------------------------------------------------------------------------

    def deployment(self, project: str, deployment: str) -> DeploymentConfig:
        if project != self.config.project:
            raise ApiError(404, f"project {project!r} not found (this server serves project {self.config.project!r})")
        found = self.config.deployment(deployment)
        if found is None:
            raise ApiError(404, f"deployment {deployment!r} not found in project {project!r}")
        return found

    def version(self, project: str, deployment: str, version: Optional[str]) -> _Version:
        """The named version, or the default version when `version` is None."""
        config = self.deployment(project, deployment)
        name = config.default_version if version is None else version
        state = self._versions.get((deployment, name))
        if state is None:
            raise ApiError(404, f"version {name!r} of deployment {deployment!r} not found")
        return state

    def scope(self, project: str, deployment: str, version: Optional[str]) -> Scope:
        """Requests that by-id endpoints may see: the whole deployment, or one version when it is named."""
        if version is None:
            self.deployment(project, deployment)
        else:
            self.version(project, deployment, version)
        return Scope(project, deployment, version)

    def _row(self, request_id: str, scope: Scope) -> StoredRequest:
        row = self.store.get(request_id, scope)
        if row is None:
            where = f"deployment {scope.deployment!r}"
            if scope.version is not None:
                where = f"version {scope.version!r} of {where}"
            raise ApiError(404, f"request {request_id!r} not found in {where}")
        return row

    def _rows(self, ids: Sequence[str], scope: Scope) -> List[StoredRequest]:
        """All of them, or a 404 naming the first unknown id."""
        rows = self.store.get_many(ids, scope)
        if len(rows) < len(ids):
            known = {row.id for row in rows}
            missing = next(request_id for request_id in ids if request_id not in known)
            self._row(missing, scope)
        return rows

    # -- creating requests ----------------------------------------------------------------------------------------

    def _new(
        self,
        state: _Version,
        items: Sequence[Any],
        mode: str,
        timeout: int,
        priority: int,
        started: bool = False,
    ) -> List[StoredRequest]:
        """Store new requests in one transaction: pending, or processing when `started`."""
        with self._lock:
            first = max(now_us(), self._clock + 1)
            self._clock = first + len(items) - 1
        ids = new_ids(len(items))
        rows = []
        for offset, item in enumerate(items):
            text = compact_json(item)
            rows.append(
                StoredRequest(
                    id=ids[offset],
                    project=self.config.project,
                    deployment=state.deployment.name,
                    version=state.config.name,
                    mode=mode,
                    status="processing" if started else "pending",
                    priority=priority,
                    timeout=timeout,
                    time_created=first + offset,
                    time_started=first if started else None,
                    time_completed=None,
                    request_data=text,
                    result=None,
                    error_message=None,
                    input_size=stored_size(item, text),
                    output_size=None,
                )
            )
        self.store.insert(rows)
        return rows

    def _direct_data(self, deployment: DeploymentConfig, body: Body) -> Any:
        """One item, or a non-empty list of items (for the deployment's `requests` method)."""
        if isinstance(body, TextBody):
            if deployment.input_type == "structured":
                raise ApiError(400, "data: a structured deployment takes a JSON object (Content-Type application/json)")
            return body.text
        if isinstance(body, list):
            if not body:
                raise ApiError(400, "data: the list of requests is empty")
            for index, item in enumerate(body):
                error = _item_error(item, deployment, "input")
                if error:
                    raise ApiError(400, f"data[{index}]: {error}")
            return body
        error = _item_error(body, deployment, "input")
        if error:
            raise ApiError(400, f"data: {error}")
        return body

    def _batch_items(self, deployment: DeploymentConfig, body: Body) -> List[Any]:
        if isinstance(body, TextBody):
            if deployment.input_type == "structured":
                raise ApiError(400, "data: a structured deployment takes a JSON object or a list of them")
            return [body.text]
        items = body if isinstance(body, list) else [body]
        if not items:
            raise ApiError(400, "data: the list of requests is empty")
        if len(items) > MAX_ITEMS:
            raise ApiError(400, f"data: at most {MAX_ITEMS} requests per batch, got {len(items)}")
        for index, item in enumerate(items):
            error = _item_error(item, deployment, "input")
            if error:
                raise ApiError(400, f"data[{index}]: {error}; no request was created")
        return items

    def create_batch(
        self, project: str, deployment: str, version: Optional[str], body: Body, timeout: int, priority: int
    ) -> JsonText:
        state = self.version(project, deployment, version)
        self._check_open()
        rows = self._new(state, self._batch_items(state.deployment, body), "batch", timeout, priority)
        self._enqueue(
            state, [QueueEntry(priority, row.time_created, row.id, "batch", timeout, row.request_data) for row in rows]
        )
        return json_list(
            f'{{"id":"{row.id}","deployment":"{row.deployment}","version":"{row.version}","status":"pending",'
            f'"time_created":"{iso(row.time_created)}"}}'
            for row in rows
        )

    def create_direct(
        self, project: str, deployment: str, version: Optional[str], body: Body, timeout: int, priority: int
    ) -> JsonText:
        """Blocks until the request is final (or the server stops)."""
        state = self.version(project, deployment, version)
        self._check_open()
        data = self._direct_data(state.deployment, body)
        with state.cond:  # a free slot and nobody waiting: run in this thread, created as processing
            inline = state.free > 0 and not state.queue
            if inline:
                state.free -= 1
        try:
            row = self._new(state, [data], "direct", timeout, priority, started=inline)[0]
            entry = QueueEntry(priority, row.time_created, row.id, "direct", timeout, row.request_data)
            event = threading.Event()
            self._register(self._waiters, row.id, event)
            try:
                if inline:
                    with self._lock:
                        self._running[row.id] = state
                    self._serve([entry], state, claim=False)
                else:
                    self._enqueue(state, [entry])
                event.wait()
            finally:
                with self._lock:
                    self._waiters.pop(row.id, None)
        finally:
            if inline:
                self._release(state)
        return direct_record(self._final_row(row.id, state))

    def create_stream(
        self, project: str, deployment: str, version: Optional[str], body: Body, timeout: int, priority: int
    ) -> Iterator[str]:
        """Checks and queues the request now; the iterator gives each streaming update (str), then the direct
        record (JsonText)."""
        state = self.version(project, deployment, version)
        self._check_open()
        row = self._new(state, [self._direct_data(state.deployment, body)], "direct", timeout, priority)[0]
        updates: queue.Queue[Optional[str]] = queue.Queue()
        self._register(self._streams, row.id, updates)
        self._enqueue(state, [QueueEntry(priority, row.time_created, row.id, "direct", timeout, row.request_data)])

        def events() -> Iterator[str]:
            try:
                while True:
                    update = updates.get()
                    if update is None:
                        break
                    yield update
            finally:
                with self._lock:
                    self._streams.pop(row.id, None)
            yield direct_record(self._final_row(row.id, state))

        return events()

    def _register(self, registry: Dict[str, Any], request_id: str, waiter: Any) -> None:
        """Under the lock that stop() takes, so a stop never misses a waiter (the request runs after a restart)."""
        with self._lock:
            if self._stopping:
                raise ApiError(503, f"the server is stopping; request {request_id!r} runs when it starts again")
            registry[request_id] = waiter

    def _final_row(self, request_id: str, state: _Version) -> StoredRequest:
        row = self.store.get(request_id, Scope(self.config.project, state.deployment.name))
        if row is None:
            raise ApiError(404, f"request {request_id!r} was deleted before it finished")
        if row.status not in FINAL_STATUSES:
            raise ApiError(
                503,
                f"the server is stopping; request {request_id!r} is {row.status} and runs again when the server "
                "starts again on the same data directory",
            )
        return row

    def _check_open(self) -> None:
        if self._stopping:
            raise ApiError(503, "the server is stopping")

    # -- running requests -----------------------------------------------------------------------------------------

    def _enqueue(self, state: _Version, entries: Sequence[QueueEntry]) -> None:
        with state.cond:
            for entry in entries:
                heapq.heappush(state.queue, entry)
                self._queued.add(entry.id)
            state.cond.notify(len(entries))

    def _dispatch(self, state: _Version) -> None:
        """One per instance: wait for pending requests and a free slot, run a direct request or a chunk."""
        while True:
            with state.cond:
                while not self._stopping and not (state.queue and state.free > 0):
                    state.cond.wait()
                if self._stopping:
                    return
                state.free -= 1
                entries = self._take(state)
            try:
                if entries:
                    self._serve(entries, state, claim=True)
                    # The next run waits until these outcomes are stored: a crash then reruns at most the runs in
                    # progress (the requests of the chunks being run), not also the ones that just ended.
                    self._wait_written()
            finally:
                self._release(state)

    def _take(self, state: _Version) -> List[QueueEntry]:
        """The next direct request, or the next batch requests up to a chunk; registered as running (so that a
        cancel finds them). The caller holds the lock."""
        limit = max(1, min(MAX_CHUNK, int(CHUNK_BUDGET / max(state.run_seconds, 1e-6))))
        entries: List[QueueEntry] = []
        size = 0
        while state.queue and len(entries) < limit and size < CHUNK_BYTES:
            entry = state.queue[0]
            if entry.id not in self._queued:  # cancelled or deleted while pending
                heapq.heappop(state.queue)
                continue
            if entries and entry.mode == "direct":
                break
            heapq.heappop(state.queue)
            self._queued.discard(entry.id)
            self._running[entry.id] = state
            entries.append(entry)
            size += len(entry.data)
            if entry.mode == "direct":
                break
        return entries

    def _release(self, state: _Version) -> None:
        with state.cond:
            state.free += 1
            state.cond.notify()

    def _serve(self, entries: Sequence[QueueEntry], state: _Version, claim: bool) -> None:
        """Run the taken entries in the caller's slot; the ones a cut-short chunk did not start are queued again."""
        try:
            if entries[0].mode == "direct":
                self._run_direct(state, entries[0], claim)
            else:
                self._run_chunk(state, entries)
        except Exception:  # a bug must neither stop the dispatcher nor leave a request processing
            logger.exception("serving requests %s failed", ", ".join(entry.id for entry in entries))
            for entry in entries:
                with self._lock:
                    running = self._running.pop(entry.id, None) is not None
                if running:
                    now = now_us()
                    self._write(
                        finishes=[(now, now, "failed", None, "internal error of the local server", None, entry.id)]
                    )

    def _run_direct(self, state: _Version, entry: QueueEntry, claim: bool) -> None:
        started = now_us()
        if claim:
            self._write(claims=[(started, entry.id)])
            # Its caller may see output (stream updates) while it runs: by then it must list as processing.
            self._wait_written()
        with self._lock:
            stream = self._streams.get(entry.id)
        value = json.loads(entry.data)
        try:
            outcome = state.runtime.run(
                entry.id,
                value,
                request_mode="express",
                timeout=entry.timeout,
                streaming_update=stream.put if stream is not None else None,
            )
        except Exception as exc:  # the runtime is not ours to trust blindly; the request must still end
            logger.exception("the runtime failed on request %s", entry.id)
            outcome = Outcome("failed", error_message=f"internal error of the local server: {exc!r}")
        self._finished(state, [(entry.id, outcome)], started, isinstance(value, list))

    def _run_chunk(self, state: _Version, entries: Sequence[QueueEntry]) -> None:
        clock = now_us()  # when the item the runtime waits for started: the chunk's start or the last report

        def started(request_id: str) -> None:
            self._write(claims=[(clock, request_id)])

        def finished(outcomes: List[Tuple[str, Outcome]]) -> None:
            nonlocal clock
            clock = self._finished(state, outcomes, clock)

        rest = set(state.runtime.run_chunk([(e.id, e.data, e.timeout) for e in entries], started, finished))
        if rest:
            with state.cond:
                for entry in entries:
                    if entry.id in rest and self._running.pop(entry.id, None) is not None and not self._stopping:
                        heapq.heappush(state.queue, entry)
                        self._queued.add(entry.id)
                state.cond.notify(len(rest))

    def _finished(
        self, state: _Version, outcomes: Sequence[Tuple[str, Outcome]], started: int, list_input: bool = False
    ) -> int:
        """Queue the outcomes for the writer; returns the time they were taken as ended. One cut short by a stop is
        not written: it runs again at the next start."""
        now = now_us()
        with self._lock:
            for request_id, _outcome in outcomes:
                self._running.pop(request_id, None)
            state.run_seconds += 0.2 * ((now - started) / 1e6 / len(outcomes) - state.run_seconds)
        if self._stopping:
            outcomes = [(request_id, outcome) for request_id, outcome in outcomes if outcome.status == "completed"]
        self._write(
            finishes=[
                (started, now, *self._stored(state, outcome, list_input), request_id)
                for request_id, outcome in outcomes
            ]
        )
        return now

    def _stored(
        self, state: _Version, outcome: Outcome, list_input: bool
    ) -> Tuple[str, Optional[str], Optional[str], Optional[int]]:
        """What to store of an outcome: (status, result JSON, error message, output size)."""
        if outcome.status != "completed":
            return outcome.status, None, outcome.error_message if outcome.status == "failed" else None, None
        error = self._output_error(state.deployment, outcome.result, list_input)
        if error is None:
            try:
                text = compact_json(outcome.result)
                return "completed", text, None, stored_size(outcome.result, text)
            except (TypeError, ValueError) as exc:
                error = f"the deployment output cannot be stored as JSON: {exc}"
        return "failed", None, error, None

    def _write(self, claims: Sequence[Tuple[int, str]] = (), finishes: Sequence[Finish] = ()) -> None:
        with self._writes:
            self._claims += claims
            self._finishes += finishes
            self._writes.notify()

    def _wait_written(self) -> None:
        """Until every status write queued so far is committed."""
        with self._writes:
            ticket = self._taken + 1 if self._claims or self._finishes else self._taken
            while self._committed < ticket:
                self._written.wait()

    def _write_loop(self) -> None:
        """Group commit: everything queued while the previous transaction ran goes into the next one."""
        while True:
            with self._writes:
                while not (self._claims or self._finishes or self._writer_stop):
                    self._writes.wait()
                claims, finishes = self._claims, self._finishes
                self._claims, self._finishes = [], []
                if not claims and not finishes:
                    return
                self._taken += 1
            done = [finish[-1] for finish in finishes]
            ended = set(done)
            try:
                self.store.apply([claim for claim in claims if claim[1] not in ended], finishes)
            except Exception:  # e.g. the disk is full: those requests run again after a restart
                logger.exception("writing the status of %d requests failed", len(claims) + len(finishes))
            with self._writes:
                self._committed += 1
                self._written.notify_all()
            self._notify(done)

    @staticmethod
    def _output_error(deployment: DeploymentConfig, result: Any, list_input: bool) -> Optional[str]:
        """Output that does not match the output type fails the request, as on the platform. A list input may
        get a list (one output per item) or one output for all of them."""
        items = result if list_input and isinstance(result, list) else [result]
        for index, item in enumerate(items):
            error = _item_error(item, deployment, "output")
            if error:
                where = f"output[{index}]" if items is result else "output"
                return f"the deployment returned an invalid {where}: {error}"
        return None

    def _notify(self, ids: Iterable[str]) -> None:
        """The requests are final (or gone): wake whoever waits for them (a stream's reader keeps its own queue)."""
        with self._lock:
            events = [self._waiters.get(request_id) for request_id in ids] if self._waiters else []
            streams = [self._streams.pop(request_id, None) for request_id in ids] if self._streams else []
        for event in events:
            if event is not None:
                event.set()
        for stream in streams:
            if stream is not None:
                stream.put(None)

    # -- cancel and delete ----------------------------------------------------------------------------------------

    def _cancel(self, ids: Sequence[str]) -> int:
        cancelled, cancelling = self.store.cancel(ids, now_us())
        self._notify(cancelled)
        self._stop_runs(cancelled + cancelling)
        return len(cancelled) + len(cancelling)

    def _stop_runs(self, ids: Sequence[str]) -> None:
        """Make sure these requests do not run (any more); a run that has not reached the runtime yet is stopped
        shortly."""
        with self._lock:
            for request_id in ids:
                if not self._stop(request_id):
                    self._to_cancel.add(request_id)
            if self._to_cancel:
                self._cancel_wakeup.notify()

    def _stop(self, request_id: str) -> bool:
        """Take the request out of its queue, or stop its run; False when it is taken but not running yet. The
        caller holds the lock."""
        if request_id in self._queued:
            self._queued.discard(request_id)
            # Only a request whose chunk was cut short after its start was written can be processing here.
            now = now_us()
            self._write(finishes=[(now, now, "cancelled", None, None, None, request_id)])
            return True
        state = self._running.get(request_id)
        return state is None or state.runtime.cancel(request_id)

    def _cancel_loop(self) -> None:
        with self._lock:
            while not self._stopping:
                self._to_cancel = {request_id for request_id in self._to_cancel if not self._stop(request_id)}
                self._cancel_wakeup.wait(CANCEL_RETRY if self._to_cancel else None)

    def update(self, project: str, deployment: str, version: Optional[str], request_id: str, body: Body) -> JsonText:
        if body != {"status": "cancelled"}:
            raise ApiError(400, 'data: the only allowed update is {"status": "cancelled"}')
        scope = self.scope(project, deployment, version)
        self._row(request_id, scope)
        self._cancel([request_id])
        return JsonText(full_record(self._row(request_id, scope), metadata_only=True, origin=True))

    def cancel_many(
        self, project: str, deployment: str, version: Optional[str], ids: Optional[List[str]], status: Optional[str]
    ) -> Dict[str, int]:
        """By ids (any version at deployment level), or every pending/processing request of the version."""
        if ids and status is not None:
            raise ApiError(400, "status: give either a list of ids or the status parameter with an empty list")
        if status is not None:
            if status not in ("pending", "processing"):
                raise ApiError(400, f"status: must be pending or processing, got {status!r}")
            state = self.version(project, deployment, version)
            scope = Scope(project, deployment, state.config.name)
            return {"cancelled": self._cancel(self.store.ids_with_status(scope, status))}
        ids = list(dict.fromkeys(ids or []))
        self._rows(ids, self.scope(project, deployment, version))
        return {"cancelled": self._cancel(ids)}

    def delete_many(self, project: str, deployment: str, version: Optional[str], ids: List[str]) -> Dict[str, int]:
        ids = list(dict.fromkeys(ids))
        self._rows(ids, self.scope(project, deployment, version))
        statuses = self.store.delete(ids)
        self._stop_runs(list(statuses))
        self._notify(statuses)
        return {"deleted": len(statuses)}

    def delete(self, project: str, deployment: str, version: Optional[str], request_id: str) -> None:
        self.delete_many(project, deployment, version, [request_id])

    # -- reading --------------------------------------------------------------------------------------------------

    def get(
        self, project: str, deployment: str, version: Optional[str], request_id: str, metadata_only: bool
    ) -> JsonText:
        row = self._row(request_id, self.scope(project, deployment, version))
        return JsonText(full_record(row, metadata_only=metadata_only, origin=True))

    def collect(self, project: str, deployment: str, version: Optional[str], ids: List[str]) -> JsonText:
        rows = self._rows(list(dict.fromkeys(ids)), self.scope(project, deployment, version))
        return json_list(full_record(row) for row in rows)

    def list(
        self,
        project: str,
        deployment: str,
        version: Optional[str],
        status: Optional[str],
        limit: int,
        offset: int,
        start: Optional[int],
        end: Optional[int],
        search_id: Optional[str],
    ) -> JsonText:
        state = self.version(project, deployment, version)
        statuses = list(dict.fromkeys(s.strip() for s in (status or "completed").split(",")))
        for value in statuses:
            if value not in STATUSES:
                raise ApiError(400, f"status: unknown status {value!r} (allowed: {', '.join(STATUSES)})")
        if len(statuses) > 1 and {"pending", "processing"} & set(statuses):
            raise ApiError(400, "status: pending and processing cannot be combined with other statuses")
        given = {"start_date": start, "end_date": end, "search_id": search_id}
        filtered = [name for name, value in given.items() if value]
        if filtered and not set(statuses) <= set(FINAL_STATUSES):
            raise ApiError(400, f"{filtered[0]}: only available for the statuses completed, failed and cancelled")
        scope = Scope(project, deployment, state.config.name)
        rows = self.store.list(scope, statuses, limit, offset, start, end, search_id)
        return json_list(list_record(row) for row in rows)

    def data(
        self, project: str, deployment: str, version: Optional[str], request_id: str, which: str
    ) -> Tuple[Any, str]:
        """The stored input or output of a request and the file name to offer it as."""
        row = self._row(request_id, self.scope(project, deployment, version))
        if which == "input":
            value = json.loads(row.request_data)
        elif row.result is None:
            raise ApiError(404, f"request {request_id} has no output (status {row.status})")
        else:
            value = json.loads(row.result)
        return value, f"{request_id}-{which}.{'txt' if isinstance(value, str) else 'json'}"
