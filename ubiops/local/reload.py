"""`--reload`: watch the deployment packages' files and reload a version when its package changes.

Polling (twice a second, stat only) needs nothing beyond the standard library and works on every file system. A
change is acted on once the files have stopped changing for one interval, so that an editor's or git's burst of
writes makes one reload. Hidden folders, __pycache__ and compiled files are not watched.
"""

import logging
import os
import threading
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple

logger = logging.getLogger("ubiops.local")

POLL_INTERVAL = 0.5  #: seconds between two looks at the files
MAX_FILES = 20_000  #: files looked at per package; a package folder with more is watched only in part

Snapshot = Dict[str, Tuple[int, int]]  # relative path -> (mtime ns, size)


def snapshot(directory: Path, ignored: FrozenSet[str] = frozenset()) -> Snapshot:
    """The watched files of a package folder with their modification time and size; `ignored`: real paths of
    folders not to look into (the server's data directory, should it be inside a package)."""
    found: Snapshot = {}
    for root, dirs, files in os.walk(directory):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d != "__pycache__" and os.path.realpath(os.path.join(root, d)) not in ignored
        ]
        for name in files:
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except OSError:  # removed while we looked
                continue
            found[os.path.relpath(path, directory)] = (stat.st_mtime_ns, stat.st_size)
            if len(found) >= MAX_FILES:
                return found
    return found


def changes(before: Snapshot, after: Snapshot) -> List[str]:
    """The files added, removed or changed, sorted."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


class PackageWatcher:
    """Calls on_change(directory, changed files) when a watched package folder changed and then held still."""

    def __init__(
        self, directories: Iterable[Path], on_change: Callable[[Path, List[str]], None], ignore: Iterable[Path] = ()
    ) -> None:
        """ignore: folders whose files are not the packages' (the data directory: its database and logs)."""
        self._on_change = on_change
        self._ignored = frozenset(os.path.realpath(path) for path in ignore)
        self._known = {Path(d): snapshot(Path(d), self._ignored) for d in directories}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ubiops-local-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        pending: Dict[Path, Snapshot] = {}  # changed at the last look: acted on once it holds still
        while not self._stop.wait(POLL_INTERVAL):
            for directory, known in self._known.items():
                current = snapshot(directory, self._ignored)
                if current == known:
                    pending.pop(directory, None)
                elif pending.get(directory) != current:
                    pending[directory] = current  # still changing: look again
                else:
                    del pending[directory]
                    self._known[directory] = current
                    self._notify(directory, changes(known, current))

    def _notify(self, directory: Path, changed: List[str]) -> None:
        try:
            self._on_change(directory, changed)
        except Exception:  # a reload that failed is reported; the watcher goes on
            logger.exception("reloading %s failed", directory)
