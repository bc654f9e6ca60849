"""Every error the client raises, in one tree.

::

    UbiOpsException                      root: catch this to catch everything from ubiops
    └── OpenApiException                 name kept from the generated client
        ├── ApiTypeError                 bad argument type, raised before any network I/O (also a TypeError)
        ├── ApiValueError                bad argument value, raised before any network I/O (also a ValueError)
        ├── ApiKeyError                  (also a KeyError)
        ├── ApiAttributeError            (also an AttributeError)
        └── ApiException                 the call reached the transport; .status .reason .body .headers .message .sent
            ├── ApiRequestError              a non-2xx answer (the public client's name for it); other statuses
            │   ├── BadRequestException          400
            │   ├── UnauthorizedException        401
            │   ├── ForbiddenException           403
            │   ├── NotFoundException            404
            │   ├── ConflictException            409
            │   ├── PayloadTooLargeException     413
            │   ├── TooManyRequestsException     429, with .retry_after in seconds when the server said
            │   └── ServiceException             5xx
            └── ApiConnectionError           status 0: no HTTP answer (refused, reset, TLS, truncated body)
                └── ApiTimeoutError          status 0: connect or read timeout

Any other non-2xx status raises a plain ``ApiRequestError``. Example::

    try:
        core_api.deployment_requests_get(project, deployment, request_id)
    except ubiops.NotFoundException as e:
        print(e.status, e.message)      # 404 request 'abc' not found in deployment 'echo'
"""

import json
from typing import Any, Dict, Mapping, Optional, Sequence, Type

__all__ = [
    "UbiOpsException",
    "OpenApiException",
    "ApiTypeError",
    "ApiValueError",
    "ApiKeyError",
    "ApiAttributeError",
    "ApiException",
    "ApiRequestError",
    "BadRequestException",
    "UnauthorizedException",
    "ForbiddenException",
    "NotFoundException",
    "ConflictException",
    "PayloadTooLargeException",
    "TooManyRequestsException",
    "ServiceException",
    "ApiConnectionError",
    "ApiTimeoutError",
    "exception_for_status",
]

#: How much of a non-JSON error body ``str(e)`` shows.
BODY_PREVIEW_CHARS = 500


class UbiOpsException(Exception):
    """Root of every exception raised by ubiops."""


class OpenApiException(UbiOpsException):
    """Base of the argument errors and of :class:`ApiException`, as in the generated client."""


class _ArgumentError(OpenApiException):
    def __init__(self, msg: str, path_to_item: Optional[Sequence[Any]] = None) -> None:
        super().__init__(msg)
        self.path_to_item = path_to_item


class ApiTypeError(_ArgumentError, TypeError):
    """An argument has the wrong type; raised before any network I/O."""


class ApiValueError(_ArgumentError, ValueError):
    """An argument has a value outside what the API accepts; raised before any network I/O."""


