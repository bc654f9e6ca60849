"""Findings of the review of the i9 change (compatibility with the public client and the official tools), each
proven against a real LocalServer on 127.0.0.1."""

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_helpers import Http, http_for

import ubiops
from ubiops.local import LocalServer, default_config
from ubiops.local.logfile import MAX_LINE, LogRecord, _Lines
from ubiops.local.logquery import compile_query, labels_of, parse_moment
from ubiops.local.validation import ApiError

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with LocalServer(config=default_config(), data_dir=tmp_path_factory.mktemp("data")) as started:
        yield started


@pytest.fixture(scope="module")
def http(server: LocalServer) -> Http:
    return http_for(server)


@pytest.fixture
def core_api(server: LocalServer) -> Iterator[ubiops.CoreApi]:
    configuration = ubiops.Configuration(
        host=server.url, api_key={"Authorization": server.token}, api_key_prefix={"Authorization": "Token"}
    )
    with ubiops.ApiClient(configuration) as api_client:
        yield ubiops.CoreApi(api_client)


def test_public_client_style_except_api_request_error(core_api: ubiops.CoreApi) -> None:
    """The public client raises ubiops.exceptions.ApiRequestError for a non-2xx answer; code that catches it by that
    name must work unchanged (it was an AttributeError raised while the except clause was evaluated)."""
    try:
        core_api.deployments_get(project_name="local", deployment_name="nope")
    except ubiops.exceptions.ApiRequestError as error:
        assert error.status == 404
        assert "nope" in error.get_body_message()
    else:
        pytest.fail("no exception")


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("start", "1" + "0" * 400 + ".0"),  # float() overflowed to infinity
        ("end", "9" * 400 + ".5"),
        ("start", "1" * 5000),  # past the int() digit limit
        ("query", "| " + "(" * 400 + 'a="b"' + ")" * 400),  # recursion
        ("query", "| " + "(" * 2000),
    ],
)
def test_logs_odd_query_parameters_are_200_or_400_never_500(http: Http, parameter: str, value: str) -> None:
    reply = http.request("GET", "/projects/local/logs", query={parameter: value})
    assert reply.status in (200, 400), reply
    if reply.status == 400:
        assert parameter in reply.json()["error"]


def test_deprecated_logs_odd_date_is_200_or_400(http: Http) -> None:
    reply = http.request("POST", "/projects/local/logs", json_body={"date": "1" + "0" * 400 + ".0"})
    assert reply.status in (200, 400), reply


_QUERY_PIECES = st.sampled_from(
    [
        "|=",
        "!=",
        "|~",
        "!~",
        "|",
        "{",
        "}",
        "(",
        ")",
        ",",
        "and",
        "or",
        "=",
        "==",
        "=~",
        "!~",
        "deployment_name",
        "level",
        '"echo"',
        '"a\\\\"',
        '"\\ud800"',
        "`x`",
        '"(?P<x>"',
        '"*"',
        '"a+"',
        " ",
        "é",
        "\\",
        '"',
        "`",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.lists(_QUERY_PIECES, max_size=40).map(" ".join)))
def test_any_query_compiles_or_is_a_400(query: str) -> None:
    record = LogRecord(1, "info", "echo", "v1", 1, "req", "a line")
    try:
        keep = compile_query(query)
    except ApiError as error:
        assert error.status == 400 and error.message.startswith("query: ")
        return
    assert keep(record, labels_of(record)) in (True, False)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=50), st.from_regex(r"[0-9]{1,60}(\.[0-9]{1,30})?", fullmatch=True)))
def test_any_moment_parses_or_is_a_400(raw: str) -> None:
    try:
        moment = parse_moment("start", raw)
    except ApiError as error:
        assert error.status == 400 and error.message.startswith("start: ")
        return
    assert moment is None or isinstance(moment, int)


class _Collect:
    def __init__(self) -> None:
        self.records: List[Tuple[Optional[str], bytes]] = []

    def record(self, level: str, deployment: str, version: str, process_id: int, request: Any, text: bytes) -> None:
        self.records.append((request, text))


@pytest.mark.parametrize("split", [1, 5, 20])
def test_a_marker_split_by_a_read_after_a_long_unterminated_line_is_still_a_marker(split: int) -> None:
    """A deployment prints a long text without a newline (a progress bar with \\r); the pump's read ends inside
    the worker's marker that follows. The marker must not be written as text, and the request must be known."""
    marker = b"\x1bubiops-local-0123456789abcdef:"
    log = _Collect()
    lines = _Lines(log, "info", "d", "v", 0, marker)  # type: ignore[arg-type]
    begin = marker + b"B req-1\n"
    lines.feed(b"x" * (MAX_LINE - 3) + begin[:split])
    lines.feed(begin[split:] + b"inside\n" + marker + b"E\n")
    lines.end()
    texts = b"".join(text for _, text in log.records)
    assert b"ubiops-local" not in texts and b"B req-1" not in texts, log.records
    assert (None, b"x" * (MAX_LINE - 3)) in log.records
    assert ("req-1", b"inside") in log.records


def test_logs_list_takes_a_datetime_or_an_int_as_the_public_client_does(core_api: ubiops.CoreApi) -> None:
    """The public client turns a non-str start or end into text; ours refused them with ApiTypeError."""
    now = datetime.now(timezone.utc)
    assert core_api.logs_list("local", start=now, end=now - timedelta(hours=1), limit=5) == []
    assert core_api.logs_list("local", start=int(now.timestamp()), end=0, limit=5) == []
    with pytest.raises(ubiops.ApiTypeError, match="start"):
        core_api.logs_list("local", start=True)


@pytest.mark.xfail(
    strict=True,
    reason="ubiops.utils.stream_request has this package's own signature (core_api, "
    "project, deployment, data, version); the public one is (client, project_name, reference_type, "
    "reference_name, version=None, data=None, timeout=3600, full_response=False)",
)
def test_public_stream_request_signature(core_api: ubiops.CoreApi) -> None:
    parts = list(ubiops.utils.stream_request(core_api.api_client, "local", "deployment", "echo", data="hi"))
    assert parts == []


def test_public_wait_for_deployment_version(core_api: ubiops.CoreApi, capsys: pytest.CaptureFixture) -> None:
    detail = ubiops.utils.wait_for_deployment_version(core_api.api_client, "local", "echo", "v1", timeout=10)
    assert (detail.version, detail.status) == ("v1", "available")
    assert capsys.readouterr().out.splitlines() == ["Deployment version: available"]
    with pytest.raises(ubiops.NotFoundException):
        ubiops.utils.wait_for_deployment_version(core_api, "local", "echo", "v9", quiet=True)
