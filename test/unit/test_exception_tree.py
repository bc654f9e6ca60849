"""The exception tree, status mapping, messages, args, pickling and Retry-After parsing."""

import pickle

import pytest
import urllib3

import ubiops
from ubiops.exceptions import exception_for_status, retry_after_seconds

STATUS_CLASSES = {
    400: ubiops.BadRequestException,
    401: ubiops.UnauthorizedException,
    403: ubiops.ForbiddenException,
    404: ubiops.NotFoundException,
    409: ubiops.ConflictException,
    413: ubiops.PayloadTooLargeException,
    429: ubiops.TooManyRequestsException,
    500: ubiops.ServiceException,
    502: ubiops.ServiceException,
    503: ubiops.ServiceException,
    504: ubiops.ServiceException,
    599: ubiops.ServiceException,
    405: ubiops.ApiRequestError,
    418: ubiops.ApiRequestError,
    302: ubiops.ApiRequestError,
}
#: child -> parent, as drawn in the docstring of ubiops/exceptions.py.
TREE = {
    ubiops.OpenApiException: ubiops.UbiOpsException,
    ubiops.ApiTypeError: ubiops.OpenApiException,
    ubiops.ApiValueError: ubiops.OpenApiException,
    ubiops.ApiKeyError: ubiops.OpenApiException,
    ubiops.ApiAttributeError: ubiops.OpenApiException,
    ubiops.ApiException: ubiops.OpenApiException,
    ubiops.BadRequestException: ubiops.ApiRequestError,
    ubiops.UnauthorizedException: ubiops.ApiRequestError,
    ubiops.ForbiddenException: ubiops.ApiRequestError,
    ubiops.NotFoundException: ubiops.ApiRequestError,
    ubiops.ConflictException: ubiops.ApiRequestError,
    ubiops.PayloadTooLargeException: ubiops.ApiRequestError,
    ubiops.TooManyRequestsException: ubiops.ApiRequestError,
    ubiops.ServiceException: ubiops.ApiRequestError,
    ubiops.ApiRequestError: ubiops.ApiException,
    ubiops.ApiConnectionError: ubiops.ApiException,
    ubiops.ApiTimeoutError: ubiops.ApiConnectionError,
}


def _response(status, body=b"", headers=None, reason=None):
    """A real urllib3 response held in memory, as the transport hands it over."""
    return urllib3.HTTPResponse(body=body, headers=headers or {}, status=status, reason=reason, preload_content=True)


def test_the_tree():
    assert issubclass(ubiops.UbiOpsException, Exception)
    public = set(TREE) | {ubiops.UbiOpsException}
    for child, parent in TREE.items():
        nearest = next(cls for cls in child.__mro__[1:] if cls in public)
        assert nearest is parent, child
    assert issubclass(ubiops.ApiTypeError, TypeError)
    assert issubclass(ubiops.ApiValueError, ValueError)
    assert issubclass(ubiops.ApiKeyError, KeyError)
    assert issubclass(ubiops.ApiAttributeError, AttributeError)
    exported = {getattr(ubiops, name) for name in ubiops.__all__ if isinstance(getattr(ubiops, name), type)}
    assert set(TREE) | {ubiops.UbiOpsException} <= exported


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES.items())
def test_status_mapping(status, cls):
    assert exception_for_status(status) is cls


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES.items())
def test_str_shows_status_reason_and_the_server_message(status, cls):
    error = cls(http_resp=_response(status, b'{"error": "deployment \'x\' does not exist"}', reason="Some Reason"))
    assert str(error) == f"({status}) Some Reason: deployment 'x' does not exist"
    assert error.args == (str(error),)
    assert (error.status, error.reason, error.message) == (status, "Some Reason", "deployment 'x' does not exist")
    assert error.body == '{"error": "deployment \'x\' does not exist"}'


def test_message_forms():
    assert ubiops.ApiException(400, "Bad Request", body='{"detail": "no"}').message == "no"
    assert ubiops.ApiException(400, "Bad Request", body='{"error": {"field": "x"}}').message == '{"field": "x"}'
    plain = ubiops.ServiceException(502, "Bad Gateway", body="<html>" + "x" * 1000)
    assert plain.message is None
    assert str(plain) == "(502) Bad Gateway: <html>" + "x" * 494
    assert str(ubiops.ApiException(500)) == "(500)"
    assert str(ubiops.ApiException(404, "Not Found", message="mine")) == "(404) Not Found: mine"


