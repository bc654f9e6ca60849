"""SQLite storage of deployment requests in the data directory.

One connection, guarded by a lock, in WAL mode with synchronous=NORMAL: a commit survives a killed server process
(it is in the OS page cache) without an fsync per commit. Status changes are conditional UPDATEs, so the store
decides every race between a worker finishing, a cancel and a delete. Times are integer microseconds since the
epoch; creation times are unique and increasing, so they also give the creation order.
"""

import logging
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

logger = logging.getLogger("ubiops.local")

SCHEMA_VERSION = 1
FINAL_STATUSES = ("completed", "failed", "cancelled")
#: SQLite's limit on bound parameters is 999 in old versions; IN lists are split into chunks of this size.
CHUNK = 500
CHECKPOINT_INTERVAL = 0.5  #: seconds between WAL checkpoints
#: A finished run as written by Store.apply:
#: (time_started, time_completed, status, result, error_message, output_size, id).
Finish = Tuple[int, int, str, Optional[str], Optional[str], Optional[int], str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    deployment TEXT NOT NULL,
    version TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    timeout INTEGER NOT NULL,
    time_created INTEGER NOT NULL,
    time_started INTEGER,
    time_completed INTEGER,
    request_data TEXT NOT NULL,
    result TEXT,
    error_message TEXT,
    input_size INTEGER NOT NULL,
    output_size INTEGER
);
CREATE INDEX IF NOT EXISTS requests_by_version ON requests (project, deployment, version, time_created);
CREATE INDEX IF NOT EXISTS requests_by_project ON requests (project, time_created);
CREATE INDEX IF NOT EXISTS requests_by_status ON requests (project, status, time_created);
"""


class StoredRequest(NamedTuple):
    """One row (a tuple in column order: cheap to build by the thousand and to bind to SQL). request_data and
    result are JSON texts."""

    id: str
    project: str
    deployment: str
    version: str
    mode: str  # "direct" | "batch"
    status: str
    priority: int
    timeout: int
    time_created: int
    time_started: Optional[int]
    time_completed: Optional[int]
    request_data: str
    result: Optional[str]
    error_message: Optional[str]
    input_size: int
    output_size: Optional[int]


_COLUMNS = ", ".join(StoredRequest._fields)


@dataclass(frozen=True)
class Scope:
    """Which requests an operation may see: a deployment, optionally narrowed to one version."""

    project: str
    deployment: str
    version: Optional[str] = None

    def where(self, by_id: bool = False) -> Tuple[str, List[str]]:
        """The SQL condition and its arguments. ``by_id``: the query also looks rows up by id; the unary ``+``
        keeps SQLite on the primary key there, where it would otherwise scan the whole deployment's index range."""
        column = "+{}" if by_id else "{}"
        sql = " AND ".join(f"{column.format(name)} = ?" for name in ("project", "deployment"))
        args = [self.project, self.deployment]
        if self.version is not None:
            sql, args = f"{sql} AND {column.format('version')} = ?", args + [self.version]
        return sql, args


class StoreError(Exception):
    """The data directory holds something this server cannot use."""


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _marks(items: Sequence[str]) -> str:
    return ",".join("?" * len(items))


_INSERT = f"INSERT INTO requests ({_COLUMNS}) VALUES ({_marks(_COLUMNS.split(', '))})"
_FINISH = (
    "UPDATE requests SET time_started = coalesce(time_started, ?), time_completed = ?, "
    "status = CASE status WHEN 'cancelled_pending' THEN 'cancelled' ELSE ? END, "
    "result = CASE status WHEN 'cancelled_pending' THEN NULL ELSE ? END, "
    "error_message = CASE status WHEN 'cancelled_pending' THEN NULL ELSE ? END, "
    "output_size = CASE status WHEN 'cancelled_pending' THEN NULL ELSE ? END "
    "WHERE id = ? AND status IN ('pending', 'processing', 'cancelled_pending')"
)


def page_query(
    project: str,
    deployment: Optional[str],
    version: Optional[str],
    statuses: Sequence[str],
    limit: int,
    before: Optional[int],
) -> Tuple[str, List[object]]:
    """The SQL of Store.page and its arguments; every page is an index range, never a scan of all requests."""
    clauses: List[str] = ["project = ?"]
    values: List[object] = [project]
    for column, value in (("deployment", deployment), ("version", version)):
        if value is not None:
            clauses.append(f"{column} = ?")
            values.append(value)
    if statuses:
        clauses.append(f"status IN ({_marks(statuses)})")
        values += list(statuses)
    if before is not None:
        clauses.append("time_created < ?")
        values.append(before)
    # one status: its index holds just those rows in creation order, where the version's index would make SQLite
    # walk a whole version to find a rare status (failed, pending) among 100,000 completed requests
    index = "INDEXED BY requests_by_status " if len(statuses) == 1 else ""
    sql = f"SELECT {_COLUMNS} FROM requests {index}WHERE {' AND '.join(clauses)} ORDER BY time_created DESC LIMIT ?"
    return sql, [*values, limit]


