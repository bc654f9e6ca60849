"""ApiClient.sanitize_for_serialization and ApiClient.deserialize, as generated clients have them."""

import json
from datetime import date, datetime, timezone

import pytest
import urllib3

import ubiops
from ubiops.models import DeploymentDetail, InputOutputFieldDetail, LogsCreate

WHEN = datetime(2020, 3, 28, 20, 0, 26, 613000, tzinfo=timezone.utc)


def _response(body: bytes) -> urllib3.HTTPResponse:
    return urllib3.HTTPResponse(body=body, status=200, preload_content=True)


def test_sanitize_turns_models_datetimes_and_containers_into_json_values():
    value = {
        "update": ubiops.DeploymentRequestUpdate(),
        "logs": LogsCreate(filters={"deployment_name": "d"}, limit=5),
        "when": WHEN,
        "day": date(2020, 1, 2),
        "items": (1, "a", None, [WHEN]),
        "nested": DeploymentDetail(name="d", input_fields=[InputOutputFieldDetail(name="x", data_type="int")]),
    }
    sanitized = ubiops.ApiClient.sanitize_for_serialization(value)
    assert sanitized == {
        "update": {"status": "cancelled"},
        "logs": {"filters": {"deployment_name": "d"}, "limit": 5},
        "when": "2020-03-28T20:00:26.613000+00:00",
        "day": "2020-01-02",
        "items": [1, "a", None, ["2020-03-28T20:00:26.613000+00:00"]],
        "nested": {"name": "d", "input_fields": [{"name": "x", "data_type": "int"}]},
    }
    json.dumps(sanitized)  # JSON-ready


def test_deserialize_a_list_of_models():
    body = b'[{"id": "a", "status": "completed", "time_created": "2020-03-28T20:00:26.613+00:00", "new": 1}]'
    (record,) = ubiops.ApiClient.deserialize(_response(body), "list[DeploymentRequestDetail]")
    assert type(record) is ubiops.DeploymentRequestDetail
    assert (record.id, record.time_created, record.new) == ("a", WHEN, 1)


def test_deserialize_one_model_with_nested_models():
    body = b'{"name": "d", "input_fields": [{"name": "x", "data_type": "int", "widget": {"type": "slider"}}]}'
    deployment = ubiops.ApiClient.deserialize(_response(body), "DeploymentDetail")
    assert deployment.input_fields[0].widget.type == "slider"
    created = ubiops.ApiClient.deserialize(
        _response(b'{"id": "r", "result": {"y": 2}}'), "DeploymentRequestCreateResponse"
    )
    assert type(created) is ubiops.DeploymentRequestCreateResponse and created.result == {"y": 2}


@pytest.mark.parametrize(
    ("body", "type_name", "expected"),
    [
        (b'{"cancelled": 2, "ids": ["a"]}', "dict(str, object)", {"cancelled": 2, "ids": ["a"]}),
        (b'{"a": "2020-03-28T20:00:26.613+00:00"}', "dict(str, datetime)", {"a": WHEN}),
        (b'"plain text"', "str", "plain text"),
        ("plain ✓, not JSON".encode(), "str", "plain ✓, not JSON"),
        (b"[1, 2]", "list[int]", [1, 2]),
        (b"3", "float", 3.0),
        (b'"2020-01-02"', "date", date(2020, 1, 2)),
        (b'{"x": [1]}', "object", {"x": [1]}),
        (b"", "object", None),
        (b"null", "DeploymentDetail", None),
    ],
)
def test_deserialize_primitives_containers_and_empty_bodies(body, type_name, expected):
    assert ubiops.ApiClient.deserialize(_response(body), type_name) == expected


def test_deserialize_an_unknown_type_is_a_type_error():
    with pytest.raises(ubiops.ApiTypeError, match="'NoSuchModel'"):
        ubiops.ApiClient.deserialize(_response(b"{}"), "NoSuchModel")
