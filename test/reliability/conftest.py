"""Fixtures of the reliability suite: a local server, a TLS fault proxy in front of it, clients on both sides, a
ledger that counts on the server what creates under faults really made, and the tally printed at the end."""

import ssl
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, NamedTuple, Set

import pytest
from fault_proxy import FaultProxy

import ubiops
from ubiops.local import LocalServer, default_config

PROJECT, DEPLOYMENT, VERSION = "local", "echo", "v1"
#: Fast retries for tests: the waits are real, only short.
FAST_RETRIES = ubiops.RetryPolicy(total=3, backoff_factor=0.01, backoff_max=0.05, retry_after_max=5)


@dataclass
class Tally:
    """What the suite did, for the closing line: faults injected, calls made under faults, creates that were lost
    or duplicated, fuzz cases run."""

    faults: int = 0
    calls_under_faults: int = 0
    creates_checked: int = 0
    lost: int = 0
    duplicated: int = 0
    fuzz_cases: int = 0

    def line(self) -> str:
        return (
            f"reliability: faults injected: {self.faults}, calls under faults: {self.calls_under_faults}, "
            f"creates checked: {self.creates_checked}, lost: {self.lost}, duplicated: {self.duplicated}, "
            f"fuzz cases: {self.fuzz_cases}"
        )


TALLY = Tally()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.calls_under_faults or TALLY.fuzz_cases:
        terminalreporter.write_line(TALLY.line())


@pytest.fixture(scope="session")
def tally() -> Iterator[Tally]:
    yield TALLY


class Tls(NamedTuple):
    ca_file: str
    cert_file: str
    key_file: str
    server_context: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A throw-away CA and a certificate for 127.0.0.1 and localhost."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(folder / "cert.pem"), append=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return Tls(str(folder / "ca.pem"), str(folder / "cert.pem"), str(folder / "key.pem"), context)


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    with LocalServer(config=default_config()) as running:
        yield running


@pytest.fixture(scope="session")
def proxy(server: LocalServer, tls: Tls, tally: Tally) -> Iterator[FaultProxy]:
    with FaultProxy(server.url.rsplit("/v2.1", 1)[0], tls=tls.server_context) as running:
        yield running
        tally.faults += sum(running.injected.values())


@pytest.fixture(autouse=True)
def _clean_proxy(request: pytest.FixtureRequest) -> Iterator[None]:
    """No fault queued by one test lands on the next."""
    yield
    if "proxy" in request.fixturenames:
        request.getfixturevalue("proxy").clear()


@pytest.fixture(scope="session")
def direct_api(server: LocalServer) -> Iterator[ubiops.CoreApi]:
    """A client straight to the server, for setting up and for checking what the server holds."""
    with ubiops.ApiClient(server.configuration()) as client:
        yield ubiops.CoreApi(client)


@pytest.fixture(scope="session")
def faulty_api(server: LocalServer, proxy: FaultProxy, tls: Tls) -> Iterator[ubiops.CoreApi]:
    """A client that goes through the fault proxy over TLS, with fast retries."""
    configuration = server.configuration()
    configuration.host = proxy.url + "/v2.1"
    configuration.ssl_ca_cert = tls.ca_file
    configuration.retries = FAST_RETRIES
    with ubiops.ApiClient(configuration) as client:
        yield ubiops.CoreApi(client)


class Ledger:
    """Counts, on the server, the requests whose data carries a marker: how many times a create really happened."""

    GROUPS = ("pending", "processing", "completed,failed,cancelled,cancelled_pending")

    def __init__(self, api: ubiops.CoreApi) -> None:
        self.api = api
        self.data: Dict[str, Any] = {}

    @staticmethod
    def markers(count: int) -> List[str]:
        return [f"marker-{uuid.uuid4()}" for _ in range(count)]

    def count(self, marker: str) -> int:
        """Searches the newest requests of every status (listed in the order statuses move, so none is missed)."""
        seen: Set[str] = set()
        for status in self.GROUPS:
            listed = self.api.deployment_requests_list(PROJECT, DEPLOYMENT, status=status, limit=100)
            seen.update(record.id for record in listed)
        unknown = sorted(seen - set(self.data))
        for start in range(0, len(unknown), 250):
            for record in self.api.deployment_requests_batch_get(PROJECT, DEPLOYMENT, unknown[start : start + 250]):
                self.data[record.id] = record.request_data
        return sum(1 for request_id in seen if self.data.get(request_id) == marker)


@pytest.fixture(scope="session")
def ledger(direct_api: ubiops.CoreApi) -> Ledger:
    return Ledger(direct_api)
