"""LocalServer as a Python object and as an HTTP/1.1 server: life cycle, data directory, keep-alive, TLS, pytest."""

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import urllib3
from local_helpers import PACKAGES, Http, http_for, tool_deployment

from ubiops.local import ConfigError, LocalServer

TOOL_CONFIG = {"deployments": [tool_deployment()]}
TOOL = "/projects/local/deployments/tool"


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_url_token_configuration_and_temporary_data_dir():
    with LocalServer(TOOL_CONFIG) as server:
        assert server.port != 0 and server.url == f"http://127.0.0.1:{server.port}/v2.1"
        assert len(server.token) == 40
        data_dir = server.data_dir
        assert (data_dir / "requests.sqlite3").exists()
        configuration = server.configuration()
        assert configuration.host == server.url
        assert configuration.api_key["Authorization"] == server.token
        assert configuration.api_key_prefix["Authorization"] == "Token"
        assert configuration.get_api_key_with_prefix("Authorization") == f"Token {server.token}"
        assert repr(server) == f"LocalServer({server.url}, project='local')"
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
    assert not data_dir.exists()
    assert not server.running
    server.stop()  # idempotent


def test_a_given_data_dir_is_kept_and_locked(tmp_path):
    with LocalServer(TOOL_CONFIG, data_dir=tmp_path / "data", token="tok") as server:
        assert server.token == "tok"
        with pytest.raises(RuntimeError, match="is in use by another ubiops-local server"):
            LocalServer(TOOL_CONFIG, data_dir=tmp_path / "data").start()
        assert http_for(server).get("/status").status == 200
    assert (tmp_path / "data" / "requests.sqlite3").exists()
    with LocalServer(TOOL_CONFIG, data_dir=tmp_path / "data"):
        pass


def test_arguments_are_checked_before_anything_starts(tmp_path):
    with pytest.raises(ConfigError, match="deployment 'x': version 'v1': key 'path'"):
        LocalServer({"deployments": [{"name": "x", "path": str(tmp_path)}]})
    with pytest.raises(ValueError, match="token must be a non-empty string without whitespace"):
        LocalServer(TOOL_CONFIG, token="a b")
    with pytest.raises(ValueError, match="max_body_size must be an integer >= 1"):
        LocalServer(TOOL_CONFIG, max_body_size=0)
    with pytest.raises(ValueError, match="certfile and keyfile go together"):
        LocalServer(TOOL_CONFIG, certfile="cert.pem")


