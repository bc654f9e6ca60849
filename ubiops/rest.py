"""The transport: one urllib3 pool per ApiClient, the retry loop, and the one place where urllib3 errors and
HTTP statuses become exceptions.

Whether a failed call may be repeated depends on whether the server may have acted on it. The pool's connections
record, per attempt and per thread, whether any byte of the request was handed to the network: a failure before
that (refused, connect timeout, a reset during the TLS handshake, a write that failed at once) provably left the
server untouched, so even a create is retried; a failure after it (reset, timeout or a cut-short answer) is
retried only for calls that are safe to repeat.

A numeric ``_request_timeout`` bounds a whole attempt, not each socket read: a watchdog thread shuts the
connection's socket down at the attempt's deadline, which ends a read that a trickling server would otherwise keep
alive for as long as each byte arrives within the read timeout.
"""

from __future__ import annotations  # urllib3 1.26 has no BaseHTTPResponse to evaluate

import functools
import heapq
import http.client
import itertools
import logging
import re
import socket
import ssl
import threading
import time
import warnings
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Type, Union
from urllib.parse import unquote, urljoin

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    HTTPError,
    InsecureRequestWarning,
    LocationValueError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

try:
    from urllib3 import HTTPHeaderDict
except ImportError:  # urllib3 1.26 keeps it in a private module; from 2.0 it is public at the top level
    from urllib3._collections import HTTPHeaderDict

from ubiops._proxies import ProxyEnvironment
from ubiops.configuration import Configuration
from ubiops.exceptions import (
    BODY_PREVIEW_CHARS,
    ApiConnectionError,
    ApiException,
    ApiTimeoutError,
    ApiTypeError,
    ApiValueError,
    exception_for_status,
    retry_after_seconds,
)
from ubiops.retry import IDEMPOTENT_RETRY_STATUSES, NOT_ACTED_STATUSES, RetryPolicy

__all__ = ["RESTClient", "HTTPHeaderDict", "translate_error", "request_timeout", "check_request_timeout"]

#: urllib3 follows redirects (dropping Authorization on a change of host) but retries nothing itself:
#: retrying is decided in :meth:`RESTClient.request`, which knows whether the call is safe to repeat.
_REDIRECTS_ONLY = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5, raise_on_redirect=False)
#: Hosts whose connection pools a client keeps.
_POOLS = 4
_NO_REDIRECT = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=0, raise_on_redirect=False)
#: Headers that describe a body, dropped when a 303 turns the call into a GET (as urllib3 does).
_BODY_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "content-language",
        "content-location",
        "digest",
        "last-modified",
    }
)


def _first_hop(pool: Any, method: str, target: str, send: Dict[str, Any]) -> urllib3.BaseHTTPResponse:
    return pool.urlopen(method, target, retries=_NO_REDIRECT, redirect=False, assert_same_host=False, **send)


def _split_origin(url: str) -> Tuple[str, str]:
    """``http://host:port/v2.1/x?y`` as ``("http://host:port", "/v2.1/x?y")``."""
    slash = url.find("/", url.find("://") + 3)
    return (url, "/") if slash < 0 else (url[:slash], url[slash:])


class _Attempt(threading.local):
    """Per thread: has the current attempt begun its request line, and handed request bytes to the network?
    ``deadline`` is the monotonic time that ends the attempt (a numeric ``_request_timeout``), else None;
    ``watched`` the connections it put under the watchdog; ``proxied``: it goes through a proxy."""

    started = False
    sent = False
    proxied = False
    deadline: Optional[float] = None
    watched: List[HTTPConnection]


_attempt = _Attempt()