def test_headers_are_kept():
    error = ubiops.NotFoundException(http_resp=_response(404, b"", {"X-Request-Id": "abc"}, "Not Found"))
    assert error.headers == {"X-Request-Id": "abc"}


def test_connection_errors_have_status_0():
    error = ubiops.ApiTimeoutError("Read timeout", "GET /x: no answer within the read timeout")
    assert (error.status, error.reason, error.message) == (
        0,
        "Read timeout",
        "GET /x: no answer within the read timeout",
    )
    assert str(error) == "(0) Read timeout: GET /x: no answer within the read timeout"
    assert ubiops.ApiConnectionError().args


def test_sent_defaults_to_the_safe_assumption():
    """Unless the transport knows nothing left, the server may have acted; every answer implies it was sent."""
    assert ubiops.ApiConnectionError("Connection reset", "x").sent is True
    assert ubiops.ApiConnectionError("Connection failed", "x", sent=False).sent is False
    assert ubiops.ServiceException(http_resp=_response(503, b"{}", {}, "Unavailable")).sent is True


def test_refused_is_a_4xx_answer():
    """A 4xx answer says the server turned the call down; a 5xx or no answer proves nothing."""
    for status, refused in ((400, True), (404, True), (429, True), (499, True), (500, False), (503, False)):
        assert exception_for_status(status)(http_resp=_response(status, b"{}", {}, "R")).refused is refused
    assert ubiops.ApiConnectionError("Connection reset", "x").refused is False


def _instances():
    yield ubiops.ApiTypeError("f: `x` must be a str, got int", ["x"])
    yield ubiops.ApiValueError("f: `x` must not be empty", ["x"])
    yield ubiops.ApiKeyError("missing key 'x'", ["x"])
    yield ubiops.ApiAttributeError("no attribute 'x'")
    yield ubiops.ApiException(418, "I'm a Teapot", body='{"error": "short and stout"}', headers={"a": "b"})
    for status in (400, 401, 403, 404, 409, 413, 429, 500, 503):
        cls = exception_for_status(status)
        yield cls(http_resp=_response(status, b'{"error": "why"}', {"Retry-After": "3"}, "Reason"))
    yield ubiops.ApiConnectionError("Connection failed", "POST /x: could not connect: refused", sent=False)
    yield ubiops.ApiTimeoutError("Connect timeout", "POST /x: no connection within the connect timeout")
    yield ubiops.ApiConnectionError("Invalid response", "f: the answer could not be read as object", status=200)


@pytest.mark.parametrize("error", list(_instances()), ids=lambda e: type(e).__name__)
def test_args_are_not_empty_and_pickling_round_trips(error):
    assert error.args and error.args[0]
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.args == error.args
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_key_error_str_is_not_quoted():
    assert str(ubiops.ApiKeyError("missing key 'x'")) == "missing key 'x'"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "5"}, 5.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"x-ratelimit-reset": "30"}, 30.0),
        ({"X-RateLimit-Reset": "0"}, 0.0),
        ({"Retry-After": "2", "x-ratelimit-reset": "30"}, 2.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT", "x-ratelimit-reset": "4"}, 4.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": ""}, None),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers, seconds):
    assert retry_after_seconds(headers) == seconds
    error = ubiops.TooManyRequestsException(http_resp=_response(429, b"{}", headers, "Too Many Requests"))
    assert error.retry_after == seconds


def test_retry_after_without_headers():
    assert ubiops.TooManyRequestsException(429, "Too Many Requests").retry_after is None


def test_the_public_clients_request_error_body_argument_and_get_body_message():
    """The public client raises ApiRequestError for every non-2xx answer, takes the body as its third argument and
    has get_body_message(); code written against it catches, builds and reads our exceptions the same way."""
    assert issubclass(ubiops.NotFoundException, ubiops.exceptions.ApiRequestError)
    assert not issubclass(ubiops.ApiConnectionError, ubiops.ApiRequestError)
    error = ubiops.ApiException(404, "Not Found", '{"error_message": "no such request"}')
    assert (error.status, error.reason, error.body) == (404, "Not Found", '{"error_message": "no such request"}')
    assert error.get_body_message() == "no such request"
    assert ubiops.ApiException(500, "Oops", "plain text").get_body_message() == "plain text"
