"""LocalServer: the local UbiOps-compatible HTTP server, usable from Python, pytest and the command line.

The HTTP layer is in http_handler.py (requests) and http_connections.py (connections and their limits); this module
starts and stops the parts in order, over a private, locked data directory.
"""

import logging
import os
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlencode

from ubiops.local.app import BASE, DEFAULT_MAX_BODY_SIZE, App, loopback_name
from ubiops.local.backend import DEFAULT_STOP_GRACE, STOPPED_WHILE_STARTING, Backend
from ubiops.local.config import CliFile, ConfigSource, ServerConfig, load_config
from ubiops.local.data_dir import PRIVATE_FILE, DirectoryLock, make_private_dir, make_private_file
from ubiops.local.environments import prepare as prepare_environments
from ubiops.local.http_connections import DEFAULT_MAX_CONNECTIONS
from ubiops.local.http_handler import HTTPServer
from ubiops.local.logfile import DEFAULT_MAX_LOG_SIZE
from ubiops.local.reload import PackageWatcher
from ubiops.local.runtime import DEFAULT_MAX_OUTPUT_SIZE, DeploymentStartError
from ubiops.local.store import Store
from ubiops.local.validation import MIN_TIMEOUT
from ubiops.local.web_routes import WebView

logger = logging.getLogger("ubiops.local")

DATABASE = "requests.sqlite3"
LOGS = "logs"
TOKEN_FILE = "token"  #: the token of a data directory, kept so that a restart accepts the token it printed before


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