class _Watchdog:
    """Shuts down the socket of a connection still in use at its attempt's deadline, so that a blocked read ends.

    One daemon thread for the process, started on first use. A connection is forgotten (under the same lock as the
    shutdown) before it goes back to the pool, so a pooled connection that another call may take is never touched.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watched: Dict[HTTPConnection, float] = {}
        self._due: List[Tuple[float, int, HTTPConnection]] = []  # a heap; entries of forgotten connections linger
        self._order = itertools.count()
        self._thread: Optional[threading.Thread] = None

    def watch(self, conn: HTTPConnection, deadline: float) -> None:
        with self._cond:
            self._watched[conn] = deadline
            heapq.heappush(self._due, (deadline, next(self._order), conn))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ubiops-request-timeout", daemon=True)
                self._thread.start()
            if self._due[0][2] is conn:
                self._cond.notify()

    def forget(self, conns: Iterable[HTTPConnection]) -> None:
        with self._cond:
            for conn in conns:
                self._watched.pop(conn, None)
            if len(self._due) > 2 * len(self._watched) + 64:  # drop what forgotten connections left behind
                self._due = [entry for entry in self._due if self._watched.get(entry[2]) == entry[0]]
                heapq.heapify(self._due)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._due and self._due[0][0] <= now:
                    deadline, _, conn = heapq.heappop(self._due)
                    if self._watched.get(conn) == deadline:
                        del self._watched[conn]
                        _shut_down(conn)
                self._cond.wait(self._due[0][0] - now if self._due else None)


def _shut_down(conn: HTTPConnection) -> None:
    """End every read and write on the connection. The plain socket's shutdown, not SSLSocket's, which would also
    drop the TLS state that the blocked reader is using; TLS in TLS (an HTTPS proxy) is left to the read timeout."""
    sock = conn.sock
    if isinstance(sock, socket.socket):
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


_WATCHDOG = _Watchdog()


class _TrackedHTTPConnection(HTTPConnection):
    """Marks the attempt as sent once a write of the request succeeded (a proxy CONNECT does not count), and puts
    the connection under the watchdog when the attempt has a deadline."""

    def putrequest(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        _attempt.started = True
        if _attempt.deadline is not None:
            _WATCHDOG.watch(self, _attempt.deadline)
            _attempt.watched.append(self)
        super().putrequest(method, url, *args, **kwargs)

    def send(self, data: Any) -> None:
        super().send(data)  # opens the connection first when needed (urllib3 1.26, plain HTTP)
        if _attempt.started:
            _attempt.sent = True


class _TrackedHTTPSConnection(_TrackedHTTPConnection, HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection

    def _put_conn(self, conn: Any) -> None:
        if _attempt.deadline is not None and conn is not None:
            _WATCHDOG.forget((conn,))  # before another call can take it from the pool
        super()._put_conn(conn)


class _HTTPSPool(_HTTPPool, urllib3.HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class RESTClient:
    """Sends prepared requests over one pooled urllib3 manager; safe to share between threads."""

    def __init__(self, configuration: Configuration) -> None:
        #: Read at each log line, so switching ``debug`` later takes effect at once.
        self.configuration = configuration
        pool_args: Dict[str, Any] = {"num_pools": _POOLS, "maxsize": configuration.connection_pool_maxsize}
        if configuration.verify_ssl:
            pool_args["cert_reqs"] = "CERT_REQUIRED"
            pool_args["ca_certs"] = configuration.ssl_ca_cert or _certifi_bundle()
        else:
            pool_args["cert_reqs"] = "CERT_NONE"
            _warn_unverified(configuration.host)
        if configuration.cert_file:
            pool_args["cert_file"] = configuration.cert_file
            pool_args["key_file"] = configuration.key_file
        if configuration.assert_hostname is not None:
            pool_args["assert_hostname"] = configuration.assert_hostname
        self._pool_args = pool_args
        #: The manager of every call when ``Configuration.proxy`` is set, else of the calls that go direct.
        self.pool_manager = self._manager(configuration.proxy, configuration.proxy_headers)
        #: The proxy variables, when they name a proxy and ``Configuration.proxy`` is not set.
        environment = None if configuration.proxy else ProxyEnvironment.read()
        self._environment = environment if environment is not None and environment.names_a_proxy else None
        self._proxied: Dict[str, urllib3.PoolManager] = {}  # by proxy URL from the environment
        self._proxied_lock = threading.Lock()
        #: The direct manager's connection pools by the scheme://host:port of a URL, for :meth:`_direct`.
        self._pools: Dict[str, Any] = {}

    def _manager(self, proxy: Optional[str], proxy_headers: Optional[Dict[str, str]]) -> urllib3.PoolManager:
        manager: urllib3.PoolManager
        if proxy:
            headers = dict(proxy_headers or {})
            auth = urllib3.util.parse_url(proxy).auth
            if auth and not any(name.lower() == "proxy-authorization" for name in headers):
                headers.update(urllib3.util.make_headers(proxy_basic_auth=unquote(auth)))
            manager = urllib3.ProxyManager(proxy_url=proxy, proxy_headers=headers, **self._pool_args)
        else:
            manager = urllib3.PoolManager(**self._pool_args)
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager

    def manager_for(self, url: str) -> urllib3.PoolManager:
        """``Configuration.proxy`` when set, else the proxy the environment named for this URL when the client was
        made (see :mod:`ubiops._proxies`; read once, as httpx does), else a direct connection."""
        environment = self._environment
        proxy = environment.proxy_for(url) if environment is not None else None
        if proxy is None:
            return self.pool_manager
        with self._proxied_lock:
            manager = self._proxied.get(proxy)
            if manager is None:
                manager = self._proxied[proxy] = self._manager(proxy, None)
            return manager

    def request(
        self,
        method: str,
        url: str,
        headers: Dict[str, str],
        body: Optional[bytes],
        timeout: urllib3.Timeout,
        policy: RetryPolicy,
        idempotent: bool,
        preload_content: bool = True,
    ) -> urllib3.BaseHTTPResponse:
        """Send, retrying what is safe to retry; answer the 2xx response or raise the matching ApiException.

        The exception of a call that was not repeated, or was repeated in vain, says why in its message."""
        history: List[str] = []  # what went wrong in earlier attempts that may have reached the server
        for retry_number in range(policy.total + 1):
            last_try = retry_number == policy.total
            started = time.perf_counter()
            _attempt.started = _attempt.sent = _attempt.proxied = False
            try:
                response = self._attempt(method, url, headers, body, timeout, preload_content)
            except HTTPError as err:
                sent = _attempt.sent
                error = translate_error(err, method, url, sent, _ran_out(timeout, started, err), _attempt.proxied)
                final = _is_final(err)
                if final or last_try or (sent and not idempotent):
                    raise _with_note(error, _give_up_note(retry_number, sent, idempotent, final)) from err
                if sent:
                    history.append(error.reason or "")
                wait = policy.backoff(retry_number)
                self._log_retry(method, url, f"{error.reason}: {_detail(error)}", wait, retry_number, policy)
                time.sleep(wait)
                continue
            configuration = self.configuration
            if configuration.logs(logging.DEBUG):
                elapsed_ms = (time.perf_counter() - started) * 1e3
                configuration.log(
                    logging.DEBUG, "%s -> %s in %.1f ms", _where(method, url), response.status, elapsed_ms
                )
            if 200 <= response.status < 300:
                return response
            wait_or_note = _status_wait(response, policy, idempotent, retry_number)
            if last_try or isinstance(wait_or_note, str):
                note = wait_or_note if isinstance(wait_or_note, str) else _attempts(retry_number)
                raise _status_error(response, note, history, self.configuration.host)
            if response.status not in NOT_ACTED_STATUSES:
                history.append(f"HTTP {response.status}")
            self._log_retry(method, url, f"HTTP {response.status}", wait_or_note, retry_number, policy)
            response.drain_conn()
            time.sleep(wait_or_note)
        raise AssertionError("unreachable: the last try returns or raises")  # pragma: no cover

    def _attempt(
        self,
        method: str,
        url: str,
        headers: Dict[str, str],
        body: Optional[bytes],
        timeout: urllib3.Timeout,
        preload_content: bool,
    ) -> urllib3.BaseHTTPResponse:
        """One attempt; a ``total`` timeout is its deadline, up to the end of the body when it is preloaded."""
        total = _total(timeout)
        if total is not None:
            _attempt.deadline, _attempt.watched = time.monotonic() + total, []
        send: Dict[str, Any] = {
            "body": body,
            "headers": headers,
            "timeout": timeout,
            "preload_content": preload_content,
            "enforce_content_length": True,
        }
        try:
            manager = self.manager_for(url)
            _attempt.proxied = isinstance(manager, urllib3.ProxyManager)
            if _attempt.proxied:  # it knows the forms a proxy needs
                return manager.urlopen(method, url, retries=_REDIRECTS_ONLY, **send)
            return self._direct(method, url, send)
        finally:
            if _attempt.deadline is not None:
                _WATCHDOG.forget(_attempt.watched)
                _attempt.deadline = None

    def _direct(self, method: str, url: str, send: Dict[str, Any]) -> urllib3.BaseHTTPResponse:
        """A call without a proxy, handed straight to its host's connection pool: ``PoolManager.urlopen`` would
        parse and re-encode the whole URL at every call, about 60 us, a tenth of a call on loopback. A redirect
        goes on through the manager, as if it had made the first hop."""
        origin, target = _split_origin(url)
        pool = self._pools.get(origin) or self._pool_for(origin)
        try:
            response = _first_hop(pool, method, target, send)
        except ClosedPoolError:  # closed by close() in another thread, or by urllib3 1.26 past 4 hosts; nothing sent
            pool = self._pool_for(origin)
            response = _first_hop(pool, method, target, send)
        location = response.get_redirect_location()
        if not location:
            return response
        return self._follow(pool, response, location, method, url, send)

    def _pool_for(self, origin: str) -> Any:
        """The manager's pool for ``scheme://host:port``, remembered for the next calls."""
        parsed = urllib3.util.parse_url(origin)
        pool = self.pool_manager.connection_from_host(parsed.host or "", parsed.port, parsed.scheme or "http")
        if len(self._pools) >= _POOLS:  # as the manager, which forgets the least recent past that many hosts
            self._pools.clear()
        self._pools[origin] = pool
        return pool

    def _follow(
        self, pool: Any, response: Any, location: str, method: str, url: str, send: Dict[str, Any]
    ) -> urllib3.BaseHTTPResponse:
        """Follow a redirect of the first hop as ``PoolManager.urlopen`` would: a 303 becomes a GET without a body,
        and the headers urllib3 keeps from other hosts (``Authorization``, ``Cookie``) stay behind."""
        response.drain_conn()  # first: a Location that is no URL raises below, and the connection must go back
        retries = _REDIRECTS_ONLY.increment(method, url, response=response, _pool=pool)
        try:
            redirected = urljoin(url, location)
        except ValueError as err:  # e.g. "http://[::1": urllib3's error for a URL it cannot read, not retried
            raise LocationValueError(f"the server redirected to {location!r}, which is not a URL") from err
        # a copy: urllib3 1.26's manager drops Authorization from it in place at a later hop to another host, and the
        # next attempt would send the caller's headers without it
        headers = dict(send["headers"])
        if response.status == 303:
            method, send["body"] = "GET", None
            headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
        if not pool.is_same_host(redirected):
            headers = {k: v for k, v in headers.items() if k.lower() not in retries.remove_headers_on_redirect}
        return self.pool_manager.urlopen(method, redirected, retries=retries, **{**send, "headers": headers})

    def _log_retry(
        self, method: str, url: str, reason: str, wait: float, retry_number: int, policy: RetryPolicy
    ) -> None:
        self.configuration.log(
            logging.INFO,
            "Retrying %s after %s (retry %d of %d) in %.2f s",
            _where(method, url),
            reason,
            retry_number + 1,
            policy.total,
            wait,
        )

    def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:  # urllib3 2's manager only forgets its pools; a call made later opens new ones
            pool.close()
        self.pool_manager.clear()
        with self._proxied_lock:
            for manager in self._proxied.values():
                manager.clear()


