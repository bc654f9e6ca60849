"""The local server's HTTP layer against raw sockets: ambiguous or broken body framing is a JSON 400 and the
connection is closed; charsets, 100-continue, HEAD, pipelining, odd request targets, huge headers and slow clients
never give a 500 or a hung thread."""

import json
import socket
import threading
import time
from typing import Iterator, List, Tuple

import pytest

from ubiops.local import LocalServer, default_config, http_handler

ECHO = "/v2.1/projects/local/deployments/echo/requests"


@pytest.fixture(scope="module")
def local() -> Iterator[LocalServer]:
    with LocalServer(default_config()) as server:
        yield server


def exchange(server: LocalServer, data: bytes, timeout: float = 10, half_close: bool = False) -> bytes:
    """Send raw bytes, read until the server closes the connection (a timeout fails: it must close)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk


def status_and_error(response: bytes) -> Tuple[int, str]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)["error"]


def post(server: LocalServer, headers: str, body: bytes) -> bytes:
    return (
        f"POST {ECHO} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Token {server.token}\r\n"
        f"Content-Type: text/plain\r\n{headers}\r\n"
    ).encode() + body


@pytest.mark.parametrize(
    "headers, named",
    [
        ("Content-Length: 2\r\nContent-Length: 3\r\n", "Content-Length"),
        ("Content-Length: 2\r\nContent-Length: 2\r\n", "Content-Length"),
        ("Content-Length: +2\r\n", "Content-Length"),
        ("Content-Length: 1 1\r\n", "Content-Length"),
        ("Content-Length: 0_2\r\n", "Content-Length"),
        ("Content-Length: -2\r\n", "Content-Length"),
        ("Content-Length: 0x2\r\n", "Content-Length"),
        ("Transfer-Encoding: gzip\r\n", "Transfer-Encoding"),
        ("Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding"),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding"),
        ("Transfer-Encoding: chunked\r\nContent-Length: 2\r\n", "Transfer-Encoding and Content-Length"),
    ],
)
def test_ambiguous_framing_headers_are_a_400_naming_the_header_then_close(local, headers, named):
    status, error = status_and_error(exchange(local, post(local, headers, b"hi")))
    assert status == 400 and error.startswith(named + ":"), error


@pytest.mark.parametrize(
    "body, rule",
    [
        (b"zz\r\nhi\r\n0\r\n\r\n", "bad chunk-size line"),
        (b"2\r\nhiXX0\r\n\r\n", "not followed by CRLF"),
        (b"2\nhi\r\n0\r\n\r\n", "does not end with CRLF"),
        (b"+2\r\nhi\r\n0\r\n\r\n", "bad chunk-size line"),
        (b"5\r\nhi", "closed inside a chunk"),
        (b"2\r\nhi\r\n", "closed before the last chunk"),
    ],
)
def test_bad_chunked_bodies_are_a_400_then_close(local, body, rule):
    request = post(local, "Transfer-Encoding: chunked\r\n", body)
    status, error = status_and_error(exchange(local, request, half_close=True))
    assert status == 400 and error.startswith("Transfer-Encoding: chunked:") and rule in error, error


def test_chunk_extensions_and_trailers_are_accepted_and_the_connection_kept(local):
    body = b'2;name=value\r\nhi\r\n1 ; a="b c"\r\n!\r\n0\r\nX-Trailer: 1\r\n\r\n'
    with socket.create_connection(("127.0.0.1", local.port), timeout=10) as sock:
        sock.sendall(post(local, "Transfer-Encoding: chunked\r\n", body) + b"GET /v2.1/status HTTP/1.1\r\n\r\n")
        received = b""
        while not received.endswith(b'{"status":"ok"}'):
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 ") and b'"result":"hi!"' in received


@pytest.mark.parametrize("charset", ["unicode_escape", "utf-16", "UTF-7", "rot13", "no-such-codec", "zlib"])
def test_a_charset_we_do_not_take_is_a_415(local, charset):
    body = b"\\ud800"
    request = post(local, f"Connection: close\r\nContent-Length: {len(body)}\r\n", body)
    request = request.replace(b"text/plain", f"text/plain; charset={charset}".encode())
    status, error = status_and_error(exchange(local, request))
    assert status == 415 and error.startswith("Content-Type: charset"), error


@pytest.mark.parametrize(
    "charset, body, result",
    [
        ("US-ASCII", b"hi", "hi"),
        ("iso-8859-1", b"\xe9", "\u00e9"),
        ("Latin-1", b"\xe9", "\u00e9"),
        ("UTF-8", b"hi", "hi"),
    ],
)
def test_the_charsets_we_take(local, charset, body, result):
    request = post(local, f"Connection: close\r\nContent-Length: {len(body)}\r\n", body)
    request = request.replace(b"text/plain", f"text/plain; charset={charset}".encode())
    response = exchange(local, request)
    assert response.startswith(b"HTTP/1.1 200 "), response
    assert json.loads(response.split(b"\r\n\r\n", 1)[1])["result"] == result


def test_an_encoded_surrogate_in_utf_8_text_is_a_400(local):
    body = b"\xed\xa0\x80"
    request = post(local, f"Connection: close\r\nContent-Length: {len(body)}\r\n", body)
    status, error = status_and_error(exchange(local, request))
    assert status == 400 and error.startswith("body: not valid text"), error


def test_100_continue_is_sent_only_when_the_body_is_wanted(local):
    too_large = post(local, "Expect: 100-continue\r\nContent-Length: 20000000\r\n", b"")
    response = exchange(local, too_large)
    assert response.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in response
    unauthorised = too_large.replace(local.token.encode(), b"wrong").replace(b"20000000", b"2")
    response = exchange(local, unauthorised)
    assert response.startswith(b"HTTP/1.1 401 ") and b"100 Continue" not in response
    with socket.create_connection(("127.0.0.1", local.port), timeout=10) as sock:
        sock.sendall(post(local, "Expect: 100-continue\r\nConnection: close\r\nContent-Length: 2\r\n", b""))
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hi")
        assert b'"result":"hi"' in sock.makefile("rb").read()


def test_head_pipelining_and_odd_request_targets(local):
    with socket.create_connection(("127.0.0.1", local.port), timeout=10) as sock:
        sock.sendall(
            b"HEAD /v2.1/status HTTP/1.1\r\n\r\n" * 3 + b"GET /v2.1/status HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        received = sock.makefile("rb").read()
    assert received.count(b"HTTP/1.1 200 OK") == 4 and received.endswith(b'{"status":"ok"}')
    assert received.count(b'{"status":"ok"}') == 1
    for target in (b"http://[/v2.1/status", b"*", b"/v2.1/%ff%fe", b"/v2.1/\xff"):
        response = exchange(local, b"GET " + target + b" HTTP/1.1\r\nConnection: close\r\n\r\n")
        status = int(response.split(b" ", 2)[1])
        assert 400 <= status < 500, response
        assert "error" in json.loads(response.split(b"\r\n\r\n", 1)[1])


def test_headers_over_the_limit_are_a_431(local):
    headers = b"".join(b"X-Big-%d: %s\r\n" % (i, b"x" * 60000) for i in range(6))
    response = exchange(local, b"GET /v2.1/status HTTP/1.1\r\n" + headers + b"\r\n")
    assert response.startswith(b"HTTP/1.1 431 ")


def _closed_after(sock: socket.socket, send: List[bytes], pause: float, limit: float) -> Tuple[float, bytes]:
    """Trickle `send` a piece per pause; seconds until the server closed (or `limit`), and what it answered."""
    start = time.monotonic()
    received = b""
    sock.settimeout(pause)
    pieces = iter(send)
    while time.monotonic() - start < limit:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            piece = next(pieces, b"")
            try:
                sock.sendall(piece) if piece else None
            except OSError:
                break
            continue
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    return time.monotonic() - start, received


def test_silent_and_trickling_clients_are_cut_off(local, monkeypatch):
    """Idle: 5 s; headers: 10 s from the first byte; body: 20 s plus 1 s per 64 KiB. Here the same cut-offs with
    those times shortened to 1, 2 and 3 s (the server runs in this process), so the test does not wait 20 s for
    them; the bounds are generous."""
    assert (http_handler.KEEP_ALIVE_TIMEOUT, http_handler.HEADER_TIMEOUT, http_handler.BODY_TIMEOUT) == (5, 10, 20)
    monkeypatch.setattr(http_handler, "KEEP_ALIVE_TIMEOUT", 1.0)
    monkeypatch.setattr(http_handler, "HEADER_TIMEOUT", 2.0)
    monkeypatch.setattr(http_handler, "BODY_TIMEOUT", 3.0)
    body_head = post(local, "Content-Length: 1000\r\n", b"")
    cases = {
        "silent": [],
        "headers": [b"GET /v2.1/status HTTP/1.1\r\n"] + [b"X-A: b\r\n"] * 100,
        "body": [body_head] + [b"x"] * 100,
    }
    results = {}

    def run(name: str) -> None:
        with socket.create_connection(("127.0.0.1", local.port), timeout=10) as sock:
            results[name] = _closed_after(sock, cases[name], pause=0.1, limit=30)

    threads = [threading.Thread(target=run, args=(name,)) for name in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0.9 < results["silent"][0] < 6 and results["silent"][1] == b""
    assert 1.9 < results["headers"][0] < 9
    elapsed, answer = results["body"]
    assert 2.9 < elapsed < 12 and answer.startswith(b"HTTP/1.1 408 "), answer
