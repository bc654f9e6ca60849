"""A deployment's log file: what its instances print, size-capped by rotation.

Every instance's stdout and stderr (so C extensions and subprocesses too) is a pipe that a thread of the server
copies here. Past `max_size` bytes the file is renamed to `<name>.1` (replacing the one before) and a new one is
started, so a deployment's logs never take more than about twice `max_size`. Files are private to the user.
"""

import os
import threading
from pathlib import Path
from typing import IO, Optional

DEFAULT_MAX_LOG_SIZE = 10 * 1024 * 1024  #: bytes of one log file before it rotates


class LogFile:
    """Appends from any number of pumps; thread-safe."""

    def __init__(self, path: Path, max_size: int = DEFAULT_MAX_LOG_SIZE) -> None:
        self.path = path
        self.max_size = max_size
        self._lock = threading.Lock()
        self._file: Optional[IO[bytes]] = None
        self._size = 0

    def write(self, data: bytes) -> None:
        with self._lock:
            try:
                if self._file is None:
                    self._open()
                assert self._file is not None
                if self._size and self._size + len(data) > self.max_size:
                    self._rotate()
                self._file.write(data[: self.max_size])
                self._file.flush()
                self._size += min(len(data), self.max_size)
            except OSError:  # e.g. the disk is full: the line is lost, the deployment goes on
                self._close()

    def pump(self, stream: IO[bytes]) -> None:
        """Copy an instance's output until every process holding the pipe is gone."""
        with stream:
            while True:
                data = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                if not data:
                    return
                self.write(data)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "ab")
        self._size = os.fstat(fd).st_size

    def _rotate(self) -> None:
        self._close()
        os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        self._open()

    def _close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
