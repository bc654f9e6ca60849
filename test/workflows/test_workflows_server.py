"""The workflow helpers against the local server: real HTTP, real SQLite, real deployment processes."""

import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

import ubiops
from ubiops.local._worker import TRACEBACK_HINT
from ubiops.utils import (
    Pace,
    RequestFailedError,
    StreamError,
    WaitTimeoutError,
    collect_requests,
    iter_requests,
    run_requests,
    stream_request,
    submit_requests,
    wait_for_request,
)

PROJECT = "local"  # the project of the server in conftest.py


class CountingApiClient(ubiops.ApiClient):
    """Counts the calls that returned, by endpoint name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.returned: Dict[str, int] = Counter()
        self._count_lock = threading.Lock()

    def call(self, endpoint: Any, args: Any, kwargs: Any, with_http_info: bool) -> Any:
        result = super().call(endpoint, args, kwargs, with_http_info)
        with self._count_lock:
            self.returned[endpoint.name] += 1
        return result


def cancel(core_api: ubiops.CoreApi, deployment: str, request_id: str) -> None:
    core_api.deployment_requests_update(PROJECT, deployment, request_id, {"status": "cancelled"})


@pytest.mark.slow
def test_ten_thousand_items_come_back_in_input_order_none_lost_or_doubled(core_api, pace):
    items = [f"item {i}" for i in range(10_000)]
    ids = submit_requests(core_api, PROJECT, "echo-many", items, pace=pace)
    assert len(ids) == 10_000 and len(set(ids)) == 10_000
    records = collect_requests(core_api, PROJECT, "echo-many", ids, pace=pace)
    assert [r.id for r in records] == ids
    assert [r.result for r in records] == items
    listed = [r.id for r in iter_requests(core_api, PROJECT, "echo-many", status="completed,failed", pace=pace)]
    assert Counter(listed) == Counter(ids)  # on the server: each input exactly once, nothing else


def test_a_slow_deployment_costs_about_one_collect_per_250_final_records(server):
    items = [f"0.003{i:04d}" for i in range(1000)]  # the sleeper sleeps ~3 ms on each, 2 instances: ~1.5 s
    with CountingApiClient(server.configuration()) as api_client:
        core_api = ubiops.CoreApi(api_client)
        run_requests(core_api, PROJECT, "sleeper-many", ["0"] * 4, pace=Pace(None))  # started instances: no cold start
        api_client.returned.clear()
        records = run_requests(core_api, PROJECT, "sleeper-many", items, pace=Pace(None))
    assert [r.result for r in records] == items and {r.status for r in records} == {"completed"}
    assert api_client.returned["batch_deployment_requests_create"] == 4
    # the floor is 4 (250 final records each), plus polls in steps of ~50 requests near the end: no runaway polling
    assert api_client.returned["deployment_requests_batch_get"] <= 20


def test_the_one_call_reports_failures_on_their_items(core_api, pace):
    operations = ["add", "div", "pow", "mul"]
    items = [{"x": float(i), "y": float(i % 3), "op": operations[i % 4]} for i in range(40)]
    records = run_requests(core_api, PROJECT, "calculator", items, pace=pace, batch_size=7, concurrency=2)
    assert [r.request_data for r in records] == items
    for item, record in zip(items, records):
        if item["op"] == "pow":
            assert (record.status, record.result) == ("failed", None)
            assert (
                record.error_message == f"ValueError: unknown op 'pow': use one of add, sub, mul, div{TRACEBACK_HINT}"
            )
        elif item["op"] == "div" and item["y"] == 0:
            assert (
                record.error_message == f"ValueError: division by zero: y must not be 0 when op is div{TRACEBACK_HINT}"
            )
        else:
            assert record.status == "completed"
    some = [items[0], items[9], items[2], items[3]]  # add, div by 0, pow, mul
    with pytest.raises(RequestFailedError) as caught:
        run_requests(core_api, PROJECT, "calculator", some, pace=pace, raise_on_failure=True)
    assert [(position, r.status) for position, r in caught.value.failures] == [(1, "failed"), (2, "failed")]
    assert caught.value.records[0].result == {"result": 0.0}  # the successes are not lost
    assert "2 of 4 requests did not complete; first: position 1" in str(caught.value)


def test_wait_returns_the_final_record_with_its_data(core_api, pace):
    request_id = core_api.batch_deployment_requests_create(PROJECT, "echo", ["hello"])[0].id
    record = wait_for_request(core_api, PROJECT, "echo", request_id, pace=pace)
    assert (record.status, record.request_data, record.result) == ("completed", "hello", "hello")
    versioned = wait_for_request(core_api, PROJECT, "echo", request_id, "v1", pace=pace)
    assert versioned == record


def test_wait_gives_up_at_max_wait_naming_the_request_and_its_status(core_api, pace):
    request_id = core_api.batch_deployment_requests_create(PROJECT, "sleeper", ["30"])[0].id
    try:
        with pytest.raises(WaitTimeoutError) as caught:
            wait_for_request(core_api, PROJECT, "sleeper", request_id, max_wait=0.3, pace=pace)
        assert caught.value.request_id == request_id
        assert caught.value.last_status in ("pending", "processing")
        assert str(caught.value) == (
            f"request {request_id} is not final after 0.3 s of waiting; last status: {caught.value.last_status}"
        )
        assert isinstance(caught.value, TimeoutError)
    finally:
        cancel(core_api, "sleeper", request_id)


def test_collect_gives_up_at_max_wait_naming_the_unfinished_requests(core_api, pace):
    ids = [r.id for r in core_api.batch_deployment_requests_create(PROJECT, "sleeper", ["0", "30", "30", "30"])]
    try:
        with pytest.raises(WaitTimeoutError) as caught:
            collect_requests(core_api, PROJECT, "sleeper", ids, max_wait=0.5, pace=pace)
        unfinished = caught.value.unfinished
        assert set(ids[1:]) <= set(unfinished) <= set(ids)  # the quick one is usually done, but need not be
        assert set(unfinished.values()) <= {"pending", "processing"}
        assert str(caught.value).startswith(f"{len(unfinished)} of 4 requests are not final after 0.5 s of waiting: ")
    finally:
        core_api.deployment_requests_batch_cancel(PROJECT, "sleeper", ids)


def test_waiting_on_a_cancelled_request(core_api, pace):
    request_id = core_api.batch_deployment_requests_create(PROJECT, "sleeper", ["30"])[0].id
    threading.Timer(0.2, cancel, (core_api, "sleeper", request_id)).start()
    record = wait_for_request(core_api, PROJECT, "sleeper", request_id, pace=pace, max_wait=60)
    assert record.status == "cancelled"
    with pytest.raises(RequestFailedError, match=f"request {request_id} cancelled"):
        wait_for_request(core_api, PROJECT, "sleeper", request_id, pace=pace, raise_on_failure=True)


def test_waiting_on_a_request_that_runs_past_its_timeout(server, core_api, pace):
    """A timeout of 1 s (the server is one for tests, min_timeout=1; the client would check the API's least 10 s)."""
    configuration = server.configuration()
    configuration.client_side_validation = False
    with ubiops.ApiClient(configuration) as api_client:
        created = ubiops.CoreApi(api_client).batch_deployment_requests_create(PROJECT, "sleeper", ["60"], timeout=1)
    request_id = created[0].id
    with pytest.raises(RequestFailedError) as caught:
        wait_for_request(core_api, PROJECT, "sleeper", request_id, pace=pace, raise_on_failure=True, max_wait=60)
    assert caught.value.request_id == request_id
    assert caught.value.error_message == "Request exceeded its timeout of 1 seconds"


def test_collect_keeps_the_order_given_with_repeated_ids_and_a_version(core_api, pace):
    ids = submit_requests(core_api, PROJECT, "echo", ["a", "b", "c"], "v1", pace=pace)
    asked = [ids[2], ids[0], ids[2], ids[1]]
    records = collect_requests(core_api, PROJECT, "echo", asked, "v1", pace=pace)
    assert [r.result for r in records] == ["c", "a", "c", "b"]
    with pytest.raises(ubiops.NotFoundException):
        collect_requests(core_api, PROJECT, "echo", [*ids, str(uuid.uuid4())], pace=pace)


def test_paging_yields_each_request_exactly_once_even_while_new_ones_arrive(core_api, pace):
    ids = submit_requests(core_api, PROJECT, "echo-pages", (f"p{i}" for i in range(1_234)), pace=pace)
    collect_requests(core_api, PROJECT, "echo-pages", ids, pace=pace)
    paged = [r.id for r in iter_requests(core_api, PROJECT, "echo-pages", page_size=100, pace=pace)]
    assert len(paged) == 1_234 and set(paged) == set(ids)

    seen = []
    for record in iter_requests(core_api, PROJECT, "echo-pages", "v1", status="completed", page_size=100, pace=pace):
        seen.append(record.id)
        if len(seen) == 150:  # newer requests complete mid-way: every later offset shifts by 300
            late = submit_requests(core_api, PROJECT, "echo-pages", [f"late {i}" for i in range(300)], pace=pace)
            collect_requests(core_api, PROJECT, "echo-pages", late, pace=pace)
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(ids) <= set(seen)  # nothing that was there before is missed


def test_submit_reads_a_generator_only_as_far_as_the_calls_in_flight(server, pace):
    client = CountingApiClient(server.configuration())
    core_api = ubiops.CoreApi(client)
    batch_size, concurrency = 250, 4
    ahead = []

    def items() -> Iterator[str]:
        for i in range(3_000):
            created = client.returned["batch_deployment_requests_create"] * batch_size
            ahead.append(i - created)
            yield str(i)

    ids = submit_requests(core_api, PROJECT, "echo", items(), batch_size=batch_size, concurrency=concurrency, pace=pace)
    assert len(ids) == 3_000
    assert max(ahead) < concurrency * batch_size  # never more than the batches in flight were read ahead
    client.close()


def _gate(tmp_path: Path) -> Path:
    return tmp_path / f"gate-{uuid.uuid4().hex}"


def test_stream_yields_parts_while_the_deployment_runs_then_the_final_response(core_api, tmp_path):
    gate = _gate(tmp_path)
    parts = []
    for part in stream_request(core_api, PROJECT, "streamer", {"n": 4, "gate": str(gate)}):
        parts.append(part)
        if part == "part 0":
            gate.touch()  # the deployment waits for this: so part 0 came while it was still running
    assert parts[:4] == ["part 0", "part 1", "part 2", "part 3"]
    final = parts[4]
    assert isinstance(final, ubiops.DeploymentRequestCreateResponse)
    assert (final.status, final.result, final.version) == ("completed", {"parts": 4}, "v1")
    assert len(parts) == 5


def test_stream_to_a_version(core_api):
    parts = list(stream_request(core_api, PROJECT, "streamer", {"n": 2, "gate": ""}, "v2", timeout=60))
    assert parts[:2] == ["part 0", "part 1"] and parts[2].version == "v2"


def test_a_failed_stream_raises_with_the_deployment_message(core_api):
    with pytest.raises(RequestFailedError, match="n must be >= 0, got -1") as caught:
        list(stream_request(core_api, PROJECT, "streamer", {"n": -1, "gate": ""}))
    assert caught.value.records[0].status == "failed"
    parts = list(stream_request(core_api, PROJECT, "streamer", {"n": -1, "gate": ""}, raise_on_failure=False))
    assert parts[-1].error_message == f"ValueError: n must be >= 0, got -1{TRACEBACK_HINT}"


def test_an_error_in_the_stream_raises_with_its_message(core_api, pace, tmp_path):
    gate = _gate(tmp_path)
    stream = stream_request(core_api, PROJECT, "streamer", {"n": 3, "gate": str(gate)})
    assert next(stream) == "part 0"
    processing = list(iter_requests(core_api, PROJECT, "streamer", status="processing", pace=pace))
    assert len(processing) == 1
    core_api.deployment_requests_delete(PROJECT, "streamer", processing[0].id)
    gate.touch()
    with pytest.raises(StreamError, match=r"the stream reported an error: .*deleted"):
        list(stream)


def test_stopping_a_stream_early_keeps_the_client_usable(core_api):
    stream = stream_request(core_api, PROJECT, "streamer", {"n": 3, "gate": ""})
    assert next(stream) == "part 0"
    stream.close()
    assert core_api.deployment_requests_create(PROJECT, "echo", "still fine").result == "still fine"