_TIMEOUTS = (ConnectTimeoutError, ReadTimeoutError, TimeoutError)


def _where(method: str, url: str) -> str:
    """The call as the log shows it: the method and the URL without its query."""
    return f"{method} {url.split('?', 1)[0]}"


def _total(timeout: urllib3.Timeout) -> Optional[float]:
    """The whole-attempt seconds of a numeric ``_request_timeout`` (see :func:`request_timeout`), else None."""
    total = timeout.total
    return float(total) if isinstance(total, (int, float)) else None


def _ran_out(timeout: urllib3.Timeout, started: float, err: HTTPError) -> Optional[float]:
    """The whole-attempt timeout in seconds if the attempt that failed ran out of it, else None. The watchdog's
    shutdown surfaces as a closed connection, hence the clock; a socket timeout is the same limit met first. A
    connection that failed (refused, no route) is that failure however long a busy machine took to report it."""
    total = _total(timeout)
    cause = _cause(err)
    if total is None or isinstance(cause, NewConnectionError):  # before _TIMEOUTS: a subclass of it in urllib3 2
        return None
    return total if time.perf_counter() - started >= total or isinstance(cause, _TIMEOUTS) else None


def _status_wait(
    response: urllib3.BaseHTTPResponse, policy: RetryPolicy, idempotent: bool, retry_number: int
) -> Union[float, str]:
    """Seconds to wait before retrying this answer, or why it is not retried."""
    status = response.status
    if not policy.may_retry_status(status, idempotent):
        if status in IDEMPOTENT_RETRY_STATUSES:
            return (
                "not retried: the server may have acted on this call, and repeating it could do it twice "
                "(RetryPolicy retry_creates_on opts in)"
            )
        return ""
    asked = retry_after_seconds(response.headers)
    if asked is not None and asked > policy.retry_after_max:
        return (
            f"not retried: the server asked to wait {asked:g} s, more than retry_after_max "
            f"({policy.retry_after_max:g} s); the wait is in the exception's retry_after"
        )
    return policy.backoff(retry_number, asked)


