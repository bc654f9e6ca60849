"""The endpoints, declared once as data: the 22 deployment-request endpoints (:data:`ENDPOINTS`) and the read-only
endpoints that request code calls around them (:data:`AROUND_REQUESTS`: status, projects, deployments, versions,
logs). :data:`BY_NAME` finds any of them.

Eleven endpoints act on a deployment's default version; their ``/versions/{version}`` twins are derived from them
by :meth:`Endpoint.for_version`, never written out. :meth:`Endpoint.prepare` turns a call's arguments into the
request that goes on the wire.
"""

import json
from datetime import date, datetime
from typing import Any, Callable, Dict, FrozenSet, NamedTuple, Optional, Tuple, Type
from urllib.parse import quote, urlencode

from ubiops.api import checks
from ubiops.exceptions import ApiTypeError, ApiValueError
from ubiops.models import (
    DeploymentDetail,
    DeploymentList,
    DeploymentRequestBatchCreateResponse,
    DeploymentRequestCreateResponse,
    DeploymentRequestDetail,
    DeploymentRequestList,
    DeploymentRequestSingleDetail,
    DeploymentVersionDetail,
    DeploymentVersionList,
    LogList,
    Logs,
    Model,
    ProjectDetail,
    ProjectList,
    Status,
)
from ubiops.models.base import sanitize

__all__ = [
    "Param",
    "Returns",
    "Endpoint",
    "Prepared",
    "ENDPOINTS",
    "AROUND_REQUESTS",
    "BY_NAME",
    "STREAM",
    "encode_json",
]

DIRECT_TIMEOUT = checks.integer_in(10, 3600)
BATCH_TIMEOUT = checks.integer_in(10, 172800)


class Param(NamedTuple):
    """One argument: where it goes (``path``, ``query`` or ``body``), its rule, and its type for the docs."""

    name: str
    where: str
    check: checks.Check
    doc_type: str
    #: A body that may be left out (``projects_log_list``'s ``data``). Path arguments are always required, query
    #: arguments never.
    optional: bool = False
    #: What the message of a missing required argument adds: how to get what the caller probably meant.
    if_missing: str = ""

    @property
    def required(self) -> bool:
        return self.where != "query" and not self.optional


class Returns(NamedTuple):
    """How an answer's body becomes the method's return value."""

    doc_type: str
    decode: Callable[[bytes, str], Any]


class Prepared(NamedTuple):
    """A request ready for the transport: ``url`` is relative to the host and carries the query."""

    method: str
    url: str
    headers: Dict[str, str]
    body: Optional[bytes]


