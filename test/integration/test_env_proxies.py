"""Proxies from the environment on the wire: a real forwarding proxy on 127.0.0.1 (absolute-URI requests for
``http://``, CONNECT tunnels for ``https://``) in front of the recording server."""

import http.client
import select
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List, Tuple
from urllib.parse import urlsplit

import pytest
from recording_server import RecordingServer

import ubiops

P, D, R = "project", "deployment", "request-id"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "upgrade"}


class ForwardingProxy:
    """An HTTP proxy that forwards absolute-URI requests and tunnels CONNECT; ``seen`` holds (method, target,
    Proxy-Authorization) per request it was asked to carry."""

    def __init__(self) -> None:
        self.seen: List[Tuple[str, str, str]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
        self._httpd.daemon_threads = True
        self._httpd.proxy = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> "ForwardingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _note(self) -> None:
        self.server.proxy.seen.append((self.command, self.path, self.headers.get("Proxy-Authorization", "")))

    def do_CONNECT(self) -> None:
        self._note()
        host, _, port = self.path.rpartition(":")
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.send_response(200, "Connection established")
        self.end_headers()
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 10)
                if not readable:
                    break
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()
            self.close_connection = True

    def _forward(self) -> None:
        self._note()
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        try:
            upstream.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body, headers)
            answer = upstream.getresponse()
            content = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP | {"content-length", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PATCH = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def server():
    with RecordingServer() as recording:
        yield recording


@pytest.fixture
def proxy():
    with ForwardingProxy() as forwarding:
        yield forwarding


def _dead_proxy() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _get(configuration: ubiops.Configuration) -> ubiops.DeploymentRequestSingleDetail:
    with ubiops.ApiClient(configuration) as client:
        return ubiops.CoreApi(client).deployment_requests_get(P, D, R, _retries=0)


def _configuration(host: str, **settings: Any) -> ubiops.Configuration:
    return ubiops.Configuration(host=host, api_key={"Authorization": "Token proxy-test"}, **settings)


def test_http_proxy_carries_http_calls_loopback_included(server, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("HTTPS_PROXY", _dead_proxy())  # for https:// only
    assert _get(_configuration(server.url)).origin == {"created_by": "my.example.user@ubiops.com"}
    path = f"/v2.1/projects/{P}/deployments/{D}/requests/{R}"
    assert proxy.seen == [("GET", server.url.replace("/v2.1", "") + path, "")]
    assert [r.path for r in server.requests] == [path]
    assert server.requests[0].headers["authorization"] == "Token proxy-test"


def test_no_proxy_sends_the_listed_host_direct(server, proxy, monkeypatch):
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "example.com,127.0.0.1")
    _get(_configuration(server.url))
    assert proxy.seen == [] and len(server.requests) == 1


def test_no_proxy_star_and_ports(server, proxy, monkeypatch):
    port = int(server.url.split(":")[2].split("/")[0])
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", f"127.0.0.1:{port + 1}")
    _get(_configuration(server.url))
    assert len(proxy.seen) == 1  # another port: through the proxy
    monkeypatch.setenv("NO_PROXY", f"127.0.0.1:{port}")
    _get(_configuration(server.url))
    monkeypatch.setenv("NO_PROXY", "*")
    _get(_configuration(server.url))
    assert len(proxy.seen) == 1 and len(server.requests) == 3


def test_the_environment_is_read_when_the_api_client_is_made(server, proxy, monkeypatch):
    """As httpx does: a client keeps the proxy it was made with; a new client sees a changed environment."""
    with ubiops.ApiClient(_configuration(server.url)) as direct:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        ubiops.CoreApi(direct).deployment_requests_get(P, D, R)
        with ubiops.ApiClient(_configuration(server.url)) as proxied:
            monkeypatch.delenv("HTTP_PROXY")
            ubiops.CoreApi(proxied).deployment_requests_get(P, D, R)
            ubiops.CoreApi(direct).deployment_requests_get(P, D, R)
    assert len(proxy.seen) == 1 and len(server.requests) == 3


def test_an_explicit_proxy_wins_over_the_environment(server, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", _dead_proxy())
    monkeypatch.setenv("NO_PROXY", "*")
    _get(_configuration(server.url, proxy=proxy.url))
    assert len(proxy.seen) == 1 and len(server.requests) == 1


def test_credentials_in_the_proxy_url_go_to_the_proxy_only(server, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://us%40er:p%3Ass@"))
    _get(_configuration(server.url))
    assert proxy.seen[0][2] == "Basic dXNAZXI6cDpzcw=="  # base64("us@er:p:ss")
    assert "proxy-authorization" not in server.requests[0].headers


def test_https_proxy_tunnels_https_calls_with_connect(proxy, monkeypatch, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    recording = RecordingServer()
    httpd = recording._httpd
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", _dead_proxy())  # for http:// only
    with recording:
        host = recording.url.replace("http://", "https://")
        _get(_configuration(host, ssl_ca_cert=str(ca_file)))
    port = httpd.server_address[1]
    assert proxy.seen == [("CONNECT", f"127.0.0.1:{port}", "")]
    assert [r.method for r in recording.requests] == ["GET"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("ALL_PROXY", "socks5://127.0.0.1:1080", "scheme socks5"),
        ("HTTP_PROXY", "http://[bad", "its host or port cannot be read"),
        ("http_proxy", "http://proxy:notaport", "its host or port cannot be read"),
        ("HTTP_PROXY", "http://:3128", "no host"),
    ],
)
def test_an_unusable_proxy_variable_is_named_and_not_retried(server, monkeypatch, name, value, problem):
    monkeypatch.setenv(name, value)
    with pytest.raises(ubiops.ApiConnectionError) as caught:
        _get(_configuration(server.url))
    assert f"{name}={value!r} is not a usable proxy URL" in caught.value.message
    assert problem in caught.value.message
    assert caught.value.sent is False and server.requests == []


@pytest.mark.timeout(30)
def test_spaces_around_a_proxy_variable_are_ignored(server, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"  {proxy.url}\n")
    assert _get(_configuration(server.url)).origin == {"created_by": "my.example.user@ubiops.com"}
    assert len(proxy.seen) == 1


# -- the wrong scheme, at the proxy or at the server -----------------------------------------------------------------


class _AlertHandler(BaseHTTPRequestHandler):
    """A TLS server's answer to bytes that are no TLS: a fatal protocol_version alert record, then the close."""

    def handle(self) -> None:
        self.rfile.readline()
        self.wfile.write(bytes([21, 3, 1, 0, 2, 2, 70]))


def _connection_error(configuration: ubiops.Configuration) -> ubiops.ApiConnectionError:
    with pytest.raises(ubiops.ApiConnectionError) as raised:
        _get(configuration)
    return raised.value


def test_a_proxy_url_with_https_to_a_plain_http_proxy_names_the_proxy_not_the_host(server, proxy):
    error = _connection_error(_configuration(server.url, proxy=proxy.url.replace("http://", "https://")))
    assert "the proxy answered in plain HTTP: use http:// in the proxy's URL (" in error.message, error.message
    assert "Configuration.host" not in error.message and proxy.seen == []


def test_an_http_proxy_that_speaks_tls_is_named_not_the_host(server, monkeypatch):
    alerting = ThreadingHTTPServer(("127.0.0.1", 0), _AlertHandler)
    threading.Thread(target=alerting.serve_forever, daemon=True).start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{alerting.server_address[1]}")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{alerting.server_address[1]}")
    try:
        for host in (server.url, "https://api.example.invalid/v2.1"):  # a forwarded call, and a CONNECT
            error = _connection_error(_configuration(host))
            assert error.reason == "Invalid answer", error.message
            assert "the proxy may speak TLS: use https:// in the proxy's URL" in error.message, error.message
            assert "Configuration.host" not in error.message
    finally:
        alerting.shutdown()
        alerting.server_close()


def test_https_through_a_proxy_to_a_plain_http_server_still_names_the_host(server, proxy):
    error = _connection_error(_configuration(server.url.replace("http://", "https://"), proxy=proxy.url))
    assert "the server answered in plain HTTP: use http:// in Configuration.host (" in error.message, error.message
    assert [seen[0] for seen in proxy.seen] == ["CONNECT"]