def _attempts(retry_number: int) -> str:
    return f"gave up after {retry_number + 1} attempts" if retry_number else ""


def _give_up_note(retry_number: int, sent: bool, idempotent: bool, final: bool) -> str:
    if final:
        return "not retried: trying again cannot help"
    if sent and not idempotent:
        return (
            "not retried: the request was sent, so the server may have acted on it, and repeating it could create "
            "it twice; list the requests to find out"
        )
    return _attempts(retry_number)


def _history_note(history: List[str]) -> str:
    if not history:
        return ""
    return f"an earlier attempt may have reached the server ({history[0]}) and may already have done this call"


def _with_note(error: ApiConnectionError, note: str) -> ApiConnectionError:
    if not note:
        return error
    return type(error)(error.reason or "", f"{error.message} ({note})", sent=error.sent)


def _base_path_note(host: str) -> str:
    """For a 404 that is no API error: the hint that the configured host lacks the API's base path, when its path
    does not end in it."""
    path = (urllib3.util.parse_url(host).path or "").rstrip("/")
    if path.endswith("/v2.1"):
        return ""
    return f"Configuration.host probably lacks /v2.1: use {host.rstrip('/')}/v2.1"


def _status_error(response: urllib3.BaseHTTPResponse, note: str, history: List[str], host: str) -> ApiException:
    try:
        response.data  # noqa: B018  # the body holds the server's message: read and keep it if it was not preloaded
    except HTTPError:
        pass
    cls = exception_for_status(response.status)
    error = cls(http_resp=response)
    if response.status == 404:  # perhaps gone because an earlier attempt did the job (a delete)
        # an answer with the API's error body came from the API at this path (a proxy may map any path to it): a
        # record not found, not a base path missing
        base_path = _base_path_note(host) if error.message is None else ""
        note = "; ".join(filter(None, (note, _history_note(history), base_path)))
    if not note:
        return error
    said = error.message or (error.body or "")[:BODY_PREVIEW_CHARS]
    return cls(http_resp=response, message=f"{said} ({note})" if said else note)


