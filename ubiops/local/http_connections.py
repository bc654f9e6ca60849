"""Connections of the local server: a bounded number of them, each served in its own thread, with deadlines on reads.

When every slot is taken, a new connection waits in the listen backlog until one frees up, and the connection idle
the longest (waiting for its next request, its request line or headers, or a TLS handshake) is closed to make room:
so idle or trickling clients cannot starve a client that sends a request. The accept loop backs off when the
process is out of file descriptors instead of spinning on a listen socket that stays readable.
"""

import contextlib
import errno
import io
import logging
import math
import selectors
import socket
import ssl
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, List, Set, Tuple

logger = logging.getLogger("ubiops.local")

DEFAULT_MAX_CONNECTIONS = 128  #: connections served at once (one thread each)
WRITE_TIMEOUT = 60.0  #: seconds one write of a response may block on a client that does not read
ACCEPT_BACKOFF = (0.05, 1.0)  #: first and longest pause of the accept loop when out of file descriptors
EVICTION_WARNING_INTERVAL = 60.0  #: seconds between two warnings that the connection limit was reached
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class BudgetExceeded(Exception):
    """More bytes were read than the reader's budget allowed."""


class DeadlineReader(io.RawIOBase):
    """Reads from a socket until `deadline` (time.monotonic()); after it, TimeoutError, however slowly bytes came.

    `budget` caps the bytes read until it is reset (BudgetExceeded): it bounds the memory headers can take.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock
        self.deadline = math.inf
        self.budget = math.inf

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the read deadline has passed")
        self.sock.settimeout(None if math.isinf(left) else left)
        received = self.sock.recv_into(buffer)
        self.budget -= received
        if self.budget < 0:
            raise BudgetExceeded()
        return received


class SocketWriter(io.BufferedIOBase):
    """Writes all of each buffer, giving up after WRITE_TIMEOUT on a client that does not read."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sock.settimeout(WRITE_TIMEOUT)
        self.sock.sendall(data)
        return len(data)


class Connection:
    """One accepted connection; `sock` becomes the TLS socket once wrapped."""

    def __init__(self, sock: socket.socket, address: Any) -> None:
        self.sock = sock
        self.address = address

    def shut(self) -> None:
        """Shut the socket down from another thread: the connection's own blocked read or write ends at once."""
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)  # not SSLSocket.shutdown: it unwraps, racing reads


class ConnectionTable:
    """The open connections, at most `limit`; the idle ones in the order they became idle."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.Semaphore(limit)
        self._lock = threading.Lock()
        self._open: Set[Connection] = set()
        self._idle: OrderedDict[Connection, None] = OrderedDict()
        self._warned = -math.inf

    def reserve(self, stopping: threading.Event) -> bool:
        """Wait for a free slot, closing the connection idle the longest while there is none; False when stopping."""
        if self._free.acquire(blocking=False):
            return True
        while not stopping.is_set():
            with self._lock:
                victim = next(iter(self._idle), None)
                if victim is not None:
                    del self._idle[victim]
            if victim is not None:
                self._warn_full()
                victim.shut()  # its thread ends and frees its slot within a moment
            if self._free.acquire(timeout=0.05 if victim is None else 1.0):
                return True
        return False

    def _warn_full(self) -> None:
        now = time.monotonic()
        if now - self._warned >= EVICTION_WARNING_INTERVAL:
            self._warned = now
            logger.warning(
                "all %d connection slots are taken: closing idle connections to serve new ones (max_connections)",
                self.limit,
            )

    def add(self, connection: Connection) -> None:
        with self._lock:
            self._open.add(connection)
            self._idle[connection] = None

    def set_idle(self, connection: Connection, idle: bool) -> None:
        with self._lock:
            self._idle.pop(connection, None)
            if idle and connection in self._open:
                self._idle[connection] = None

    def remove(self, connection: Connection) -> None:
        with self._lock:
            self._open.discard(connection)
            self._idle.pop(connection, None)
        self._free.release()

    def sockets(self) -> List[socket.socket]:
        with self._lock:
            return [connection.sock for connection in self._open]

    def shut_all(self) -> None:
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            connection.shut()

    def shut_idle(self) -> int:
        """Shut the idle connections down; returns how many are busy (answering a request)."""
        with self._lock:
            idle = list(self._idle)
            busy = len(self._open) - len(idle)
        for connection in idle:
            connection.shut()
        return busy

    def __len__(self) -> int:
        return len(self._open)


Handle = Callable[[Connection], None]


class ConnectionServer:
    """Accepts connections on a listening socket and serves each with `handle` in a thread of its own."""

    def __init__(self, sock: socket.socket, handle: Handle, max_connections: int) -> None:
        self.socket = sock
        self.server_address: Tuple[Any, ...] = sock.getsockname()
        self.table = ConnectionTable(max_connections)
        self._handle = handle
        self._stopping = threading.Event()

    def serve_forever(self) -> None:
        pause = ACCEPT_BACKOFF[0]
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            while not self._stopping.is_set():
                if not selector.select(0.1):
                    continue
                try:
                    sock, address = self.socket.accept()
                except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                    continue
                except OSError as exc:
                    if self._stopping.is_set():
                        return
                    pause = self._back_off(exc, pause)
                    continue
                pause = ACCEPT_BACKOFF[0]
                self._start(Connection(sock, address))

    def _back_off(self, exc: OSError, pause: float) -> float:
        """Out of descriptors, the listen socket stays readable: wait (longer each time) instead of spinning."""
        if exc.errno in _OUT_OF_DESCRIPTORS:
            if pause == ACCEPT_BACKOFF[0]:
                logger.warning("cannot accept connections (%s); retrying with a pause of up to %ss", exc, pause)
        else:
            logger.error("accepting a connection failed: %s", exc)
        self._stopping.wait(pause)
        return min(pause * 2, ACCEPT_BACKOFF[1])

    def _start(self, connection: Connection) -> None:
        if not self.table.reserve(self._stopping):
            connection.sock.close()
            return
        self.table.add(connection)
        try:
            thread = threading.Thread(target=self._serve, args=(connection,), name="ubiops-local-connection")
            thread.daemon = True
            thread.start()
        except RuntimeError:  # no thread to be had (out of memory or a thread limit): drop this connection
            logger.error("cannot start a thread for a connection; closing it")
            self.table.remove(connection)
            connection.sock.close()

    def _serve(self, connection: Connection) -> None:
        try:
            self._handle(connection)
        except (OSError, ssl.SSLError, ValueError) as exc:  # the client went away, or closed mid-way
            logger.debug("connection from %s ended: %r", connection.address, exc)
        except Exception:
            logger.exception("connection from %s ended with an error", connection.address)
        finally:
            self.table.remove(connection)
            with contextlib.suppress(OSError):
                connection.sock.close()

    def shutdown(self) -> None:
        """Stop accepting (serve_forever returns) and close the listening socket."""
        self._stopping.set()

    def close_listener(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.close()

    def close_connections(self, wait: float) -> None:
        """Let the connections that answer a request finish it (a direct request's caller gets its final record at
        a stop) while idle ones are shut down; then shut down the rest and wait for their threads to end."""
        deadline = time.monotonic() + wait
        while self.table.shut_idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.table.shut_all()
        while len(self.table) and time.monotonic() < deadline:
            time.sleep(0.01)
