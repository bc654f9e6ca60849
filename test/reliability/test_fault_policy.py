"""The retry policy under injected faults: bounded attempts, waits the server asks for (up to a cap), the per-call
and per-configuration override, the INFO line of every retry, and what a caller learns when retrying stops."""

import logging
import re
import socket
from typing import Iterator, List

import pytest
from fault_proxy import Fault, FaultProxy
from reliability_support import DEPLOYMENT, FAST_RETRIES, PROJECT, Ledger, Tally

import ubiops
from ubiops.exceptions import ApiConnectionError, ServiceException, TooManyRequestsException

RETRY_LINE = re.compile(
    r"^Retrying (GET|POST|PATCH|DELETE) https://127\.0\.0\.1:\d+/v2\.1/projects/local/deployments/echo/requests\S* "
    r"after (.+) \(retry (\d) of (\d)\) in (\d+\.\d\d) s$"
)


@pytest.fixture(autouse=True)
def info_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO, logger="ubiops")
    yield


def retries(caplog: pytest.LogCaptureFixture) -> List["re.Match[str]"]:
    lines = [r for r in caplog.records if r.name == "ubiops" and r.getMessage().startswith("Retrying")]
    assert all(r.levelno == logging.INFO for r in lines)
    matches = [RETRY_LINE.match(r.getMessage()) for r in lines]
    assert all(matches), [r.getMessage() for r in lines]
    return matches  # type: ignore[return-value]


def under(proxy: FaultProxy, tally: Tally, *faults: Fault) -> None:
    for fault in faults:
        proxy.inject(fault)
    tally.calls_under_faults += 1


def test_a_read_gives_up_after_the_bounded_number_of_attempts(faulty_api, proxy, tally, caplog):
    under(proxy, tally, *[Fault.UNAVAILABLE] * 5)
    with pytest.raises(ServiceException) as raised:
        faulty_api.deployment_requests_list(PROJECT, DEPLOYMENT)
    assert raised.value.status == 503
    assert "gave up after 4 attempts" in str(raised.value)
    assert proxy.pending() == 1  # 1 try + 3 retries, not one more
    assert [(m[2], m[3], m[4]) for m in retries(caplog)] == [("HTTP 503", str(n), "3") for n in (1, 2, 3)]


def test_a_create_never_sent_is_retried_and_the_caller_learns_it_was_not_sent(faulty_api, proxy, ledger, tally):
    [marker] = Ledger.markers(1)
    under(proxy, tally, *[Fault.RESET_BEFORE] * 4)
    with pytest.raises(ApiConnectionError) as raised:
        faulty_api.deployment_requests_create(PROJECT, DEPLOYMENT, marker)
    assert "the request was not sent" in str(raised.value) and "gave up after 4 attempts" in str(raised.value)
    assert ledger.count(marker) == 0


def test_a_create_survives_several_faults_in_a_row_and_is_made_once(faulty_api, proxy, ledger, tally, caplog):
    markers = Ledger.markers(2)
    under(proxy, tally, Fault.RESET_BEFORE, Fault.TOO_MANY_REQUESTS, Fault.TOO_MANY_REQUESTS)
    created = faulty_api.batch_deployment_requests_create(PROJECT, DEPLOYMENT, markers)
    assert len(created) == 2 and proxy.pending() == 0
    assert [m[3] for m in retries(caplog)] == ["1", "2", "3"]
    assert [ledger.count(marker) for marker in markers] == [1, 1]
    tally.creates_checked += 2


@pytest.mark.parametrize("header", ["Retry-After", "x-ratelimit-reset"])
def test_the_wait_the_server_asks_for_is_honoured(faulty_api, proxy, tally, caplog, header):
    proxy.wait_headers = [(header, "1")]
    under(proxy, tally, Fault.TOO_MANY_REQUESTS)
    faulty_api.deployment_requests_list(PROJECT, DEPLOYMENT, limit=1)
    [line] = retries(caplog)
    assert line[2] == "HTTP 429" and line[5] == "1.00"


def test_a_wait_past_the_cap_goes_to_the_caller_with_the_wait(faulty_api, proxy, tally, caplog):
    proxy.wait_headers = [("Retry-After", "600")]
    under(proxy, tally, Fault.TOO_MANY_REQUESTS, Fault.TOO_MANY_REQUESTS)
    with pytest.raises(TooManyRequestsException) as raised:
        faulty_api.deployment_requests_create(PROJECT, DEPLOYMENT, "capped")
    assert raised.value.retry_after == 600
    assert "retry_after_max" in str(raised.value) and "600" in str(raised.value)
    assert proxy.pending() == 1 and retries(caplog) == []


