"""The HTTP/1.1 request handler of the local server, over werkzeug's (which closes every connection and trusts the
body framing it is sent).

Per connection: TLS handshake in the connection's own thread, TCP_NODELAY, keep-alive. Per request: deadlines for
the first byte, the headers and the body (so a silent or trickling client is cut off), one unambiguous body framing
(else 400 and close), `100 Continue` only once the application reads the body, unread bodies drained (or the
connection closed), and streamed responses chunked.
"""

import email.utils
import io
import json
import logging
import math
import socket
import ssl
import time
from typing import Any, Callable, List, Optional, Union
from urllib.parse import parse_qsl, urlencode

from werkzeug.serving import WSGIRequestHandler

from ubiops.local.app import App
from ubiops.local.http_connections import (
    BudgetExceeded,
    Connection,
    ConnectionServer,
    DeadlineReader,
    SocketWriter,
)
from ubiops.local.http_framing import ChunkedBody, FramingError, LengthBody, declared_length

logger = logging.getLogger("ubiops.local")
access_log = logging.getLogger("ubiops.local.access")  #: one line per answered request, for the terminal

KEEP_ALIVE_TIMEOUT = 5.0  #: seconds a connection may wait for the first byte of its next (or first) request
HEADER_TIMEOUT = 10.0  #: seconds from a request's first byte to the end of its headers
BODY_TIMEOUT = 20.0  #: seconds a body may take, plus one second for every BODY_RATE bytes received
BODY_RATE = 64 * 1024
HANDSHAKE_TIMEOUT = 10.0  #: seconds a TLS handshake may stall on one read or write
HEADER_LIMIT = 256 * 1024  #: bytes of request line and headers
DRAIN_LIMIT = 1024 * 1024  #: unread request body bytes skipped to keep a connection; beyond this it is closed
LINGER = (1.0, 1024 * 1024)  #: seconds and bytes of unread input discarded after an error, before the close
QUIET_PATHS = ("/ui/",)  #: requests logged at debug only
_READ_AHEAD = 65536  #: the read buffer: what is read beyond the headers counts against HEADER_LIMIT too

Body = Union[LengthBody, ChunkedBody]


class RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "HTTPServer"  # type: ignore[assignment]  # werkzeug's handler reads what HTTPServer provides

    def __init__(self, connection: Connection, server: "HTTPServer") -> None:
        self.entry = connection
        self.request_started = 0.0  # monotonic time of the current request's first byte
        self.linger = False
        self.continue_pending = False
        self.body_started = 0.0
        super().__init__(connection.sock, connection.address, server)  # type: ignore[arg-type]

    def setup(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        if self.server.tls is not None:
            sock = self.server.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            self.entry.sock = sock  # so that it can be shut down while the handshake waits
            sock.settimeout(HANDSHAKE_TIMEOUT)
            sock.do_handshake()
        self.request = self.connection = sock
        self.reader = DeadlineReader(sock)
        self.buffered = io.BufferedReader(self.reader, _READ_AHEAD)
        self.rfile = self.buffered
        self.wfile = SocketWriter(sock)

    def finish(self) -> None:
        super().finish()
        if self.linger:
            self._linger()

    def _linger(self) -> None:
        """Closing with unread input makes the kernel reset the connection, and the client may lose our error
        answer: so say we are done, and discard what the client still sends (for a moment) before closing."""
        sock = self.connection
        deadline = time.monotonic() + LINGER[0]
        left = LINGER[1]
        try:
            socket.socket.shutdown(sock, socket.SHUT_WR)
            while left > 0 and time.monotonic() < deadline:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                data = socket.socket.recv(sock, 65536)  # raw bytes, TLS or not: they are thrown away
                if not data:
                    return
                left -= len(data)
        except OSError:
            return

    def handle_one_request(self) -> None:
        self.server.table.set_idle(self.entry, True)
        self.continue_pending = False
        self.command, self.request_version = "", self.protocol_version  # what send_error reads, until parsed
        self.path = ""  # what the access log reads: a request line that cannot be parsed sets none
        self.reader.budget = HEADER_LIMIT + _READ_AHEAD
        if not self._wait_for_request():
            self.close_connection = True
            return
        self.request_started = time.monotonic()
        self.reader.deadline = self.request_started + HEADER_TIMEOUT
        try:
            super().handle_one_request()
        except BudgetExceeded:
            self.send_error(431, f"request line and headers: over the limit of {HEADER_LIMIT} bytes")

    def _wait_for_request(self) -> bool:
        """Wait at most KEEP_ALIVE_TIMEOUT for the first byte of a request; False if none comes."""
        self.reader.deadline = time.monotonic() + KEEP_ALIVE_TIMEOUT
        try:
            return bool(self.buffered.peek(1))
        except (OSError, ValueError):  # a timeout among them: an idle connection is closed without an answer
            return False

    def handle_expect_100(self) -> bool:
        self.continue_pending = True  # sent at the first body read: a refused request is not invited to send it
        return True

    def run_wsgi(self) -> None:
        self.server.table.set_idle(self.entry, False)
        self.reader.budget = math.inf
        try:
            length = declared_length(self.headers)
            environ = self.make_environ()
        except FramingError as exc:
            self.send_error(exc.status, exc.message)
            return
        except ValueError as exc:  # a request target that cannot be split, e.g. 'http://['
            self.send_error(400, f"request target: {exc}")
            return
        self.body_started = time.monotonic()
        body: Body = (
            LengthBody(self.buffered, length, self._pace)
            if length is not None
            else ChunkedBody(self.buffered, self._pace)
        )
        environ.pop("CONTENT_LENGTH", None)
        if length is not None:
            environ["CONTENT_LENGTH"] = str(length)
        environ.update({"wsgi.input": body, "wsgi.input_terminated": True})
        started: List[Any] = []

        def start_response(status: str, headers: List[Any], exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return self._refuse_write

        result = self.server.app(environ, start_response)
        try:
            self._settle(body)
            self._respond(started[0], started[1], result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
            if started:  # else the application raised, and the connection's handler logs that
                self._log_access(started[0].split(None, 1)[0])

    def _pace(self, received: int) -> None:
        """Before each body read: send a promised 100 Continue, and move the body's deadline with what came."""
        if self.continue_pending:
            self.continue_pending = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.reader.deadline = self.body_started + BODY_TIMEOUT + received / BODY_RATE

    def _settle(self, body: Body) -> None:
        """Skip what the application left of the body, or close the connection when that is not possible or sane."""
        if body.done:
            return
        if body.failed or self.continue_pending or isinstance(body, ChunkedBody) or body.remaining > DRAIN_LIMIT:
            self.close_connection = self.linger = True
            return
        try:
            body.drain()
        except FramingError:
            self.close_connection = True

    @staticmethod
    def _refuse_write(data: bytes) -> None:
        raise NotImplementedError("the local server's application returns its body, it does not write()")

    def _respond(self, status: str, headers: List[Any], result: Any) -> None:
        code = int(status.split(None, 1)[0])
        names = {name.lower() for name, _ in headers}
        bodyless = self.command == "HEAD" or code < 200 or code in (204, 304)
        chunked = not bodyless and "content-length" not in names
        lines = [f"{self.protocol_version} {status}", f"Date: {email.utils.formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not chunked:
            data = b"" if bodyless else b"".join(result)
            self.wfile.write(head + data)
            return
        self.wfile.write(head)
        try:
            for data in result:
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except Exception:
            self.close_connection = True  # the body is cut short; the client sees an incomplete chunked body
            raise
        self.wfile.write(b"0\r\n\r\n")

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """Errors found before the application runs (request line, headers, framing), answered as JSON; then close."""
        self.close_connection = self.linger = True
        if self.request_version == "HTTP/0.9":  # a request line too broken to say its version: answer in ours
            self.request_version = self.protocol_version
        text = message or self.responses.get(code, ("error",))[0]
        logger.debug("HTTP: %s: answered %d %s", self.client_address[0], code, text)
        body = json.dumps({"error": f"{text}{': ' + explain if explain else ''}"}).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)
        self._log_access(str(code))

    def _log_access(self, code: str) -> None:
        # the web view polls its data and loads its files: shown at debug, so the terminal shows what was done
        level = logging.DEBUG if self.path.startswith(QUIET_PATHS) else logging.INFO
        if access_log.isEnabledFor(level):
            took = (time.monotonic() - self.request_started) * 1000
            access_log.log(level, "%s %s %s %.1f ms", self.command or "-", _loggable(self.path), code, took)

    def log_request(self, code: Union[int, str] = "-", size: Union[int, str] = "-") -> None:
        pass

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug("HTTP: " + format, *args)


def _loggable(target: str) -> str:
    """A request target as logged: a token in the query string is masked."""
    path, _, query = (target or "-").partition("?")
    if not query:
        return path
    pairs = [(key, "***" if key.lower() == "token" else value) for key, value in parse_qsl(query, True)]
    return f"{path}?{urlencode(pairs, safe='*/,:')}"


class HTTPServer(ConnectionServer):
    """The connection server, serving each connection with RequestHandler and App; werkzeug reads the attributes."""

    multithread = True
    multiprocess = False

    def __init__(self, sock: socket.socket, app: App, tls: Optional[ssl.SSLContext], max_connections: int) -> None:
        super().__init__(sock, self._handle_connection, max_connections)
        self.app = app
        self.tls = tls
        self.ssl_context = tls  # only tells werkzeug the URL scheme; the handshake is done by the handler

    def _handle_connection(self, connection: Connection) -> None:
        RequestHandler(connection, self)

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug("HTTP: " + message, *args)
