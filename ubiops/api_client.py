"""ApiClient: the one request path every endpoint goes through: check -> serialize -> send -> deserialize."""

import json
import threading
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from ubiops._version import __version__
from ubiops.configuration import DIRECT_REQUEST_TIMEOUT_MARGIN, Configuration
from ubiops.exceptions import ApiConnectionError, ApiTypeError, ApiValueError
from ubiops.models.base import decode, sanitize
from ubiops.rest import RESTClient, check_request_timeout, request_timeout
from ubiops.retry import RetryPolicy

if TYPE_CHECKING:  # ubiops.api builds on this module, never the other way round
    from ubiops.api.endpoints import Endpoint

__all__ = ["ApiClient", "CALL_OPTIONS"]

#: Keyword arguments every method takes besides its own parameters. ``_headers`` (a dict) adds headers to one call,
#: e.g. ``{"Accept": "text/event-stream"}`` for the streaming endpoint; it cannot replace ``Authorization``.
CALL_OPTIONS = frozenset(
    {"async_req", "_request_timeout", "_preload_content", "_return_http_data_only", "_retries", "_headers"}
)
#: A direct request's ``timeout`` when none is given, as the server applies it.
DEFAULT_DIRECT_TIMEOUT = 300


def _merge_headers(*layers: Mapping[str, str]) -> Dict[str, str]:
    """Later layers win; names compare case-insensitively, as in HTTP, so no header is ever sent twice."""
    merged: Dict[str, Tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer.items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())


def _check_options(options: Dict[str, Any]) -> None:
    """Bad call options fail before any I/O, in the caller's thread even with ``async_req``."""
    if options.get("_retries") is not None:
        options["_retries"] = RetryPolicy.coerce(options["_retries"])
    if options.get("_request_timeout") is not None:
        check_request_timeout(options["_request_timeout"])
    headers = options.get("_headers")
    if headers is None:
        return
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ApiTypeError(f"_headers must be a dict of header names to values (str), got {headers!r:.80}")
    for name, value in headers.items():
        if not name or any(c in name + value for c in "\r\n\0") or any(c in name for c in " :"):
            raise ApiValueError(
                f"_headers: {name!r} must be a header name without spaces or colons, with a value on one line"
            )


class ApiClient:
    """Carries calls to the API over one pool of connections, shared safely between threads.

    Use it as a context manager, or call :meth:`close` when done::

        with ubiops.ApiClient(configuration) as api_client:
            core_api = ubiops.CoreApi(api_client)
    """

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
        pool_threads: int = 1,
    ) -> None:
        self.configuration = configuration if configuration is not None else Configuration()
        self.rest_client = RESTClient(self.configuration)
        self.default_headers: Dict[str, str] = {
            "Accept": "application/json",
            "User-Agent": f"ubiops-python/{__version__}",
        }
        if header_name is not None and header_value is not None:
            self.default_headers[header_name] = header_value
        if cookie:
            self.default_headers["Cookie"] = cookie
        self.pool_threads = pool_threads
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        #: The headers of a call that adds none, with what they were made of (one tuple: threads swap it whole).
        self._plain_headers: Tuple[Any, Dict[str, str]] = (None, {})

    @property
    def user_agent(self) -> str:
        return self.default_headers["User-Agent"]

    @user_agent.setter
    def user_agent(self, value: str) -> None:
        self.default_headers["User-Agent"] = value

    def set_default_header(self, header_name: str, header_value: str) -> None:
        self.default_headers[header_name] = header_value

    @property
    def pool(self) -> Any:
        """The thread pool behind ``async_req=True``, started on first use."""
        with self._pool_lock:
            if self._pool is None:
                from multiprocessing.pool import ThreadPool

                self._pool = ThreadPool(self.pool_threads)
            return self._pool

    def call(self, endpoint: "Endpoint", args: Tuple[Any, ...], kwargs: Dict[str, Any], with_http_info: bool) -> Any:
        """Check the arguments, then send the call now, or on the thread pool when ``async_req=True``."""
        options = {name: kwargs.pop(name) for name in CALL_OPTIONS.intersection(kwargs)} if kwargs else {}
        values = endpoint.bind(args, kwargs)
        if self.configuration.client_side_validation:
            endpoint.validate(values)
        if options:
            _check_options(options)
            if options.pop("async_req", False):
                return self.pool.apply_async(self._send, (endpoint, values, options, with_http_info))
        return self._send(endpoint, values, options, with_http_info)

    def _send(self, endpoint: "Endpoint", values: Dict[str, Any], options: Dict[str, Any], with_http_info: bool) -> Any:
        configuration = self.configuration
        prepared = endpoint.prepare(values)
        auth = configuration.auth_settings()
        extra = options.get("_headers")
        if prepared.headers or extra:
            headers = _merge_headers(self.default_headers, prepared.headers, extra or {}, auth)
        else:
            headers = self._headers_without_extras(auth)
        read_timeout = configuration.read_timeout
        if endpoint.direct:
            timeout = values.get("timeout")  # unchecked when client_side_validation is off: the server decides
            server_timeout = timeout if isinstance(timeout, (int, float)) else DEFAULT_DIRECT_TIMEOUT
            read_timeout = max(read_timeout, server_timeout + DIRECT_REQUEST_TIMEOUT_MARGIN)
        policy = options.get("_retries") or configuration.retries  # None: the configuration's
        preload = options.get("_preload_content", True)
        response = self.rest_client.request(
            prepared.method,
            configuration.host + prepared.url,
            headers,
            prepared.body,
            request_timeout(options.get("_request_timeout"), configuration.connect_timeout, read_timeout),
            policy,
            endpoint.idempotent,
            preload,
        )
        if not preload:
            return response
        try:
            data = endpoint.returns.decode(response.data, response.headers.get("Content-Type", ""))
        except (ValueError, TypeError, AttributeError) as err:
            raise ApiConnectionError(
                "Invalid response",
                f"{endpoint.name}: the answer could not be read as {endpoint.returns.doc_type}: {err}",
                status=response.status,  # the server answered (and acted): keep what it said
            ) from err
        if options.get("_return_http_data_only", not with_http_info):
            return data
        return data, response.status, response.headers

    def _headers_without_extras(self, auth: Dict[str, str]) -> Dict[str, str]:
        """The default headers and ``auth``, merged once for as long as neither changes."""
        made_of = (tuple(self.default_headers.items()), tuple(auth.items()))
        cached = self._plain_headers
        if cached[0] != made_of:
            cached = self._plain_headers = (made_of, _merge_headers(self.default_headers, auth))
        return dict(cached[1])

    @staticmethod
    def sanitize_for_serialization(obj: Any) -> Any:
        """``obj`` as JSON-ready values, as generated clients send it: a model becomes a dict of its fields that are
        set, a datetime or date ISO 8601 text; lists, tuples and dicts are converted item by item."""
        return sanitize(obj)

    @staticmethod
    def deserialize(response: Any, response_type: str) -> Any:
        """The body of ``response`` (anything with ``.data``, such as the urllib3 response of a call made with
        ``_preload_content=False``) as ``response_type``: ``"list[DeploymentRequestDetail]"``,
        ``"DeploymentRequestCreateResponse"``, ``"dict(str, object)"``, ``"str"``, ``"object"``... A body that is not
        JSON is taken as text."""
        raw = response.data
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        return decode(data, response_type)

    def close(self) -> None:
        """Close the pooled connections and stop the ``async_req`` thread pool."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool.join()
                self._pool = None
        self.rest_client.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ApiClient(host={self.configuration.host!r}, user_agent={self.user_agent!r})"