class LocalServer:
    """A local UbiOps-compatible server: `with LocalServer(config) as server: ... server.url, server.token`.

    config: a YAML file path or a dict (None: the bundled example deployments); data_dir: where requests and logs
    are kept (None: a temporary directory removed at stop; made private to the user either way); port 0 picks a free
    port; token: if None, the one a start with the same data_dir stored there (0600), else a new one (stored there
    when data_dir is given); max_connections: connections served at once (see http_connections.py);
    stop_grace: seconds the runs in progress get to finish at stop(); max_output_size: bytes of one request's output
    (as JSON); max_log_size: bytes of a deployment's log file before it rotates; build_environments: install each
    package's requirements.txt into an environment of its own at start (environments.py), else run every package in
    this interpreter.

    deployment_dirs: packages served besides `config`, each `DIR` or `NAME=DIR` (a folder or .zip), like
    `--deployment`; deployment_configs, version_configs: the YAML files (or dicts) of the official UbiOps CLI for
    `deployments create -f` and `deployments deploy -f`, paired with those packages (docs/LocalPackages.md).

    start() returns once every instance has loaded its package (ran `Deployment.__init__`), as UbiOps builds a
    version before it serves it: a package that cannot load raises DeploymentStartError, naming the file and line,
    unless keep_going, which serves the rest and fails that version's requests with the load error. reload: a
    change to a package's files reloads the versions served from it (see reload.py and Runtime.reload). ui: serve
    the web view at / (web_url opens it; docs/WebView.md). min_timeout: for tests only, the least `timeout` a
    request may ask for, in seconds (1 to 10; UbiOps's is 10), so that a test that only needs a request to time out
    does not wait 10 s for it. The client checks 10 too: such a test turns its client_side_validation off.
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
        deployment_configs: Optional[Sequence[CliFile]] = None,
        version_configs: Optional[Sequence[CliFile]] = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        stop_grace: float = DEFAULT_STOP_GRACE,
        max_output_size: int = DEFAULT_MAX_OUTPUT_SIZE,
        max_log_size: int = DEFAULT_MAX_LOG_SIZE,
        keep_going: bool = False,
        reload: bool = False,
        build_environments: bool = True,
        ui: bool = True,
        min_timeout: int = MIN_TIMEOUT,
    ) -> None:
        if token is not None and (not token or any(c.isspace() for c in token)):
            raise ValueError("token must be a non-empty string without whitespace")
        _positive_int("max_body_size", max_body_size)
        _positive_int("max_connections", max_connections)
        _positive_int("max_output_size", max_output_size)
        _positive_int("max_log_size", max_log_size)
        if isinstance(stop_grace, bool) or not isinstance(stop_grace, (int, float)) or not 0 <= stop_grace < 1e6:
            raise ValueError(f"stop_grace must be a number of seconds >= 0, got {stop_grace!r}")
        if isinstance(min_timeout, bool) or not isinstance(min_timeout, int) or not 1 <= min_timeout <= MIN_TIMEOUT:
            raise ValueError(f"min_timeout must be an integer from 1 to {MIN_TIMEOUT} seconds, got {min_timeout!r}")
        if (certfile is None) != (keyfile is None):
            raise ValueError("certfile and keyfile go together: give both for TLS, or neither")
        self.config: ServerConfig = load_config(
            config, deployment_dirs or (), deployment_configs or (), version_configs or ()
        )
        self.host = host
        self.port = port
        self._data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.token = token or self._stored_token() or secrets.token_hex(20)
        self.max_body_size = max_body_size
        self.max_connections = max_connections
        self.stop_grace = stop_grace
        self.max_output_size = max_output_size
        self.max_log_size = max_log_size
        self.keep_going = keep_going
        self.reload = reload
        self._watcher: Optional[PackageWatcher] = None
        self.build_environments = build_environments
        self.ui = ui
        self.min_timeout = min_timeout
        self._tls_files = (certfile, keyfile)
        self._token_given = token is not None
        self._temporary = data_dir is None
        self._lock: Optional[DirectoryLock] = None
        self._store: Optional[Store] = None
        self._backend: Optional[Backend] = None
        self._httpd: Optional[HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._stopping = threading.Lock()

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
    def web_url(self) -> Optional[str]:
        """The web view's login URL, with the token (None when ui=False): opening it starts a session."""
        if not self.ui:
            return None
        root = self.url[: -len(BASE)]
        return f"{root}/?{urlencode({'token': self.token})}"

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

    def stop(self) -> bool:
        """Stop serving; unfinished requests stay in the data directory and run again at the next start. Idempotent.

        Never raises: a step that fails is logged and the next one runs, so the data directory is always unlocked.
        Returns False when a step failed.
        """
        with self._stopping:  # a second stop() at once waits for the first, which then left it nothing to do
            return self._stop()

    def _stop(self) -> bool:
        httpd, self._httpd = self._httpd, None
        steps: List[Tuple[str, Callable[[], None]]] = []
        if httpd is not None:
            steps.append(("stop accepting connections", lambda: self._stop_accepting(httpd)))
        steps.append(("stop watching the packages", self._stop_watching))
        steps.append(("stop the backend", self._stop_backend))
        if httpd is not None:
            steps.append(("close the connections", lambda: httpd.close_connections(wait=5.0)))
        steps += [
            ("close the database", self._close_store),
            ("unlock the data directory", self._unlock),
            ("remove the temporary data directory", self._remove_temporary),
        ]
        ok = True
        for what, step in steps:
            try:
                step()
            except Exception as exc:
                ok = False
                debug = logger.isEnabledFor(logging.DEBUG)  # the traceback only when asked for: the message says it
                logger.error("stopping the local server: cannot %s: %s", what, exc, exc_info=debug)
        return ok

    def _stop_accepting(self, httpd: HTTPServer) -> None:
        httpd.shutdown()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        httpd.close_listener()

    def _stop_watching(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    def _stop_backend(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop(self.stop_grace)

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def _unlock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def _remove_temporary(self) -> None:
        if self._temporary and self._data_dir is not None:
            data_dir, self._data_dir = self._data_dir, None
            shutil.rmtree(data_dir, ignore_errors=True)

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
        make_private_dir(self._data_dir)
        self._lock = DirectoryLock(self._data_dir)
        self._keep_token()
        make_private_file(self._data_dir / DATABASE)
        self._store = Store(self._data_dir / DATABASE)
        make_private_dir(self._data_dir / LOGS)
        # built before the port is bound, so that no client connects to a server that cannot answer for minutes
        pythons, problems = prepare_environments(self.config, self.build_environments)
        if problems and not self.keep_going:
            raise DeploymentStartError(problems)
        sock = socket.create_server(
            (self.host, self.port), family=socket.AF_INET6 if ":" in self.host else socket.AF_INET, backlog=1024
        )
        try:
            backend = Backend(
                self.config,
                self._store,
                self._data_dir / LOGS,
                max_output_size=self.max_output_size,
                max_log_size=self.max_log_size,
                keep_going=self.keep_going,
                pythons=pythons,
                broken={(deployment, version): error for deployment, version, _path, error in problems},
                build_environments=self.build_environments,
                min_timeout=self.min_timeout,
            )
            self._backend = backend
            backend.start()
            if self.reload:
                directories = {v.path for d in self.config.deployments for v in d.versions}
                self._watcher = PackageWatcher(directories, backend.reload, ignore=[self._data_dir])
                self._watcher.start()
            with self._stopping:  # a stop() from another thread while the packages loaded: serve nothing after it
                if self._backend is not backend:
                    raise RuntimeError(STOPPED_WHILE_STARTING)
                sock.setblocking(False)
                web = WebView(backend, self.token, tls is not None, sock.getsockname()[1]) if self.ui else None
                app = App(backend, self.token, self.max_body_size, web, loopback_only=loopback_name(self.host))
                httpd = HTTPServer(sock, app, tls, self.max_connections)
                self.port = httpd.server_address[1]
                self._thread = threading.Thread(target=httpd.serve_forever, name="ubiops-local-http", daemon=True)
                self._thread.start()
                self._httpd = httpd
        except BaseException:
            sock.close()
            raise

    def _stored_token(self) -> Optional[str]:
        """The token kept in the data directory by an earlier start, if there is one."""
        if self._data_dir is None:
            return None
        file = self._data_dir / TOKEN_FILE
        if file.exists() and not file.is_file():  # reading a FIFO would block
            raise ValueError(f"data_dir: the stored token {file} is not a regular file; delete it")
        try:
            stored = file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"data_dir: cannot read the stored token {file}: {exc}") from exc
        if not stored or any(c.isspace() for c in stored):
            raise ValueError(f"data_dir: the stored token {file} is empty or holds whitespace; fix or delete it")
        return stored

    def _keep_token(self) -> None:
        """A generated token is stored (0600) in a kept data directory, so that the next start accepts it too."""
        assert self._data_dir is not None
        file = self._data_dir / TOKEN_FILE
        if self._temporary or self._token_given:
            return
        if file.exists():  # another server made it since __init__ read the directory
            self.token = self._stored_token() or self.token
            return
        partial = file.with_name(f".{TOKEN_FILE}-{os.getpid()}")  # written whole, then linked: never an empty file
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(self.token + "\n")
        try:
            os.link(partial, file)
        except FileExistsError:  # another server stored one first: that one counts
            self.token = self._stored_token() or self.token
        finally:
            os.unlink(partial)

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
