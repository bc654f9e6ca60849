"""A create is never made twice unless the caller opted in, and the caller always learns whether it may have been
made: a 503 answered after the proxy forwarded the create, the ``sent`` attribute of every transport error, the
submit helper's report after a TLS failure, the whole-attempt ``_request_timeout`` against a server that trickles
its answer, and the status of a 2xx answer that cannot be decoded."""

import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List

import pytest
from fault_proxy import Fault, FaultProxy
from reliability_support import DEPLOYMENT, FAST_RETRIES, PROJECT, VERSION, Ledger, Tally

import ubiops
from ubiops.exceptions import ApiConnectionError, ApiTimeoutError, ServiceException
from ubiops.utils import Pace, SubmitError, stream_request, submit_requests

#: What the trickling server waits between two bytes of its answer.
TRICKLE_GAP = 0.5
#: Extra seconds a call may take beyond its timeout on a loaded machine.
SLACK = 2.0


def _stream(api: ubiops.CoreApi, marker: str) -> Any:
    """The streaming create (``stream_request``), read to its end."""
    return list(stream_request(api, PROJECT, DEPLOYMENT, marker))


#: Every create, as (name, call with one marker): the four CoreApi methods and the stream.
CREATES: List[Any] = [
    ("deployment_requests_create", lambda api, m, **o: api.deployment_requests_create(PROJECT, DEPLOYMENT, m, **o)),
    (
        "deployment_version_requests_create",
        lambda api, m, **o: api.deployment_version_requests_create(PROJECT, DEPLOYMENT, VERSION, m, **o),
    ),
    (
        "batch_deployment_requests_create",
        lambda api, m, **o: api.batch_deployment_requests_create(PROJECT, DEPLOYMENT, [m], **o),
    ),
    (
        "batch_deployment_version_requests_create",
        lambda api, m, **o: api.batch_deployment_version_requests_create(PROJECT, DEPLOYMENT, VERSION, [m], **o),
    ),
]


def _count(ledger: Ledger, tally: Tally, marker: str, wanted: int) -> int:
    found = ledger.count(marker)
    tally.creates_checked += 1
    tally.lost += found < wanted
    tally.duplicated += found > wanted
    return found


@pytest.mark.parametrize("create", [c for _, c in CREATES] + [_stream], ids=[n for n, _ in CREATES] + ["stream"])
def test_a_create_answered_503_after_it_was_forwarded_is_made_once(
    create: Callable[..., Any], faulty_api: ubiops.CoreApi, proxy: FaultProxy, ledger: Ledger, tally: Tally
) -> None:
    [marker] = Ledger.markers(1)
    proxy.inject(Fault.UNAVAILABLE_AFTER)
    tally.calls_under_faults += 1
    forwarded = proxy.requests_forwarded
    with pytest.raises(ServiceException) as raised:
        create(faulty_api, marker)
    assert raised.value.status == 503 and raised.value.sent is True
    assert "not retried" in str(raised.value) and "retry_creates_on" in str(raised.value)
    assert proxy.requests_forwarded == forwarded + 1  # not sent again
    assert _count(ledger, tally, marker, 1) == 1


@pytest.mark.parametrize("create", [c for _, c in CREATES], ids=[n for n, _ in CREATES])
def test_a_caller_who_opts_in_gets_the_503_retried_and_may_get_a_duplicate(
    create: Callable[..., Any], faulty_api: ubiops.CoreApi, proxy: FaultProxy, ledger: Ledger, tally: Tally
) -> None:
    [marker] = Ledger.markers(1)
    policy = ubiops.RetryPolicy(total=1, backoff_factor=0.01, backoff_max=0.02, retry_creates_on={503})
    proxy.inject(Fault.UNAVAILABLE_AFTER)
    tally.calls_under_faults += 1
    create(faulty_api, marker, _retries=policy)
    assert proxy.pending() == 0
    assert ledger.count(marker) == 2  # the documented risk of the opt-in: the proxy had forwarded the first one