def test_a_503_asking_too_long_a_wait_is_not_retried(faulty_api, proxy, tally):
    proxy.wait_headers = [("x-ratelimit-reset", "3600")]
    under(proxy, tally, Fault.UNAVAILABLE)
    with pytest.raises(ServiceException, match="asked to wait 3600 s"):
        faulty_api.deployment_requests_list(PROJECT, DEPLOYMENT)


def test_a_call_can_turn_retries_off(faulty_api, proxy, tally, caplog):
    under(proxy, tally, Fault.UNAVAILABLE)
    with pytest.raises(ServiceException):
        faulty_api.deployment_requests_list(PROJECT, DEPLOYMENT, _retries=0)
    assert retries(caplog) == []


def test_a_call_can_bring_its_own_policy(faulty_api, proxy, tally, caplog):
    under(proxy, tally, *[Fault.UNAVAILABLE] * 5)
    policy = ubiops.RetryPolicy(total=5, backoff_factor=0.01, backoff_max=0.02)
    faulty_api.deployment_requests_list(PROJECT, DEPLOYMENT, _retries=policy)
    assert [m[4] for m in retries(caplog)] == ["5"] * 5


def test_the_configuration_sets_the_policy_of_every_call(server, proxy, tls, tally):
    configuration = server.configuration()
    configuration.host = proxy.url + "/v2.1"
    configuration.ssl_ca_cert = tls.ca_file
    configuration.retries = 1
    with ubiops.ApiClient(configuration) as client:
        under(proxy, tally, Fault.UNAVAILABLE, Fault.UNAVAILABLE)
        with pytest.raises(ServiceException, match="gave up after 2 attempts"):
            ubiops.CoreApi(client).deployment_requests_list(PROJECT, DEPLOYMENT, _retries=None)


def test_async_calls_retry_too(faulty_api, proxy, tally):
    under(proxy, tally, Fault.RESET_AFTER)
    thread = faulty_api.deployment_requests_list(PROJECT, DEPLOYMENT, limit=1, async_req=True)
    assert isinstance(thread.get(timeout=30), list)


def test_a_refused_connection_is_retried_then_named(tally, caplog):
    with socket.socket() as probe:  # a port with nothing behind it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = ubiops.Configuration(host=f"http://127.0.0.1:{port}/v2.1", api_key={"Authorization": "t"})
    configuration.retries = FAST_RETRIES
    with ubiops.ApiClient(configuration) as client:
        tally.calls_under_faults += 1
        with pytest.raises(ApiConnectionError) as raised:
            ubiops.CoreApi(client).deployment_requests_create(PROJECT, DEPLOYMENT, "x")
    text = str(raised.value)
    assert type(raised.value) is ApiConnectionError and raised.value.status == 0
    assert "could not connect" in text and "the request was not sent" in text and "gave up after 4 attempts" in text
    assert len([r for r in caplog.records if r.getMessage().startswith("Retrying")]) == 3


def test_over_plain_http_a_reset_create_is_never_made_twice(server, ledger, tally):
    """Without TLS the client usually has written its request before the reset arrives, so it cannot tell whether
    the server got it and does not repeat it; when the write itself failed, it knows and retries. Either way the
    request exists at most once, and exactly once when the call succeeded."""
    with FaultProxy(server.url.rsplit("/v2.1", 1)[0]) as plain:
        configuration = server.configuration()
        configuration.host = plain.url + "/v2.1"
        configuration.retries = FAST_RETRIES
        with ubiops.ApiClient(configuration) as client:
            api = ubiops.CoreApi(client)
            for marker in Ledger.markers(5):
                under(plain, tally, Fault.RESET_BEFORE)
                try:
                    api.deployment_requests_create(PROJECT, DEPLOYMENT, marker)
                    made = 1
                except ApiConnectionError as err:
                    assert "may have acted" in str(err) or "not sent" in str(err), err
                    made = 0
                assert ledger.count(marker) == made
                tally.creates_checked += 1
        tally.faults += sum(plain.injected.values())
