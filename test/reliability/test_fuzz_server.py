"""Fuzzing the local server over HTTP: generated methods, paths (every route, with valid and generated segments),
query strings, bodies, content types and tokens. Every answer is a 2xx, a 4xx or a 501 (a UbiOps API path that the
server does not emulate) with a JSON body (an error names what was wrong), never another 5xx, and the server keeps
answering /status."""

from __future__ import annotations  # urllib3 1.26 has no BaseHTTPResponse to evaluate

import json
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import quote, urlencode, urlsplit

import pytest
import urllib3
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reliability_support import Tally

import ubiops
from ubiops.local import LocalServer, default_config
from ubiops.local.app import ENDPOINTS, PREFIXES

FUZZ_SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
WEB_PAGES = ("/", "/login", "/logout")  #: the web view's pages (the fuzzer reaches them as paths of no segments)
QUERY_NAMES = ["timeout", "priority", "status", "limit", "offset", "start_date", "end_date", "search_id"]
QUERY_NAMES += ["metadata_only", "x", ""]
QUERY_VALUES = ["true", "false", "1", "0", "-1", "10", "3600", "172801", "1e3", "pending", "processing", "completed"]
QUERY_VALUES += ["completed,failed", "pending,completed", "2020-01-01T00:00:00Z", "2020-13-45", "", "\x00", "nan"]
CONTENT_TYPES = ["application/json", "text/plain", "text/plain; charset=latin-1", "text/plain; charset=bogus"]
CONTENT_TYPES += ["application/x-www-form-urlencoded", "application/merge-patch+json", "multipart/form-data", "x/y"]
ODD_SEGMENTS = ["", "..", ".", "%", "%zz", "%2F", "%00", "%C3%28", "~", "a b", "v2.1", "requests", "status"]


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[LocalServer]:
    with LocalServer(config=default_config()) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[urllib3.PoolManager]:
    manager = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=60))
    yield manager
    manager.clear()


@pytest.fixture(scope="module")
def known_ids(fuzz_server: LocalServer) -> List[str]:
    with ubiops.ApiClient(fuzz_server.configuration()) as client:
        api = ubiops.CoreApi(client)
        done = [api.deployment_requests_create("local", "echo", f"fuzz seed {n}").id for n in range(5)]
        batch = api.batch_deployment_requests_create(
            "local", "calculator", [{"x": n, "y": 2, "op": "+"} for n in range(5)]
        )
    return done + [r.id for r in batch]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
#: Bodies near what the endpoints want (plain text, calculator fields, id lists, the cancel update) and far from it.
bodies = st.one_of(
    st.none(),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"x": json_values, "y": json_values, "op": json_values},
        optional={"z": json_values},
    ).map(lambda v: json.dumps(v).encode()),
    st.lists(st.text(max_size=40), max_size=5).map(lambda v: json.dumps(v).encode()),
    st.just(b'{"status": "cancelled"}'),
    st.binary(max_size=64),
    st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"NaN", b"[1e999]", b'{"a":', b"[" * 5000, b"\xff\xfe", b"", b"null", b"[]"]),
)
numbers = st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False)
plain_items = st.text(max_size=40).map(json.dumps)
structured_items = st.fixed_dictionaries(
    {"x": numbers, "y": numbers, "op": st.sampled_from(["+", "-", "*", "/", "^"])}
).map(json.dumps)


def shaped(name: str, deployment: str, ids: List[str]) -> st.SearchStrategy[Tuple[Optional[str], bytes]]:
    """(Content-Type, body) close to what the endpoint wants, so the fuzz also reaches the code behind the checks."""
    item = plain_items if deployment == "echo" else structured_items
    if name in ("create", "stream"):
        text = st.text(max_size=40).map(lambda t: ("text/plain", t.encode()))
        return item.map(lambda i: ("application/json", i.encode())) | (
            text if deployment == "echo" else item.map(lambda i: (None, i.encode()))
        )
    if name == "create_batch":
        return st.lists(item, min_size=1, max_size=5).map(
            lambda items: ("application/json", f"[{','.join(items)}]".encode())
        )
    if name in ("cancel_many", "delete_many", "collect"):
        return st.lists(st.sampled_from(ids) | st.text(max_size=8), max_size=4).map(
            lambda chosen: ("application/json", json.dumps(chosen).encode())
        )
    if name == "update":
        return st.just(("application/json", b'{"status": "cancelled"}'))
    return st.just((None, b""))


def segment(draw: Any, valid: List[str]) -> str:
    """A path segment on the wire: mostly a valid name, else a generated text (encoded) or something odd as it is."""
    if draw(st.sampled_from([True] * 9 + [False])):
        return draw(st.sampled_from(valid))
    return draw(st.text(min_size=1, max_size=24).map(lambda t: quote(t, safe="")) | st.sampled_from(ODD_SEGMENTS))


