"""Fixtures of the reliability suite: a local server, a TLS fault proxy in front of it, clients on both sides, a
ledger that counts on the server what creates under faults really made, and the tally printed at the end."""

import dataclasses
import ssl
from pathlib import Path
from typing import Any, Iterator

import pytest
from fault_proxy import FaultProxy
from reliability_support import FAST_RETRIES, TALLY, Ledger, Tally, Tls
from server_support import Servers

import ubiops
from ubiops.local import LocalServer, default_config


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY.calls_under_faults or TALLY.fuzz_cases or TALLY.requests_checked:
        terminalreporter.write_line(TALLY.line())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands its tally to the controller, which prints the sum (test/conftest.py)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["reliability_tally"] = dataclasses.asdict(TALLY)


@pytest.fixture(scope="session")
def tally() -> Iterator[Tally]:
    yield TALLY


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


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """Servers started by one test, all stopped at its end (even after a failure)."""
    running = Servers(tmp_path)
    yield running
    running.close()


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


@pytest.fixture(scope="session")
def ledger(direct_api: ubiops.CoreApi) -> Ledger:
    return Ledger(direct_api)
