"""The local server's endpoint rules over plain rows, free of HTTP: what each call checks, stores and returns.

Every rule violation is an ApiError carrying its HTTP status. Each served version is a Lane (scheduler.py) with
its runtime; every status change of a running request goes through the StatusWriter (writer.py); SQLite (store.py)
is the only durable state and decides every race with conditional updates. Reads return StoredRequest rows; the
HTTP layer encodes them (records.py).

Creates are admitted only while the server is not stopping, and a create that cannot be stored is refused before
anything is stored (507): a request is stored exactly when its create is answered with it. A direct or stream
request's caller always gets its final record, also at a graceful stop (see Lane.stop).
"""

import contextlib
import json
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ubiops.local.config import DeploymentConfig, ServerConfig
from ubiops.local.environments import REQUIREMENTS, EnvironmentBuildError, python_for
from ubiops.local.logfile import DEFAULT_MAX_LOG_SIZE, LogFile
from ubiops.local.logs import ProjectLogs
from ubiops.local.metadata import Metadata
from ubiops.local.records import compact_json, iso
from ubiops.local.runtime import DEFAULT_MAX_OUTPUT_SIZE, SUPERSEDED, DeploymentRuntime, DeploymentStartError
from ubiops.local.scheduler import Lane, QueueEntry, now_us, runtime_context
from ubiops.local.store import FINAL_STATUSES, Scope, Store, StoredRequest
from ubiops.local.ticket import Ticket
from ubiops.local.validation import (
    MIN_TIMEOUT,
    STATUSES,
    ApiError,
    Body,
    batch_items,
    direct_data,
    stored_size,
)
from ubiops.local.writer import StatusWriter

logger = logging.getLogger("ubiops.local")

DEFAULT_STOP_GRACE = 5.0  #: seconds the runs in progress get to finish at a graceful stop
STOPPED_WHILE_STARTING = "the server was stopped while its deployments were loading"
TIMEOUT_MARGIN = 5.0  #: seconds a direct request's caller waits past its deadline for the owner to end it


def new_ids(count: int) -> List[str]:
    """uuid4 strings, with one call for the randomness of all of them (uuid.UUID objects are slow to make)."""
    randomness = bytearray(os.urandom(16 * count))
    randomness[6::16] = bytes(byte & 0x0F | 0x40 for byte in randomness[6::16])  # version 4
    randomness[8::16] = bytes(byte & 0x3F | 0x80 for byte in randomness[8::16])  # RFC 4122 variant
    hexes = (randomness[i : i + 16].hex() for i in range(0, 16 * count, 16))
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in hexes]


