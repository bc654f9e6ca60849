"""The workflow helpers' parts that need no server: poll intervals, the call budget, the event-stream reader, the
error texts, argument checks and the progress display."""

import io
import sys

import pytest

import ubiops
from ubiops.exceptions import UbiOpsException
from ubiops.models import DeploymentRequestDetail
from ubiops.utils import (
    Backoff,
    Pace,
    RequestFailedError,
    StreamError,
    SubmitError,
    collect_requests,
    iter_requests,
    run_requests,
    submit_requests,
    wait_for_request,
)
from ubiops.utils._progress import open_progress
from ubiops.utils.errors import ranges_text
from ubiops.utils.stream import _events


def test_backoff_starts_below_a_second_and_grows_with_jitter_to_the_cap():
    backoff = Backoff(first=0.1, factor=2, cap=1.0, jitter=0.2)
    delays = backoff.delays()
    series = [next(delays) for _ in range(12)]
    assert 0.08 <= series[0] <= 0.12
    assert 0.16 <= series[1] <= 0.24
    assert all(delay <= 1.0 for delay in series)
    assert series[-1] >= 0.8  # reached the cap, spread by at most the jitter
    assert len({round(d, 9) for d in series[-5:]}) > 1  # jitter: not all in step


def test_backoff_is_immutable_and_checks_its_values():
    backoff = Backoff()
    with pytest.raises(AttributeError):
        backoff.cap = 3  # type: ignore[misc]
    assert Backoff() == Backoff() and hash(Backoff()) == hash(Backoff())
    with pytest.raises(ValueError, match=r"`factor` must be a number >= 1\.0"):
        Backoff(factor=0.5)
    with pytest.raises(ValueError, match="`jitter`"):
        Backoff(jitter=1)
    with pytest.raises(ValueError, match=r"`cap` .* must be >= `first`"):
        Backoff(first=2, cap=1)


def test_pace_counts_calls_within_the_minute():
    pace = Pace(calls_per_minute=3)
    for _ in range(3):
        assert pace.delay() == 0
        pace.acquire()
    assert 59 < pace.delay() <= 60  # the fourth call would wait until the first is a minute old
    assert Pace(calls_per_minute=None).delay() == 0


def test_pace_holds_every_call_back_after_a_rate_limit():
    pace = Pace(calls_per_minute=None)
    pace.rate_limited(30)
    assert 29 < pace.delay() <= 30


def test_pace_checks_its_values():
    with pytest.raises(ValueError, match="`calls_per_minute` must be an int >= 1 or None, got 0") as raised:
        Pace(calls_per_minute=0)
    assert isinstance(raised.value, UbiOpsException)  # one `except UbiOpsException` catches every ubiops error
    with pytest.raises(ValueError, match="`max_rate_limited`"):
        Pace(max_rate_limited=-1)


def _chunks(data: bytes, size: int):
    return (data[i : i + size] for i in range(0, len(data), size))


STREAM_BODY = (
    b"data: part 0\n\n"
    b": a comment line\n"
    b"data: two\ndata: lines\n\n"
    b"data:no space\n\n"
    b'{"id":"r1","status":"completed","success":true,"result":{"parts":3},"error_message":null}\n'
)


@pytest.mark.parametrize("size", [1, 3, 7, len(STREAM_BODY)])
def test_event_stream_reader_joins_lines_whatever_the_chunking(size):
    events = list(_events(_chunks(STREAM_BODY, size)))
    assert events[:3] == ["part 0", "two\nlines", "no space"]
    assert events[3]["result"] == {"parts": 3}


def test_event_stream_reader_raises_on_an_error_line_or_event():
    with pytest.raises(StreamError, match="the stream reported an error: request 'x' was deleted"):
        list(_events(iter([b"data: a\n\n", b'{"error":"request \'x\' was deleted"}\n'])))
    with pytest.raises(StreamError, match="reported an error: out of memory"):
        list(_events(iter([b"event: error\ndata: out of memory\n\n"])))
    with pytest.raises(StreamError, match="not JSON"):
        list(_events(iter([b"{broken\n"])))


