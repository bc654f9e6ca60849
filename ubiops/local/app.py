"""The HTTP layer: routes declared as data, query and body parsing, JSON responses. The rules live in backend.py.

Each endpoint exists twice: at deployment level (default version; by-id endpoints see every version) and under
/versions/<version>. Both rules come from the one ENDPOINTS table.
"""

import hmac
import ipaddress
import logging
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union
from urllib.parse import unquote, urlsplit

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ubiops.local.backend import Backend
from ubiops.local.http_body import parse_body
from ubiops.local.logquery import LIMIT as LOGS_LIMIT
from ubiops.local.logquery import parse_moment
from ubiops.local.metadata import PLATFORM_TOP, not_emulated
from ubiops.local.records import (
    JsonText,
    compact_json,
    created_record,
    direct_record,
    full_record,
    json_list,
    list_record,
)
from ubiops.local.store import StoredRequest
from ubiops.local.validation import BATCH_TIMEOUT, DIRECT_TIMEOUT, MAX_ITEMS, ApiError, json_type, with_minimum

if TYPE_CHECKING:
    from ubiops.local.web_routes import WebView

logger = logging.getLogger("ubiops.local")

BASE = "/v2.1"
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024
LIST_LIMIT = (1, 1000, 50)

#: (endpoint, method, path below .../requests)
ENDPOINTS: Tuple[Tuple[str, str, str], ...] = (
    ("create", "POST", ""),
    ("list", "GET", ""),
    ("create_batch", "POST", "/batch"),
    ("stream", "POST", "/stream"),
    ("cancel_many", "POST", "/cancel"),
    ("delete_many", "POST", "/delete"),
    ("collect", "POST", "/collect"),
    ("get", "GET", "/<request_id>"),
    ("update", "PATCH", "/<request_id>"),
    ("delete", "DELETE", "/<request_id>"),
    ("input", "GET", "/<request_id>/input"),
    ("output", "GET", "/<request_id>/output"),
)
PREFIXES = (
    f"{BASE}/projects/<project>/deployments/<deployment>/requests",
    f"{BASE}/projects/<project>/deployments/<deployment>/versions/<version>/requests",
)
#: Read-only metadata and logs: (endpoint, method, path below /v2.1). Other methods on the metadata paths exist on
#: the platform (create, update, delete): they answer 501.
METADATA: Tuple[Tuple[str, str, str], ...] = (
    ("user_get", "GET", "/user"),
    ("projects_list", "GET", "/projects"),
    ("projects_get", "GET", "/projects/<project>"),
    ("deployments_list", "GET", "/projects/<project>/deployments"),
    ("deployments_get", "GET", "/projects/<project>/deployments/<deployment>"),
    ("versions_list", "GET", "/projects/<project>/deployments/<deployment>/versions"),
    ("versions_get", "GET", "/projects/<project>/deployments/<deployment>/versions/<version>"),
    ("logs_list", "GET", "/projects/<project>/logs"),
    ("logs_list_old", "POST", "/projects/<project>/logs"),
)


def url_map() -> Map:
    rules = [Rule(f"{BASE}/status", endpoint="status", methods=["GET"])]
    rules += [
        Rule(prefix + suffix, endpoint=endpoint, methods=[method])
        for prefix in PREFIXES
        for endpoint, method, suffix in ENDPOINTS
    ]
    rules += [Rule(BASE + path, endpoint=endpoint, methods=[method]) for endpoint, method, path in METADATA]
    return Map(rules, merge_slashes=False, redirect_defaults=False)


# -- parsing ---------------------------------------------------------------------------------------------------------


_INTEGER = re.compile(r"-?[0-9]{1,20}")


def query_int(request: Request, name: str, bounds: Tuple[int, int, int]) -> int:
    low, high, default = bounds
    raw = request.args.get(name)
    if raw is None:
        return default
    value = int(raw) if _INTEGER.fullmatch(raw) else None
    if value is None or not low <= value <= high:
        raise ApiError(400, f"{name}: must be an integer from {low} to {high}, got {raw!r}")
    return value


def query_bool(request: Request, name: str) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return False
    if raw.lower() not in ("true", "false", "1", "0"):
        raise ApiError(400, f"{name}: must be true or false, got {raw!r}")
    return raw.lower() in ("true", "1")