def _layers(err: BaseException) -> Iterator[BaseException]:
    """The error and those under urllib3's wrappers (MaxRetryError, ProxyError, ProtocolError, SSLError), outermost
    first."""
    while True:
        yield err
        if isinstance(err, MaxRetryError) and err.reason is not None:
            err = err.reason
        elif isinstance(err, ProxyError) and isinstance(getattr(err, "original_error", None), BaseException):
            err = err.original_error
        elif isinstance(err, (ProtocolError, SSLError)) and any(isinstance(a, BaseException) for a in err.args):
            err = next(a for a in err.args if isinstance(a, BaseException))
        else:
            return


def _cause(err: BaseException) -> BaseException:
    """The error underneath urllib3's wrappers."""
    *_, cause = _layers(err)
    return cause


def _is_final(err: HTTPError) -> bool:
    """Errors that another attempt cannot cure: the server's certificate is not trusted, the URL is bad, or the
    server speaks another protocol than the URL's scheme (plain HTTP to https://, TLS to http://)."""
    cause = _cause(err)
    return (
        isinstance(cause, (ssl.SSLCertVerificationError, ssl.CertificateError, urllib3.exceptions.LocationValueError))
        or _answered_plain_http(cause)
        or _answered_tls(cause)
    )


def _answered_plain_http(cause: BaseException) -> bool:
    """The TLS handshake of an https:// URL got bytes that are no TLS record: a plain HTTP server's answer."""
    return isinstance(cause, ssl.SSLError) and cause.reason == "WRONG_VERSION_NUMBER"


