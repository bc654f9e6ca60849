"""The data directory: private to its owner, and used by one server at a time.

The lock is an OS lock (flock) on the directory itself, held on a descriptor kept open for the server's life: no
file can be deleted from under it, and it goes away with the process, even after kill -9.
"""

import contextlib
import os
import stat
from pathlib import Path
from typing import Optional

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
LOCK_FILE = "server.lock"  #: only where there is no flock (Windows)


def make_private_dir(path: Path) -> None:
    """Create the directory 0700, or take group and other permissions off it if it exists and is ours."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _tighten(path, PRIVATE_DIR)


def make_private_file(path: Path) -> None:
    """Create the file 0600 (SQLite gives its WAL and SHM files the database's mode), or tighten it and those."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _tighten(each, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    if not hasattr(os, "getuid"):  # Windows: no POSIX permissions to set
        return
    with contextlib.suppress(FileNotFoundError):
        info = path.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & ~mode:
            path.chmod(stat.S_IMODE(info.st_mode) & mode)


class DirectoryLock:
    """An exclusive lock on a data directory, or RuntimeError naming it when another server holds it."""

    def __init__(self, path: Path) -> None:
        self._fd: Optional[int] = None
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; the file only marks the directory
            self._fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RuntimeError(f"data directory {path} is in use by another ubiops-local server") from None
        self._fd = fd

    def release(self) -> None:
        """Idempotent; closing the descriptor ends the lock."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
