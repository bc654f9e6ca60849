"""RetryPolicy: which failures are retried, how often, and how long to wait in between.

Whether a failure may be retried depends on whether repeating the call can do harm. Every call is retried when
the server cannot have acted on it (the connection failed before any byte of the request was sent, or the answer
was 429). Calls that are safe to repeat (reads, deletes, collect, cancels) are also retried after a read timeout, a
dropped connection, 502, 503 or 504. A create that may have reached the server is never repeated, unless the caller
opts in for some statuses with ``retry_creates_on`` (a 503 from a proxy may come after it forwarded the create).
"""

import random
from typing import AbstractSet, Any, Iterable, Optional, Union

from ubiops._frozen import Frozen
from ubiops.exceptions import ApiTypeError, ApiValueError

__all__ = ["RetryPolicy"]

#: Answers after which the server has not acted on the call: a rate limit refuses a call before it is carried
#: out. A 503 is not one of them: a proxy or load balancer may answer it after it forwarded the request.
NOT_ACTED_STATUSES = frozenset({429})
#: Answers worth retrying for calls that are safe to repeat.
IDEMPOTENT_RETRY_STATUSES = frozenset({429, 502, 503, 504})


class RetryPolicy(Frozen):
    """An immutable retry policy.

    ``total`` retries at most (so ``total + 1`` attempts); waits grow as ``backoff_factor * 2**n`` seconds with
    jitter, capped at ``backoff_max``. A ``Retry-After`` or ``x-ratelimit-reset`` header sets the wait instead,
    up to ``retry_after_max``; a longer wait is not taken and the 429 goes to the caller.

    ``retry_creates_on`` (a set of 5xx statuses, default empty) opts the create methods in to being retried after
    those answers too. That may duplicate a create: the answer may come from a proxy that forwarded it. Example::

        configuration.retries = RetryPolicy(total=5, backoff_max=10)
        core_api.deployment_requests_get(project, deployment, request_id, _retries=0)   # this call: no retries
    """

    __slots__ = ("total", "backoff_factor", "backoff_max", "retry_after_max", "retry_creates_on")
    total: int
    backoff_factor: float
    backoff_max: float
    retry_after_max: float
    retry_creates_on: AbstractSet[int]

    def __init__(
        self,
        total: int = 3,
        backoff_factor: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 120.0,
        retry_creates_on: Iterable[int] = frozenset(),
    ) -> None:
        if isinstance(total, bool) or not isinstance(total, int):
            raise ApiTypeError(f"RetryPolicy total (retries) must be an int >= 0, got {type(total).__name__}")
        if total < 0:
            raise ApiValueError(f"RetryPolicy total (retries) must be >= 0, got {total}")
        for name, value in (
            ("backoff_factor", backoff_factor),
            ("backoff_max", backoff_max),
            ("retry_after_max", retry_after_max),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ApiTypeError(f"RetryPolicy {name} must be a number of seconds, got {type(value).__name__}")
            if not 0 <= value < float("inf"):
                raise ApiValueError(f"RetryPolicy {name} must be a finite number >= 0, got {value!r}")
        self._freeze(
            total=total,
            backoff_factor=float(backoff_factor),
            backoff_max=float(backoff_max),
            retry_after_max=float(retry_after_max),
            retry_creates_on=_statuses(retry_creates_on),
        )

    @classmethod
    def coerce(cls, value: Union[None, int, "RetryPolicy"]) -> "RetryPolicy":
        """None -> the default policy, an int -> that many retries, a policy -> itself."""
        if value is None:
            return cls()
        if isinstance(value, RetryPolicy):
            return value
        if value is False:
            return cls(total=0)
        return cls(total=value)

    def may_retry_status(self, status: int, idempotent: bool) -> bool:
        if idempotent:
            return status in IDEMPOTENT_RETRY_STATUSES
        return status in NOT_ACTED_STATUSES or status in self.retry_creates_on

    def backoff(self, retry_number: int, retry_after: Optional[float] = None) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based)."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.backoff_max, self.backoff_factor * 2.0 ** min(retry_number, 64))  # no overflow
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _statuses(value: Any) -> AbstractSet[int]:
    """``retry_creates_on`` as a frozenset of 429 or 500 to 599: any other answer is the server's decision."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ApiTypeError(
            f"RetryPolicy retry_creates_on must be a set of HTTP statuses (int), got {type(value).__name__}"
        )
    statuses = list(value)
    for status in statuses:
        if isinstance(status, bool) or not isinstance(status, int):
            raise ApiTypeError(
                f"RetryPolicy retry_creates_on must hold HTTP statuses (int), got {type(status).__name__}"
            )
        if status != 429 and not 500 <= status <= 599:
            raise ApiValueError(f"RetryPolicy retry_creates_on must hold 429 or statuses 500 to 599, got {status}")
    return frozenset(statuses)
