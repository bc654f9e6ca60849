"""What a runtime is handed and what it hands back: Tickets (one request each, with its cancel event), Outcomes,
and the Report through which the owner of a run hears of starts and ends."""

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Protocol, Tuple

REQUEST_MODES = ("express", "batch")
STOPPED = "The server stopped while the request was processing"


@dataclass(frozen=True)
class Outcome:
    status: str  # "completed" | "failed" | "cancelled"
    result: Any = None
    error_message: Optional[str] = None


@dataclass(eq=False)
class Ticket:
    """One request handed to a runtime: its data (JSON text), mode and timeout; cancel() is an event its owner
    reacts to. `updates` receives streaming updates."""

    id: str
    data: str
    mode: str
    timeout: float
    deadline: Optional[float] = None  # monotonic; None: set when the request starts
    updates: Optional[Callable[[str], None]] = None
    cancelled: bool = False
    _wake: Optional[Callable[[], None]] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_run_arguments(self.mode, self.timeout)

    @classmethod
    def direct(cls, request_id: str, data: str, timeout: float, **kwargs: Any) -> "Ticket":
        return cls(request_id, data, "express", timeout, deadline=time.monotonic() + timeout, **kwargs)

    def cancel(self) -> None:
        self.cancelled = True
        wake = self._wake
        if wake is not None:
            wake()


class Report(Protocol):
    """What an owner of a run hears: a ticket started (only when the runtime has to wait for it), tickets ended."""

    def started(self, ticket: Ticket) -> None: ...

    def finished(self, outcomes: List[Tuple[Ticket, Outcome]]) -> None: ...


def check_run_arguments(request_mode: str, timeout: Any) -> None:
    if request_mode not in REQUEST_MODES:
        raise ValueError(f"request_mode must be one of {', '.join(REQUEST_MODES)}, got {request_mode!r}")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")


def timed_out(timeout: float) -> Outcome:
    return Outcome("failed", error_message=f"Request exceeded its timeout of {timeout:g} seconds")


def stopped_outcome() -> Outcome:
    return Outcome("failed", error_message=STOPPED)
