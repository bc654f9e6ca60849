"""Security of the transport: the token stays secret (logs at DEBUG including urllib3's, reprs, exception text),
TLS is verified by default, and the Authorization header does not follow a redirect to another host."""

import json
import logging
import threading
import traceback
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import pytest
from fault_proxy import Fault, FaultProxy
from reliability_support import DEPLOYMENT, FAST_RETRIES, PROJECT, Tally, Tls
from urllib3.exceptions import InsecureRequestWarning

import ubiops
from ubiops.exceptions import ApiConnectionError, ApiException, UnauthorizedException
from ubiops.local import LocalServer, default_config

# -- the token never shows -----------------------------------------------------------------------------------------


def texts_of(error: BaseException) -> List[str]:
    """Everything an exception can show: str, repr, args, attributes, and the formatted chain."""
    shown = [str(error), repr(error), repr(error.args), repr(vars(error))]
    shown.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    return shown


def test_the_token_never_appears_in_logs_reprs_or_errors(
    server: LocalServer, proxy: FaultProxy, tls: Tls, tally: Tally, caplog: pytest.LogCaptureFixture, capfd: Any
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: ubiops, urllib3 and everything else
    secrets = [server.token, "wrong-secret-token-9f3a"]
    configuration = server.configuration()
    configuration.host = proxy.url + "/v2.1"
    configuration.ssl_ca_cert = tls.ca_file
    configuration.retries = FAST_RETRIES
    configuration.debug = True
    shown: List[str] = [repr(configuration), str(configuration)]
    try:
        with ubiops.ApiClient(configuration) as client:
            api = ubiops.CoreApi(client)
            shown += [repr(client), repr(api)]
            for fault in Fault:
                proxy.inject(fault)
                tally.calls_under_faults += 1
                try:
                    api.deployment_requests_create(PROJECT, DEPLOYMENT, "secret test", _request_timeout=(10, 0.5))
                except ApiException as err:
                    shown += texts_of(err)
            for call in (
                lambda: api.deployment_requests_get(PROJECT, DEPLOYMENT, "no-such-request"),
                lambda: api.deployment_requests_list("no-such-project", DEPLOYMENT),
            ):
                with pytest.raises(ApiException) as raised:
                    call()
                shown += texts_of(raised.value)
            configuration.api_key["Authorization"] = secrets[1]
            with pytest.raises(UnauthorizedException) as raised:
                api.deployment_requests_list(PROJECT, DEPLOYMENT)
            shown += texts_of(raised.value) + [repr(configuration)]
    finally:
        configuration.debug = False
    refused = ubiops.Configuration(host="http://127.0.0.1:9/v2.1", api_key={"Authorization": secrets[0]}, retries=0)
    with ubiops.ApiClient(refused) as client, pytest.raises(ApiConnectionError) as raised:
        ubiops.CoreApi(client).deployment_requests_list(PROJECT, DEPLOYMENT)
    shown += texts_of(raised.value) + [repr(refused)]

    records = caplog.records
    assert any(r.name.startswith("urllib3") and r.levelno == logging.DEBUG for r in records)
    assert any(r.name == "ubiops" and r.levelno == logging.INFO for r in records)  # the retries
    shown += [r.getMessage() for r in records] + [repr(r.args) for r in records] + [caplog.text]
    shown += list(capfd.readouterr())  # the debug handler writes to stderr
    for secret in secrets:
        leaks = [text for text in shown if secret in text]
        assert leaks == [], leaks[0][:500]


# -- TLS -------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tls: Tls) -> Iterator[LocalServer]:
    with LocalServer(config=default_config(), certfile=tls.cert_file, keyfile=tls.key_file) as running:
        yield running


def test_tls_is_verified_by_default(tls_server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ubiops")
    configuration = tls_server.configuration()
    assert configuration.verify_ssl and tls_server.url.startswith("https://")
    with ubiops.ApiClient(configuration) as client, pytest.raises(ApiConnectionError) as raised:
        ubiops.CoreApi(client).deployment_requests_list(PROJECT, DEPLOYMENT)
    text = str(raised.value)
    assert raised.value.reason == "TLS error" and "not trusted" in text and "ssl_ca_cert" in text, text
    assert not [r for r in caplog.records if r.getMessage().startswith("Retrying")]  # retrying cannot help


def test_tls_works_with_the_ca_that_signed_the_certificate(tls_server: LocalServer, tls: Tls) -> None:
    configuration = tls_server.configuration()
    configuration.ssl_ca_cert = tls.ca_file
    with ubiops.ApiClient(configuration) as client:
        assert isinstance(ubiops.CoreApi(client).deployment_requests_list(PROJECT, DEPLOYMENT), list)


def test_unverified_tls_works_and_warns_once(tls_server: LocalServer) -> None:
    configuration = tls_server.configuration()
    configuration.verify_ssl = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ubiops.ApiClient(configuration) as client:
            api = ubiops.CoreApi(client)
            for _ in range(3):
                api.deployment_requests_list(PROJECT, DEPLOYMENT, limit=1)
    insecure = [w for w in caught if issubclass(w.category, InsecureRequestWarning)]
    assert len(insecure) == 1 and "verify_ssl is False" in str(insecure[0].message), [str(w.message) for w in caught]


# -- redirects -------------------------------------------------------------------------------------------------------


class Recorder(ThreadingHTTPServer):
    """Answers every request with ``answer(self, handler)``; keeps the headers it saw."""

    daemon_threads = True

    def __init__(self, answer: Any) -> None:
        self.seen: List[Dict[str, str]] = []
        self.answer = answer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler) -> None:
                self.seen.append({k.lower(): v for k, v in handler.headers.items()})
                self.answer(handler)

            def do_POST(handler) -> None:
                body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
                self.seen.append({**{k.lower(): v for k, v in handler.headers.items()}, "method": "POST", "body": body})
                self.answer(handler)

            def log_message(handler, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


def reply(handler: BaseHTTPRequestHandler, status: int, headers: Dict[str, str], body: bytes = b"") -> None:
    handler.send_response(status)
    for name, value in {**headers, "Content-Length": str(len(body))}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_the_token_does_not_follow_a_redirect_to_another_host(status: int) -> None:
    target = Recorder(lambda h: reply(h, 200, {"Content-Type": "application/json"}, json.dumps([]).encode()))
    elsewhere = f"http://localhost:{target.port}/v2.1/projects/local/deployments/echo/requests"
    origin = Recorder(lambda h: reply(h, status, {"Location": elsewhere}))
    try:
        configuration = ubiops.Configuration(
            host=f"http://127.0.0.1:{origin.port}/v2.1", api_key={"Authorization": "redirect-secret"}
        )
        with ubiops.ApiClient(configuration) as client:
            assert ubiops.CoreApi(client).deployment_requests_list(PROJECT, DEPLOYMENT) == []
    finally:
        origin.shutdown()
        target.shutdown()
    assert origin.seen[0]["authorization"] == "Token redirect-secret"
    assert len(target.seen) == 1 and "authorization" not in target.seen[0]


def test_a_redirect_on_the_same_host_keeps_the_token_and_the_chain_stops_after_5() -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        hop = len(origin.seen)
        reply(handler, 302, {"Location": f"/v2.1/projects/local/deployments/echo/requests?hop={hop}"})

    origin = Recorder(answer)
    try:
        configuration = ubiops.Configuration(
            host=f"http://127.0.0.1:{origin.port}/v2.1", api_key={"Authorization": "s"}
        )
        with ubiops.ApiClient(configuration) as client:
            with pytest.raises(ubiops.ApiRequestError) as caught:
                ubiops.CoreApi(client).deployment_requests_list(PROJECT, DEPLOYMENT)
    finally:
        origin.shutdown()
    assert caught.value.status == 302
    assert len(origin.seen) == 6  # the call and 5 redirects
    assert all(seen["authorization"] == "Token s" for seen in origin.seen)


def test_a_303_after_a_post_is_followed_by_a_get_without_the_body() -> None:
    target = Recorder(lambda h: reply(h, 200, {"Content-Type": "application/json"}, b"{}"))
    elsewhere = f"http://localhost:{target.port}/v2.1/done"
    origin = Recorder(lambda h: reply(h, 303, {"Location": elsewhere}))
    try:
        configuration = ubiops.Configuration(
            host=f"http://127.0.0.1:{origin.port}/v2.1", api_key={"Authorization": "s"}
        )
        with ubiops.ApiClient(configuration) as client:
            ubiops.CoreApi(client).deployment_requests_batch_cancel(PROJECT, DEPLOYMENT, data=[], status="pending")
    finally:
        origin.shutdown()
        target.shutdown()
    assert origin.seen[0]["method"] == "POST" and origin.seen[0]["body"] == b"[]"
    assert origin.seen[0]["content-type"] == "application/json"
    (followed,) = target.seen
    assert "method" not in followed  # a GET
    assert not {"content-type", "content-length", "authorization"} & set(followed)


# -- the wrong scheme ------------------------------------------------------------------------------------------------


def list_with(url: str) -> ApiConnectionError:
    configuration = ubiops.Configuration(host=url, api_key={"Authorization": "Token t"}, retries=FAST_RETRIES)
    with ubiops.ApiClient(configuration) as client, pytest.raises(ApiConnectionError) as raised:
        ubiops.CoreApi(client).deployment_requests_list(PROJECT, DEPLOYMENT)
    return raised.value


def test_https_to_a_plain_http_server_says_so_and_is_not_retried(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ubiops")
    error = list_with(server.url.replace("http://", "https://"))
    assert error.reason == "TLS error" and error.sent is False
    assert "the server answered in plain HTTP: use http:// in Configuration.host (" in error.message, error.message
    assert error.message.endswith("; the request was not sent (not retried: trying again cannot help)")
    assert not [r for r in caplog.records if r.getMessage().startswith("Retrying")]


def test_http_to_a_tls_server_that_resets_gets_no_guess(tls_server: LocalServer) -> None:
    """OpenSSL answers plain HTTP with no alert: it closes, which the client cannot tell from any other reset."""
    error = list_with(tls_server.url.replace("https://", "http://"))
    assert error.reason in ("Connection reset", "Connection closed")
    assert "TLS" not in error.message and "https://" not in error.message, error.message


class _AlertHandler(BaseHTTPRequestHandler):
    """A TLS server's answer to bytes that are no TLS: a fatal protocol_version alert record, then the close."""

    def handle(self) -> None:
        self.rfile.readline()
        self.wfile.write(bytes([21, 3, 1, 0, 2, 2, 70]))


def test_http_to_a_tls_server_that_sends_an_alert_says_it_may_speak_tls(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ubiops")
    alerting = ThreadingHTTPServer(("127.0.0.1", 0), _AlertHandler)
    threading.Thread(target=alerting.serve_forever, daemon=True).start()
    try:
        error = list_with(f"http://127.0.0.1:{alerting.server_address[1]}/v2.1")
    finally:
        alerting.shutdown()
        alerting.server_close()
    assert error.reason == "Invalid answer"
    assert error.message.endswith(
        "the answer starts with a TLS record, not an HTTP status line: the server may speak TLS: use https:// in "
        "Configuration.host (not retried: trying again cannot help)"
    ), error.message
    assert not [r for r in caplog.records if r.getMessage().startswith("Retrying")]
