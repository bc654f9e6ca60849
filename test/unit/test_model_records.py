"""The models: construction by keyword and position, errors naming the field, to_dict, to_str, == and repr."""

from datetime import datetime, timezone
from typing import List, Optional

import pytest

import ubiops
from ubiops.models import Model

MODELS = [
    ubiops.DeploymentRequestBatchCreateResponse,
    ubiops.DeploymentRequestCreateResponse,
    ubiops.DeploymentRequestDetail,
    ubiops.DeploymentRequestList,
    ubiops.DeploymentRequestSingleDetail,
    ubiops.DeploymentRequestUpdate,
]
RECORDS = MODELS[:-1]
FIELDS = {
    ubiops.DeploymentRequestBatchCreateResponse: "id deployment version status time_created",
    ubiops.DeploymentRequestCreateResponse: "id deployment version status success result error_message timeout",
    ubiops.DeploymentRequestList: (
        "id deployment version status success time_created time_started time_completed input_size output_size"
    ),
    ubiops.DeploymentRequestDetail: (
        "id deployment version status success time_created time_started time_completed timeout request_data "
        "result error_message input_size output_size"
    ),
    ubiops.DeploymentRequestSingleDetail: (
        "id deployment version status success time_created time_started time_completed timeout request_data "
        "result error_message input_size output_size origin"
    ),
    ubiops.DeploymentRequestUpdate: "status",
}
WHEN = datetime(2020, 3, 28, 20, 0, 26, 613000, tzinfo=timezone.utc)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_fields_are_the_reference_attributes(model):
    assert model._fields == tuple(FIELDS[model].split())
    assert issubclass(model, Model)


@pytest.mark.parametrize("model", RECORDS, ids=lambda m: m.__name__)
def test_keyword_and_positional_construction_agree(model):
    by_keyword = model(id="a", deployment="d", version="v", status="completed")
    by_position = model("a", "d", "v", "completed")
    assert by_keyword == by_position
    assert (by_position.id, by_position.deployment, by_position.version, by_position.status) == (
        "a",
        "d",
        "v",
        "completed",
    )
    assert all(getattr(model(), name) is None for name in model._fields)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_unknown_keyword_is_an_error_naming_it(model):
    with pytest.raises(ubiops.ApiTypeError, match="unexpected keyword argument 'colour'") as info:
        model(colour="red")
    assert isinstance(info.value, TypeError)


def test_too_many_positional_or_doubled_arguments():
    with pytest.raises(ubiops.ApiTypeError, match="at most 5 positional arguments, got 6"):
        ubiops.DeploymentRequestBatchCreateResponse(*"abcdef")
    with pytest.raises(ubiops.ApiTypeError, match="multiple values for argument 'id'"):
        ubiops.DeploymentRequestList("a", id="b")


def test_datetime_text_becomes_a_datetime_and_datetimes_stay():
    assert ubiops.DeploymentRequestList(time_created="2020-03-28T20:00:26.613Z").time_created == WHEN
    assert ubiops.DeploymentRequestList(time_started=WHEN).time_started is WHEN


def test_to_dict_has_every_field_and_plain_values():
    record = ubiops.DeploymentRequestSingleDetail(
        id="a", time_created=WHEN, request_data={"x": [1, 2]}, origin={"created_by": "me"}
    )
    as_dict = record.to_dict()
    assert list(as_dict) == list(FIELDS[ubiops.DeploymentRequestSingleDetail].split())
    assert as_dict["id"] == "a" and as_dict["time_created"] == WHEN and as_dict["origin"] == {"created_by": "me"}
    assert as_dict["result"] is None
    nested = ubiops.DeploymentRequestCreateResponse(result={"inner": [ubiops.DeploymentRequestUpdate()]})
    assert nested.to_dict()["result"] == {"inner": [{"status": "cancelled"}]}


def test_to_str_is_the_pretty_printed_dict():
    text = ubiops.DeploymentRequestUpdate().to_str()
    assert text == "{'status': 'cancelled'}"
    long_text = ubiops.DeploymentRequestDetail(id="a", request_data={"x": 1}).to_str()
    assert "'id': 'a'" in long_text and "'request_data': {'x': 1}" in long_text and "\n" in long_text


def test_equality():
    assert ubiops.DeploymentRequestList(id="a") == ubiops.DeploymentRequestList(id="a")
    assert ubiops.DeploymentRequestList(id="a") != ubiops.DeploymentRequestList(id="b")
    assert ubiops.DeploymentRequestDetail(id="a") != ubiops.DeploymentRequestSingleDetail(id="a")  # other class
    assert ubiops.DeploymentRequestList(id="a") != {"id": "a"}
    assert ubiops.DeploymentRequestList.from_json({"id": "a"}) == ubiops.DeploymentRequestList(id="a")
    with pytest.raises(TypeError):
        hash(ubiops.DeploymentRequestList())


def test_repr_is_readable():
    record = ubiops.DeploymentRequestBatchCreateResponse(id="a", status="pending", time_created=WHEN)
    assert repr(record) == (
        "DeploymentRequestBatchCreateResponse(id='a', deployment=None, version=None, status='pending', "
        "time_created=datetime.datetime(2020, 3, 28, 20, 0, 26, 613000, tzinfo=datetime.timezone.utc))"
    )
    assert repr(ubiops.DeploymentRequestUpdate()) == "DeploymentRequestUpdate(status='cancelled')"


def test_update_defaults_to_cancelled_and_rejects_anything_else():
    assert ubiops.DeploymentRequestUpdate().status == "cancelled"
    assert ubiops.DeploymentRequestUpdate("cancelled") == ubiops.DeploymentRequestUpdate(status="cancelled")
    with pytest.raises(ubiops.ApiValueError, match=r"`status`.*'completed'.*only allowed value is 'cancelled'"):
        ubiops.DeploymentRequestUpdate(status="completed")
    lax = ubiops.Configuration(client_side_validation=False)
    assert ubiops.DeploymentRequestUpdate("completed", local_vars_configuration=lax).status == "completed"


def test_models_are_exported_from_the_package():
    for model in MODELS:
        assert getattr(ubiops, model.__name__) is model
        assert model.__name__ in ubiops.__all__


def test_from_json_fills_a_missing_field_with_its_default_as_the_constructor_does():
    assert ubiops.DeploymentRequestUpdate.from_json({}) == ubiops.DeploymentRequestUpdate()
    assert ubiops.DeploymentRequestUpdate.from_json({}).status == "cancelled"
    assert ubiops.DeploymentRequestUpdate.from_json({"status": None}).status is None  # what the answer said


def test_a_mutable_default_is_not_shared_between_records():
    class _WithList(Model):
        tags: Optional[List[str]] = []  # noqa: RUF012  # the case under test

    built, decoded = _WithList(), _WithList.from_json({})
    built.tags.append("a")
    assert (built.tags, decoded.tags, _WithList().tags, _WithList.from_json({}).tags) == (["a"], [], [], [])
