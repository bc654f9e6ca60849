"""Endpoint.prepare: what a call puts on the wire (path, query, headers, body), without sending it."""

from datetime import datetime, timedelta, timezone

import pytest

import ubiops
from ubiops.api.endpoints import BY_NAME, encode_json

GET = BY_NAME["deployment_requests_get"]
VERSION_GET = BY_NAME["deployment_version_requests_get"]
LIST = BY_NAME["deployment_requests_list"]
CREATE = BY_NAME["deployment_requests_create"]
BATCH = BY_NAME["batch_deployment_requests_create"]
UPDATE = BY_NAME["deployment_version_requests_update"]


def _prepare(endpoint, *args, **kwargs):
    return endpoint.prepare(endpoint.bind(args, kwargs))


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        ("my project", "my%20project"),
        ("dep/../x", "dep%2F..%2Fx"),
        ("/", "%2F"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("...", "..."),
        ("a?b=c", "a%3Fb%3Dc"),
        ("frag#ment", "frag%23ment"),
        ("%2F", "%252F"),
        ("100%", "100%25"),
        ("ü-名前", "%C3%BC-%E5%90%8D%E5%89%8D"),
        ("a+b&c;d", "a%2Bb%26c%3Bd"),
        ("~_-.", "~_-."),
    ],
)
def test_path_arguments_are_percent_encoded_with_no_safe_characters(name, encoded):
    prepared = _prepare(VERSION_GET, name, name, name, name)
    assert prepared.url == f"/projects/{encoded}/deployments/{encoded}/versions/{encoded}/requests/{encoded}"


def test_a_name_never_changes_the_path():
    for name in ("..", ".", "../..", "x/../../y", "?", "#"):
        segments = _prepare(GET, name, "d", "r").url.split("/")
        assert segments[1::2][:3] == ["projects", "deployments", "requests"]
        assert len(segments) == 7


def test_query_parameters_only_when_given():
    assert _prepare(LIST, "p", "d").url == "/projects/p/deployments/d/requests"
    assert _prepare(GET, "p", "d", "r").url == "/projects/p/deployments/d/requests/r"
    assert _prepare(CREATE, "p", "d", {}).url == "/projects/p/deployments/d/requests"
    assert _prepare(LIST, "p", "d", offset=0).url.endswith("/requests?offset=0")  # 0 is a value, not absence
    assert _prepare(LIST, "p", "d", status=None).url.endswith("/requests")


@pytest.mark.parametrize(("value", "text"), [(True, "true"), (False, "false")])
def test_booleans_are_true_and_false(value, text):
    assert _prepare(GET, "p", "d", "r", metadata_only=value).url.endswith(f"/requests/r?metadata_only={text}")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2020, 1, 1, tzinfo=timezone.utc), "2020-01-01T00%3A00%3A00%2B00%3A00"),
        (
            datetime(2020, 1, 1, 2, 30, 0, 613000, tzinfo=timezone(timedelta(hours=2))),
            "2020-01-01T02%3A30%3A00.613000%2B02%3A00",
        ),
        ("2020-01-01T00:00:00.000Z", "2020-01-01T00%3A00%3A00.000Z"),  # the example of api-semantics.md
    ],
)
def test_datetime_query_values_are_iso_8601_and_urlencoded(value, text):
    url = _prepare(LIST, "p", "d", start_date=value, end_date=value).url
    assert url.endswith(f"/requests?start_date={text}&end_date={text}")


def test_all_list_parameters_in_declaration_order():
    url = _prepare(
        LIST, "p", "d", search_id="ab c", end_date="e", start_date="s", offset=5, limit=10, status="completed,failed"
    ).url
    assert url == (
        "/projects/p/deployments/d/requests"
        "?status=completed%2Cfailed&limit=10&offset=5&start_date=s&end_date=e&search_id=ab+c"
    )


def test_create_timeout_and_priority():
    assert _prepare(CREATE, "p", "d", {}, priority=0, timeout=60).url.endswith("/requests?timeout=60&priority=0")
    assert _prepare(BATCH, "p", "d", [{}], timeout=14400).url.endswith("/requests/batch?timeout=14400")


def test_json_bodies_are_compact_utf8_json():
    prepared = _prepare(BATCH, "p", "d", [{"x": 1.5, "s": "ü ✓", "l": [1, None, True]}, "plain"])
    assert prepared.method == "POST"
    assert prepared.headers == {"Content-Type": "application/json"}
    assert prepared.body == '[{"x":1.5,"s":"ü ✓","l":[1,null,true]},"plain"]'.encode()


def test_datetimes_and_models_inside_bodies():
    when = datetime(2020, 3, 28, 20, 0, 26, 613000, tzinfo=timezone.utc)
    assert encode_json({"at": when}) == b'{"at":"2020-03-28T20:00:26.613000+00:00"}'
    assert encode_json([ubiops.DeploymentRequestUpdate()]) == b'[{"status":"cancelled"}]'


def test_a_plain_str_body_is_sent_raw_as_text_plain():
    for endpoint in (CREATE, BATCH):
        prepared = _prepare(endpoint, "p", "d", 'plain "text" ✓\n')
        assert prepared.headers == {"Content-Type": "text/plain; charset=utf-8"}
        assert prepared.body == 'plain "text" ✓\n'.encode()
    assert _prepare(CREATE, "p", "d", "").body == b""


def test_a_list_of_plain_items_is_json():
    prepared = _prepare(CREATE, "p", "d", ["a", "b"])
    assert (prepared.headers["Content-Type"], prepared.body) == ("application/json", b'["a","b"]')


@pytest.mark.parametrize("data", [ubiops.DeploymentRequestUpdate(), {"status": "cancelled"}])
def test_update_body(data):
    prepared = _prepare(UPDATE, "p", "d", "r", "v", data)
    assert prepared.method == "PATCH"
    assert prepared.url == "/projects/p/deployments/d/versions/v/requests/r"
    assert prepared.headers == {"Content-Type": "application/json"}
    assert prepared.body == b'{"status":"cancelled"}'


def test_ids_bodies():
    for name in (
        "deployment_requests_batch_cancel",
        "deployment_requests_batch_delete",
        "deployment_requests_batch_get",
    ):
        prepared = _prepare(BY_NAME[name], "p", "d", ["a", "b"])
        assert (prepared.method, prepared.body) == ("POST", b'["a","b"]')
    prepared = _prepare(BY_NAME["deployment_requests_batch_cancel"], "p", "d", [], status="processing")
    assert prepared.url.endswith("/requests/cancel?status=processing")
    assert prepared.body == b"[]"


@pytest.mark.parametrize(
    "name", ["deployment_requests_get", "deployment_requests_delete", "deployment_requests_input_get"]
)
def test_get_and_delete_send_no_body(name):
    prepared = _prepare(BY_NAME[name], "p", "d", "r")
    assert (prepared.body, prepared.headers) == (None, {})


def test_a_body_that_is_not_json_is_an_api_type_error_naming_the_parameter():
    with pytest.raises(ubiops.ApiTypeError, match="`data` cannot be sent as JSON: object is not JSON serializable"):
        _prepare(CREATE, "p", "d", {"x": object()})
    with pytest.raises(ubiops.ApiTypeError, match="`data` cannot be sent as JSON: set is not"):
        _prepare(BATCH, "p", "d", [{"x": {1, 2}}])
    for number in (float("nan"), float("inf")):  # Python's json would write NaN / Infinity: not JSON
        with pytest.raises(ubiops.ApiTypeError, match="`data` cannot be sent as JSON: Out of range float"):
            _prepare(CREATE, "p", "d", {"x": number})
