"""LocalServer: the local UbiOps-compatible HTTP server, usable from Python, pytest and the command line.

HTTP: a threaded werkzeug server (one thread per connection, so waiting direct requests never block others) with
our own request handler, because werkzeug's closes every connection: this one keeps connections alive (HTTP/1.1),
sets TCP_NODELAY, drains unread request bodies (or closes when that is too much), chunks streamed responses, and
does the TLS handshake in the connection's thread, so a silent client cannot block the accept loop.
"""

import contextlib
import email.utils
import io
import json
import logging
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, List, Optional, Set, Union

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from ubiops.local.app import BASE, DEFAULT_MAX_BODY_SIZE, App
from ubiops.local.backend import DEFAULT_STOP_GRACE, Backend
from ubiops.local.config import ConfigSource, ServerConfig, load_config
from ubiops.local.logfile import DEFAULT_MAX_LOG_SIZE
from ubiops.local.runtime import DEFAULT_MAX_OUTPUT_SIZE
from ubiops.local.store import Store

logger = logging.getLogger("ubiops.local")

IDLE_TIMEOUT = 300.0  #: seconds a keep-alive connection may sit idle (or a body read may stall)
HANDSHAKE_TIMEOUT = 10.0
DRAIN_LIMIT = 1024 * 1024  #: unread request body bytes skipped to keep a connection; beyond this it is closed
DATABASE = "requests.sqlite3"
LOCK_FILE = "server.lock"


