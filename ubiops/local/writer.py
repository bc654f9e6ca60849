"""The status writer: every status change of a running request goes through one thread, in group commits.

Claims (pending -> processing) and finishes (the outcome) that queue up while one transaction runs go into the next
one; only after a commit are the waiters of those requests told. One row that cannot be stored (a bug, a value
SQLite refuses) fails only its own request, with a message saying so: the group is then written row by row. A
failure of the database itself (a full disk, an I/O error) loses nothing: the group stays queued and is tried again
with backoff until it is stored, and its waiters keep waiting. The one exception: a direct request that ran in its
caller's thread stores its outcome there (store_now), saving two thread hand-offs; only if that fails is it queued.
"""

import logging
import sqlite3
import threading
from typing import Callable, List, Sequence, Tuple

from ubiops.local.store import Finish, Store

logger = logging.getLogger("ubiops.local")

Claim = Tuple[int, str]  #: (time_started, id)
RETRY_BACKOFF = (0.05, 1.0)  #: first and longest wait between attempts after a database failure


class StatusWriter:
    def __init__(self, store: Store, committed: Callable[[List[str]], None]) -> None:
        """committed(ids) is called after the finishes of those requests were stored (or given up on at a stop)."""
        self._store = store
        self._committed_hook = committed
        lock = threading.Lock()
        self._work = threading.Condition(lock)  # the writer waits for work
        self._done = threading.Condition(lock)  # others wait for a commit
        self._claims: List[Claim] = []
        self._finishes: List[Finish] = []
        self._taken = 0  # groups the writer has taken
        self._committed = 0  # ... and ended
        self._stopping = False
        self._give_up = False  # at a stop that cannot be stored: stop trying
        self._thread = threading.Thread(target=self._loop, name="status-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def write(self, claims: Sequence[Claim] = (), finishes: Sequence[Finish] = ()) -> None:
        with self._work:
            self._claims += claims
            self._finishes += finishes
            self._work.notify()

    def store_now(self, finishes: Sequence[Finish]) -> None:
        """Store finishes in the calling thread, without the hand-off to the writer (a direct request that ran
        inline); when that fails, nothing of it was kept and they are queued for the writer, which retries."""
        try:
            self._store.apply([], finishes)
        except Exception:
            self.write(finishes=finishes)
            return
        self._tell([finish[-1] for finish in finishes])

    def wait_written(self) -> None:
        """Until every write queued so far is stored."""
        with self._work:
            ticket = self._taken + 1 if self._claims or self._finishes else self._taken
            while self._committed < ticket and self._thread.is_alive():
                self._done.wait(0.5)

    def stop(self, timeout: float) -> None:
        """Store what is queued, trying for at most `timeout` seconds; then the thread ends."""
        with self._work:
            self._stopping = True
            self._work.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            with self._work:
                self._give_up = True
                self._work.notify()
            self._thread.join(5.0)

    def _loop(self) -> None:
        while True:
            with self._work:
                while not (self._claims or self._finishes or self._stopping):
                    self._work.wait()
                claims, finishes = self._claims, self._finishes
                self._claims, self._finishes = [], []
                if not claims and not finishes:
                    return
                self._taken += 1
            ended = {finish[-1] for finish in finishes}
            stored = self._store_group([claim for claim in claims if claim[1] not in ended], finishes)
            with self._work:
                self._committed += 1
                self._done.notify_all()
            self._tell([finish[-1] for finish in finishes])
            if not stored:
                logger.error("the server stopped before the status of %d requests could be stored", len(finishes))

    def _tell(self, ids: List[str]) -> None:
        """The outcomes of these requests are stored: wake their waiters."""
        try:
            self._committed_hook(ids)
        except Exception:  # the writer must outlive any bug of its listeners
            logger.exception("waking the waiters of %d requests failed", len(ids))

    def _store_group(self, claims: List[Claim], finishes: List[Finish]) -> bool:
        """True once stored; False when a stop gave up first."""
        attempt = 0
        while True:
            try:
                self._store.apply(claims, finishes)
                return True
            except sqlite3.OperationalError as exc:  # the database, not a row: a full disk, an I/O error
                if self._wait_to_retry(attempt, exc, len(claims) + len(finishes)):
                    return False
                attempt += 1
            except Exception:  # a row the database refuses: find it
                logger.exception("storing the status of %d requests failed; storing them one by one", len(finishes))
                claims, finishes = self._store_each(claims, finishes)
                if not claims and not finishes:
                    return True

    def _store_each(self, claims: List[Claim], finishes: List[Finish]) -> Tuple[List[Claim], List[Finish]]:
        """Row by row; a refused finish becomes a failure saying so, a refused claim is dropped (the finish
        follows). Returns what is left to store after a database failure."""
        for index, claim in enumerate(claims):
            try:
                self._store.apply([claim], [])
            except sqlite3.OperationalError:
                return claims[index:], finishes
            except Exception:
                logger.exception("the start of request %s cannot be stored", claim[1])
        for index, finish in enumerate(finishes):
            try:
                self._store.apply([], [finish])
            except sqlite3.OperationalError:
                return [], finishes[index:]
            except Exception as exc:
                logger.exception("the outcome of request %s cannot be stored", finish[-1])
                self._store_refusal(finish, exc)
        return [], []

    def _store_refusal(self, finish: Finish, error: Exception) -> None:
        started, completed, *_outcome, request_id = finish
        message = f"The outcome of the request could not be stored ({type(error).__name__})"
        try:
            self._store.apply([], [(started, completed, "failed", None, message, None, request_id)])
        except Exception:  # it stays as it was; a restart runs it again
            logger.exception("request %s cannot be marked failed either", request_id)

    def _wait_to_retry(self, attempt: int, error: Exception, rows: int) -> bool:
        """Back off before the next attempt; True when a stop says to give up instead."""
        first, longest = RETRY_BACKOFF
        wait = min(longest, first * 2 ** min(attempt, 10))
        if attempt == 0 or wait == longest:
            logger.error("storing the status of %d requests failed (%s); trying again", rows, error)
        with self._work:
            if not self._give_up:
                self._work.wait(wait)
            return self._give_up