class Backend:
    """All 22 request endpoints (+ stream) as methods; the HTTP layer only parses and encodes."""

    def __init__(
        self,
        config: ServerConfig,
        store: Store,
        log_dir: Path,
        *,
        max_output_size: int = DEFAULT_MAX_OUTPUT_SIZE,
        max_log_size: int = DEFAULT_MAX_LOG_SIZE,
        keep_going: bool = False,
        pythons: Optional[Mapping[Tuple[str, str], str]] = None,
        broken: Optional[Mapping[Tuple[str, str], str]] = None,
        build_environments: bool = True,
        min_timeout: int = MIN_TIMEOUT,
    ) -> None:
        """pythons: the interpreter of each (deployment, version) (environments.prepare); else the server's.
        broken: why a (deployment, version) cannot run at all (its environment could not be built): each of its
        requests fails with that. build_environments: as LocalServer's, for a reload after requirements.txt changed.
        min_timeout: the least request timeout the API accepts (as LocalServer's; the HTTP layer checks it)."""
        self.config = config
        self.keep_going = keep_going
        self.build_environments = build_environments
        self.min_timeout = min_timeout
        self.store = store
        self._lock = threading.Lock()
        self._writer = StatusWriter(store, self._notify)
        self._lanes: Dict[Tuple[str, str], Lane] = {}
        self.metadata = Metadata(config, iso(now_us()) or "")
        self.logs = ProjectLogs(self.metadata)
        for deployment in config.deployments:
            log = self.logs.add(deployment.name, LogFile(log_dir / f"{deployment.name}.log", max_log_size))
            for version in deployment.versions:
                runtime = DeploymentRuntime(
                    version.path,
                    context=runtime_context(config.project, deployment, version),
                    instances=version.instances,
                    log_path=log,
                    max_output_size=max_output_size,
                    python=(pythons or {}).get((deployment.name, version.name), sys.executable),
                    broken=(broken or {}).get((deployment.name, version.name)),
                )
                self._lanes[deployment.name, version.name] = Lane(deployment, version, runtime, self._writer)
        self._clock = 0
        self._stopping = False
        self._creating = 0  # creates admitted and not yet handed to a lane
        self._waiters: Dict[str, threading.Event] = {}
        self._streams: Dict[str, queue.Queue[Optional[str]]] = {}

    # -- life cycle -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Recover the store, start the workers and the dispatchers, queue what is pending."""
        now = now_us()
        self.store.recover(now)
        self.store.fail_unserved({(self.config.project, d, v) for d, v in self._lanes}, now)
        self._clock = self.store.last_created()
        pending: Dict[Tuple[str, str], List[QueueEntry]] = {}
        for request_id, _project, deployment, version, mode, priority, created, timeout, data in self.store.pending():
            ticket = Ticket(request_id, data, "express" if mode == "direct" else "batch", timeout)
            pending.setdefault((deployment, version), []).append(QueueEntry(priority, created, ticket))
        started: List[Lane] = []
        try:
            for lane in self._lanes.values():
                lane.runtime.start()
                started.append(lane)
            self._await_loads()
            with self._lock:  # a stop() that came while the packages loaded: nothing starts after it
                if self._stopping:
                    raise RuntimeError(STOPPED_WHILE_STARTING)
                self._writer.start()
                for key, lane in self._lanes.items():
                    lane.submit(pending.get(key, []))
                    lane.start()
        except BaseException:
            for lane in started:
                lane.runtime.stop()
            raise

    def _await_loads(self) -> None:
        """Every version's instances load their package before anything is served, so a package that cannot load
        stops the start (DeploymentStartError), unless keep_going: then its requests fail with the load error."""
        problems = []
        for lane in self._lanes.values():
            error = lane.runtime.wait_loaded()
            if error is not None:
                problems.append((lane.deployment.name, lane.config.name, lane.config.path, error))
        if self._stopping:  # the stop ended the loads: their errors are not the packages' fault
            raise RuntimeError(STOPPED_WHILE_STARTING)
        if problems and not self.keep_going:
            raise DeploymentStartError(problems)
        for deployment, version, _path, error in problems:
            logger.error("deployment %s version %s: %s; its requests fail with this error", deployment, version, error)

    def reload(self, package_dir: Path, changed: List[str]) -> None:
        """The files of a package changed: each version served from it reloads (in a thread of its own, as a
        reload waits for a free instance)."""
        for lane in self._lanes.values():
            if lane.config.path == package_dir and not self._stopping:
                threading.Thread(target=self._reload, args=(lane, changed), daemon=True).start()

    def _reload(self, lane: Lane, changed: List[str]) -> None:
        name = f"deployment {lane.deployment.name} version {lane.config.name}"
        listed = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        logger.info("%s: %s changed; reloading", name, listed)
        python = None
        if REQUIREMENTS in changed:
            try:
                python = python_for(lane.config.path, lane.deployment.name, lane.config.name, self.build_environments)
            except EnvironmentBuildError as exc:
                logger.error("%s: the environment cannot be built, the old code goes on serving: %s", name, exc.reason)
                return
        error = lane.runtime.reload(python)
        if error is SUPERSEDED:
            logger.info("%s: a newer change came while the code loaded; that one is loaded instead", name)
        elif error is None:
            logger.info("%s: reloaded; new requests run the new code, running ones finish on the old", name)
        else:
            logger.error("%s: the reload failed, the old code goes on serving: %s", name, error)

    def stop(self, grace: float = DEFAULT_STOP_GRACE) -> None:
        """Admit no more creates; give the runs in progress `grace` seconds; every direct and stream caller gets
        its final record; pending batch requests run at the next start. Idempotent."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        while self._creating:  # creates admitted before the stop are queued first, so that they end too
            time.sleep(0.005)
        give_up = time.monotonic() + grace
        threads = [
            threading.Thread(target=lane.stop, args=(max(0.0, give_up - time.monotonic()),), daemon=True)
            for lane in self._lanes.values()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._writer.stop(timeout=10.0)
        self._notify(list(self._waiters) + list(self._streams))

    @property
    def stopping(self) -> bool:
        return self._stopping

    # -- lookups --------------------------------------------------------------------------------------------------

    def deployment(self, project: str, deployment: str) -> DeploymentConfig:
        if project != self.config.project:
            raise ApiError(404, f"project {project!r} not found (this server serves project {self.config.project!r})")
        found = self.config.deployment(deployment)
        if found is None:
            raise ApiError(404, self.config.unknown_deployment(deployment))
        return found

    def version(self, project: str, deployment: str, version: Optional[str]) -> Lane:
        """The named version, or the default version when `version` is None."""
        config = self.deployment(project, deployment)
        name = config.default_version if version is None else version
        lane = self._lanes.get((deployment, name))
        if lane is None:
            raise ApiError(404, config.unknown_version(name))
        return lane

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

    @contextlib.contextmanager
    def _admitted(self) -> Iterator[None]:
        """A create that may store requests: refused while the server stops, and waited for by stop()."""
        with self._lock:
            if self._stopping:
                raise ApiError(503, "the server is stopping; nothing was stored")
            self._creating += 1
        try:
            yield
        finally:
            with self._lock:
                self._creating -= 1

    def _new(
        self, lane: Lane, items: Sequence[Any], mode: str, timeout: int, priority: int, started: bool = False
    ) -> List[StoredRequest]:
        """Store new requests in one transaction: pending, or processing when `started`; 507 if that failed."""
        with self._lock:
            first = max(now_us(), self._clock + 1)
            self._clock = first + len(items) - 1
        ids = new_ids(len(items))
        rows = []
        for offset, item in enumerate(items):
            text = compact_json(item)
            rows.append(
                StoredRequest(
                    ids[offset],
                    self.config.project,
                    lane.deployment.name,
                    lane.config.name,
                    mode,
                    "processing" if started else "pending",
                    priority,
                    timeout,
                    first + offset,
                    first if started else None,
                    None,
                    text,
                    None,
                    None,
                    stored_size(item, text),
                    None,
                )
            )
        try:
            self.store.insert(rows)
        except sqlite3.Error as exc:  # a full disk, an I/O error: nothing of the transaction was kept
            logger.error("storing %d new requests failed: %s", len(rows), exc)
            raise ApiError(507, f"the server could not store the request ({exc}); nothing was created") from None
        return rows

    def create_batch(
        self, project: str, deployment: str, version: Optional[str], body: Body, timeout: int, priority: int
    ) -> List[StoredRequest]:
        lane = self.version(project, deployment, version)
        items = batch_items(lane.deployment, body)
        with self._admitted():
            rows = self._new(lane, items, "batch", timeout, priority)
            lane.submit(
                [
                    QueueEntry(priority, row.time_created, Ticket(row.id, row.request_data, "batch", timeout))
                    for row in rows
                ]
            )
        return rows

    def create_direct(
        self, project: str, deployment: str, version: Optional[str], body: Body, timeout: int, priority: int
    ) -> StoredRequest:
        """Blocks until the request is final."""
        lane = self.version(project, deployment, version)
        data = direct_data(lane.deployment, body)
        event = threading.Event()
        with self._admitted():
            slot = lane.reserve_inline()  # a free slot and nobody waiting: run in this thread, created as processing
            try:
                row = self._new(lane, [data], "direct", timeout, priority, started=slot is not None)[0]
            except BaseException:
                if slot is not None:
                    lane.unreserve(slot)
                raise
            entry = QueueEntry(priority, row.time_created, Ticket.direct(row.id, row.request_data, timeout))
            self._waiters[row.id] = event
            if slot is None:
                lane.submit([entry])
            else:
                lane.hold(entry)
        try:
            if slot is not None:
                lane.run_inline(slot, entry.ticket)
            self._await(event, lane, entry.ticket)
        finally:
            with self._lock:
                self._waiters.pop(row.id, None)
        return self._final_row(row.id, lane)

    def _await(self, event: threading.Event, lane: Lane, ticket: Ticket) -> None:
        """Until the request is final; past its deadline a queued request is ended as timed out."""
        assert ticket.deadline is not None
        if not event.wait(max(0.0, ticket.deadline - time.monotonic())):
            lane.expire(ticket)
            event.wait()

    def create_stream(
        self, project: str, deployment: str, version: Optional[str], body: Body, timeout: int, priority: int
    ) -> Iterator[Union[str, StoredRequest]]:
        """Checks and queues the request now; the iterator gives each streaming update (str), then the final row."""
        lane = self.version(project, deployment, version)
        data = direct_data(lane.deployment, body)
        updates: queue.Queue[Optional[str]] = queue.Queue()
        with self._admitted():
            row = self._new(lane, [data], "direct", timeout, priority)[0]
            ticket = Ticket.direct(row.id, row.request_data, timeout, updates=updates.put)
            self._streams[row.id] = updates
            lane.submit([QueueEntry(priority, row.time_created, ticket)])
        return self._stream_events(row.id, lane, ticket, updates)

    def _stream_events(
        self, request_id: str, lane: Lane, ticket: Ticket, updates: "queue.Queue[Optional[str]]"
    ) -> Iterator[Union[str, StoredRequest]]:
        assert ticket.deadline is not None
        expired = False
        try:
            while True:
                try:
                    update = updates.get(timeout=None if expired else max(0.0, ticket.deadline - time.monotonic()))
                except queue.Empty:
                    lane.expire(ticket)
                    expired = True
                    continue
                if update is None:
                    break
                yield update
        finally:
            with self._lock:
                self._streams.pop(request_id, None)
        yield self._final_row(request_id, lane)

    def _final_row(self, request_id: str, lane: Lane) -> StoredRequest:
        row = self.store.get(request_id, Scope(self.config.project, lane.deployment.name))
        if row is None:
            raise ApiError(404, f"request {request_id!r} was deleted before it finished")
        if row.status not in FINAL_STATUSES:  # only when the outcome could not be stored before a stop gave up
            raise ApiError(
                507,
                f"the outcome of request {request_id!r} could not be stored before the server stopped; it is "
                f"{row.status} and runs again when the server starts again on the same data directory",
            )
        return row

    def _notify(self, ids: Sequence[str]) -> None:
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
        for lane in self._lanes.values():
            lane.cancel(ids)

    def update(
        self, project: str, deployment: str, version: Optional[str], request_id: str, body: Body
    ) -> StoredRequest:
        if body != {"status": "cancelled"}:
            raise ApiError(400, 'data: the only allowed update is {"status": "cancelled"}')
        scope = self.scope(project, deployment, version)
        self._row(request_id, scope)
        self._cancel([request_id])
        return self._row(request_id, scope)

    def cancel_many(
        self, project: str, deployment: str, version: Optional[str], ids: Optional[List[str]], status: Optional[str]
    ) -> Dict[str, int]:
        """By ids (any version at deployment level), or every pending/processing request of the version."""
        if ids and status is not None:
            raise ApiError(400, "status: give either a list of ids or the status parameter with an empty list")
        if status is not None:
            if status not in ("pending", "processing"):
                raise ApiError(400, f"status: must be pending or processing, got {status!r}")
            lane = self.version(project, deployment, version)
            scope = Scope(project, deployment, lane.config.name)
            return {"cancelled": self._cancel(self.store.ids_with_status(scope, status))}
        ids = list(dict.fromkeys(ids or []))
        self._rows(ids, self.scope(project, deployment, version))
        return {"cancelled": self._cancel(ids)}

    def delete_many(self, project: str, deployment: str, version: Optional[str], ids: List[str]) -> Dict[str, int]:
        ids = list(dict.fromkeys(ids))
        self._rows(ids, self.scope(project, deployment, version))
        statuses = self.store.delete(ids)
        self._stop_runs(list(statuses))
        self._notify(list(statuses))
        return {"deleted": len(statuses)}

    def delete(self, project: str, deployment: str, version: Optional[str], request_id: str) -> None:
        self.delete_many(project, deployment, version, [request_id])

    # -- reading --------------------------------------------------------------------------------------------------

    def get(self, project: str, deployment: str, version: Optional[str], request_id: str) -> StoredRequest:
        return self._row(request_id, self.scope(project, deployment, version))

    def collect(self, project: str, deployment: str, version: Optional[str], ids: List[str]) -> List[StoredRequest]:
        return self._rows(list(dict.fromkeys(ids)), self.scope(project, deployment, version))

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
    ) -> List[StoredRequest]:
        lane = self.version(project, deployment, version)
        statuses = list(dict.fromkeys(s.strip() for s in (status or "completed").split(",")))
        for value in statuses:
            if value not in STATUSES:
                raise ApiError(400, f"status: unknown status {value!r} (allowed: {', '.join(STATUSES)})")
        if len(statuses) > 1 and {"pending", "processing"} & set(statuses):
            raise ApiError(400, "status: pending and processing cannot be combined with other statuses")
        given = {"start_date": start, "end_date": end, "search_id": search_id}
        filtered = [name for name, value in given.items() if value is not None]  # the epoch (0) is a date too
        if filtered and not set(statuses) <= set(FINAL_STATUSES):
            raise ApiError(400, f"{filtered[0]}: only available for the statuses completed, failed and cancelled")
        scope = Scope(project, deployment, lane.config.name)
        return self.store.list(scope, statuses, limit, offset, start, end, search_id)

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