class Store:
    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = self._db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'requests'").fetchone()[0]
            if tables and version != SCHEMA_VERSION:
                raise StoreError(f"{path}: schema version {version}, this server reads version {SCHEMA_VERSION}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints (with their fsync) run in a thread
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"{path}: not a usable request database: {exc}") from exc
        except StoreError:
            self._db.close()
            raise
        self._closing = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoints, args=(path,), name="ubiops-local-checkpoints", daemon=True
        )
        self._checkpointer.start()

    def _checkpoints(self, path: Path) -> None:
        """Copy the WAL into the database now and then, off the request path (a commit then never waits for it)."""
        db = sqlite3.connect(str(path), isolation_level=None)
        failing = False
        try:
            while not self._closing.wait(CHECKPOINT_INTERVAL):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # e.g. a full disk: the WAL keeps every commit; try again later
                    if not failing:
                        logger.error("SQLite checkpoint failed (%s); trying again", exc)
                    failing = True
                else:
                    failing = False
        finally:
            db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction holding the lock; the store's methods called inside it join it."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a failed COMMIT (a full disk) leaves the transaction open
                    self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._closing.set()
        self._checkpointer.join()
        with self._lock:
            try:  # when this fails (a full disk), the WAL keeps every commit and the next start checkpoints it
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                self._db.close()

    def _rows(self, sql: str, args: Iterable[object]) -> List[StoredRequest]:
        return [StoredRequest(*row) for row in self._db.execute(sql, tuple(args))]

    # -- start-up -------------------------------------------------------------------------------------------------

    def recover(self, now: int) -> None:
        """After a stop or a crash: a cancel in progress is done, a run in progress starts over."""
        with self.transaction():
            self._db.execute(
                "UPDATE requests SET status = 'cancelled', time_completed = ? WHERE status = 'cancelled_pending'",
                (now,),
            )
            self._db.execute("UPDATE requests SET status = 'pending', time_started = NULL WHERE status = 'processing'")

    def fail_unserved(self, served: Set[Tuple[str, str, str]], now: int) -> None:
        """Pending requests of versions that are no longer configured would wait forever: fail them."""
        with self.transaction():
            groups = self._db.execute(
                "SELECT DISTINCT project, deployment, version FROM requests WHERE status = 'pending'"
            ).fetchall()
            for project, deployment, version in groups:
                if (project, deployment, version) not in served:
                    self._db.execute(
                        "UPDATE requests SET status = 'failed', time_completed = ?, error_message = ? "
                        "WHERE status = 'pending' AND project = ? AND deployment = ? AND version = ?",
                        (
                            now,
                            f"version {version} of deployment {deployment} (project {project}) is not in the "
                            "server configuration any more",
                            project,
                            deployment,
                            version,
                        ),
                    )

    def pending(self) -> List[Tuple[str, str, str, str, str, int, int, int, str]]:
        """(id, project, deployment, version, mode, priority, time_created, timeout, request_data) of every pending
        request."""
        with self._lock:
            return self._db.execute(
                "SELECT id, project, deployment, version, mode, priority, time_created, timeout, request_data "
                "FROM requests "
                "WHERE status = 'pending'"
            ).fetchall()

    def last_created(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT coalesce(max(time_created), 0) FROM requests").fetchone()[0])

    # -- writes ---------------------------------------------------------------------------------------------------

    def insert(self, requests: Sequence[StoredRequest]) -> None:
        """All of them in one transaction (a single statement is one by itself)."""
        if len(requests) == 1:
            with self._lock:
                self._db.execute(_INSERT, requests[0])
            return
        with self.transaction():
            self._db.executemany(_INSERT, requests)

    def apply(self, claims: Sequence[Tuple[int, str]], finishes: Sequence[Finish]) -> None:
        """Status writes of the dispatchers, in one transaction. A claim (time_started, id) turns pending into
        processing; a finish turns pending or processing into its status (keeping an earlier time_started), and
        cancelled_pending into cancelled. Neither touches a request that is gone or already final."""
        if not claims and len(finishes) == 1:  # a single statement is one transaction by itself
            with self._lock:
                self._db.execute(_FINISH, finishes[0])
            return
        with self.transaction():
            self._db.executemany(
                "UPDATE requests SET status = 'processing', time_started = ? WHERE id = ? AND status = 'pending'",
                claims,
            )
            self._db.executemany(_FINISH, finishes)

    def cancel(self, ids: Sequence[str], now: int) -> Tuple[List[str], List[str]]:
        """pending -> cancelled and processing -> cancelled_pending; returns the ids of each change."""
        cancelled: List[str] = []
        cancelling: List[str] = []
        with self.transaction():
            for chunk in _chunks(ids):
                for request_id, status in self._db.execute(
                    f"SELECT id, status FROM requests WHERE id IN ({_marks(chunk)})", tuple(chunk)
                ).fetchall():
                    if status == "pending":
                        cancelled.append(request_id)
                    elif status == "processing":
                        cancelling.append(request_id)
            for chunk in _chunks(cancelled):
                self._db.execute(
                    f"UPDATE requests SET status = 'cancelled', time_completed = ? WHERE id IN ({_marks(chunk)})",
                    (now, *chunk),
                )
            for chunk in _chunks(cancelling):
                self._db.execute(
                    f"UPDATE requests SET status = 'cancelled_pending' WHERE id IN ({_marks(chunk)})", tuple(chunk)
                )
        return cancelled, cancelling

    def delete(self, ids: Sequence[str]) -> Dict[str, str]:
        """Deletes the rows; returns {id: status it had}."""
        with self.transaction():
            statuses: Dict[str, str] = {}
            for chunk in _chunks(ids):
                statuses.update(
                    self._db.execute(f"SELECT id, status FROM requests WHERE id IN ({_marks(chunk)})", tuple(chunk))
                )
                self._db.execute(f"DELETE FROM requests WHERE id IN ({_marks(chunk)})", tuple(chunk))
            return statuses

    # -- reads ----------------------------------------------------------------------------------------------------

    def get(self, request_id: str, scope: Scope) -> Optional[StoredRequest]:
        where, args = scope.where(by_id=True)
        with self._lock:
            rows = self._rows(f"SELECT {_COLUMNS} FROM requests WHERE id = ? AND {where}", [request_id, *args])
        return rows[0] if rows else None

    def get_many(self, ids: Sequence[str], scope: Scope) -> List[StoredRequest]:
        """In storage order; ids outside the scope are left out."""
        where, args = scope.where(by_id=True)
        rows: List[StoredRequest] = []
        with self._lock:
            for chunk in _chunks(ids):
                rows += self._rows(
                    f"SELECT {_COLUMNS} FROM requests WHERE id IN ({_marks(chunk)}) AND {where}", [*chunk, *args]
                )
        return rows

    def ids_with_status(self, scope: Scope, status: str) -> List[str]:
        where, args = scope.where()
        with self._lock:
            return [
                row[0]
                for row in self._db.execute(f"SELECT id FROM requests WHERE {where} AND status = ?", (*args, status))
            ]

    def page(
        self,
        project: str,
        deployment: Optional[str],
        version: Optional[str],
        statuses: Sequence[str],
        limit: int,
        before: Optional[int],
    ) -> List[StoredRequest]:
        """Newest first, of every status when `statuses` is empty, created before `before` (a time_created): the
        web view's pages, which follow the creation times (unique) instead of an offset that rescans."""
        sql, values = page_query(project, deployment, version, statuses, limit, before)
        with self._lock:
            return self._rows(sql, values)

    def list(
        self,
        scope: Scope,
        statuses: Sequence[str],
        limit: int,
        offset: int,
        start: Optional[int] = None,
        end: Optional[int] = None,
        search_id: Optional[str] = None,
    ) -> List[StoredRequest]:
        """Newest first, or oldest first when a date bound is given."""
        where, args = scope.where()
        clauses: List[str] = [where, f"status IN ({_marks(statuses)})"]
        values: List[object] = [*args, *statuses]
        if start is not None:
            clauses.append("time_created >= ?")
            values.append(start)
        if end is not None:
            clauses.append("time_created <= ?")
            values.append(end)
        if search_id:
            clauses.append("instr(id, ?) > 0")
            values.append(search_id)
        order = "ASC" if start is not None or end is not None else "DESC"
        with self._lock:
            return self._rows(
                f"SELECT {_COLUMNS} FROM requests WHERE {' AND '.join(clauses)} "
                f"ORDER BY time_created {order}, id {order} LIMIT ? OFFSET ?",
                [*values, limit, offset],
            )
