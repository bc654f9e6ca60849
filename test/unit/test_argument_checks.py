"""Argument checks: every rule of ubiops/api/checks.py raises the right class, naming the method and parameter,
before any network I/O (the unit conftest makes opening a socket fail the test)."""

from datetime import datetime, timezone

import pytest

import ubiops
from ubiops.api.endpoints import AROUND_REQUESTS, BY_NAME, ENDPOINTS

P, D, R, V = "project", "deployment", "request-id", "v1"


@pytest.fixture
def core_api():
    client = ubiops.ApiClient(ubiops.Configuration(host="http://127.0.0.1:9/v2.1", api_key={"Authorization": "t"}))
    yield ubiops.CoreApi(client)
    client.close()


def _valid_data(endpoint):
    suffix = endpoint.path.rsplit("/", 1)[-1]
    if suffix == "logs":
        return {"filters": {"deployment_name": D}, "limit": 10}
    if suffix in ("cancel", "delete", "collect"):
        return ["a"]
    if endpoint.method == "PATCH":
        return ubiops.DeploymentRequestUpdate()
    return [{"x": 1}] if suffix == "batch" else {"x": 1}


IDS_ENDPOINTS = [e.name for e in ENDPOINTS if e.path.endswith(("/cancel", "/delete", "/collect"))]


def _call(core_api, name, **overrides):
    """Call ``name`` with valid arguments for everything not overridden."""
    endpoint = BY_NAME[name]
    valid = {"project_name": P, "deployment_name": D, "request_id": R, "version": V, "data": _valid_data(endpoint)}
    values = {p.name: overrides.pop(p.name, valid.get(p.name)) for p in endpoint.params if p.required}
    return getattr(core_api, name)(**values, **overrides)


def _raises(cls, core_api, name, param, **overrides):
    with pytest.raises(cls) as info:
        _call(core_api, name, **overrides)
    assert type(info.value) is cls
    message = str(info.value)
    assert f"`{param}" in message, message
    assert name in message, message
    return message


PATH_PARAMS = [(e.name, p.name) for e in ENDPOINTS + AROUND_REQUESTS for p in e.params if p.where == "path"]


@pytest.mark.parametrize(("name", "param"), PATH_PARAMS)
def test_path_argument_must_be_a_str(core_api, name, param):
    assert "must be a str" in _raises(ubiops.ApiTypeError, core_api, name, param, **{param: 123})


@pytest.mark.parametrize(("name", "param"), PATH_PARAMS)
def test_path_argument_must_not_be_empty(core_api, name, param):
    assert "must not be empty" in _raises(ubiops.ApiValueError, core_api, name, param, **{param: ""})


@pytest.mark.parametrize("name", ["deployment_requests_create", "deployment_version_requests_create"])
def test_direct_data(core_api, name):
    _raises(ubiops.ApiTypeError, core_api, name, "data", data=5)
    assert "`data[1]` must be a dict or a str" in _raises(ubiops.ApiTypeError, core_api, name, "data", data=["a", 1])


@pytest.mark.parametrize("name", ["batch_deployment_requests_create", "batch_deployment_version_requests_create"])
def test_batch_data(core_api, name):
    _raises(ubiops.ApiTypeError, core_api, name, "data", data=5)
    assert "at least 1 item" in _raises(ubiops.ApiValueError, core_api, name, "data", data=[])
    message = _raises(ubiops.ApiValueError, core_api, name, "data", data=[{}] * 251)
    assert "251 items" in message and "at most 250" in message
    assert "`data[2]`" in _raises(ubiops.ApiTypeError, core_api, name, "data", data=[{}, "a", 3.0])


@pytest.mark.parametrize("name", IDS_ENDPOINTS)
def test_request_ids(core_api, name):
    _raises(ubiops.ApiTypeError, core_api, name, "data", data="request-id")
    assert "at most 250" in _raises(ubiops.ApiValueError, core_api, name, "data", data=["a"] * 251)
    assert "`data[1]` must be a request id" in _raises(ubiops.ApiTypeError, core_api, name, "data", data=["a", 7])


@pytest.mark.parametrize("name", ["deployment_requests_update", "deployment_version_requests_update"])
def test_update_body(core_api, name):
    _raises(ubiops.ApiTypeError, core_api, name, "data", data="cancelled")
    assert "unknown field 'colour'" in _raises(
        ubiops.ApiValueError, core_api, name, "data", data={"status": "cancelled", "colour": "red"}
    )
    assert "`data.status` must be 'cancelled'" in _raises(
        ubiops.ApiValueError, core_api, name, "data", data={"status": "completed"}
    )
    lax = ubiops.Configuration(client_side_validation=False)
    model = ubiops.DeploymentRequestUpdate(status="completed", local_vars_configuration=lax)
    _raises(ubiops.ApiValueError, core_api, name, "data.status", data=model)