#: The first bytes of a TLS record: an alert (21) or a handshake (22), TLS major version 3.
_TLS_RECORD_STARTS = ("\x15\x03", "\x16\x03")


def _answered_tls(cause: BaseException) -> bool:
    """The answer to an http:// URL starts with a TLS record where the status line should be: a TLS server's
    alert. (A TLS server built on OpenSSL sends none: it resets the connection, which proves nothing.)"""
    line = getattr(cause, "line", None) if isinstance(cause, http.client.BadStatusLine) else None
    return isinstance(line, str) and line.startswith(_TLS_RECORD_STARTS)


def translate_error(
    err: HTTPError,
    method: str,
    url: str,
    sent: bool = True,
    ran_out: Optional[float] = None,
    proxied: bool = False,
) -> ApiConnectionError:
    """The ApiException for a urllib3 error: what happened, where, and whether the request had been sent.
    ``ran_out``: the seconds of ``_request_timeout`` that the attempt used up, whatever error that caused;
    ``proxied``: the call went through a proxy."""
    cause = _cause(err)
    cls, reason, detail = _describe(cause, sent, _at_proxy(err) or (proxied and _answered_tls(cause)))
    if ran_out is not None:
        cls, reason = ApiTimeoutError, "Read timeout" if sent else "Connect timeout"
        detail = f"no complete answer within _request_timeout ({ran_out:g} s)"
    unsent = "" if sent else "; the request was not sent"
    return cls(reason, f"{method} {url.split('?', 1)[0]}: {detail}{unsent}", sent=sent)


def _at_proxy(err: BaseException) -> bool:
    """urllib3 reported the failure as one of reaching the proxy (before a connection through it stood)."""
    return any(isinstance(layer, ProxyError) for layer in _layers(err))


