"""The web view's routes: login, sessions, the page and its files, and its two read endpoints.

Login as Jupyter does: `/?token=TOKEN` (the URL the banner prints) or the login form opens a session, kept in an
HttpOnly, SameSite=Strict cookie, and moves on to / so that the token leaves the address bar. The page reads and acts
through the API under /v2.1 with that cookie plus its session's CSRF token in the `X-CSRF-Token` header: a cookie
alone is never enough there, so another site cannot make the browser act (it can neither read the CSRF token nor
set the header). Without a session nothing but the login form is served. Sessions live in memory: a restart asks
for the token again.
"""

import hmac
import html
import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Optional

from werkzeug.wrappers import Request, Response

from ubiops.local import web_data
from ubiops.local.app import error_response, json_response, query_int
from ubiops.local.backend import Backend
from ubiops.local.records import JsonText
from ubiops.local.validation import ApiError

WEB_DIR = Path(__file__).parent / "web"
SESSION_COOKIE = "ubiops_local_session"  #: the session cookie's name is this, "_" and the server's port
CSRF_HEADER = "X-CSRF-Token"
MAX_SESSIONS = 1000  #: the oldest session ends when a new one would be one more
STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
PAGE_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
LOGIN_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"
LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in: ubiops-local</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 30rem; margin: 4rem auto; padding: 0 1rem; }}
input {{ font: inherit; width: 100%; padding: .4rem; box-sizing: border-box; }}
button {{ font: inherit; margin-top: .8rem; padding: .4rem 1.2rem; }}
.error {{ color: #b00020; }}
</style></head>
<body><main>
<h1>ubiops-local</h1>
<p>Open the URL the server printed at its start, or enter its token.</p>
{error}
<form method="post" action="/login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
</main></body></html>
"""


OPENED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=/">
<title>Logged in: ubiops-local</title></head>
<body><p>Logged in. <a href="/">Open the web view</a>.</p></body></html>
"""


class Sessions:
    """Open sessions: session id -> CSRF token; thread-safe, at most MAX_SESSIONS (the oldest ends first)."""

    def __init__(self) -> None:
        self._csrf: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def open(self) -> str:
        session = secrets.token_urlsafe(32)
        with self._lock:
            self._csrf[session] = secrets.token_urlsafe(32)
            while len(self._csrf) > MAX_SESSIONS:
                self._csrf.popitem(last=False)
        return session

    def csrf(self, session: Optional[str]) -> Optional[str]:
        with self._lock:
            return self._csrf.get(session or "")

    def close(self, session: Optional[str]) -> None:
        with self._lock:
            self._csrf.pop(session or "", None)


class WebView:
    """Serves `/`, `/login`, `/logout`, `/ui/static/<file>` and `/ui/api/<overview|requests>`."""

    def __init__(self, backend: Backend, token: str, secure: bool, port: int) -> None:
        self.backend = backend
        self._token = token.encode()
        self._secure = secure
        self.cookie = session_cookie(port)  # cookies are per host, not per port: servers side by side keep theirs
        self.sessions = Sessions()
        self._files = {path.name: path for path in WEB_DIR.iterdir() if path.is_file()} if WEB_DIR.is_dir() else {}

    @staticmethod
    def serves(path: str) -> bool:
        return path in ("/", "/login", "/logout") or path.startswith("/ui/")

    def api_allowed(self, request: Request) -> bool:
        """A request of the page: its session's cookie and that session's CSRF token in the header."""
        csrf = self.sessions.csrf(request.cookies.get(self.cookie))
        given = request.headers.get(CSRF_HEADER, "")
        return csrf is not None and hmac.compare_digest(given.encode(), csrf.encode())

    def dispatch(self, request: Request, token_header_ok: bool) -> Response:
        path, method = request.path, request.method
        if path == "/" and method == "GET":
            response = self._page(request)
        elif path == "/login" and method in ("GET", "POST"):
            response = self._login(request)
        elif path == "/logout" and method == "POST":
            response = self._logout(request)
        elif path.startswith("/ui/static/") and method == "GET":
            response = self._static(request, path[len("/ui/static/") :])
        elif path.startswith("/ui/api/") and method == "GET":
            response = self._read(request, path[len("/ui/api/") :], token_header_ok)
        else:
            response = error_response(404 if method in ("GET", "POST") else 405, f"no such page: {method} {path}")
        return _hardened(response)

    # -- pages ------------------------------------------------------------------------------------------------------

    def _page(self, request: Request) -> Response:
        if "token" in request.args:
            if self._token_ok(request.args["token"]):
                return self._opened(follow_by_page=True)
            return self._login_page("That token is not this server's.", 401)
        csrf = self.sessions.csrf(request.cookies.get(self.cookie))
        if csrf is None:
            return _redirect("/login")
        index = self._files.get("index.html")
        if index is None:
            return error_response(500, "the web view's files are missing from this installation")
        text = index.read_text(encoding="utf-8")
        text = text.replace("{{csrf_token}}", csrf).replace("{{project}}", html.escape(self.backend.config.project))
        response = Response(text, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = PAGE_POLICY
        return response

    def _login(self, request: Request) -> Response:
        if request.method == "GET":
            return self._login_page("", 200)
        if self._token_ok(request.form.get("token", "")):
            return self._opened()
        return self._login_page("That token is not this server's.", 401)

    def _logout(self, request: Request) -> Response:
        if not self.api_allowed(request):
            return error_response(401, f"log out from the page (it sends the {CSRF_HEADER} header)")
        self.sessions.close(request.cookies.get(self.cookie))
        response = _redirect("/login")
        response.delete_cookie(self.cookie, path="/", secure=self._secure, httponly=True, samesite="Strict")
        return response

    def _static(self, request: Request, name: str) -> Response:
        if self.sessions.csrf(request.cookies.get(self.cookie)) is None:
            return error_response(401, "log in first: open the URL the server printed, or /login")
        file = self._files.get(name)
        kind = STATIC_TYPES.get(Path(name).suffix)
        if file is None or kind is None:
            return error_response(404, f"no such file: {name}")
        return Response(file.read_bytes(), content_type=kind)

    # -- data -------------------------------------------------------------------------------------------------------

    def _read(self, request: Request, name: str, token_header_ok: bool) -> Response:
        if not (token_header_ok or self.api_allowed(request)):
            return error_response(401, f"log in first, and send the session's {CSRF_HEADER} header")
        try:
            if name == "overview":
                return json_response(web_data.overview(self.backend))
            if name == "requests":
                return json_response(self._requests(request))
        except ApiError as exc:
            return error_response(exc.status, exc.message)
        return error_response(404, f"no such data: {name}")

    def _requests(self, request: Request) -> JsonText:
        before = request.args.get("before")
        return web_data.page(
            self.backend,
            request.args.get("deployment") or None,
            request.args.get("version") or None,
            request.args.get("status") or None,
            query_int(request, "limit", web_data.PAGE_LIMIT),
            None if before is None else query_int(request, "before", (0, 2**62, 0)),
        )

    # -- sessions ---------------------------------------------------------------------------------------------------

    def _token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token)

    def _opened(self, follow_by_page: bool = False) -> Response:
        """A new session, and a redirect to the page: the token leaves the address bar and the history.
        follow_by_page: by a page that moves on to / itself (a meta refresh), not a 303, for the token URL: when it
        is a link on another site, the browser sends no SameSite=Strict cookie along a redirect of that navigation,
        but does with a navigation that this page starts."""
        if follow_by_page:
            response = Response(OPENED_PAGE, content_type="text/html; charset=utf-8")
            response.headers["Content-Security-Policy"] = LOGIN_POLICY
        else:
            response = _redirect("/")
        response.set_cookie(
            self.cookie, self.sessions.open(), path="/", secure=self._secure, httponly=True, samesite="Strict"
        )
        return response

    @staticmethod
    def _login_page(error: str, status: int) -> Response:
        shown = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        response = Response(LOGIN_PAGE.format(error=shown), status=status, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = LOGIN_POLICY
        return response


def session_cookie(port: int) -> str:
    """The name of the session cookie of the server on `port`."""
    return f"{SESSION_COOKIE}_{port}"


def _redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location})


def _hardened(response: Response) -> Response:
    """Nothing of the view is cached, framed, sniffed, or sent on as a referrer (the token URL must not leak)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    return response
