"""The web view's routes over plain HTTP (the browser tests are in test/web): login by the token URL or the form,
the session cookie, the CSRF header the API wants besides the cookie, nothing served without a session, and the two
read endpoints (overview, pages of requests)."""

from __future__ import annotations  # urllib3 1.26 has no BaseHTTPResponse to evaluate

import re
import sqlite3
from typing import Dict, Iterator, Optional, Tuple

import pytest
import urllib3
from local_helpers import PACKAGES, Http, http_for, wait_until

from ubiops.local import LocalServer, default_config
from ubiops.local.store import page_query
from ubiops.local.web_routes import CSRF_HEADER, session_cookie

TOOL = "/projects/local/deployments/tool"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    config = default_config()
    config["deployments"].append({"name": "tool", "path": str(PACKAGES / "srv_tool"), "instances": 2})
    with LocalServer(config=config, data_dir=tmp_path_factory.mktemp("data")) as started:
        yield started


@pytest.fixture(scope="module")
def http(server: LocalServer) -> Http:
    return http_for(server)


def root(server: LocalServer) -> str:
    return server.url[: -len("/v2.1")]


def fetch(server: LocalServer, method: str, path: str, **kwargs: object) -> urllib3.BaseHTTPResponse:
    pool = urllib3.PoolManager(retries=False, timeout=30)
    return pool.request(method, root(server) + path, redirect=False, **kwargs)  # type: ignore[arg-type]


def log_in(server: LocalServer) -> Tuple[str, str]:
    """(session cookie as name=value, CSRF token) through the token URL, as the banner's link does."""
    opened = fetch(server, "GET", "/?token=" + server.token)
    assert opened.status == 200 and b'<meta http-equiv="refresh" content="0; url=/">' in opened.data
    cookie = opened.headers["Set-Cookie"]
    session = re.match(rf"({session_cookie(server.port)}=[^;]+);", cookie)
    assert session is not None, cookie
    page = fetch(server, "GET", "/", headers={"Cookie": session.group(1)})
    assert page.status == 200, page.data[:300]
    csrf = re.search(rb'<meta name="csrf-token" content="([^"]+)"', page.data)
    assert csrf is not None
    return session.group(1), csrf.group(1).decode()


def as_page(session: str, csrf: Optional[str]) -> Dict[str, str]:
    headers = {"Cookie": session}
    if csrf is not None:
        headers[CSRF_HEADER] = csrf
    return headers


def test_the_token_url_opens_a_session_in_a_strict_httponly_cookie_and_drops_the_token(server):
    opened = fetch(server, "GET", "/?token=" + server.token)
    # the page moves on to / itself (a link on another site: see test/web/test_web_review_i11.py)
    assert opened.status == 200 and b'<meta http-equiv="refresh" content="0; url=/">' in opened.data
    assert server.token.encode() not in opened.data and "script-src" not in opened.headers["Content-Security-Policy"]
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert server.token not in cookie
    assert opened.headers["Referrer-Policy"] == "no-referrer" and opened.headers["Cache-Control"] == "no-store"
    assert server.web_url == f"{root(server)}/?token={server.token}"


def test_the_page_carries_its_csrf_token_under_a_policy_without_inline_script(server):
    session, csrf = log_in(server)
    page = fetch(server, "GET", "/", headers=as_page(session, None))
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["Content-Type"].startswith("text/html") and csrf.encode() in page.data
    assert b"{{" not in page.data  # every placeholder filled


def test_without_a_session_nothing_is_served(server):
    assert fetch(server, "GET", "/").headers["Location"] == "/login"
    assert fetch(server, "GET", "/ui/static/app.js").status == 401
    assert fetch(server, "GET", "/ui/api/overview").status == 401
    assert fetch(server, "GET", "/ui/api/requests").status == 401
    wrong = fetch(server, "GET", "/?token=not-the-token")
    assert wrong.status == 401 and b"not this server" in wrong.data and "Set-Cookie" not in wrong.headers
    forged = fetch(server, "GET", "/ui/static/app.js", headers={"Cookie": f"{session_cookie(server.port)}=forged"})
    assert forged.status == 401
    login = fetch(server, "GET", "/login")
    assert login.status == 200 and b'<form method="post" action="/login">' in login.data
    assert "default-src 'none'" in login.headers["Content-Security-Policy"]


