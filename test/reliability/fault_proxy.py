"""A fault-injecting HTTP(S) proxy on 127.0.0.1 for the reliability tests: it sits between the client and a server
and injects, on the connections that follow :meth:`FaultProxy.inject`, the faults a client meets in the wild.

Every connection carries one request (answers say ``Connection: close``), so the next fault lands on the next
attempt, and "reset before forwarding" is a reset of a connection on which the client has not sent anything: with
TLS (the default, as in front of the real service) the reset hits the handshake, before any request byte. Example::

    with FaultProxy("http://127.0.0.1:8900", tls=server_context) as proxy:
        proxy.inject(Fault.RESET_AFTER)          # the next request reaches the server; its answer is lost
        ...                                       # the client calls https://127.0.0.1:<proxy.port>/v2.1/...
        proxy.injected[Fault.RESET_AFTER]        # 1
"""

import enum
import http.client
import json
import os
import select
import socket
import ssl
import struct
import threading
from collections import Counter, deque
from typing import Deque, List, Optional, Tuple
from urllib.parse import urlsplit

__all__ = ["Fault", "FaultProxy"]

HEAD_LIMIT = 64 * 1024
#: The longest a "slow" answer is held back; the client is expected to give up well before.
SLOW_LIMIT = 30.0
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}


class Fault(enum.Enum):
    RESET_BEFORE = "connection reset before forwarding"
    RESET_AFTER = "connection reset after forwarding"
    TOO_MANY_REQUESTS = "429 with Retry-After"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    SLOW = "slow response past the read timeout"
    TRUNCATED = "truncated body"
    UNAVAILABLE_AFTER = "503 after forwarding"
    TLS_ERROR_AFTER = "TLS failure after forwarding"

    @property
    def forwards(self) -> bool:
        """Whether the server sees (and acts on) the request."""
        return self in (Fault.RESET_AFTER, Fault.SLOW, Fault.TRUNCATED, Fault.UNAVAILABLE_AFTER, Fault.TLS_ERROR_AFTER)


ANSWERS = {Fault.TOO_MANY_REQUESTS: 429, Fault.BAD_GATEWAY: 502, Fault.UNAVAILABLE: 503}
#: A TLS application-data record that no key decrypts: the client's TLS layer fails on it ("bad record mac").
BOGUS_TLS_RECORD = b"\x17\x03\x03\x00\x20" + bytes(32)


class FaultProxy:
    """Forwards each connection's request to ``upstream`` (plain HTTP) unless a fault is queued for it."""

    def __init__(self, upstream: str, tls: Optional[ssl.SSLContext] = None) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.tls = tls
        #: Headers of the injected 429 and 503 answers: how long the client is asked to wait.
        self.wait_headers: List[Tuple[str, str]] = [("Retry-After", "0")]
        self._queue: Deque[Fault] = deque()
        self._lock = threading.Lock()
        self.injected: Counter = Counter()
        self.requests_forwarded = 0
        self.connections = 0
        #: The request targets (path and query) as they arrived, newest last.
        self.targets: Deque[str] = deque(maxlen=100)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so the accept loop sees the stop
        self.port = self._listener.getsockname()[1]
        self._threads: List[threading.Thread] = []
        self._stopped = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` connections (after the faults already queued)."""
        with self._lock:
            self._queue.extend([fault] * times)

    def pending(self) -> int:
        """Faults queued and not yet injected."""
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
        self.wait_headers = [("Retry-After", "0")]

    def __enter__(self) -> "FaultProxy":
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._acceptor.join(5)
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                fault = self._queue.popleft() if self._queue else None
                if fault is not None:
                    self.injected[fault] += 1
                self.connections += 1
            if fault is Fault.RESET_BEFORE:
                _reset(client)  # before the TLS handshake: the client cannot have sent a byte of its request
                continue
            thread = threading.Thread(target=self._serve, args=(client, fault), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, client: socket.socket, fault: Optional[Fault]) -> None:
        try:
            client.settimeout(10)
            if self.tls is not None:
                client = self.tls.wrap_socket(client, server_side=True)
            method, target, headers, body = _read_request(client)
            self.targets.append(target)
            if fault in ANSWERS:
                extra = self.wait_headers if fault is not Fault.BAD_GATEWAY else []
                _send(client, _injected(fault, ANSWERS[fault], extra))
                return
            answer = self._forward(method, target, headers, body)
            if fault is Fault.RESET_AFTER:
                _reset(client)
            elif fault is Fault.UNAVAILABLE_AFTER:  # a gateway that timed out waiting for the server's answer
                _send(client, _injected(fault, 503, self.wait_headers))
            elif fault is Fault.TLS_ERROR_AFTER:
                _send_raw(client, BOGUS_TLS_RECORD)
            elif fault is Fault.SLOW:
                select.select([client], [], [], SLOW_LIMIT)  # until the client gives up and closes
            elif fault is Fault.TRUNCATED:
                head, _, payload = answer.partition(b"\r\n\r\n")
                if payload:  # half the body
                    _send(client, head + b"\r\n\r\n" + payload[: len(payload) // 2])
                else:  # no body to cut (204): half the status line
                    _send(client, head[: head.index(b"\r\n") // 2])
            else:
                _send(client, answer)
        except OSError:
            pass  # the client went away; nothing to tell anyone
        finally:
            client.close()

    def _forward(self, method: str, target: str, headers: List[Tuple[str, str]], body: bytes) -> bytes:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=SLOW_LIMIT)
        try:
            upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body)
            answer = upstream.getresponse()
            payload = answer.read()
            with self._lock:
                self.requests_forwarded += 1
            kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            return _response(answer.status, answer.reason, kept, payload)
        finally:
            upstream.close()


def _read_request(client: socket.socket) -> Tuple[str, str, List[Tuple[str, str]], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk or len(data) > HEAD_LIMIT:
            raise ConnectionError("no complete request head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]
    length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
    while len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            raise ConnectionError("request body cut short")
        body += chunk
    return method, target, headers, body[:length]


def _response(status: int, reason: str, headers: List[Tuple[str, str]], payload: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers), "Connection: close"]
    if status not in (204, 304):
        lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def _injected(fault: Fault, status: int, headers: List[Tuple[str, str]]) -> bytes:
    message = json.dumps({"error": f"{fault.value} (injected by the fault proxy)"}).encode()
    return _response(status, "Injected", [("Content-Type", "application/json"), *headers], message)


def _send(client: socket.socket, data: bytes) -> None:
    client.sendall(data)


def _send_raw(client: socket.socket, data: bytes) -> None:
    """Bytes on the TCP connection beneath the TLS layer (a duplicate of its descriptor), bypassing TLS."""
    with socket.socket(fileno=os.dup(client.fileno())) as raw:
        raw.sendall(data)


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN: what a crashed or overloaded peer looks like."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