def test_the_database_of_another_program_is_refused(tmp_path):
    (tmp_path / "requests.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(Exception, match="not a usable request database"):
        LocalServer(TOOL_CONFIG, data_dir=tmp_path).start()
    assert LocalServer(TOOL_CONFIG, data_dir=tmp_path).running is False


def test_max_body_size_is_configurable(start_server):
    http = http_for(start_server(TOOL_CONFIG, max_body_size=100))
    assert http.post(f"{TOOL}/requests", text="x" * 100).status == 200
    reply = http.post(f"{TOOL}/requests", text="x" * 101)
    assert reply.status == 413 and reply.json() == {"error": "body: 101 bytes is over the limit of 100 bytes"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LocalServer(TOOL_CONFIG, data_dir=tmp_path_factory.mktemp("data")) as server:
        yield server


def test_keep_alive_one_connection_with_tcp_nodelay(server):
    pool = urllib3.PoolManager(maxsize=1)
    for _ in range(200):
        assert pool.request("GET", f"{server.url}/status").status == 200
    connection_pool = pool.connection_from_url(server.url)
    assert connection_pool.num_connections == 1
    open_connections = server._httpd.table.sockets()
    assert open_connections
    assert all(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for c in open_connections)
    headers = {"Authorization": f"Token {server.token}", "Content-Type": "text/plain"}
    for _ in range(5):  # POSTs, errors and 204s keep the connection too
        assert pool.request("POST", f"{server.url}{TOOL}/requests", body=b"x", headers=headers).status == 200
        assert pool.request("GET", f"{server.url}{TOOL}/requests/nope", headers=headers).status == 404
        assert pool.request("POST", f"{server.url}{TOOL}/requests", body=b"x", headers={}).status == 401
    assert connection_pool.num_connections == 1


def test_http_1_0_and_connection_close_are_answered_then_closed(server):
    response = raw_exchange(server.port, b"GET /v2.1/status HTTP/1.0\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 200 OK\r\n") and response.endswith(b'{"status":"ok"}')
    response = raw_exchange(server.port, b"GET /v2.1/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert b"Connection: close" in response and response.endswith(b'{"status":"ok"}')


def test_unread_bodies_do_not_break_the_next_request_on_the_connection(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        body = b'"' + b"x" * 1000 + b'"'
        unauthorised = b"POST /v2.1/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        sock.sendall(unauthorised + b"GET /v2.1/status HTTP/1.1\r\nHost: localhost\r\n\r\n")
        received = b""
        while received.count(b"HTTP/1.1 ") < 2 or not received.endswith(b'{"status":"ok"}'):
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        assert received.startswith(b"HTTP/1.1 401 ")


def test_malformed_http_gets_a_json_400(server):
    response = raw_exchange(server.port, b"GET /v2.1/status HTTP/1.1 extra\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 400 ") and b"Content-Type: application/json" in response
    assert "error" in json.loads(response.split(b"\r\n\r\n", 1)[1])
    response = raw_exchange(server.port, b"POST /v2.1/status HTTP/1.1\r\nContent-Length: -5\r\n\r\n")
    assert b" 400 " in response.split(b"\r\n")[0]


def test_stop_closes_idle_keep_alive_connections(tmp_path):
    server = LocalServer(TOOL_CONFIG, data_dir=tmp_path).start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /v2.1/status HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sock.recv(65536).endswith(b'{"status":"ok"}')
        server.stop()
        assert sock.recv(65536) == b""


def test_tls(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1")
    certfile, keyfile, cafile = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(cafile))
    with LocalServer(TOOL_CONFIG, certfile=certfile, keyfile=keyfile) as server:
        assert server.url.startswith("https://127.0.0.1:")
        with socket.create_connection(("127.0.0.1", server.port)):  # a silent client blocks nobody
            http = Http(server.url, server.token)
            http.pool = urllib3.PoolManager(ca_certs=str(cafile))
            assert http.get("/status").json() == {"status": "ok"}
            assert http.post(f"{TOOL}/requests", text="secret").json()["result"] == "secret"
    with pytest.raises(ValueError, match="certfile/keyfile: cannot load"):
        LocalServer(TOOL_CONFIG, certfile=keyfile, keyfile=keyfile).start()


def run_pytest(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(directory)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pytest_fixture_serves_the_bundled_examples(tmp_path):
    (tmp_path / "test_default.py").write_text(
        textwrap.dedent(
            """
            import json, urllib3

            def test_echo(ubiops_local_server):
                reply = urllib3.PoolManager().request(
                    "POST", ubiops_local_server.url + "/projects/local/deployments/echo/requests", body=b"hi",
                    headers={"Authorization": "Token " + ubiops_local_server.token, "Content-Type": "text/plain"},
                )
                assert json.loads(reply.data)["result"] == "hi"
            """
        )
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pytest_fixture_config_is_overridden_in_a_conftest(tmp_path):
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            f"""
            import pytest

            @pytest.fixture(scope="session")
            def ubiops_local_config():
                path = {str(PACKAGES / "srv_tool")!r}
                return {{"project": "mine", "deployments": [{{"name": "tool", "path": path}}]}}
            """
        )
    )
    (tmp_path / "test_custom.py").write_text(
        textwrap.dedent(
            """
            def test_tool(ubiops_local_server):
                assert ubiops_local_server.config.project == "mine"
                assert [d.name for d in ubiops_local_server.config.deployments] == ["tool"]
            """
        )
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
