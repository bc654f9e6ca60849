"""Configuration: where to connect, how to authenticate, TLS, proxy, pool, retries, timeouts, logging."""

import copy
import logging
import os
import sys
from typing import Any, Dict, Optional, Union

from urllib3.util import parse_url

from ubiops.retry import RetryPolicy

__all__ = ["Configuration"]

#: The public UbiOps API.
DEFAULT_HOST = "https://api.ubiops.com/v2.1"
#: Seconds to wait for a TCP (and TLS) connection.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Seconds to wait for an answer to a call that is not a direct request.
DEFAULT_READ_TIMEOUT = 120.0
#: Seconds added to a direct request's own ``timeout`` so the client never gives up before the server does.
DIRECT_REQUEST_TIMEOUT_MARGIN = 30.0

logger = logging.getLogger("ubiops")
logger.addHandler(logging.NullHandler())


class Configuration:
    """Settings for an :class:`~ubiops.ApiClient`.

    The host comes from ``UBIOPS_API_HOST`` and the token from ``UBIOPS_API_TOKEN`` (whose value includes the
    ``Token`` prefix) unless given here. Example::

        configuration = ubiops.Configuration(host="https://api.ubiops.com/v2.1")
        configuration.api_key["Authorization"] = "Token <YOUR_API_TOKEN>"

    ``repr()`` and the logs never show the token.
    """

    def __init__(
        self,
        host: Optional[str] = None,
        api_key: Optional[Dict[str, str]] = None,
        api_key_prefix: Optional[Dict[str, str]] = None,
        *,
        verify_ssl: bool = True,
        ssl_ca_cert: Optional[str] = None,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        assert_hostname: Union[None, bool, str] = None,
        proxy: Optional[str] = None,
        proxy_headers: Optional[Dict[str, str]] = None,
        connection_pool_maxsize: int = 10,
        retries: Union[None, int, RetryPolicy] = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        client_side_validation: bool = True,
        debug: bool = False,
    ) -> None:
        self.host = host or os.environ.get("UBIOPS_API_HOST") or DEFAULT_HOST
        self.api_key: Dict[str, str] = dict(api_key or {})
        token = os.environ.get("UBIOPS_API_TOKEN")
        if token and "Authorization" not in self.api_key:
            self.api_key["Authorization"] = token
        self.api_key_prefix: Dict[str, str] = dict(api_key_prefix or {})
        #: Verify the server's TLS certificate (against ``ssl_ca_cert``, else certifi's bundle).
        self.verify_ssl = verify_ssl
        self.ssl_ca_cert = ssl_ca_cert
        #: Client certificate and key for mutual TLS.
        self.cert_file = cert_file
        self.key_file = key_file
        self.assert_hostname = assert_hostname
        #: Proxy URL such as ``http://proxy:3128`` for every call; ``proxy_headers`` go to the proxy only. None: each
        #: call's proxy comes from ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``.
        self.proxy = proxy
        self.proxy_headers = proxy_headers
        #: Connections kept per host; set it to at least the number of threads sharing one ApiClient.
        self.connection_pool_maxsize = connection_pool_maxsize
        self.retries = retries
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        #: Check arguments before sending; False lets the server decide.
        self.client_side_validation = client_side_validation
        self.logger_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
        self._debug_handler: Optional[logging.Handler] = None
        self.debug = debug

    @property
    def host(self) -> str:
        """The API base URL, such as ``https://api.ubiops.com/v2.1``; a trailing ``/`` is dropped."""
        return self._host

    @host.setter
    def host(self, value: str) -> None:
        self._host = value.rstrip("/")

    @property
    def retries(self) -> RetryPolicy:
        """The retry policy; assign an int for that many retries, or a :class:`~ubiops.RetryPolicy`."""
        return self._retries

    @retries.setter
    def retries(self, value: Union[None, int, RetryPolicy]) -> None:
        self._retries = RetryPolicy.coerce(value)

    @property
    def debug(self) -> bool:
        """Write every call of the clients made with this configuration (method, URL, status, time, retries) to
        stderr. Other configurations and the ``ubiops`` logger's own level and handlers are not touched. Never the
        token."""
        return self._debug_handler is not None

    @debug.setter
    def debug(self, value: bool) -> None:
        if value and self._debug_handler is None:
            self._debug_handler = logging.StreamHandler(sys.stderr)
            self._debug_handler.setFormatter(logging.Formatter(self.logger_format))
        elif not value:
            self._debug_handler = None  # a copy that shares the handler keeps it

    def logs(self, level: int) -> bool:
        """Whether :meth:`log` writes a line at ``level`` anywhere, so that a caller can skip making one."""
        return self._debug_handler is not None or logger.isEnabledFor(level)

    def log(self, level: int, msg: str, *args: Any) -> None:
        """Log a line about a call: on the ``ubiops`` logger when the application enabled that level there, and to
        this configuration's stderr handler when ``debug`` is on."""
        handler = self._debug_handler
        enabled = logger.isEnabledFor(level)
        if handler is None and not enabled:
            return
        record = logger.makeRecord(logger.name, level, "(ubiops)", 0, msg, args, None)
        if enabled:
            logger.handle(record)
        if handler is not None:
            handler.handle(record)

    def get_api_key_with_prefix(self, identifier: str = "Authorization") -> Optional[str]:
        """The header value for ``identifier``: prefix + key, with ``Token`` added when neither carries a scheme."""
        key = self.api_key.get(identifier)
        if not key:
            return None
        prefix = self.api_key_prefix.get(identifier)
        if prefix:
            return f"{prefix} {key}"
        if identifier == "Authorization" and " " not in key.strip():
            return f"Token {key.strip()}"
        return key

    def auth_settings(self) -> Dict[str, str]:
        """The headers that authenticate a call."""
        value = self.get_api_key_with_prefix("Authorization")
        return {"Authorization": value} if value else {}

    def _masked(self) -> Dict[str, Any]:
        shown = {"host": self.host, **{k: v for k, v in vars(self).items() if not k.startswith("_")}}
        shown["api_key"] = {name: "***" for name in self.api_key}
        if self.proxy_headers:
            shown["proxy_headers"] = {name: "***" for name in self.proxy_headers}
        if self.proxy and parse_url(self.proxy).auth:
            shown["proxy"] = parse_url(self.proxy)._replace(auth="***").url
        shown["retries"] = self.retries
        shown["debug"] = self.debug
        return shown

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._masked().items())
        return f"Configuration({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Configuration):
            return NotImplemented
        return self._comparable() == other._comparable()

    def _comparable(self) -> Dict[str, Any]:
        values = {k: v for k, v in vars(self).items() if k != "_debug_handler"}
        values["debug"] = self.debug
        return values

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Configuration":
        clone = copy.copy(self)
        for name, value in vars(self).items():
            if name != "_debug_handler":
                setattr(clone, name, copy.deepcopy(value, memo))
        return clone
