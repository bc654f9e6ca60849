"""Progress of long workflows on stderr: a tqdm bar when tqdm is installed (the ``progress`` extra), else a plain
line every few seconds; nothing at all when progress is off."""

import importlib
import sys
import threading
import time
from typing import Any, Dict, Optional

__all__ = ["Progress", "open_progress"]

#: Seconds between plain progress lines.
PLAIN_INTERVAL = 2.0


class Progress:
    """Progress that shows nothing: the base of the two that do."""

    def update(self, done: int, **counts: int) -> None:
        """``done`` items so far; ``counts`` are shown beside it (e.g. ``failed=3``)."""

    def close(self) -> None:
        """Show the final state."""

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class _PlainProgress(Progress):
    def __init__(self, description: str, total: Optional[int], unit: str) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.started = self.shown = time.monotonic()
        self.done = 0
        self.counts: Dict[str, int] = {}
        self._lock = threading.Lock()

    def update(self, done: int, **counts: int) -> None:
        with self._lock:
            self.done, self.counts = done, counts
            now = time.monotonic()
            if now - self.shown >= PLAIN_INTERVAL:
                self.shown = now
                self._show(now)

    def close(self) -> None:
        with self._lock:
            self._show(time.monotonic())

    def _show(self, now: float) -> None:
        of = f"/{self.total} ({100 * self.done // self.total}%)" if self.total else ""
        extra = "".join(f", {value} {name}" for name, value in self.counts.items())
        print(f"{self.description}: {self.done}{of} {self.unit}{extra}, {now - self.started:.1f} s", file=sys.stderr)


class _TqdmProgress(Progress):
    def __init__(self, tqdm: Any, description: str, total: Optional[int], unit: str) -> None:
        self.bar = tqdm(total=total, desc=description, unit=f" {unit}", file=sys.stderr, dynamic_ncols=True)
        self.counts: Dict[str, int] = {}
        self._lock = threading.Lock()

    def update(self, done: int, **counts: int) -> None:
        with self._lock:
            if counts != self.counts:
                self.counts = counts
                self.bar.set_postfix({name: str(value) for name, value in counts.items()}, refresh=False)
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        with self._lock:
            self.bar.close()


def open_progress(enabled: bool, description: str, total: Optional[int], unit: str = "requests") -> Progress:
    """The progress display for ``progress=enabled``."""
    if not enabled:
        return Progress()
    try:
        tqdm = importlib.import_module("tqdm").tqdm  # by name: tqdm is optional and ships no type stubs
    except ImportError:
        return _PlainProgress(description, total, unit)
    return _TqdmProgress(tqdm, description, total, unit)