class ApiKeyError(_ArgumentError, KeyError):
    """A required key is missing."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ApiAttributeError(_ArgumentError, AttributeError):
    """An attribute does not exist."""


class ApiException(OpenApiException):
    """A call that did not get a 2xx answer.

    ``status`` is the HTTP status (0 when no answer arrived), ``reason`` the HTTP reason phrase,
    ``body`` the raw response body as text, ``headers`` the response headers, and ``message`` the
    server's explanation taken from its ``{"error": "..."}`` body. ``sent`` is True when some byte of the
    request reached the network, so the server may have acted on it; False only when the client knows that
    nothing was sent. An answer implies the request was sent, so it defaults to True. ``refused`` is True for a
    4xx answer: the server turned the call down, so it did not carry it out (a batch with one bad item creates
    nothing).
    """

    def __init__(
        self,
        status: Optional[int] = None,
        reason: Optional[str] = None,
        http_resp: Any = None,
        *,
        body: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        message: Optional[str] = None,
        sent: bool = True,
    ) -> None:
        if isinstance(http_resp, (str, bytes)) and body is None:  # the public client's third argument is the body
            http_resp, body = None, http_resp.decode("utf-8", "replace") if isinstance(http_resp, bytes) else http_resp
        if http_resp is not None:
            status = http_resp.status if status is None else status
            reason = http_resp.reason if reason is None else reason
            raw = http_resp.data
            body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            headers = dict(http_resp.headers)
        self.status = status
        self.reason = reason
        self.body = body
        self.headers = headers
        said = _json_object(body)
        self.message = message if message is not None else _error_message(said)
        self.sent = sent
        #: Where the bad value is, when the server said (``ubiops-local`` does for an item of a batch):
        #: ``["data", 3]``, as the argument errors' ``path_to_item``; else None.
        path_to_item = said.get("path_to_item")
        self.path_to_item = path_to_item if isinstance(path_to_item, list) else None
        super().__init__(self._text())

    @property
    def refused(self) -> bool:
        return isinstance(self.status, int) and 400 <= self.status < 500

    def _text(self) -> str:
        text = f"({self.status}) {self.reason or ''}".rstrip()
        if self.message:
            text += f": {self.message}"
        elif self.body:
            text += f": {self.body[:BODY_PREVIEW_CHARS]}"
        return text

    def __str__(self) -> str:
        return self._text()

    def get_body_message(self) -> Optional[str]:
        """The server's explanation, else the body as text: the public client's method of the same name."""
        return self.message if self.message is not None else self.body

    def __reduce__(self) -> Any:
        # Exception pickling replays self.args into __init__, which here hold the text, not the status.
        return (self.__class__, (self.status, self.reason), dict(self.__dict__))

    def __setstate__(self, state: Optional[Dict[str, Any]]) -> None:
        self.__dict__.update(state or {})
        self.args = (self._text(),)  # __init__ saw only status and reason: the text lacked the message


class ApiRequestError(ApiException):
    """A non-2xx HTTP answer: the class that the public client raises for every one of them, here the base of the
    classes per status (and itself raised for the statuses without one), so ``except ApiRequestError`` works."""


class BadRequestException(ApiRequestError):
    """400: the server rejected the input."""


class UnauthorizedException(ApiRequestError):
    """401: the token is missing or wrong."""


class ForbiddenException(ApiRequestError):
    """403: the token may not do this."""


class NotFoundException(ApiRequestError):
    """404: unknown project, deployment, version or request."""


class ConflictException(ApiRequestError):
    """409: the request conflicts with the current state."""


class PayloadTooLargeException(ApiRequestError):
    """413: the request body is larger than the server accepts."""


class TooManyRequestsException(ApiRequestError):
    """429: rate limited. ``retry_after`` is the wait in seconds the server asked for, if it said."""

    @property
    def retry_after(self) -> Optional[float]:
        return retry_after_seconds(self.headers or {})


class ServiceException(ApiRequestError):
    """5xx: the server failed."""


class ApiConnectionError(ApiException):
    """No HTTP answer: connection refused or reset, TLS failure, or a truncated response. ``status`` is 0, except
    for an answer that arrived but could not be decoded (reason ``Invalid response``), which keeps its status.

    ``sent`` defaults to True: unless the transport knows that no byte left, the server may have acted.
    """

    def __init__(
        self, reason: str = "Connection error", message: str = "", *, sent: bool = True, status: int = 0
    ) -> None:
        super().__init__(status, reason, message=message, sent=sent)

    def __reduce__(self) -> Any:
        return (self.__class__, (self.reason, self.message), dict(self.__dict__))


class ApiTimeoutError(ApiConnectionError):
    """The connect or read timeout passed before an answer arrived. ``status`` is 0."""


_BY_STATUS: Dict[int, Type[ApiException]] = {
    400: BadRequestException,
    401: UnauthorizedException,
    403: ForbiddenException,
    404: NotFoundException,
    409: ConflictException,
    413: PayloadTooLargeException,
    429: TooManyRequestsException,
}


def exception_for_status(status: int) -> Type[ApiException]:
    """The exception class for an HTTP status."""
    if status >= 500:
        return ServiceException
    return _BY_STATUS.get(status, ApiRequestError)


def retry_after_seconds(headers: Mapping[str, str]) -> Optional[float]:
    """Seconds to wait from ``Retry-After`` or ``x-ratelimit-reset``; None when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after", "x-ratelimit-reset"):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue  # an HTTP-date or garbage: fall back to our own backoff
        if seconds == seconds and seconds >= 0:  # not NaN
            return seconds
    return None


def _json_object(body: Optional[str]) -> Dict[str, Any]:
    """The body's JSON object, else an empty dict."""
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _error_message(parsed: Dict[str, Any]) -> Optional[str]:
    error = next((parsed[key] for key in ("error", "error_message", "detail") if parsed.get(key) is not None), None)
    if error is not None:
        return error if isinstance(error, str) else json.dumps(error)
    return None
