"""Every fault the proxy injects, against each of the 22 methods: what the caller sees, and, for creates, how many
requests the server really holds afterwards (exactly one when the server saw the request, none when it did not).

The rules under test: calls that are safe to repeat are retried after every fault; creates are retried only when
the server cannot have acted (a reset before the request was sent, 429). A create that may have reached the server
(any other answer, such as a 503 that a proxy may give after forwarding, or a lost answer) raises, naming the
risk, and is never repeated."""

import logging
from typing import Any, Dict, List, Optional, Tuple, Type

import pytest
from fault_proxy import Fault, FaultProxy
from reliability_support import DEPLOYMENT, PROJECT, VERSION, Ledger, Tally

import ubiops
from ubiops.api.endpoints import ENDPOINTS, Endpoint
from ubiops.exceptions import ApiConnectionError, ApiException, ApiTimeoutError, NotFoundException, ServiceException

#: The read timeout of calls under the slow fault: the proxy holds the answer back until the client gives up.
SLOW_READ_TIMEOUT = 0.5


def creates(endpoint: Endpoint) -> bool:
    return not endpoint.idempotent


def deletes(endpoint: Endpoint) -> bool:
    return endpoint.method == "DELETE" or endpoint.path.endswith("/delete")


def expected_error(endpoint: Endpoint, fault: Fault) -> Optional[Type[ApiException]]:
    """None: the call succeeds after a retry."""
    if fault in (Fault.RESET_BEFORE, Fault.TOO_MANY_REQUESTS):
        return None  # the server has not acted: every call is retried
    if creates(endpoint):
        return {
            Fault.BAD_GATEWAY: ServiceException,
            Fault.UNAVAILABLE: ServiceException,
            Fault.UNAVAILABLE_AFTER: ServiceException,
            Fault.RESET_AFTER: ApiConnectionError,
            Fault.TLS_ERROR_AFTER: ApiConnectionError,
            Fault.SLOW: ApiTimeoutError,
            Fault.TRUNCATED: ApiConnectionError,
        }[fault]
    if fault.forwards and deletes(endpoint):
        return NotFoundException  # the retry finds that the first attempt already deleted it
    return None


class Setup:
    """Requests made straight on the server for the methods that need some."""

    def __init__(self, api: ubiops.CoreApi) -> None:
        self.api = api
        self._done: Optional[str] = None

    def done(self) -> str:
        """A completed request (its input and output exist)."""
        if self._done is None:
            self._done = self.api.deployment_requests_create(PROJECT, DEPLOYMENT, "done").id
        return self._done

    def fresh(self, count: int) -> List[str]:
        return [r.id for r in self.api.batch_deployment_requests_create(PROJECT, DEPLOYMENT, ["fresh"] * count)]


@pytest.fixture(scope="module")
def setup(direct_api: ubiops.CoreApi) -> Setup:
    return Setup(direct_api)


def arguments(endpoint: Endpoint, setup: Setup, markers: List[str]) -> Tuple[List[Any], Dict[str, Any]]:
    values: Dict[str, Any] = {"project_name": PROJECT, "deployment_name": DEPLOYMENT, "version": VERSION}
    kwargs: Dict[str, Any] = {}
    base = endpoint.name.replace("deployment_version_requests", "deployment_requests")
    if base == "batch_deployment_requests_create":
        values["data"] = markers
    elif base == "deployment_requests_create":
        values["data"] = markers[0]
    elif base in ("deployment_requests_batch_cancel", "deployment_requests_batch_delete"):
        values["data"] = setup.fresh(2)
    elif base == "deployment_requests_batch_get":
        values["data"] = [setup.done()]
    elif base in ("deployment_requests_delete", "deployment_requests_update"):
        values["request_id"] = setup.fresh(1)[0]
        if base == "deployment_requests_update":
            values["data"] = {"status": "cancelled"}
    elif base == "deployment_requests_list":
        kwargs["limit"] = 5
    else:  # get, input_get, output_get
        values["request_id"] = setup.done()
    return [values[name] for name in endpoint.positional], kwargs


def marker_count(endpoint: Endpoint) -> int:
    if not creates(endpoint):
        return 0
    return 3 if "batch" in endpoint.name else 1


def retry_lines(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ubiops" and r.getMessage().startswith("Retrying")]


@pytest.mark.parametrize("fault", list(Fault), ids=lambda f: f.name.lower())
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_fault(
    endpoint: Endpoint,
    fault: Fault,
    faulty_api: ubiops.CoreApi,
    proxy: FaultProxy,
    setup: Setup,
    ledger: Ledger,
    tally: Tally,
    caplog: pytest.LogCaptureFixture,
) -> None:
    markers = Ledger.markers(marker_count(endpoint))
    args, kwargs = arguments(endpoint, setup, markers)
    if fault is Fault.SLOW:
        kwargs["_request_timeout"] = (10, SLOW_READ_TIMEOUT)
    expected = expected_error(endpoint, fault)
    before = proxy.injected[fault]
    caplog.set_level(logging.INFO, logger="ubiops")

    proxy.inject(fault)
    tally.calls_under_faults += 1
    method = getattr(faulty_api, endpoint.name)
    if expected is None:
        method(*args, **kwargs)
        assert len(retry_lines(caplog)) == 1, retry_lines(caplog)
    else:
        with pytest.raises(expected) as raised:
            method(*args, **kwargs)
        assert type(raised.value) is expected
        text = str(raised.value)
        assert endpoint.method in text or raised.value.status, text
        if creates(endpoint):
            assert "not retried" in text and "may have acted" in text, text
            assert retry_lines(caplog) == []
        else:
            assert "earlier attempt may have reached the server" in text, text
    assert proxy.injected[fault] == before + 1 and proxy.pending() == 0

    for marker in markers:
        found = ledger.count(marker)
        wanted = 1 if fault.forwards or fault in (Fault.RESET_BEFORE, Fault.TOO_MANY_REQUESTS) else 0
        tally.creates_checked += 1
        tally.lost += found < wanted
        tally.duplicated += found > wanted
        assert found == wanted, f"{endpoint.name} under {fault.value}: {found} requests made, {wanted} expected"