def test_submit_error_says_which_positions_were_created():
    error = SubmitError(
        ["a", "b", None, None, "e"],
        [range(2, 4)],
        [],
        {2: "x2", 3: "x3"},
        [(range(2, 4), ubiops.BadRequestException(400, "Bad Request", message="data[1]: expected a string"))],
    )
    assert error.created == [range(0, 2), range(4, 5)]
    assert error.next_position == 5
    assert str(error) == (
        "batch call for positions 2-3 failed: (400) Bad Request: data[1]: expected a string; created: 0-1, 4; "
        "not created: 2-3; not read from the input: 5 onwards"
    )
    assert ranges_text([range(7, 8), range(10, 20)]) == "7, 10-19"


def test_request_failed_error_carries_the_message_and_all_records():
    ok = DeploymentRequestDetail(id="r0", status="completed", result={"result": 1.0})
    bad = DeploymentRequestDetail(id="r1", status="failed", error_message="division by zero")
    error = RequestFailedError([(1, bad)], [ok, bad])
    assert str(error) == "1 of 2 requests did not complete; first: position 1, request r1 failed: division by zero"
    assert (error.request_id, error.error_message, error.records) == ("r1", "division by zero", [ok, bad])
    assert str(RequestFailedError([(0, bad)], [bad])) == "request r1 failed: division by zero"


def test_helpers_check_their_arguments_before_any_call():
    core_api = ubiops.CoreApi(ubiops.ApiClient(ubiops.Configuration(host="http://127.0.0.1:9/v2.1")))
    with pytest.raises(ubiops.ApiTypeError, match=r"wait_for_request: `core_api` must be a ubiops\.CoreApi"):
        wait_for_request(object(), "p", "d", "id")  # type: ignore[arg-type]
    with pytest.raises(ubiops.ApiValueError, match="submit_requests: `timeout` must be from 10 to 172800, got 5"):
        submit_requests(core_api, "p", "d", ["a"], timeout=5)
    with pytest.raises(ubiops.ApiValueError, match="submit_requests: `batch_size` must be from 1 to 250, got 251"):
        submit_requests(core_api, "p", "d", ["a"], batch_size=251)
    with pytest.raises(ubiops.ApiTypeError, match="`inputs` must be an iterable of items"):
        submit_requests(core_api, "p", "d", {"x": 1})
    with pytest.raises(ubiops.ApiTypeError, match=r"`request_ids\[1\]` must be a request id \(str\), got int"):
        collect_requests(core_api, "p", "d", ["a", 2])  # type: ignore[list-item]
    with pytest.raises(ubiops.ApiValueError, match="iter_requests: `page_size` must be >= 1, got 0"):
        iter_requests(core_api, "p", "d", page_size=0)
    with pytest.raises(ubiops.ApiTypeError, match="run_requests: `version` must be a str, got int"):
        run_requests(core_api, "p", "d", ["a"], version=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`max_wait` must be a number of seconds >= 0 or None, got -1"):
        wait_for_request(core_api, "p", "d", "id", max_wait=-1)
    assert submit_requests(core_api, "p", "d", []) == []  # nothing to send: no call at all
    core_api.api_client.close()


def test_progress_off_prints_nothing_and_plain_progress_prints_lines(monkeypatch, capsys):
    with open_progress(False, "submit", 10) as shown:
        shown.update(5, failed=1)
    assert capsys.readouterr() == ("", "")
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if the progress extra were not installed
    monkeypatch.setattr("ubiops.utils._progress.PLAIN_INTERVAL", 0.0)
    with open_progress(True, "requests", 10) as shown:
        shown.update(5, failed=1)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("requests: 5/10 (50%) requests, 1 failed, ")
    assert len(err) == 2  # the update and the final line


def test_tqdm_progress_goes_to_stderr(monkeypatch):
    pytest.importorskip("tqdm")
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with open_progress(True, "collect", 4) as shown:
        shown.update(4, failed=0)
    assert "collect: 100%" in stderr.getvalue() and "4/4" in stderr.getvalue()
