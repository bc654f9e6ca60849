"""The helpers against a recording HTTP server that answers what a test queues: rate limits, failing batch calls,
and the calls that go on the wire."""

import socket
import time

import pytest
from recording_server import RecordingServer

import ubiops
from ubiops.utils import Pace, SubmitError, stream_request, submit_requests, wait_for_request

RECORD = {"id": "r1", "deployment": "d", "version": "v1", "status": "completed", "success": True, "result": "ok"}


def created(*ids: str):
    return [{"id": i, "deployment": "d", "version": "v1", "status": "pending"} for i in ids]


@pytest.fixture()
def recorder():
    with RecordingServer() as server:
        yield server


def api_for(url: str, retries: int = 0) -> ubiops.CoreApi:
    configuration = ubiops.Configuration(host=url, api_key={"Authorization": "Token t"}, retries=retries)
    return ubiops.CoreApi(ubiops.ApiClient(configuration))


def test_wait_honours_a_rate_limit_that_got_past_the_transport(recorder):
    recorder.answer(429, {"error": "rate limited"}, headers={"x-ratelimit-reset": "0.3"})
    recorder.answer(200, {**RECORD, "status": "processing"})
    recorder.answer(200, RECORD)
    recorder.answer(200, RECORD)
    pace = Pace(calls_per_minute=None)
    core_api = api_for(recorder.url)  # no transport retries: the 429 reaches the helper
    started = time.monotonic()
    record = wait_for_request(core_api, "p", "d", "r1", pace=pace)
    assert record.result == "ok"
    assert time.monotonic() - started >= 0.3  # waited what the server asked before calling again
    paths = [r.path for r in recorder.requests]
    assert paths[:3] == ["/v2.1/projects/p/deployments/d/requests/r1?metadata_only=true"] * 3
    assert paths[3] == "/v2.1/projects/p/deployments/d/requests/r1"  # the final record, with its data
    core_api.api_client.close()


def test_a_rate_limit_that_persists_raises_after_max_rate_limited_tries(recorder):
    for _ in range(3):
        recorder.answer(429, {"error": "rate limited"}, headers={"x-ratelimit-reset": "0"})
    core_api = api_for(recorder.url)
    with pytest.raises(ubiops.TooManyRequestsException):
        wait_for_request(core_api, "p", "d", "r1", pace=Pace(None, max_rate_limited=2))
    assert len(recorder.requests) == 3
    core_api.api_client.close()


def test_a_rejected_batch_stops_the_submission_and_says_what_was_created(recorder):
    recorder.answer(201, created("a", "b"))
    recorder.answer(400, {"error": "data[1]: expected a string"})
    core_api = api_for(recorder.url)
    items = iter(["i0", "i1", "i2", "i3", "i4", "i5", "i6"])
    with pytest.raises(SubmitError) as caught:
        submit_requests(core_api, "p", "d", items, batch_size=2, concurrency=1, pace=Pace(None))
    error = caught.value
    assert error.ids == ["a", "b", None, None]
    # a 400 is a refusal: the server created none of the batch
    assert (error.created, error.not_created, error.maybe_created) == ([range(0, 2)], [range(2, 4)], [])
    assert error.items == {2: "i2", 3: "i3"} and error.next_position == 4
    assert next(items) == "i4"  # nothing beyond the failed batch was read
    assert "created: 0-1; not created: 2-3; not read from the input: 4 onwards" in str(error)
    assert isinstance(error.__cause__, ubiops.BadRequestException)
    core_api.api_client.close()


def test_an_input_that_raises_stops_the_submission_and_keeps_what_was_read(recorder):
    recorder.answer(201, created("a", "b"))

    def items():
        yield from ["i0", "i1", "i2"]
        raise OSError("the input file went away")

    core_api = api_for(recorder.url)
    with pytest.raises(SubmitError) as caught:
        submit_requests(core_api, "p", "d", items(), batch_size=2, concurrency=1, pace=Pace(None))
    error = caught.value
    assert (error.ids, error.not_created, error.items, error.next_position) == (
        ["a", "b", None],
        [range(2, 3)],
        {2: "i2"},
        3,
    )
    assert str(error).startswith(
        "reading the input failed at position 3: OSError: the input file went away; created: 0-1"
    )
    assert len(recorder.requests) == 1  # the half-read batch was not sent
    core_api.api_client.close()


def test_a_server_fault_on_a_batch_leaves_its_positions_maybe_created(recorder):
    recorder.answer(500, {"error": "boom"})
    core_api = api_for(recorder.url)
    with pytest.raises(SubmitError) as caught:
        submit_requests(core_api, "p", "d", ["x", "y"], pace=Pace(None))
    assert (caught.value.created, caught.value.maybe_created) == ([], [range(0, 2)])
    assert "maybe created (look them up before resending): 0-1" in str(caught.value)
    core_api.api_client.close()


def test_a_refused_connection_creates_nothing():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    core_api = api_for(f"http://127.0.0.1:{port}/v2.1")
    with pytest.raises(SubmitError) as caught:
        submit_requests(core_api, "p", "d", ["x", "y", "z"], batch_size=2, pace=Pace(None))
    assert caught.value.not_created == [range(0, 2), range(2, 3)] and caught.value.maybe_created == []
    core_api.api_client.close()


def test_submit_sends_timeout_priority_and_version(recorder):
    recorder.answer(201, created("a"))
    core_api = api_for(recorder.url)
    ids = submit_requests(core_api, "p", "d", [{"x": 1}], "v2", timeout=60, priority=0, pace=Pace(None))
    assert ids == ["a"]
    path = "/v2.1/projects/p/deployments/d/versions/v2/requests/batch?timeout=60&priority=0"
    assert recorder.requests[0].path == path
    assert recorder.requests[0].json == [{"x": 1}]
    core_api.api_client.close()


def test_stream_asks_for_an_event_stream(recorder):
    recorder.answer(
        200,
        b'data: hello\n\n{"id":"r1","status":"completed","success":true,"result":"ok"}\n',
        headers={"Content-Type": "text/event-stream"},
    )
    core_api = api_for(recorder.url)
    parts = list(stream_request(core_api, "p", "d", "in", timeout=30))
    assert parts[0] == "hello" and parts[1].result == "ok"
    sent = recorder.requests[0]
    assert sent.path == "/v2.1/projects/p/deployments/d/requests/stream?timeout=30"
    assert sent.headers["accept"] == "text/event-stream" and sent.headers["authorization"] == "Token t"
    core_api.api_client.close()