INTEGER_RULES = [
    ("deployment_requests_create", "timeout", 9, 3601, "from 10 to 3600"),
    ("deployment_version_requests_create", "timeout", 9, 3601, "from 10 to 3600"),
    ("batch_deployment_requests_create", "timeout", 9, 172801, "from 10 to 172800"),
    ("batch_deployment_version_requests_create", "timeout", 9, 172801, "from 10 to 172800"),
    ("deployment_requests_list", "limit", 0, None, ">= 1"),
    ("deployment_version_requests_list", "offset", -1, None, ">= 0"),
]


@pytest.mark.parametrize(("name", "param", "low", "high", "rule"), INTEGER_RULES)
def test_integer_ranges(core_api, name, param, low, high, rule):
    for value in ("60", 60.0, True):
        assert "must be an int" in _raises(ubiops.ApiTypeError, core_api, name, param, **{param: value})
    for value in (low, high):
        if value is not None:
            assert rule in _raises(ubiops.ApiValueError, core_api, name, param, **{param: value})


@pytest.mark.parametrize(
    ("name", "param", "bad"),
    [
        ("deployment_requests_create", "priority", 2),
        ("batch_deployment_version_requests_create", "priority", True),
        ("deployment_version_requests_create", "priority", 0.0),
        ("deployment_requests_batch_cancel", "status", "all"),
        ("deployment_version_requests_batch_cancel", "status", "completed"),
    ],
)
def test_one_of(core_api, name, param, bad):
    assert "must be one of" in _raises(ubiops.ApiValueError, core_api, name, param, **{param: bad})


@pytest.mark.parametrize(
    ("name", "param", "bad", "rule"),
    [
        ("deployment_requests_get", "metadata_only", "true", "a bool"),
        ("deployment_version_requests_get", "metadata_only", 1, "a bool"),
        ("deployment_requests_list", "status", 1, "a str"),
        ("deployment_version_requests_list", "search_id", 5, "a str"),
        ("deployment_requests_list", "start_date", 20200101, "an ISO 8601 str or a datetime"),
        ("deployment_version_requests_list", "end_date", 1.5, "an ISO 8601 str or a datetime"),
    ],
)
def test_type_rules(core_api, name, param, bad, rule):
    assert rule in _raises(ubiops.ApiTypeError, core_api, name, param, **{param: bad})


def test_argument_errors_carry_the_path_to_the_item(core_api):
    with pytest.raises(ubiops.ApiTypeError) as info:
        core_api.deployment_requests_batch_get(P, D, ["a", "b", None])
    assert info.value.path_to_item == ["data", 2]


@pytest.mark.parametrize("name", sorted(name for name, endpoint in BY_NAME.items() if endpoint.positional))
def test_missing_required_argument_is_named(core_api, name):
    endpoint = BY_NAME[name]
    last = endpoint.positional[-1]
    with pytest.raises(ubiops.ApiValueError, match=f"Missing the required parameter `{last}` when calling `{name}`"):
        getattr(core_api, name)(*[P] * (len(endpoint.positional) - 1))
    with pytest.raises(ubiops.ApiValueError, match=f"`{last}`"):
        getattr(core_api, f"{name}_with_http_info")(*[P] * (len(endpoint.positional) - 1), None)


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_unknown_keyword_is_a_type_error_naming_it(core_api, name):
    with pytest.raises(TypeError, match="unexpected keyword argument 'metdata_only'") as info:
        _call(core_api, name, metdata_only=True)
    assert isinstance(info.value, ubiops.ApiTypeError)


def test_too_many_or_doubled_arguments(core_api):
    with pytest.raises(ubiops.ApiTypeError, match=r"takes 3 positional arguments \(project_name, deployment_name, req"):
        core_api.deployment_requests_get(P, D, R, True)
    with pytest.raises(ubiops.ApiTypeError, match="multiple values for argument 'request_id'"):
        core_api.deployment_requests_get(P, D, R, request_id=R)


VALID_QUERY = {
    "timeout": 10,
    "priority": 0,
    "status": "pending",
    "metadata_only": False,
    "limit": 1,
    "offset": 0,
    "start_date": datetime(2020, 1, 1, tzinfo=timezone.utc),
    "end_date": "2020-01-02T00:00:00Z",
    "search_id": "abc",
    "labels": "",
    "organization": "my-organization",
    "supports_request_format": True,
    "query": '{deployment_name="d"} |= "x"',
    "start": "2020-01-01T00:00:00Z",
    "end": "1577923200000000000",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS + AROUND_REQUESTS, ids=lambda e: e.name)