_FRACTION = re.compile(r"^(.*T\d\d:\d\d(?::\d\d)?)\.(\d+)(.*)$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def query_date(request: Request, name: str, end: bool = False) -> Optional[int]:
    """An ISO 8601 date-time (UTC if no offset) in microseconds; an end is inclusive to its millisecond, or day."""
    raw = request.args.get(name)
    if not raw:
        return None
    text = raw.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    match = _FRACTION.match(text)
    if match:  # Python < 3.11 takes exactly 3 or 6 fraction digits
        text = f"{match[1]}.{(match[2] + '000000')[:6]}{match[3]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, f"{name}: must be an ISO 8601 date-time like 2020-01-01T00:00:00.000Z, got {raw!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    us = (moment - _EPOCH) // timedelta(microseconds=1)
    if end:
        span = 86_400_000_000 if "T" not in text and " " not in text else 1000
        us = us // span * span + span - 1
    return int(us)


def _list_type(body: Any) -> str:
    """What a body that should be a list of ids is: its type, or the type of its first item that is not a str."""
    if not isinstance(body, list):
        return json_type(body)
    index, item = next((i, item) for i, item in enumerate(body) if not isinstance(item, str))
    return f"{json_type(item)} at data[{index}]"


def id_list(body: Any, required: bool) -> Optional[List[str]]:
    if body is None and not required:
        return None
    if not isinstance(body, list) or not all(isinstance(item, str) for item in body):
        raise ApiError(400, f"data: expected a JSON array (a list) of request ids (strings), got {_list_type(body)}")
    if len(body) > MAX_ITEMS:
        raise ApiError(400, f"data: at most {MAX_ITEMS} request ids per call, got {len(body)}")
    return body


# -- responses -------------------------------------------------------------------------------------------------------


def json_response(value: Any, status: int = 200, headers: Optional[Dict[str, str]] = None) -> Response:
    body = value if isinstance(value, JsonText) else compact_json(value)
    return Response(body, status=status, headers=headers, content_type="application/json")


def loopback_host(host: str) -> bool:
    """Whether a Host header (a name, and maybe a port) names this machine's loopback."""
    return loopback_name(host.rsplit(":", 1)[0] if not host.endswith("]") else host)


def loopback_name(name: str) -> bool:
    """Whether a name or address is this machine's loopback: localhost (and *.localhost) or a loopback address."""
    name = name.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def error_response(
    status: int, message: str, headers: Optional[Dict[str, str]] = None, path_to_item: Optional[List[Any]] = None
) -> Response:
    body: Dict[str, Any] = {"error": message}
    if path_to_item is not None:
        body["path_to_item"] = path_to_item
    return json_response(body, status, headers)


def server_sent_events(events: Iterable[Union[str, StoredRequest]]) -> Iterator[bytes]:
    """Updates as `data:<text>` events (no space: the official tools strip exactly `data:`), then the final record
    as one JSON line; the empty first chunk sends the headers. An error carries `error_message` too, which the
    official tools read."""
    yield b""
    try:
        for event in events:
            if isinstance(event, str):
                yield ("".join(f"data:{line}\n" for line in event.split("\n")) + "\n").encode("utf-8")
            else:
                yield (direct_record(event) + "\n").encode("utf-8")
    except ApiError as exc:
        yield (compact_json({"error": exc.message, "error_message": exc.message}) + "\n").encode("utf-8")


Handler = Callable[..., Response]


class App:
    """The WSGI application of the local server."""

    def __init__(
        self,
        backend: Backend,
        token: str,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        web: Optional["WebView"] = None,
        loopback_only: bool = False,
    ) -> None:
        """loopback_only: answer only requests addressed to a loopback name (a server bound to loopback), so that a
        web page of another site whose name was made to point at 127.0.0.1 (DNS rebinding) gets nothing."""
        self.backend = backend
        self.web = web
        self.loopback_only = loopback_only
        self.max_body_size = max_body_size
        self._authorization = f"Token {token}".encode()
        self._map = url_map()
        self._handlers: Dict[str, Handler] = {name: getattr(self, name) for name, _, _ in ENDPOINTS}
        self._metadata: Dict[str, Handler] = {name: getattr(self, name) for name, _, _ in METADATA}

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except ApiError as exc:
            headers = {"WWW-Authenticate": "Token"} if exc.status == 401 else None
            response = error_response(exc.status, exc.message, headers, exc.path_to_item)
            if exc.status >= 400 and request.path.endswith("/requests/stream"):  # what the official tools read
                response = json_response({"error": exc.message, "error_message": exc.message}, exc.status, headers)
        except MethodNotAllowed as exc:
            allowed = sorted(set(exc.valid_methods or []) - {"HEAD"})
            response = error_response(
                405,
                f"method {request.method} is not allowed here (allowed: {', '.join(allowed)})",
                {"Allow": ", ".join(allowed)},
            )
        except NotFound:
            response = error_response(404, f"no such endpoint: {request.method} {request.path}")
        except HTTPException as exc:
            response = error_response(exc.code or 400, exc.description or exc.name)
        except Exception as exc:  # a bug: answer 500 and go on serving
            logger.exception("error while handling %s %s", request.method, request.path)
            response = error_response(500, f"internal error of the local server: {exc!r}")
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        # Route on the path as sent, then decode each name: a %2F inside a name must not split it.
        raw = request.environ.get("RAW_URI")
        path = urlsplit(raw).path if raw else request.path
        if self.loopback_only and request.host and not loopback_host(request.host):  # browsers always send Host
            raise ApiError(403, f"Host: {request.host!r} is not a name of this machine; use 127.0.0.1 or localhost")
        if self.web is not None and self.web.serves(path):
            return self.web.dispatch(request, self._token_header_ok(request))
        if path != f"{BASE}/status":
            self.authenticate(request)
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, matched = adapter.match(path_info=path)
        except NotFound:
            raise self._not_emulated(request.method, path) from None
        except MethodNotAllowed:
            try:  # another method on a metadata path: the platform has it (create, update, delete), we do not
                other, _ = adapter.match(path_info=path, method="GET")
            except HTTPException:
                other = None
            if other in self._metadata and other not in ("logs_list", "logs_list_old"):
                raise self._not_emulated(request.method, path) from None
            raise
        args = {name: unquote(value) for name, value in matched.items()}
        if endpoint == "status":
            return json_response({"status": "ok"})
        if endpoint in self._metadata:
            return self._metadata[str(endpoint)](request, **args)
        return self._handlers[str(endpoint)](request, args.pop("project"), args.pop("deployment"), **args)

    def _not_emulated(self, method: str, path: str) -> ApiError:
        if not path.startswith(BASE + "/"):
            top = unquote(path.lstrip("/").split("/", 1)[0])
            hint = f"; the API is under {BASE}: {method} {BASE}{path} (does the client's host end in {BASE}?)"
            return ApiError(404, f"no such endpoint: {method} {path}{hint if top in PLATFORM_TOP else ''}")
        segments = [unquote(segment) for segment in path[len(BASE) + 1 :].split("/")]
        return not_emulated(method, segments, self.backend.metadata)

    def authenticate(self, request: Request) -> None:
        """The token in the Authorization header, or the web view's session (cookie and CSRF header)."""
        if self._token_header_ok(request) or (self.web is not None and self.web.api_allowed(request)):
            return
        reason = "missing" if "Authorization" not in request.headers else "wrong"
        raise ApiError(401, f"Authorization: {reason} token; send the header 'Authorization: Token <token>'")

    def _token_header_ok(self, request: Request) -> bool:
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self._authorization)

    # -- read-only metadata and logs ----------------------------------------------------------------------------

    def user_get(self, request: Request) -> Response:
        return json_response(self.backend.metadata.user())

    def projects_list(self, request: Request) -> Response:
        return json_response(self.backend.metadata.projects(request.args.get("labels")))

    def projects_get(self, request: Request, project: str) -> Response:
        self.backend.metadata.check_project(project)
        return json_response(self.backend.metadata.project())

    def deployments_list(self, request: Request, project: str) -> Response:
        return json_response(self.backend.metadata.deployments(project, request.args.get("labels")))

    def deployments_get(self, request: Request, project: str, deployment: str) -> Response:
        metadata = self.backend.metadata
        return json_response(metadata.deployment(metadata.find_deployment(project, deployment)))

    def versions_list(self, request: Request, project: str, deployment: str) -> Response:
        return json_response(self.backend.metadata.versions(project, deployment, request.args.get("labels")))

    def versions_get(self, request: Request, project: str, deployment: str, version: str) -> Response:
        metadata = self.backend.metadata
        return json_response(metadata.version(*metadata.find_version(project, deployment, version)))

    def logs_list(self, request: Request, project: str) -> Response:
        records = self.backend.logs.list(
            project,
            query=request.args.get("query"),
            start=parse_moment("start", request.args.get("start")),
            end=parse_moment("end", request.args.get("end")),
            limit=query_int(request, "limit", LOGS_LIMIT),
        )
        return json_response(records)

    def logs_list_old(self, request: Request, project: str) -> Response:
        body = parse_body(request, self.max_body_size, text_allowed=False)
        return json_response(self.backend.logs.list_old(project, body))

    # -- endpoints (version is None at deployment level) ------------------------------------------------------------

    def _create_args(self, request: Request, bounds: Tuple[int, int, int]) -> Dict[str, Any]:
        body = parse_body(request, self.max_body_size, text_allowed=True)
        if body is None:
            raise ApiError(400, "data: the request body is empty; send the request data")
        return {
            "body": body,
            "timeout": query_int(request, "timeout", with_minimum(bounds, self.backend.min_timeout)),
            "priority": query_int(request, "priority", (0, 1, 1)),
        }

    def create(self, request: Request, project: str, deployment: str, version: Optional[str] = None) -> Response:
        args = self._create_args(request, DIRECT_TIMEOUT)
        return json_response(direct_record(self.backend.create_direct(project, deployment, version, **args)))

    def create_batch(self, request: Request, project: str, deployment: str, version: Optional[str] = None) -> Response:
        args = self._create_args(request, BATCH_TIMEOUT)
        rows = self.backend.create_batch(project, deployment, version, **args)
        return json_response(json_list(created_record(row) for row in rows), 201)

    def stream(self, request: Request, project: str, deployment: str, version: Optional[str] = None) -> Response:
        args = self._create_args(request, DIRECT_TIMEOUT)
        events = self.backend.create_stream(project, deployment, version, **args)
        return Response(
            server_sent_events(events), content_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    def list(self, request: Request, project: str, deployment: str, version: Optional[str] = None) -> Response:
        records = self.backend.list(
            project,
            deployment,
            version,
            status=request.args.get("status") or None,
            limit=query_int(request, "limit", LIST_LIMIT),
            offset=query_int(request, "offset", (0, 2**62, 0)),
            start=query_date(request, "start_date"),
            end=query_date(request, "end_date", end=True),
            search_id=request.args.get("search_id") or None,
        )
        return json_response(json_list(list_record(row) for row in records))

    def cancel_many(self, request: Request, project: str, deployment: str, version: Optional[str] = None) -> Response:
        ids = id_list(parse_body(request, self.max_body_size, text_allowed=False), required=False)
        status = request.args.get("status") or None
        return json_response(self.backend.cancel_many(project, deployment, version, ids, status))

    def delete_many(self, request: Request, project: str, deployment: str, version: Optional[str] = None) -> Response:
        ids = id_list(parse_body(request, self.max_body_size, text_allowed=False), required=True) or []
        return json_response(self.backend.delete_many(project, deployment, version, ids))

    def collect(self, request: Request, project: str, deployment: str, version: Optional[str] = None) -> Response:
        ids = id_list(parse_body(request, self.max_body_size, text_allowed=False), required=True) or []
        return json_response(
            json_list(full_record(row) for row in self.backend.collect(project, deployment, version, ids))
        )

    def get(
        self, request: Request, project: str, deployment: str, request_id: str, version: Optional[str] = None
    ) -> Response:
        metadata_only = query_bool(request, "metadata_only")
        row = self.backend.get(project, deployment, version, request_id)
        return json_response(JsonText(full_record(row, metadata_only=metadata_only, origin=True)))

    def update(
        self, request: Request, project: str, deployment: str, request_id: str, version: Optional[str] = None
    ) -> Response:
        body = parse_body(request, self.max_body_size, text_allowed=False)
        row = self.backend.update(project, deployment, version, request_id, body)
        return json_response(JsonText(full_record(row, metadata_only=True, origin=True)))

    def delete(
        self, request: Request, project: str, deployment: str, request_id: str, version: Optional[str] = None
    ) -> Response:
        self.backend.delete(project, deployment, version, request_id)
        return Response(status=204)

    def _data(self, project: str, deployment: str, version: Optional[str], request_id: str, which: str) -> Response:
        value, filename = self.backend.data(project, deployment, version, request_id, which)
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if isinstance(value, str):
            return Response(value, headers=headers, content_type="text/plain; charset=utf-8")
        return json_response(value, headers=headers)

    def input(
        self, request: Request, project: str, deployment: str, request_id: str, version: Optional[str] = None
    ) -> Response:
        return self._data(project, deployment, version, request_id, "input")

    def output(
        self, request: Request, project: str, deployment: str, request_id: str, version: Optional[str] = None
    ) -> Response:
        return self._data(project, deployment, version, request_id, "output")
