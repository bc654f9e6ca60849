"""Request body framing: the one Content-Length or chunked coding a request may declare, and the readers that keep
to it. A framing error is the client's: it is answered 400 and the connection is closed, since where the next
request starts is no longer known.
"""

import io
import re
import socket
from email.message import Message
from typing import Callable, Optional

CHUNK_LINE_LIMIT = 4096  #: bytes of a chunk-size line (with its extensions) or of a trailer line
TRAILER_LIMIT = 100  #: trailer lines after the last chunk

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\\r\n]|\\[^\r\n])*"'
_CHUNK_SIZE = re.compile(
    rf"([0-9A-Fa-f]{{1,16}})((?:[ \t]*;[ \t]*{_TOKEN}(?:[ \t]*=[ \t]*(?:{_TOKEN}|{_QUOTED}))?)*)", re.ASCII
)

#: called before each read from the connection with the body bytes received so far (sets the deadline)
Pacer = Callable[[int], None]


class FramingError(Exception):
    """A request whose body cannot be delimited or read: status (400, or 408 when it is too slow) and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def declared_length(headers: Message) -> Optional[int]:
    """The body length the headers declare; None for a chunked body. Anything ambiguous is a FramingError."""
    lengths = headers.get_all("Content-Length") or []
    codings = headers.get_all("Transfer-Encoding") or []
    if codings and lengths:
        raise FramingError(400, "Transfer-Encoding and Content-Length: a request may carry only one of them")
    if len(codings) > 1 or len(lengths) > 1:
        name = "Transfer-Encoding" if codings else "Content-Length"
        raise FramingError(400, f"{name}: given {len(codings) or len(lengths)} times; send it once")
    if codings:
        if codings[0].strip(" \t").lower() != "chunked":
            raise FramingError(400, f"Transfer-Encoding: only 'chunked' is supported, got {codings[0][:100]!r}")
        return None
    if not lengths:
        return 0
    value = lengths[0].strip(" \t")  # optional whitespace around a field value is allowed; nothing else is
    if not _DIGITS.fullmatch(value):
        raise FramingError(
            400, f"Content-Length: must be a non-negative decimal integer (digits only), got {lengths[0][:100]!r}"
        )
    return int(value)


def _read_failed(exc: BaseException) -> FramingError:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return FramingError(408, "body: not received in time; the client sent it too slowly or stopped")
    return FramingError(400, f"body: the connection failed while reading it: {exc}")


class LengthBody:
    """A body of Content-Length bytes."""

    def __init__(self, stream: io.BufferedIOBase, length: int, pace: Pacer) -> None:
        self._stream = stream
        self._pace = pace
        self.length = length
        self.received = 0
        self.failed = False

    @property
    def done(self) -> bool:
        return self.received >= self.length

    @property
    def remaining(self) -> int:
        return self.length - self.received

    def read(self, size: int = -1) -> bytes:
        if self.done:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        try:
            self._pace(self.received)
            data = self._stream.read1(size)  # at most one read: the deadline moves on
        except (OSError, ValueError) as exc:
            self.failed = True
            raise _read_failed(exc) from None
        if not data:
            self.failed = True
            raise FramingError(
                400, f"body: the connection closed after {self.received} of {self.length} bytes (Content-Length)"
            )
        self.received += len(data)
        return data

    def drain(self) -> None:
        while not self.done:
            self.read(65536)


class ChunkedBody:
    """A body in the chunked transfer coding; chunk extensions are accepted and ignored, trailers skipped."""

    def __init__(self, stream: io.BufferedIOBase, pace: Pacer) -> None:
        self._stream = stream
        self._pace = pace
        self._left = 0  # bytes left in the current chunk
        self.received = 0
        self.done = False
        self.failed = False

    def read(self, size: int = -1) -> bytes:
        if self.done:
            return b""
        try:
            if self._left == 0:
                self._next_chunk()
                if self.done:
                    return b""
            want = self._left if size is None or size < 0 else min(size, self._left)
            self._pace(self.received)
            data = self._stream.read1(want)
            if not data:
                raise FramingError(400, "Transfer-Encoding: chunked: the connection closed inside a chunk")
            self._left -= len(data)
            self.received += len(data)
            if self._left == 0:
                self._expect_crlf("a chunk's data")
            return data
        except FramingError:
            self.failed = True
            raise
        except (OSError, ValueError) as exc:
            self.failed = True
            raise _read_failed(exc) from None

    def _line(self, what: str) -> bytes:
        self._pace(self.received)
        line = self._stream.readline(CHUNK_LINE_LIMIT + 1)
        if not line:
            raise FramingError(400, "Transfer-Encoding: chunked: the connection closed before the last chunk")
        if len(line) > CHUNK_LINE_LIMIT:
            raise FramingError(400, f"Transfer-Encoding: chunked: {what} is over {CHUNK_LINE_LIMIT} bytes")
        if not line.endswith(b"\r\n"):
            raise FramingError(400, f"Transfer-Encoding: chunked: {what} does not end with CRLF")
        return line[:-2]

    def _next_chunk(self) -> None:
        line = self._line("a chunk-size line")
        match = _CHUNK_SIZE.fullmatch(line.decode("latin-1"))
        if match is None:
            raise FramingError(
                400, f"Transfer-Encoding: chunked: bad chunk-size line {line[:40]!r} (hex digits, then ;extensions)"
            )
        self._left = int(match[1], 16)
        if self._left == 0:
            for _ in range(TRAILER_LIMIT + 1):
                if not self._line("a trailer line"):
                    self.done = True
                    return
            raise FramingError(400, f"Transfer-Encoding: chunked: more than {TRAILER_LIMIT} trailer lines")

    def _expect_crlf(self, what: str) -> None:
        self._pace(self.received)
        if self._stream.read(2) != b"\r\n":
            raise FramingError(400, f"Transfer-Encoding: chunked: {what} is not followed by CRLF")

    def drain(self) -> None:
        while not self.done:
            self.read(65536)