def test_valid_values_pass_every_check(endpoint):
    values = {"project_name": P, "deployment_name": D, "request_id": R, "version": V, "data": _valid_data(endpoint)}
    values.update(VALID_QUERY)
    endpoint.validate({p.name: values[p.name] for p in endpoint.params})
    if endpoint.path.endswith("/batch"):
        endpoint.validate({"data": [{"x": 1}] * 250})
        endpoint.validate({"data": "one plain item"})
    if endpoint.name in IDS_ENDPOINTS:
        endpoint.validate({"data": ["a"] * 250})
        endpoint.validate({"data": []})


def test_without_client_side_validation_bad_values_reach_prepare():
    endpoint = BY_NAME["deployment_requests_create"]
    values = endpoint.bind((P, D, 5), {"timeout": 1, "priority": 7})
    with pytest.raises(ubiops.ApiTypeError):
        endpoint.validate(values)
    prepared = endpoint.prepare(values)
    assert prepared.url.endswith("/requests?timeout=1&priority=7")
    assert prepared.body == b"5"


def test_without_client_side_validation_the_call_goes_on_to_the_transport():
    lax = ubiops.Configuration(host="http://127.0.0.1:9/v2.1", client_side_validation=False)
    with ubiops.ApiClient(lax) as client:
        core_api = ubiops.CoreApi(client)
        with pytest.raises(ubiops.ApiValueError):  # missing arguments are still an error
            core_api.deployment_requests_get(P, D)
        with pytest.raises(AssertionError, match="must not open sockets"):  # the unit conftest's guard
            core_api.deployment_requests_create(P, D, 5, priority=7, _retries=0)


@pytest.mark.parametrize(
    ("name", "param", "bad", "rule"),
    [
        ("projects_list", "labels", 1, "a str"),
        ("projects_list", "organization", ["org"], "a str"),
        ("deployments_list", "labels", {"team": "a"}, "a str"),
        ("deployments_list", "supports_request_format", "true", "a bool"),
        ("deployment_versions_list", "labels", 5, "a str"),
        ("projects_log_list", "data", "deployment_name:d", "a LogsCreate or a dict"),
        ("projects_log_list", "data", [{"limit": 1}], "a LogsCreate or a dict"),
        ("logs_list", "query", {"deployment_name": "d"}, "a str"),
        ("logs_list", "limit", "10", "an int"),
    ],
)
def test_type_rules_around_requests(core_api, name, param, bad, rule):
    assert rule in _raises(ubiops.ApiTypeError, core_api, name, param, **{param: bad})


def test_logs_filter_names_an_unknown_field(core_api):
    message = _raises(ubiops.ApiValueError, core_api, "projects_log_list", "data", data={"filter": {}})
    assert "unknown field 'filter'" in message and "filters, date_range, date, id, limit" in message


def test_methods_around_requests_take_their_arguments_in_the_public_order(core_api):
    with pytest.raises(ubiops.ApiTypeError, match=r"service_status\(\) takes 0 positional arguments"):
        core_api.service_status("extra")
    with pytest.raises(ubiops.ApiTypeError, match=r"takes 1 positional arguments \(project_name\)"):
        core_api.projects_log_list(P, {"limit": 1})  # data is keyword-only, as in the public client
    with pytest.raises(ubiops.ApiTypeError, match=r"takes 2 positional arguments \(project_name, deployment_name\)"):
        core_api.deployment_versions_list(P, D, "team:a")


def test_an_empty_labels_filter_and_a_logs_model_pass():
    BY_NAME["deployments_list"].validate({"project_name": P, "labels": ""})
    BY_NAME["projects_log_list"].validate({"project_name": P, "data": ubiops.models.LogsCreate(limit=5)})


@pytest.mark.parametrize("name", ["deployment_requests_batch_cancel", "deployment_version_requests_batch_cancel"])
def test_batch_cancel_without_data_says_how_to_cancel_by_status(core_api, name):
    args = [P] * (len(BY_NAME[name].positional) - 1)
    with pytest.raises(ubiops.ApiValueError) as info:
        getattr(core_api, name)(*args, status="pending")
    assert str(info.value) == (
        f"Missing the required parameter `data` when calling `{name}`; "
        "pass data=[] with status to cancel every request with that status"
    )
    assert info.value.path_to_item == ["data"]


def test_a_none_item_is_named_none_as_python_writes_it(core_api):
    with pytest.raises(ubiops.ApiTypeError) as info:
        core_api.deployment_requests_batch_get(P, D, ["a", None])
    assert str(info.value) == "deployment_requests_batch_get: `data[1]` must be a request id (str), got None"
