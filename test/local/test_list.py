"""Listing requests: status filter, paging, ordering, date and id filters, and the errors for bad combinations."""

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import pytest
from local_helpers import LIST_FIELDS, Http, http_for, tool_deployment, wait_until

from ubiops.local import LocalServer

TOOL = "/projects/local/deployments/tool"
TOOL_V2 = f"{TOOL}/versions/v2"


@pytest.fixture(scope="module")
def http(tmp_path_factory) -> Any:
    config = {"deployments": [tool_deployment(versions=[{"name": "v1"}, {"name": "v2"}])]}
    with LocalServer(config, data_dir=tmp_path_factory.mktemp("data")) as server:
        yield http_for(server)


@pytest.fixture(scope="module")
def created(http) -> Dict[str, List[str]]:
    """60 completed and 5 failed requests on v1 (in creation order), 3 completed on v2."""
    completed = http.batch(TOOL, [f"ok {i}" for i in range(60)])
    failed = http.batch(TOOL, [f"raise:no {i}" for i in range(5)])
    other = http.batch(TOOL_V2, ["v2 a", "v2 b", "v2 c"])
    http.wait_all(TOOL, completed + failed + other)
    return {"completed": completed, "failed": failed, "v2": other}


def listed(http: Http, where: str = TOOL, **query: Any) -> List[Dict[str, Any]]:
    reply = http.get(f"{where}/requests", query=query or None)
    assert reply.status == 200, reply
    return list(reply.json())


def ids(records: List[Dict[str, Any]]) -> List[str]:
    return [record["id"] for record in records]


def error(http: Http, **query: Any) -> str:
    reply = http.get(f"{TOOL}/requests", query=query)
    assert reply.status == 400, reply
    return str(reply.json()["error"])


def test_default_is_the_50_newest_completed(http, created):
    records = listed(http)
    assert ids(records) == created["completed"][::-1][:50]
    assert all(set(r) == LIST_FIELDS and r["status"] == "completed" and r["success"] for r in records)


def test_limit_and_offset_page_through_the_list(http, created):
    pages = [ids(listed(http, limit=25, offset=offset)) for offset in (0, 25, 50)]
    assert pages[0] + pages[1] + pages[2] == created["completed"][::-1]
    assert len(pages[2]) == 10
    assert listed(http, offset=1000) == []
    assert len(listed(http, limit=1000, status="completed,failed")) == 65


def test_status_filter(http, created):
    assert sorted(ids(listed(http, status="failed"))) == sorted(created["failed"])
    both = listed(http, status="failed,completed", limit=1000)
    assert {r["status"] for r in both} == {"completed", "failed"} and len(both) == 65
    assert listed(http, status="cancelled") == []
    assert sorted(ids(listed(http, TOOL_V2))) == sorted(created["v2"])


def test_pending_and_processing(http, created):
    blocker, *waiting = http.batch(TOOL, ["sleep:30", "w1", "w2"])
    wait_until(lambda: listed(http, status="processing"), message="blocker processing")
    assert ids(listed(http, status="processing")) == [blocker]
    assert ids(listed(http, status="pending")) == waiting[::-1]
    assert http.post(f"{TOOL}/requests/cancel", json_body=[blocker, *waiting]).json() == {"cancelled": 3}
    http.wait_all(TOOL, [blocker, *waiting])
    assert listed(http, status="cancelled_pending") == []
    assert sorted(ids(listed(http, status="cancelled"))) == sorted([blocker, *waiting])
    http.post(f"{TOOL}/requests/delete", json_body=[blocker, *waiting])


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_dates_filter_on_creation_and_list_oldest_first(http, created):
    first, last = (http.record(TOOL, created["completed"][i]) for i in (0, -1))
    start, end = first["time_created"], last["time_created"]
    records = listed(http, start_date=start, end_date=end, limit=1000)
    assert ids(records) == created["completed"]  # oldest first; end_date includes its millisecond
    zulu = parse(start).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert ids(listed(http, start_date=zulu, limit=5)) == created["completed"][:5]
    later = (parse(end) + timedelta(seconds=5)).isoformat()
    assert listed(http, start_date=later) == []
    earlier = (parse(start) - timedelta(days=1)).isoformat()
    assert listed(http, end_date=earlier) == []
    today = parse(start).date().isoformat()
    assert len(listed(http, start_date=today, end_date=today, limit=1000)) >= 60  # a date alone: the whole day
    assert len(listed(http, start_date=start, status="completed,failed", limit=1000)) == 65


def test_search_id(http, created):
    target = created["completed"][7]
    assert ids(listed(http, search_id=target[9:23])) == [target]
    assert ids(listed(http, search_id=target)) == [target]
    assert listed(http, search_id="not-in-any-id") == []


@pytest.mark.parametrize(
    "query, message",
    [
        ({"status": "done"}, "status: unknown status 'done'"),
        ({"status": "pending,completed"}, "status: pending and processing cannot be combined"),
        ({"status": "processing,failed"}, "status: pending and processing cannot be combined"),
        ({"status": "pending", "search_id": "a"}, "search_id: only available for the statuses completed, failed"),
        ({"status": "processing", "start_date": "2020-01-01"}, "start_date: only available for the statuses"),
        ({"status": "cancelled_pending", "end_date": "2020-01-01"}, "end_date: only available for the statuses"),
        ({"limit": 1001}, "limit: must be an integer from 1 to 1000, got '1001'"),
        ({"limit": 0}, "limit: must be an integer from 1 to 1000"),
        ({"offset": -1}, "offset: must be an integer from 0"),
        ({"offset": "x"}, "offset: must be an integer from 0"),
        ({"start_date": "yesterday"}, "start_date: must be an ISO 8601 date-time"),
        ({"end_date": "2020-13-01"}, "end_date: must be an ISO 8601 date-time"),
    ],
)
def test_bad_list_parameters(http, query, message):
    assert message in error(http, **query)
