"""How often the workflow helpers call the API: a calls-per-minute budget (:class:`Pace`) and poll intervals that
start fast and grow (:class:`Backoff`)."""

import random
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Iterator, Optional, TypeVar

from ubiops._frozen import Frozen
from ubiops.exceptions import ApiValueError, TooManyRequestsException

__all__ = ["Pace", "Backoff", "Deadline", "DEFAULT_CALLS_PER_MINUTE", "default_pace"]

T = TypeVar("T")

#: The public API allows 300 calls a minute for the requests group; stay below it by default.
DEFAULT_CALLS_PER_MINUTE = 240
#: The window over which calls are counted, in seconds.
WINDOW = 60.0
#: A 429 without a wait in its headers: wait this long before the first retry (doubling after each).
RATE_LIMITED_WAIT = 2.0


class Pace:
    """A budget of calls per minute, shared by every helper (and thread) given the same object.

    At most ``calls_per_minute`` calls start within any 60 seconds (``None``: no limit, e.g. for a local server).
    A 429 answer that gets past the transport's own retries makes every user of this Pace wait what the server
    asked for (``TooManyRequestsException.retry_after``), then the call is repeated, at most ``max_rate_limited``
    times. Example::

        pace = Pace(calls_per_minute=120)
        ids = submit_requests(core_api, "my-project", "my-deployment", items, pace=pace)
        records = collect_requests(core_api, "my-project", "my-deployment", ids, pace=pace)
    """

    def __init__(
        self, calls_per_minute: Optional[int] = DEFAULT_CALLS_PER_MINUTE, *, max_rate_limited: int = 8
    ) -> None:
        if calls_per_minute is not None and (
            isinstance(calls_per_minute, bool) or not isinstance(calls_per_minute, int) or calls_per_minute < 1
        ):
            raise ApiValueError(f"Pace: `calls_per_minute` must be an int >= 1 or None, got {calls_per_minute!r}")
        if isinstance(max_rate_limited, bool) or not isinstance(max_rate_limited, int) or max_rate_limited < 0:
            raise ApiValueError(f"Pace: `max_rate_limited` must be an int >= 0, got {max_rate_limited!r}")
        self.calls_per_minute = calls_per_minute
        self.max_rate_limited = max_rate_limited
        self._starts: Deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Seconds until the next call may start (0 when it may start now)."""
        with self._lock:
            return self._delay(time.monotonic())

    def _delay(self, now: float) -> float:
        wait = self._blocked_until - now
        if self.calls_per_minute is not None:
            starts = self._starts
            while starts and now - starts[0] >= WINDOW:
                starts.popleft()
            if len(starts) >= self.calls_per_minute:
                wait = max(wait, starts[0] + WINDOW - now)
        return max(wait, 0.0)

    def acquire(self) -> None:
        """Block until a call may start, and count it."""
        while True:
            with self._lock:
                now = time.monotonic()
                wait = self._delay(now)
                if wait <= 0:
                    if self.calls_per_minute is not None:
                        self._starts.append(now)
                    return
            time.sleep(wait)

    def rate_limited(self, seconds: float) -> None:
        """Hold back every call of this Pace for ``seconds`` (a 429 said so)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` within the budget, repeated after the wait a 429 asks for."""
        for attempt in range(self.max_rate_limited + 1):
            self.acquire()
            try:
                return function(*args, **kwargs)
            except TooManyRequestsException as err:
                if attempt == self.max_rate_limited:
                    raise
                asked = err.retry_after
                self.rate_limited(asked if asked is not None else RATE_LIMITED_WAIT * 2**attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def __repr__(self) -> str:
        return f"Pace(calls_per_minute={self.calls_per_minute!r}, max_rate_limited={self.max_rate_limited!r})"


_default_pace: Optional[Pace] = None
_default_lock = threading.Lock()


def default_pace() -> Pace:
    """The Pace the helpers share when none is given: one per process, since the API counts per source address."""
    global _default_pace
    with _default_lock:
        if _default_pace is None:
            _default_pace = Pace()
        return _default_pace


class Backoff(Frozen):
    """Poll intervals: ``first`` seconds, then each ``factor`` times the previous up to ``cap``, each spread by a
    random ``±jitter`` fraction so that many pollers do not call in step. Immutable; :meth:`delays` starts over."""

    __slots__ = ("first", "factor", "cap", "jitter")
    first: float
    factor: float
    cap: float
    jitter: float

    def __init__(self, first: float = 0.1, factor: float = 1.6, cap: float = 10.0, jitter: float = 0.2) -> None:
        for name, value, low in (("first", first, 0.0), ("factor", factor, 1.0), ("cap", cap, 0.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= low:
                raise ApiValueError(f"Backoff: `{name}` must be a number >= {low}, got {value!r}")
        if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter < 1:
            raise ApiValueError(f"Backoff: `jitter` must be a number from 0 up to (not including) 1, got {jitter!r}")
        if cap < first:
            raise ApiValueError(f"Backoff: `cap` ({cap}) must be >= `first` ({first})")
        self._freeze(first=float(first), factor=float(factor), cap=float(cap), jitter=float(jitter))

    def delays(self) -> Iterator[float]:
        """An endless series of waits in seconds."""
        base = self.first
        while True:
            yield self.spread(base)
            base = min(self.cap, base * self.factor)

    def spread(self, seconds: float) -> float:
        """``seconds`` with the jitter applied, at most ``cap``: at the cap the spread is all below it (clamping a
        spread around it would put half the pollers exactly in step)."""
        base = min(self.cap, seconds)
        high = 1 + self.jitter if base <= 0 else min(1 + self.jitter, self.cap / base)
        return base * random.uniform(1 - self.jitter, high)


class Deadline:
    """``max_wait`` seconds from now (None: never)."""

    def __init__(self, max_wait: Optional[float]) -> None:
        if max_wait is not None and (
            isinstance(max_wait, bool) or not isinstance(max_wait, (int, float)) or not max_wait >= 0
        ):
            raise ApiValueError(f"`max_wait` must be a number of seconds >= 0 or None, got {max_wait!r}")
        self.max_wait = max_wait
        self._end = None if max_wait is None else time.monotonic() + max_wait

    def remaining(self) -> float:
        return float("inf") if self._end is None else max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, but not past the deadline."""
        time.sleep(min(seconds, self.remaining()))