def _json(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


def one(model: Type[Model]) -> Returns:
    return Returns(model.__name__, lambda raw, _: model.from_json(_json(raw)))


def many(model: Type[Model]) -> Returns:
    from_json = model.from_json
    return Returns(f"list[{model.__name__}]", lambda raw, _: [from_json(item) for item in _json(raw)])


def _content(raw: bytes, content_type: str) -> Any:
    if content_type.startswith("application/json"):
        return _json(raw)
    return raw.decode("utf-8")


OBJECT = Returns("object", lambda raw, _: _json(raw))
NOTHING = Returns("None", lambda raw, _: None)
#: The stored input or output of a request: a dict/list for structured data, a str for plain data.
CONTENT = Returns("str or dict()", _content)


def _default(value: Any) -> Any:
    if isinstance(value, (Model, date)):  # a model: the fields that are set, as generated clients send them
        return sanitize(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_json(value: Any) -> bytes:
    """Compact JSON; models become their dicts and datetimes ISO 8601 text. NaN and infinities are a ValueError:
    Python would write them as ``NaN`` and ``Infinity``, which are not JSON."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default)
    return text.encode("utf-8")


#: Encoded path segments by text: the same project and deployment names come with every call.
_SEGMENTS: Dict[str, str] = {}


def _segment(value: Any) -> str:
    """One path segment, percent-encoded with no safe characters. ``.`` and ``..`` are encoded too: as plain
    dot segments they would be resolved away (``/projects/../deployments`` is ``/deployments``)."""
    if value.__class__ is str:
        encoded = _SEGMENTS.get(value)
        if encoded is None:
            if len(_SEGMENTS) >= 1024:
                _SEGMENTS.clear()
            encoded = _SEGMENTS[value] = _encode_segment(value)
        return encoded
    return _encode_segment(str(value))


def _encode_segment(text: str) -> str:
    encoded = quote(text, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class _Shape(NamedTuple):
    """What :meth:`Endpoint.bind` and :meth:`Endpoint.prepare` need of an endpoint's parameters, worked out once."""

    positional: Tuple[str, ...]
    known: FrozenSet[str]
    #: (name, where) of every parameter, in the declared order.
    places: Tuple[Tuple[str, str], ...]
    #: The ``if_missing`` hints by parameter name.
    if_missing: Dict[str, str]


#: Shapes by ``id(endpoint)``, each with its endpoint (an id may be reused once an endpoint is gone).
_SHAPES: Dict[int, Tuple["Endpoint", _Shape]] = {}


class Endpoint(NamedTuple):
    """One endpoint: its method name, summary, HTTP method, path template, parameters and answer."""

    name: str
    summary: str
    method: str
    path: str
    params: Tuple[Param, ...]
    returns: Returns
    #: Repeating the call can do no harm, so it may be retried after the server might have acted on it.
    idempotent: bool = True
    #: A direct request: the answer comes when the deployment has finished, so the read timeout follows ``timeout``.
    direct: bool = False

    @property
    def positional(self) -> Tuple[str, ...]:
        """Names of the required arguments, in the order they are given positionally."""
        return self._shape.positional

    @property
    def _shape(self) -> _Shape:
        entry = _SHAPES.get(id(self))
        if entry is not None and entry[0] is self:
            return entry[1]
        shape = _Shape(
            tuple(p.name for p in self.params if p.required),
            frozenset(p.name for p in self.params),
            tuple((p.name, p.where) for p in self.params),
            {p.name: p.if_missing for p in self.params if p.if_missing},
        )
        if len(_SHAPES) > 256:  # endpoints made on the fly (``_replace``) come and go
            _SHAPES.clear()
        _SHAPES[id(self)] = (self, shape)
        return shape

    def for_version(self) -> "Endpoint":
        """The twin that acts on a named version: ``/versions/{version}`` in the path, and ``version`` right after
        the last path argument (``..._get(project_name, deployment_name, request_id, version)``)."""
        last_path = max(i for i, p in enumerate(self.params) if p.where == "path")
        params = self.params[: last_path + 1] + (VERSION,) + self.params[last_path + 1 :]
        return self._replace(
            name=self.name.replace("deployment_requests", "deployment_version_requests"),
            summary=self.summary.replace("deployment request", "deployment version request"),
            path=self.path.replace("{deployment_name}", "{deployment_name}/versions/{version}"),
            params=params,
        )

    def bind(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        """Arguments by name; unknown or doubled arguments are an ApiTypeError, missing ones an ApiValueError."""
        shape = self._shape
        positional = shape.positional
        if len(args) > len(positional):
            raise ApiTypeError(
                f"{self.name}() takes {len(positional)} positional arguments ({', '.join(positional)}) "
                f"but {len(args)} were given"
            )
        for key in kwargs:
            if key not in shape.known:
                raise ApiTypeError(f"Got an unexpected keyword argument '{key}' to method {self.name}")
        values = dict(zip(positional, args))
        for key, value in kwargs.items():
            if key in values:
                raise ApiTypeError(f"{self.name}() got multiple values for argument '{key}'")
            values[key] = value
        for name in positional:
            if values.get(name) is None:
                hint = shape.if_missing.get(name)
                message = f"Missing the required parameter `{name}` when calling `{self.name}`"
                raise ApiValueError(f"{message}; {hint}" if hint else message, [name])
        return values

    def validate(self, values: Dict[str, Any]) -> None:
        for param in self.params:
            value = values.get(param.name)
            if value is not None:
                param.check(self.name, param.name, value)

    def prepare(self, values: Dict[str, Any]) -> Prepared:
        """The wire form: percent-encoded path segments with no safe characters, the query parameters that were
        given, and a JSON body (a plain ``str`` request body is sent raw as ``text/plain``)."""
        segments: Dict[str, str] = {}
        query = []
        headers: Dict[str, str] = {}
        body = None
        for name, where in self._shape.places:
            value = values.get(name)
            if value is None:
                continue
            try:
                if where == "path":
                    segments[name] = _segment(value)
                elif where == "query":
                    query.append((name, _query_value(value)))
                elif isinstance(value, str):
                    body, headers["Content-Type"] = value.encode("utf-8"), "text/plain; charset=utf-8"
                else:
                    body, headers["Content-Type"] = encode_json(value), "application/json"
            except UnicodeEncodeError as err:  # a lone surrogate: text that has no UTF-8 form
                raise ApiValueError(
                    f"{self.name}: `{name}` holds text that cannot be encoded as UTF-8: {err.reason}", [name]
                ) from err
            except (TypeError, ValueError) as err:
                raise ApiTypeError(f"{self.name}: `{name}` cannot be sent as JSON: {err}", [name]) from err
        path = self.path.format_map(segments)
        if query:
            path = f"{path}?{urlencode(query)}"
        return Prepared(self.method, path, headers, body)


def _path(name: str) -> Param:
    return Param(name, "path", checks.name_text, "str")


def _query(name: str, check: checks.Check, doc_type: str) -> Param:
    return Param(name, "query", check, doc_type)


PROJECT, DEPLOYMENT, VERSION, REQUEST_ID = (
    _path("project_name"),
    _path("deployment_name"),
    _path("version"),
    _path("request_id"),
)
IDS = Param("data", "body", checks.request_ids, "list[str]")
PRIORITY = _query("priority", checks.one_of((0, 1)), "int")
REQUESTS = "/projects/{project_name}/deployments/{deployment_name}/requests"
ONE_REQUEST = REQUESTS + "/{request_id}"

#: The endpoints of the default version, in the order of the reference document.
_DEFAULT_VERSION = (
    Endpoint(
        "batch_deployment_requests_create",
        "Create a batch deployment request",
        "POST",
        REQUESTS + "/batch",
        (
            PROJECT,
            DEPLOYMENT,
            Param("data", "body", checks.batch_data, "list[str or dict()]"),
            _query("timeout", BATCH_TIMEOUT, "int"),
            PRIORITY,
        ),
        many(DeploymentRequestBatchCreateResponse),
        idempotent=False,
    ),
    Endpoint(
        "deployment_requests_batch_cancel",
        "Cancel multiple deployment requests",
        "POST",
        REQUESTS + "/cancel",
        (
            PROJECT,
            DEPLOYMENT,
            IDS._replace(if_missing="pass data=[] with status to cancel every request with that status"),
            _query("status", checks.one_of(("pending", "processing")), "str"),
        ),
        OBJECT,
    ),
    Endpoint(
        "deployment_requests_batch_delete",
        "Delete multiple deployment requests",
        "POST",
        REQUESTS + "/delete",
        (PROJECT, DEPLOYMENT, IDS),
        OBJECT,
    ),
    Endpoint(
        "deployment_requests_batch_get",
        "Retrieve multiple deployment requests",
        "POST",
        REQUESTS + "/collect",
        (PROJECT, DEPLOYMENT, IDS),
        many(DeploymentRequestDetail),
    ),
    Endpoint(
        "deployment_requests_create",
        "Create a direct deployment request",
        "POST",
        REQUESTS,
        (
            PROJECT,
            DEPLOYMENT,
            Param("data", "body", checks.direct_data, "str or dict()"),
            _query("timeout", DIRECT_TIMEOUT, "int"),
            PRIORITY,
        ),
        one(DeploymentRequestCreateResponse),
        idempotent=False,
        direct=True,
    ),
    Endpoint(
        "deployment_requests_delete",
        "Delete a deployment request",
        "DELETE",
        ONE_REQUEST,
        (PROJECT, DEPLOYMENT, REQUEST_ID),
        NOTHING,
    ),
    Endpoint(
        "deployment_requests_get",
        "Get a deployment request",
        "GET",
        ONE_REQUEST,
        (PROJECT, DEPLOYMENT, REQUEST_ID, _query("metadata_only", checks.boolean, "bool")),
        one(DeploymentRequestSingleDetail),
    ),
    Endpoint(
        "deployment_requests_list",
        "List deployment requests",
        "GET",
        REQUESTS,
        (
            PROJECT,
            DEPLOYMENT,
            _query("status", checks.text, "str"),
            _query("limit", checks.integer_in(1, float("inf")), "int"),
            _query("offset", checks.integer_in(0, float("inf")), "int"),
            _query("start_date", checks.date, "str"),
            _query("end_date", checks.date, "str"),
            _query("search_id", checks.text, "str"),
        ),
        many(DeploymentRequestList),
    ),
    Endpoint(
        "deployment_requests_update",
        "Update a deployment request",
        "PATCH",
        ONE_REQUEST,
        (PROJECT, DEPLOYMENT, REQUEST_ID, Param("data", "body", checks.update_body, "DeploymentRequestUpdate")),
        OBJECT,
    ),
    Endpoint(
        "deployment_requests_input_get",
        "Get the input of a deployment request",
        "GET",
        ONE_REQUEST + "/input",
        (PROJECT, DEPLOYMENT, REQUEST_ID),
        CONTENT,
    ),
    Endpoint(
        "deployment_requests_output_get",
        "Get the output of a deployment request",
        "GET",
        ONE_REQUEST + "/output",
        (PROJECT, DEPLOYMENT, REQUEST_ID),
        CONTENT,
    ),
)

#: The 22 deployment-request endpoints: the default version's, then their twins for a named version.
ENDPOINTS: Tuple[Endpoint, ...] = _DEFAULT_VERSION + tuple(e.for_version() for e in _DEFAULT_VERSION)

LABELS = _query("labels", checks.text, "str")
DEPLOYMENTS = "/projects/{project_name}/deployments"
VERSIONS = DEPLOYMENTS + "/{deployment_name}/versions"

#: Read-only endpoints that request code calls around requests, with the public client's names and arguments.
AROUND_REQUESTS: Tuple[Endpoint, ...] = (
    Endpoint("service_status", "Service status", "GET", "/status", (), one(Status)),
    Endpoint(
        "projects_list",
        "List projects",
        "GET",
        "/projects",
        (_query("organization", checks.text, "str"), LABELS),
        many(ProjectList),
    ),
    Endpoint(
        "projects_get", "Get details of a project", "GET", "/projects/{project_name}", (PROJECT,), one(ProjectDetail)
    ),
    Endpoint(
        "projects_log_list",
        "List logs for a project",
        "POST",
        "/projects/{project_name}/logs",
        (PROJECT, Param("data", "body", checks.logs_filter, "LogsCreate", optional=True)),
        many(Logs),
    ),
    Endpoint(
        "logs_list",
        "List logs for a project",
        "GET",
        "/projects/{project_name}/logs",
        (
            PROJECT,
            _query("query", checks.text, "str"),
            _query("start", checks.moment, "str"),
            _query("end", checks.moment, "str"),
            _query("limit", checks.integer_in(1, 5000), "int"),
        ),
        many(LogList),
    ),
    Endpoint(
        "deployments_list",
        "List deployments",
        "GET",
        DEPLOYMENTS,
        (PROJECT, LABELS, _query("supports_request_format", checks.boolean, "bool")),
        many(DeploymentList),
    ),
    Endpoint(
        "deployments_get",
        "Get details of a deployment",
        "GET",
        DEPLOYMENTS + "/{deployment_name}",
        (PROJECT, DEPLOYMENT),
        one(DeploymentDetail),
    ),
    Endpoint(
        "deployment_versions_list",
        "List versions",
        "GET",
        VERSIONS,
        (PROJECT, DEPLOYMENT, LABELS),
        many(DeploymentVersionList),
    ),
    Endpoint(
        "deployment_versions_get",
        "Get details of a version",
        "GET",
        VERSIONS + "/{version}",
        (PROJECT, DEPLOYMENT, VERSION),
        one(DeploymentVersionDetail),
    ),
)
BY_NAME: Dict[str, Endpoint] = {e.name: e for e in ENDPOINTS + AROUND_REQUESTS}

#: Streaming direct request, served by :func:`ubiops.utils.stream_request` rather than a CoreApi method.
STREAM = BY_NAME["deployment_requests_create"]._replace(
    name="deployment_requests_stream", summary="Stream a direct deployment request", path=REQUESTS + "/stream"
)