def test_the_login_form_opens_a_session_and_a_wrong_token_is_said(server):
    wrong = fetch(server, "POST", "/login", fields={"token": "nope"}, encode_multipart=False)
    assert wrong.status == 401 and b"not this server" in wrong.data
    right = fetch(server, "POST", "/login", fields={"token": server.token}, encode_multipart=False)
    assert right.status == 303 and right.headers["Location"] == "/"
    assert right.headers["Set-Cookie"].startswith(f"{session_cookie(server.port)}=")


def test_the_api_takes_the_cookie_only_with_the_sessions_csrf_header(server):
    session, csrf = log_in(server)
    assert fetch(server, "GET", "/v2.1/projects/local", headers=as_page(session, None)).status == 401
    assert fetch(server, "GET", "/v2.1/projects/local", headers=as_page(session, "wrong")).status == 401
    _, other_csrf = log_in(server)  # another session's token does not fit this cookie
    assert fetch(server, "GET", "/v2.1/projects/local", headers=as_page(session, other_csrf)).status == 401
    assert fetch(server, "GET", "/v2.1/projects/local", headers=as_page(session, csrf)).status == 200
    created = fetch(
        server,
        "POST",
        "/v2.1/projects/local/deployments/echo/requests",
        body=b"hi",
        headers={**as_page(session, csrf), "Content-Type": "text/plain"},
    )
    assert created.status == 200 and b'"result":"hi"' in created.data
    assert fetch(server, "GET", "/ui/static/app.js", headers=as_page(session, None)).status == 200


def test_log_out_ends_the_session(server):
    session, csrf = log_in(server)
    assert fetch(server, "POST", "/logout", headers=as_page(session, None)).status == 401  # a cross-site form
    ended = fetch(server, "POST", "/logout", headers=as_page(session, csrf))
    assert ended.status == 303 and ended.headers["Location"] == "/login"
    assert fetch(server, "GET", "/ui/api/overview", headers=as_page(session, csrf)).status == 401
    assert fetch(server, "GET", "/", headers=as_page(session, None)).headers["Location"] == "/login"


def test_static_files_are_only_the_shipped_ones(server):
    session, _ = log_in(server)
    for name in ("..%2Fweb_routes.py", "../web_routes.py", "index.html", "nothing.js"):
        assert fetch(server, "GET", f"/ui/static/{name}", headers=as_page(session, None)).status == 404, name


def test_the_overview_shows_deployments_instances_queues_and_recent_requests(server, http):
    record = http.post(f"{TOOL}/requests", text="raise:on purpose").json()
    assert record["status"] == "failed"
    reply = fetch(server, "GET", "/ui/api/overview", headers={"Authorization": f"Token {server.token}"})
    overview = reply.json()
    assert overview["project"] == "local"
    tool = next(d for d in overview["deployments"] if d["name"] == "tool")
    assert (tool["input_type"], tool["output_type"], tool["default_version"]) == (None, None, "v1")
    calculator = next(d for d in overview["deployments"] if d["name"] == "calculator")
    assert [f["name"] for f in calculator["input_fields"]] == ["x", "y", "op"]
    [version] = tool["versions"]
    assert [i["index"] for i in version["instances"]] == [0, 1]
    assert all(i["state"] == "idle" and isinstance(i["pid"], int) for i in version["instances"])
    assert version["failed_last_minute"] >= 1 and version["pending"] == 0 and version["processing"] == 0
    assert overview["recent"][0]["id"] == record["id"] and overview["recent"][0]["status"] == "failed"


