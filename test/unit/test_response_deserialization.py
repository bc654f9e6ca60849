"""Answers become the declared return values: every response example of the reference document, unknown keys,
and the ISO 8601 forms a server may send."""

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import ubiops
from ubiops.api.endpoints import BY_NAME
from ubiops.models.base import parse_datetime

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "DeploymentRequests.md"  # ../shared
RETURN_TYPES = {
    "list[DeploymentRequestBatchCreateResponse]": (list, ubiops.DeploymentRequestBatchCreateResponse),
    "list[DeploymentRequestDetail]": (list, ubiops.DeploymentRequestDetail),
    "list[DeploymentRequestList]": (list, ubiops.DeploymentRequestList),
    "DeploymentRequestCreateResponse": (None, ubiops.DeploymentRequestCreateResponse),
    "DeploymentRequestSingleDetail": (None, ubiops.DeploymentRequestSingleDetail),
}


def _lenient_json(text):
    """The reference's examples as JSON: some are written with Python's None, a missing comma or a trailing one."""
    text = re.sub(r"\bNone\b", "null", text)
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    text = re.sub(r'(")\n(\s*")', r"\1,\n\2", text)
    return json.loads(text)


def _response_examples():
    examples = []
    for section in re.split(r"^# \*\*", REFERENCE.read_text(encoding="utf-8"), flags=re.M)[1:]:
        name = section.split("**", 1)[0]
        match = re.search(r"^## Response Examples\n(.*?)^### ", section, flags=re.M | re.S)
        if match:
            for index, block in enumerate(re.findall(r"```\n(.*?)```", match.group(1), flags=re.S)):
                examples.append(pytest.param(name, _lenient_json(block), id=f"{name}-{index}"))
    return examples


EXAMPLES = _response_examples()


def test_the_reference_has_response_examples_for_every_model_returning_method():
    names = {p.values[0] for p in EXAMPLES}
    assert names == {name for name, e in BY_NAME.items() if e.returns.doc_type in RETURN_TYPES}


@pytest.mark.parametrize(("name", "example"), EXAMPLES)
def test_every_reference_example_decodes_into_its_model(name, example):
    endpoint = BY_NAME[name]
    container, model = RETURN_TYPES[endpoint.returns.doc_type]
    decoded = endpoint.returns.decode(json.dumps(example).encode(), "application/json")
    records = decoded if container is list else [decoded]
    examples = example if container is list else [example]
    assert isinstance(decoded, container or model)
    assert len(records) == len(examples)
    for record, raw in zip(records, examples):
        assert type(record) is model
        for key, value in raw.items():
            got = getattr(record, key)
            if key.startswith("time_") and value is not None:
                assert isinstance(got, datetime) and got.tzinfo is not None
                assert got == datetime.fromisoformat(value)
            else:
                assert got == value, key
        assert set(record.to_dict()) == set(model._fields)


def test_single_detail_keeps_origin_and_inherits_detail_fields():
    record = BY_NAME["deployment_requests_get"].returns.decode(
        b'{"id": "a", "origin": {"created_by": "me@example.com"}, "request_data": "plain", "result": [1, 2]}',
        "application/json",
    )
    assert isinstance(record, ubiops.DeploymentRequestDetail)
    assert (record.origin, record.request_data, record.result) == ({"created_by": "me@example.com"}, "plain", [1, 2])
    assert record.time_created is None and record.success is None


def test_unknown_keys_still_deserialize():
    raw = b'[{"id": "a", "status": "completed", "brand_new_field": {"x": 1}, "time_created": null}]'
    (record,) = BY_NAME["deployment_requests_list"].returns.decode(raw, "application/json")
    assert record.id == "a" and record.status == "completed"
    assert record.brand_new_field == {"x": 1}  # readable, though no field of this client
    assert "brand_new_field" not in record.to_dict()


UTC_8PM = datetime(2020, 3, 28, 20, 0, 26, 613000, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text",
    [
        "2020-03-28T20:00:26.613+00:00",
        "2020-03-28T20:00:26.613Z",
        "2020-03-28T20:00:26.613",  # no offset: UTC
        "2020-03-28T22:00:26.613+02:00",
        "2020-03-28T15:00:26.613-05:00",
        "2020-03-28T20:00:26.613000Z",
    ],
)
def test_datetimes_are_timezone_aware(text):
    parsed = parse_datetime(text)
    assert parsed.tzinfo is not None
    assert parsed == UTC_8PM
    record = ubiops.DeploymentRequestBatchCreateResponse.from_json({"id": "a", "time_created": text})
    assert record.time_created == UTC_8PM and record.time_created.utcoffset() is not None


def test_offsets_are_kept():
    parsed = parse_datetime("2020-03-28T22:00:26.613+02:00")
    assert parsed.utcoffset() == timedelta(hours=2)


def test_datetimes_without_fraction_or_with_z_only():
    assert parse_datetime("2020-03-28T20:00:26Z") == UTC_8PM.replace(microsecond=0)
    assert parse_datetime("2020-03-28T20:00:26") == UTC_8PM.replace(microsecond=0)


def test_content_getters_answer_json_or_text():
    decode = BY_NAME["deployment_version_requests_output_get"].returns.decode
    assert decode(b'{"x": 1}', "application/json") == {"x": 1}
    assert decode(b"[1, 2]", "application/json; charset=utf-8") == [1, 2]
    assert decode("plain ✓".encode(), "text/plain; charset=utf-8") == "plain ✓"
    assert decode(b'{"x": 1}', "text/plain") == '{"x": 1}'  # plain data that looks like JSON stays text


def test_object_and_nothing():
    assert BY_NAME["deployment_requests_batch_cancel"].returns.decode(b'{"cancelled": 2}', "application/json") == {
        "cancelled": 2
    }
    assert BY_NAME["deployment_requests_update"].returns.decode(b"", "") is None
    assert BY_NAME["deployment_requests_delete"].returns.decode(b"", "") is None


def test_bad_answers_raise_instead_of_returning_garbage():
    with pytest.raises(ValueError):
        BY_NAME["deployment_requests_get"].returns.decode(b"<html>", "text/html")
    with pytest.raises((ValueError, TypeError)):
        BY_NAME["deployment_requests_list"].returns.decode(b'{"id": "a"}', "application/json")