@st.composite
def requests(draw: Any, ids: List[str]) -> Dict[str, Any]:
    prefix = draw(st.sampled_from(PREFIXES))
    name, method, suffix = draw(st.sampled_from(ENDPOINTS))
    method = draw(st.sampled_from([method] * 40 + ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]))
    choices = {
        "project": ["local"],
        "deployment": ["echo", "calculator"],
        "version": ["v1"],
        "request_id": ids,
    }
    path = prefix + suffix
    deployment = draw(st.sampled_from(choices["deployment"]))
    choices["deployment"] = [deployment]
    for param, valid in choices.items():
        if f"<{param}>" in path:
            path = path.replace(f"<{param}>", segment(draw, valid))
    if draw(st.sampled_from([False] * 19 + [True])):  # now and then somewhere else entirely
        path = "/" + "/".join(
            segment(draw, ["v2.1", "projects", "local", "status"]) for _ in range(draw(st.integers(0, 6)))
        )
    query = draw(
        st.lists(
            st.tuples(
                st.sampled_from(QUERY_NAMES) | st.text(max_size=6),
                st.sampled_from(QUERY_VALUES) | st.text(max_size=12) | st.integers().map(str),
            ),
            max_size=4,
        )
    )
    headers = {}
    token = draw(st.sampled_from(["right"] * 47 + ["none", "wrong", "bare"]))
    if draw(st.sampled_from([True, True, False])):
        content_type, body = draw(shaped(name, deployment, ids))
    else:
        content_type, body = draw(st.none() | st.sampled_from(CONTENT_TYPES)), draw(bodies)
    if content_type:
        headers["Content-Type"] = content_type
    return {
        "method": method,
        "url": path + ("?" + urlencode(query) if query else ""),
        "body": body,
        "headers": headers,
        "token": token,
        "endpoint": name,
    }


def check_answer(request: Dict[str, Any], response: urllib3.BaseHTTPResponse) -> Optional[str]:
    """None if the answer is as promised, else what is wrong."""
    status = response.status
    if urlsplit(request["url"]).path in WEB_PAGES:  # the web view: a page, a redirect to one, or a JSON error
        page = response.headers.get("Content-Type", "").startswith("text/html")
        return None if status == 303 or page or status >= 400 else f"web view: status {status} without a page"
    # 501: a path of the UbiOps API that the local server does not emulate (e.g. what a "../" in a name reaches)
    if not (200 <= status < 300 or 400 <= status < 500 or status == 501):
        return f"status {status}: {response.data[:300]!r}"
    if request["method"] == "HEAD" or status == 204:
        return None
    content_type = response.headers.get("Content-Type", "")
    if status < 300 and request["endpoint"] in ("input", "output") and content_type.startswith("text/plain"):
        return None
    if status < 300 and request["endpoint"] == "stream" and content_type.startswith("text/event-stream"):
        return None
    if not content_type.startswith("application/json"):
        return f"status {status} with Content-Type {content_type!r}"
    try:
        answer = json.loads(response.data)
    except ValueError:
        return f"status {status}: body is not JSON: {response.data[:200]!r}"
    if status >= 400 and not (isinstance(answer, dict) and isinstance(answer.get("error"), str) and answer["error"]):
        return f"status {status}: no error message: {answer!r:.200}"
    return None


def send(http: urllib3.PoolManager, server: LocalServer, request: Dict[str, Any]) -> urllib3.BaseHTTPResponse:
    headers = dict(request["headers"])
    headers["Authorization"] = {
        "right": f"Token {server.token}",
        "wrong": "Token not-the-token",
        "bare": server.token,
        "none": "",
    }[request["token"]]
    if not headers["Authorization"]:
        del headers["Authorization"]
    root = server.url.rsplit("/v2.1", 1)[0]
    return http.request(request["method"], root + request["url"], body=request["body"], headers=headers)


@FUZZ_SETTINGS
@given(request=requests([f"known-id-{n}" for n in range(10)]))
def test_every_answer_is_a_2xx_4xx_or_501_with_a_json_body(
    request: Dict[str, Any], fuzz_server: LocalServer, http: urllib3.PoolManager, known_ids: List[str], tally: Tally
) -> None:
    for n, known in enumerate(known_ids):  # the strategy is made before the ids exist: it names them by number
        request["url"] = request["url"].replace(f"known-id-{n}", known)
        request["body"] = request["body"] and request["body"].replace(f"known-id-{n}".encode(), known.encode())
    tally.fuzz_cases += 1
    response = send(http, fuzz_server, request)
    event(f"{request['endpoint']} {response.status}")  # pytest --hypothesis-show-statistics
    problem = check_answer(request, response)
    assert problem is None, f"{request['method']} {request['url']!r} body={request['body']!r:.200}: {problem}"


def test_the_server_still_answers_after_the_fuzzing(fuzz_server: LocalServer, http: urllib3.PoolManager) -> None:
    status = http.request("GET", fuzz_server.url + "/status")
    assert status.status == 200 and json.loads(status.data) == {"status": "ok"}


#: JSON text with an escaped lone surrogate: valid JSON, not encodable as UTF-8.
SURROGATE_BODIES = [
    ("echo/requests", b'"\\ud800"'),
    ("echo/requests/batch", b'["\\ud800"]'),
    ("echo/requests/stream", b'"\\udfff x"'),
    ("calculator/requests", b'{"x": 1, "y": 2, "op": "\\ud800"}'),
    ("echo/requests/collect", b'["\\ud800"]'),
    ("echo/requests/cancel", b'["\\ud800"]'),
    ("echo/requests/delete", b'["\\ud800"]'),
]


def test_a_lone_surrogate_in_a_json_string_is_a_400(fuzz_server: LocalServer, http: urllib3.PoolManager) -> None:
    headers = {"Authorization": f"Token {fuzz_server.token}", "Content-Type": "application/json"}
    statuses = {
        path: http.request("POST", f"{fuzz_server.url}/projects/local/deployments/{path}", body=body, headers=headers)
        for path, body in SURROGATE_BODIES
    }
    assert {path: response.status for path, response in statuses.items()} == {path: 400 for path in statuses}