def test_the_overview_shows_a_busy_instance_and_a_queue(server, http):
    ids = http.batch(TOOL, ["sleep:1.5"] * 4)
    headers = {"Authorization": f"Token {server.token}"}

    def busy() -> Optional[dict]:
        tool = next(
            d
            for d in fetch(server, "GET", "/ui/api/overview", headers=headers).json()["deployments"]
            if d["name"] == "tool"
        )
        version = tool["versions"][0]
        states = sorted(i["state"] for i in version["instances"])
        return version if states == ["busy", "busy"] and version["pending"] == 2 else None

    version = wait_until(busy, timeout=10)
    assert version["processing"] == 2
    http.post(f"{TOOL}/requests/cancel", json_body=ids)


def test_pages_of_requests_newest_first_by_deployment_version_and_status(server, http):
    ids = http.batch(TOOL, [f"item {i}" for i in range(7)])
    http.wait_all(TOOL, ids)
    headers = {"Authorization": f"Token {server.token}"}
    seen = []
    before: Optional[int] = None
    while True:
        query = "deployment=tool&version=v1&status=completed&limit=3" + (f"&before={before}" if before else "")
        page = fetch(server, "GET", f"/ui/api/requests?{query}", headers=headers).json()
        seen += [r["id"] for r in page["requests"]]
        assert all(r["status"] == "completed" and r["deployment"] == "tool" for r in page["requests"])
        before = page["next"]
        if before is None:
            break
    assert seen[:7] == list(reversed(ids))  # newest first, across pages, nothing twice
    assert len(seen) == len(set(seen))
    everything = fetch(server, "GET", "/ui/api/requests?limit=200", headers=headers).json()["requests"]
    assert {r["deployment"] for r in everything} >= {"tool", "echo"}


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("status=done", 400, "status: unknown status 'done'"),
        ("version=v1", 400, "version: give the deployment too"),
        ("deployment=nope", 404, "deployment 'nope' not found"),
        ("limit=0", 400, "limit: must be an integer from 1 to 200"),
        ("before=soon", 400, "before: must be an integer"),
    ],
)
def test_bad_page_parameters_are_named(server, query: str, status: int, says: str):
    reply = fetch(server, "GET", f"/ui/api/requests?{query}", headers={"Authorization": f"Token {server.token}"})
    assert reply.status == status and says in reply.json()["error"], reply.data


@pytest.mark.parametrize(
    ("deployment", "version", "statuses"),
    [(None, None, ()), ("tool", None, ()), ("tool", "v1", ()), (None, None, ("failed",)), ("tool", "v1", ("pending",))],
)
def test_pages_follow_an_index_with_many_requests(server, deployment, version, statuses):
    """The view must stay fast with 100,000 stored requests: each page is an index range, never a scan and a sort
    of all of them (measured: about 1 ms a page with 100,000 requests, docs/WebView.md)."""
    sql, args = page_query("local", deployment, version, statuses, 51, 10**15)
    db = sqlite3.connect(str(server.data_dir / "requests.sqlite3"))
    try:
        plan = " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", args))
    finally:
        db.close()
    assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, plan


def test_without_the_ui_nothing_but_the_api_is_served(tmp_path):
    with LocalServer(data_dir=tmp_path, ui=False) as server:
        assert server.web_url is None
        assert fetch(server, "GET", "/?token=" + server.token).status == 401
        assert fetch(server, "GET", "/login").status == 401
        assert fetch(server, "GET", "/v2.1/status").status == 200


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("evil.example", 403),
        ("evil.example:8900", 403),
        ("10.1.2.3", 403),
        ("localhost", 200),
        ("[::1]:1", 200),
        ("app.localhost:8900", 200),
        ("127.0.0.1", 200),
    ],
)
def test_a_server_on_loopback_answers_only_requests_addressed_to_loopback(server, host: str, status: int):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 reaches the server with its own
    name in the Host header; it gets nothing, not even the login form to guess a weak token in."""
    reply = fetch(server, "GET", "/?token=" + server.token, headers={"Host": host})
    assert reply.status == status, reply.data[:200]
    if status == 403:
        assert "is not a name of this machine" in reply.json()["error"]
        api = fetch(server, "GET", "/v2.1/projects", headers={"Host": host, "Authorization": f"Token {server.token}"})
        assert api.status == 403
