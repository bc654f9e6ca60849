"""A deployment's log file: what its instances print, one record per line, size-capped by rotation.

Every instance's stdout and stderr (so C extensions and subprocesses too) are two pipes that threads of the server
read. Each line becomes one record in the file, with a prefix that says when, from where and for which request:

    2024-05-01T12:00:00.123456789Z info echo v1 0 3f2a...-uuid the text as printed
    <time, ns, UTC>                <level> <deployment> <version> <process_id> <request id or -> <text>

`info` is stdout, `error` stderr. The worker writes a marker line (never copied to the file) to both pipes before and
after each request: `<marker>B <request id>` and `<marker>E`, where the marker is a random string of that instance.
So a line belongs to the request that ran when the worker printed it (or to none: `-`). Lines of a process that
deployment code started are attributed the same way, by when they arrive.

Past `max_size` bytes the file is renamed to `<name>.1` (replacing the one before) and a new one is started, so a
deployment's logs never take more than about twice `max_size`. Files are private to the user. read_records() parses
both files back for the logs endpoint. Each record also goes to the `ubiops.local.output` logger (at INFO, for
stderr too: a warning would reach the stderr of every program that uses LocalServer), which the command line shows.
"""

import calendar
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, List, Optional

DEFAULT_MAX_LOG_SIZE = 10 * 1024 * 1024  #: bytes of one log file before it rotates
MAX_LINE = 16384  #: bytes of text in one record; a longer line continues in the next record
LEVELS = {"stdout": "info", "stderr": "error"}
output_logger = logging.getLogger("ubiops.local.output")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  #: control characters (not tab) that would drive the terminal


def _escaped(match: "re.Match[str]") -> str:
    return f"\\x{ord(match.group()):02x}"


@dataclass(frozen=True)
class LogRecord:
    timestamp: int  #: nanoseconds since the epoch, unique and increasing within one log file
    level: str  #: info (stdout) or error (stderr)
    deployment: str
    version: str
    process_id: int
    request_id: Optional[str]
    text: str


def format_time(ns: int) -> str:
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def parse_time(text: str) -> int:
    """The inverse of format_time; ValueError on anything else."""
    if len(text) != 30 or text[19] != "." or text[-1] != "Z":
        raise ValueError(text)
    seconds = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(seconds) * 1_000_000_000 + int(text[20:29])


class LogFile:
    """Appends records from any number of pumps; thread-safe."""

    def __init__(self, path: Path, max_size: int = DEFAULT_MAX_LOG_SIZE) -> None:
        self.path = path
        self.max_size = max_size
        self._lock = threading.Lock()
        self._file: Optional[IO[bytes]] = None
        self._size = 0
        self._last = 0  # the last timestamp given, so that they are unique

    def write(self, data: bytes) -> None:
        with self._lock:
            self._write(data)

    def _write(self, data: bytes) -> None:
        try:
            if self._file is None:
                self._open()
            assert self._file is not None
            if self._size and self._size + len(data) > self.max_size:
                self._rotate()
            if len(data) > self.max_size:  # a record is never cut in the middle of its prefix
                data = data[: max(0, self.max_size - 1)] + b"\n"
            self._file.write(data)
            self._file.flush()
            self._size += len(data)
        except OSError:  # e.g. the disk is full: the line is lost, the deployment goes on
            self._close()

    def record(
        self, level: str, deployment: str, version: str, process_id: int, request_id: Optional[str], text: bytes
    ) -> None:
        """Append one line of output as a record, stamped now."""
        with self._lock:
            stamp = max(time.time_ns(), self._last + 1)
            self._last = stamp
            prefix = f"{format_time(stamp)} {level} {deployment} {version} {process_id} {request_id or '-'} "
            self._write(prefix.encode() + text.replace(b"\n", b" ") + b"\n")
        if output_logger.isEnabledFor(logging.INFO):
            where = f"{deployment} {version} " + (request_id or f"instance {process_id}")
            stream = "!" if level == "error" else "|"
            output_logger.info("%s %s %s", where, stream, _CONTROL.sub(_escaped, text.decode("utf-8", "replace")))

    def pump(
        self,
        stream: IO[bytes],
        stream_name: str = "stdout",
        deployment: str = "-",
        version: str = "-",
        process_id: int = 0,
        marker: bytes = b"",
    ) -> None:
        """Copy an instance's output, line by line, until every process holding the pipe is gone."""
        lines = _Lines(self, LEVELS.get(stream_name, "info"), deployment, version, process_id, marker)
        with stream:
            while True:
                data = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                if not data:
                    lines.end()
                    return
                lines.feed(data)

    def close(self) -> None:
        with self._lock:
            self._close()

    def files(self) -> List[Path]:
        """The rotated file and the current one, oldest first (those that exist)."""
        return [p for p in (self.path.with_name(self.path.name + ".1"), self.path) if p.exists()]

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