@pytest.mark.parametrize(
    ("fault", "sent"),
    [(Fault.RESET_BEFORE, False), (Fault.RESET_AFTER, True), (Fault.TLS_ERROR_AFTER, True), (Fault.UNAVAILABLE, True)],
    ids=lambda value: value.name.lower() if isinstance(value, Fault) else str(value),
)
def test_every_transport_error_says_whether_the_request_was_sent(
    fault: Fault, sent: bool, faulty_api: ubiops.CoreApi, proxy: FaultProxy, tally: Tally
) -> None:
    proxy.inject(fault)
    tally.calls_under_faults += 1
    with pytest.raises(ubiops.ApiException) as raised:
        faulty_api.deployment_requests_list(PROJECT, DEPLOYMENT, limit=1, _retries=0)
    assert raised.value.sent is sent


def test_a_batch_whose_create_failed_in_tls_after_it_was_sent_is_reported_maybe_created(
    faulty_api: ubiops.CoreApi, proxy: FaultProxy, ledger: Ledger, tally: Tally
) -> None:
    markers = Ledger.markers(2)
    proxy.inject(Fault.TLS_ERROR_AFTER)
    tally.calls_under_faults += 1
    with pytest.raises(SubmitError) as raised:
        submit_requests(faulty_api, PROJECT, DEPLOYMENT, markers, pace=Pace(None))
    error = raised.value
    assert (error.not_created, error.maybe_created) == ([], [range(0, 2)])
    assert isinstance(error.errors[0][1], ApiConnectionError) and error.errors[0][1].sent is True
    assert [_count(ledger, tally, marker, 1) for marker in markers] == [1, 1]  # it was created: not "not created"


def test_a_batch_that_was_never_sent_is_reported_not_created(
    faulty_api: ubiops.CoreApi, proxy: FaultProxy, ledger: Ledger, tally: Tally
) -> None:
    markers = Ledger.markers(2)
    proxy.inject(Fault.RESET_BEFORE, times=FAST_RETRIES.total + 1)
    tally.calls_under_faults += 1
    with pytest.raises(SubmitError) as raised:
        submit_requests(faulty_api, PROJECT, DEPLOYMENT, markers, pace=Pace(None))
    assert (raised.value.not_created, raised.value.maybe_created) == ([range(0, 2)], [])
    assert [_count(ledger, tally, marker, 0) for marker in markers] == [0, 0]


class CannedServer:
    """Answers every connection with ``answer``, ``gap`` seconds between two bytes (0: all at once)."""

    def __init__(self, answer: bytes, gap: float = 0.0) -> None:
        self.answer, self.gap = answer, gap
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v2.1"
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            try:
                client.recv(65536)  # the request: small enough for one read
                if not self.gap:
                    client.sendall(self.answer)
                for byte in self.answer if self.gap else b"":
                    if self._stopped.wait(self.gap):
                        return
                    client.sendall(bytes([byte]))
            except OSError:
                pass  # the client gave up

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()


@contextmanager
def canned(answer: bytes, gap: float = 0.0) -> Iterator[ubiops.CoreApi]:
    server = CannedServer(answer, gap)
    configuration = ubiops.Configuration(host=server.url, api_key={"Authorization": "Token t"}, retries=0)
    try:
        with ubiops.ApiClient(configuration) as client:
            yield ubiops.CoreApi(client)
    finally:
        server.close()


#: 50 bytes at TRICKLE_GAP: 25 s for the whole answer, each byte well within any read timeout.
TRICKLED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: aaaaa\r\n\r\n[]"
TRICKLED_BODY = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n[" + b" " * 38 + b"]"


@pytest.mark.parametrize("answer", [TRICKLED_HEAD, TRICKLED_BODY], ids=["head", "body"])
def test_a_number_as_request_timeout_bounds_the_whole_attempt(answer: bytes) -> None:
    with canned(answer, TRICKLE_GAP) as api:
        started = time.monotonic()
        with pytest.raises(ApiTimeoutError) as raised:
            api.deployment_requests_list(PROJECT, DEPLOYMENT, _request_timeout=3)
        assert time.monotonic() - started < 3 + SLACK
        assert "_request_timeout (3 s)" in str(raised.value) and raised.value.sent is True


def test_an_answer_that_cannot_be_decoded_keeps_its_status() -> None:
    with canned(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{nope") as api:
        with pytest.raises(ApiConnectionError) as raised:
            api.deployment_requests_list(PROJECT, DEPLOYMENT)
        assert raised.value.reason == "Invalid response" and raised.value.status == 200