class _Body:
    """The request body, limited to Content-Length; remembers how much is left unread."""

    def __init__(self, stream: io.BufferedIOBase, length: int) -> None:
        self._stream = stream
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self._stream.read(size)
        if not data:
            raise ConnectionError("the client closed the connection in the middle of the body")
        self.remaining -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        limit = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self._stream.readline(limit) if limit > 0 else b""
        self.remaining -= len(data)
        return data

    def drain(self) -> None:
        while self.remaining > 0:
            self.read(65536)


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT
    server: "_HTTPServer"

    def setup(self) -> None:
        tls = self.server.tls
        if tls is not None:
            self.request.settimeout(HANDSHAKE_TIMEOUT)
            self.request = tls.wrap_socket(self.request, server_side=True)
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        chunked_input = "wsgi.input_terminated" in environ
        body: Optional[_Body] = None
        if not chunked_input:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self.send_error(400, "Content-Length must be a non-negative integer")
                return
            body = environ["wsgi.input"] = _Body(self.rfile, length)
        started: List[Any] = []

        def start_response(status: str, headers: List[Any], exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return self._refuse_write

        result = self.server.app(environ, start_response)
        try:
            if chunked_input or (body is not None and body.remaining > DRAIN_LIMIT):
                self.close_connection = True
            elif body is not None:
                body.drain()
            self._respond(started[0], started[1], result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

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
        """Errors found while parsing the request line and headers, answered as JSON like every other error."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # a request line too broken to say its version: answer in ours
            self.request_version = self.protocol_version
        text = message or self.responses.get(code, ("error",))[0]
        body = json.dumps({"error": f"{text}{': ' + explain if explain else ''}"}).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_request(self, code: Union[int, str] = "-", size: Union[int, str] = "-") -> None:
        pass

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug("HTTP: " + format, *args)


class _HTTPServer(ThreadedWSGIServer):
    """Listens on an already bound socket; keeps the open connections so that stop() can close them."""

    def __init__(self, sock: socket.socket, app: App, tls: Optional[ssl.SSLContext]) -> None:
        super().__init__(sock.getsockname()[0], sock.getsockname()[1], app, _RequestHandler, fd=sock.fileno())
        self.tls = tls
        self.ssl_context = tls  # only tells werkzeug the URL scheme; the handshake is done by the handler
        self._connections: Set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._connections_lock:
            if is_open:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self, wait: float) -> None:
        """Shut down every open connection (idle keep-alive ones too), then wait for their threads to end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + wait
        while self._connections and time.monotonic() < deadline:
            time.sleep(0.01)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


def _check_number(name: str, value: Any, minimum: float, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not minimum <= value < float("inf"):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} >= {minimum:g}, got {value!r}")


def _lock_directory(path: Path) -> IO[str]:
    """One server per data directory: a second one would run the same pending requests again."""
    handle = open(path / LOCK_FILE, "a+")
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RuntimeError(f"data directory {path} is in use by another ubiops-local server") from None
    return handle


class LocalServer:
    """A local UbiOps-compatible server: `with LocalServer(config) as server: ... server.url, server.token`.

    config: a YAML file path or a dict (None: the bundled example deployments); data_dir: where requests and logs
    are kept (None: a temporary directory removed at stop); port 0 picks a free port; token: generated if None.
    """

    def __init__(
        self,
        config: Optional[ConfigSource] = None,
        data_dir: Optional[Union[str, Path]] = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: Optional[str] = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        certfile: Optional[Union[str, Path]] = None,
        keyfile: Optional[Union[str, Path]] = None,
        *,
        deployment_dirs: Optional[List[Union[str, Path]]] = None,
        stop_grace: float = DEFAULT_STOP_GRACE,
        max_output_size: int = DEFAULT_MAX_OUTPUT_SIZE,
        max_log_size: int = DEFAULT_MAX_LOG_SIZE,
    ) -> None:
        if token is not None and (not token or any(c.isspace() for c in token)):
            raise ValueError("token must be a non-empty string without whitespace")
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 1:
            raise ValueError(f"max_body_size must be an integer >= 1, got {max_body_size!r}")
        _check_number("stop_grace", stop_grace, 0)
        _check_number("max_output_size", max_output_size, 1, integer=True)
        _check_number("max_log_size", max_log_size, 1, integer=True)
        if (certfile is None) != (keyfile is None):
            raise ValueError("certfile and keyfile go together: give both for TLS, or neither")
        self.config: ServerConfig = load_config(config, deployment_dirs or ())
        self.host = host
        self.port = port
        self.token = token or secrets.token_hex(20)
        self.max_body_size = max_body_size
        self.stop_grace = stop_grace
        self.max_output_size = max_output_size
        self.max_log_size = max_log_size
        self._tls_files = (certfile, keyfile)
        self._data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self._temporary = data_dir is None
        self._lock_handle: Optional[IO[str]] = None
        self._store: Optional[Store] = None
        self._backend: Optional[Backend] = None
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- public surface -------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL including /v2.1, e.g. http://127.0.0.1:8900/v2.1."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        scheme = "https" if self._httpd.tls is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{BASE}"

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise RuntimeError("the server is not started")
        return self._data_dir

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def configuration(self) -> Any:
        """A ubiops.Configuration for this server: host, token and the Token prefix set."""
        import ubiops

        configuration = ubiops.Configuration()
        configuration.host = self.url
        configuration.api_key["Authorization"] = self.token
        configuration.api_key_prefix["Authorization"] = "Token"
        return configuration

    def start(self) -> "LocalServer":
        if self._httpd is not None:
            raise RuntimeError("the server is already started")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving; unfinished requests stay in the data directory and run again at the next start. Idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._backend is not None:
            self._backend.stop(self.stop_grace)
            self._backend = None
        if httpd is not None:
            httpd.close_connections(wait=5.0)
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None
        if self._temporary and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "not started"
        return f"LocalServer({where}, project={self.config.project!r})"

    # -- start-up -------------------------------------------------------------------------------------------------

    def _start(self) -> None:
        tls = self._tls_context()
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="ubiops-local-"))
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_handle = _lock_directory(self._data_dir)
        self._store = Store(self._data_dir / DATABASE)
        sock = socket.create_server(
            (self.host, self.port), family=socket.AF_INET6 if ":" in self.host else socket.AF_INET, backlog=1024
        )
        try:
            backend = Backend(
                self.config,
                self._store,
                self._data_dir / "logs",
                max_output_size=self.max_output_size,
                max_log_size=self.max_log_size,
            )
            self._backend = backend
            backend.start()
            self._httpd = _HTTPServer(sock, App(backend, self.token, self.max_body_size), tls)
        finally:
            sock.close()  # the server listens on its own duplicate
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="ubiops-local-http", daemon=True
        )
        self._thread.start()

    def _tls_context(self) -> Optional[ssl.SSLContext]:
        certfile, keyfile = self._tls_files
        if certfile is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(str(certfile), str(keyfile))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"certfile/keyfile: cannot load {certfile} and {keyfile}: {exc}") from exc
        return context