class _Lines:
    """Splits one pipe's bytes into lines, follows the worker's request markers, writes the other lines."""

    def __init__(self, log: LogFile, level: str, deployment: str, version: str, process_id: int, marker: bytes) -> None:
        self.log = log
        self.level = level
        self.deployment = deployment
        self.version = version
        self.process_id = process_id
        self.marker = marker
        self.request_id: Optional[str] = None
        self.buffer = b""

    def feed(self, data: bytes) -> None:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            self.line(line)
        while len(self.buffer) > MAX_LINE:  # no newline in sight: write what there is, in pieces
            cut = MAX_LINE
            if self.marker:  # never cut through a marker, which may have come in part (a read ends anywhere)
                at = self.buffer.find(self.marker)
                if at == 0:  # a marker line longer than any directive: its text, as line() writes it
                    self.buffer = self.buffer[len(self.marker) :]
                    continue
                cut = min(cut, at) if at > 0 else min(cut, len(self.buffer) - _partial_marker(self.buffer, self.marker))
            self.emit(self.buffer[:cut])
            self.buffer = self.buffer[cut:]

    def end(self) -> None:
        if self.buffer:
            self.line(self.buffer)
        self.buffer = b""

    def line(self, line: bytes) -> None:
        at = line.find(self.marker) if self.marker else -1
        if at < 0:
            self.emit(line)
            return
        if at:  # text printed without a newline before the marker
            self.emit(line[:at])
        directive = line[at + len(self.marker) :]
        if directive.startswith(b"B ") and len(directive) <= 200:
            self.request_id = directive[2:].decode("utf-8", "replace").strip() or None
        elif directive == b"E":
            self.request_id = None
        else:
            self.emit(directive)

    def emit(self, text: bytes) -> None:
        text = text[:-1] if text.endswith(b"\r") else text
        for start in range(0, max(len(text), 1), MAX_LINE):
            self.log.record(
                self.level,
                self.deployment,
                self.version,
                self.process_id,
                self.request_id,
                text[start : start + MAX_LINE],
            )


def _partial_marker(buffer: bytes, marker: bytes) -> int:
    """How many bytes at the end of ``buffer`` are the start of ``marker`` (whose rest has not come yet)."""
    for size in range(min(len(marker) - 1, len(buffer)), 0, -1):
        if buffer.endswith(marker[:size]):
            return size
    return 0


def read_records(paths: List[Path]) -> Iterator[LogRecord]:
    """The records of log files, in file order; lines that are not records (older formats) are skipped."""
    for path in paths:
        try:
            with open(path, "rb") as file:
                for raw in file:
                    parsed = parse_record(raw.rstrip(b"\n").decode("utf-8", "replace"))
                    if parsed is not None:
                        yield parsed
        except OSError:
            continue


def parse_record(line: str) -> Optional[LogRecord]:
    parts = line.split(" ", 6)
    if len(parts) < 6:
        return None
    if len(parts) == 6:
        parts.append("")
    stamp, level, deployment, version, process_id, request_id, text = parts
    try:
        return LogRecord(
            parse_time(stamp),
            level,
            deployment,
            version,
            int(process_id),
            None if request_id == "-" else request_id,
            text,
        )
    except ValueError:
        return None