def _describe(cause: BaseException, sent: bool, at_proxy: bool = False) -> Tuple[Type[ApiConnectionError], str, str]:
    """``at_proxy``: the proxy, not the server, is the one that failed or answered (a proxy's answer is its own,
    to a forwarded http:// call as to the CONNECT of an https:// one)."""
    who, setting = ("proxy", "the proxy's URL") if at_proxy else ("server", "Configuration.host")
    if isinstance(cause, NewConnectionError):  # before ConnectTimeoutError, which it subclasses in urllib3 2
        return ApiConnectionError, "Connection failed", f"could not connect: {_text(cause)}"
    if isinstance(cause, _TIMEOUTS):
        if sent and not isinstance(cause, ConnectTimeoutError):
            return ApiTimeoutError, "Read timeout", "no answer within the read timeout"
        return ApiTimeoutError, "Connect timeout", "no connection within the connect timeout"
    if isinstance(cause, (ssl.SSLCertVerificationError, ssl.CertificateError)):
        return (
            ApiConnectionError,
            "TLS error",
            f"the server's TLS certificate is not trusted ({_text(cause)}); give the CA bundle that signed it as "
            "Configuration.ssl_ca_cert",
        )
    if _answered_plain_http(cause):
        return (
            ApiConnectionError,
            "TLS error",
            f"the {who} answered in plain HTTP: use http:// in {setting} ({_text(cause)})",
        )
    if isinstance(cause, (ssl.SSLError, SSLError)):
        return ApiConnectionError, "TLS error", _text(cause)
    if _answered_tls(cause):
        return (
            ApiConnectionError,
            "Invalid answer",
            f"the answer starts with a TLS record, not an HTTP status line: the {who} may speak TLS: use https:// "
            f"in {setting}",
        )
    if isinstance(cause, http.client.IncompleteRead):
        got = cause.partial if isinstance(cause.partial, int) else len(cause.partial)
        return (
            ApiConnectionError,
            "Incomplete answer",
            f"the connection closed after {got} bytes of the answer's body, {cause.expected} more were due",
        )
    happened = "before the request was sent" if not sent else "before an answer arrived"
    if isinstance(cause, (http.client.RemoteDisconnected, ConnectionAbortedError, BrokenPipeError)):
        return ApiConnectionError, "Connection closed", f"the server closed the connection {happened}"
    if isinstance(cause, ConnectionResetError):
        return ApiConnectionError, "Connection reset", f"the connection was reset {happened}"
    if isinstance(cause, http.client.HTTPException):
        return ApiConnectionError, "Invalid answer", f"the answer could not be read: {cause!r}"
    return ApiConnectionError, "Connection error", _text(cause)


def _text(cause: BaseException) -> str:
    text = str(cause) or type(cause).__name__
    # urllib3 prefixes "<...HTTPConnection object at 0x...>: " (1.26) or "HTTPConnection(host=..., port=...): " (2)
    return re.sub(r"^(<[\w.]+ object at 0x[0-9a-f]+>|\w+\(host=[^)]*\)): ", "", text)


def _detail(error: ApiConnectionError) -> str:
    return (error.message or "").split(": ", 1)[-1]


def _certifi_bundle() -> str:
    import certifi

    return certifi.where()


def _warn_unverified(host: str) -> None:
    """Warn once for this client that TLS is not verified, instead of urllib3's warning on every call."""
    hostname = urllib3.util.parse_url(host).host or host
    warnings.filterwarnings(
        "ignore",
        message=re.escape(f"Unverified HTTPS request is being made to host '{hostname}'"),
        category=InsecureRequestWarning,
    )
    warnings.warn(
        f"verify_ssl is False: the TLS certificate of {hostname} is not verified", InsecureRequestWarning, stacklevel=4
    )


def request_timeout(value: Union[None, float, Tuple[Any, Any]], connect: float, read: float) -> urllib3.Timeout:
    """A urllib3 Timeout from ``_request_timeout``: a number bounds the whole attempt (``total``, which the
    watchdog enforces as a deadline), a pair (connect, read) each phase as urllib3 does."""
    if value is None:
        if isinstance(connect, (int, float)) and isinstance(read, (int, float)):
            return _phases(connect, read)
        return urllib3.Timeout(connect=connect, read=read)  # urllib3 says what is wrong with it
    check_request_timeout(value)
    if isinstance(value, tuple):
        return urllib3.Timeout(connect=value[0], read=value[1])
    return urllib3.Timeout(total=value)


@functools.lru_cache(maxsize=64)
def _phases(connect: float, read: float) -> urllib3.Timeout:
    """One Timeout per (connect, read): urllib3 copies a Timeout before it uses one, so calls can share it."""
    return urllib3.Timeout(connect=connect, read=read)


def check_request_timeout(value: Any) -> None:
    """``_request_timeout`` is seconds (> 0), or a (connect, read) pair of them."""
    for seconds in value if isinstance(value, tuple) and len(value) == 2 else (value,):
        _seconds(seconds)


def _seconds(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiTypeError(
            f"_request_timeout must be a number of seconds or a (connect, read) pair of them, got {value!r}"
        )
    if not 0 < value < float("inf"):
        raise ApiValueError(f"_request_timeout must be a finite number of seconds > 0, got {value!r}")
