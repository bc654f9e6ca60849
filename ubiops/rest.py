"""The transport: one urllib3 pool per ApiClient, the retry loop, and the one place where urllib3 errors and
HTTP statuses become exceptions."""

from __future__ import annotations  # urllib3 1.26 has no BaseHTTPResponse to evaluate

import logging
import time
import warnings
from typing import Any, Dict, Optional, Set, Tuple, Union

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    InsecureRequestWarning,
    MaxRetryError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from ubiops.configuration import Configuration
from ubiops.exceptions import (
    ApiConnectionError,
    ApiException,
    ApiTimeoutError,
    exception_for_status,
    retry_after_seconds,
)
from ubiops.retry import RetryPolicy

__all__ = ["RESTClient", "translate_error", "request_timeout"]

logger = logging.getLogger("ubiops")

#: urllib3 follows redirects (dropping Authorization on a change of host) but retries nothing itself:
#: retrying is decided in :meth:`RESTClient.request`, which knows whether the call is safe to repeat.
_REDIRECTS_ONLY = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5, raise_on_redirect=False)


class RESTClient:
    """Sends prepared requests over one pooled urllib3 manager; safe to share between threads."""

    def __init__(self, configuration: Configuration) -> None:
        pool_args: Dict[str, Any] = {"num_pools": 4, "maxsize": configuration.connection_pool_maxsize}
        if configuration.verify_ssl:
            pool_args["cert_reqs"] = "CERT_REQUIRED"
            pool_args["ca_certs"] = configuration.ssl_ca_cert or _certifi_bundle()
        else:
            pool_args["cert_reqs"] = "CERT_NONE"
            _warn_unverified_once(configuration.host)
        if configuration.cert_file:
            pool_args["cert_file"] = configuration.cert_file
            pool_args["key_file"] = configuration.key_file
        if configuration.assert_hostname is not None:
            pool_args["assert_hostname"] = configuration.assert_hostname
        self.pool_manager: urllib3.PoolManager
        if configuration.proxy:
            self.pool_manager = urllib3.ProxyManager(
                proxy_url=configuration.proxy, proxy_headers=configuration.proxy_headers, **pool_args
            )
        else:
            self.pool_manager = urllib3.PoolManager(**pool_args)

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
        """Send, retrying what is safe to retry; answer the 2xx response or raise the matching ApiException."""
        for retry_number in range(policy.total + 1):
            last_try = retry_number == policy.total
            started = time.perf_counter()
            try:
                response = self.pool_manager.urlopen(
                    method,
                    url,
                    body=body,
                    headers=headers,
                    timeout=timeout,
                    retries=_REDIRECTS_ONLY,
                    preload_content=preload_content,
                    enforce_content_length=True,
                )
            except HTTPError as err:
                error, sent = translate_error(err, method, url)
                if last_try or (sent and not idempotent) or isinstance(_cause(err), SSLError):
                    raise error from err
                wait = policy.backoff(retry_number)
                _log_retry(method, url, error.message or error.reason or "", wait, retry_number, policy)
                time.sleep(wait)
                continue
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %s in %.1f ms", method, url, response.status, (time.perf_counter() - started) * 1e3
                )
            if 200 <= response.status < 300:
                return response
            status_wait = self._retry_wait(response, policy, retry_number, idempotent)
            if last_try or status_wait is None:
                raise _status_error(response)
            _log_retry(method, url, f"HTTP {response.status}", status_wait, retry_number, policy)
            response.drain_conn()
            time.sleep(status_wait)
        raise AssertionError("unreachable: the last try returns or raises")  # pragma: no cover

    @staticmethod
    def _retry_wait(
        response: urllib3.BaseHTTPResponse, policy: RetryPolicy, retry_number: int, idempotent: bool
    ) -> Optional[float]:
        if not policy.may_retry_status(response.status, idempotent):
            return None
        asked = retry_after_seconds(response.headers)
        if asked is not None and asked > policy.retry_after_max:
            return None  # longer than we will wait: the caller decides, with e.retry_after
        return policy.backoff(retry_number, asked)

    def close(self) -> None:
        self.pool_manager.clear()


def _status_error(response: urllib3.BaseHTTPResponse) -> ApiException:
    try:
        response.read()  # the body holds the server's message; read it if it was not preloaded
    except HTTPError:
        pass
    return exception_for_status(response.status)(http_resp=response)


def _cause(err: HTTPError) -> BaseException:
    cause: BaseException = err.reason if isinstance(err, MaxRetryError) and err.reason is not None else err
    if isinstance(cause, ProxyError) and isinstance(getattr(cause, "original_error", None), BaseException):
        return cause.original_error
    return cause


def translate_error(err: HTTPError, method: str, url: str) -> Tuple[ApiConnectionError, bool]:
    """The ApiException for a urllib3 error, and whether the request may have reached the server."""
    cause = _cause(err)
    where = f"{method} {url.split('?', 1)[0]}"
    if isinstance(cause, NewConnectionError):
        return ApiConnectionError("Connection failed", f"{where}: could not connect: {_errno_text(cause)}"), False
    if isinstance(cause, ConnectTimeoutError):
        return ApiTimeoutError("Connect timeout", f"{where}: no connection within the connect timeout"), False
    if isinstance(cause, ReadTimeoutError):
        return ApiTimeoutError("Read timeout", f"{where}: no answer within the read timeout"), True
    if isinstance(cause, SSLError):
        return ApiConnectionError("TLS error", f"{where}: {cause}"), False
    return ApiConnectionError("Connection error", f"{where}: {_errno_text(cause)}"), True


def _errno_text(cause: BaseException) -> str:
    text = str(cause)
    # urllib3 prefixes "<urllib3.connection.HTTPConnection object at 0x...>: ": noise for a reader
    return text.split(">: ", 1)[-1]


def _log_retry(method: str, url: str, reason: str, wait: float, retry_number: int, policy: RetryPolicy) -> None:
    logger.info(
        "Retrying %s %s after %s (retry %d of %d) in %.2f s",
        method,
        url.split("?", 1)[0],
        reason,
        retry_number + 1,
        policy.total,
        wait,
    )


def _certifi_bundle() -> str:
    import certifi

    return certifi.where()


_warned_hosts: Set[str] = set()


def _warn_unverified_once(host: str) -> None:
    """Say once per host that TLS is not verified, instead of urllib3's warning on every call."""
    hostname = urllib3.util.parse_url(host).host or host
    if hostname in _warned_hosts:
        return
    _warned_hosts.add(hostname)
    warnings.filterwarnings(
        "ignore",
        message=f"Unverified HTTPS request is being made to host '{hostname}'",
        category=InsecureRequestWarning,
    )
    warnings.warn(
        f"verify_ssl is False: TLS certificates of {hostname} are not verified", InsecureRequestWarning, stacklevel=4
    )


def request_timeout(value: Union[None, float, Tuple[float, float]], connect: float, read: float) -> urllib3.Timeout:
    """A urllib3 Timeout from ``_request_timeout`` (a number is a total, a pair is connect and read)."""
    if value is None:
        return urllib3.Timeout(connect=connect, read=read)
    if isinstance(value, tuple):
        return urllib3.Timeout(connect=value[0], read=value[1])
    return urllib3.Timeout(total=value)
