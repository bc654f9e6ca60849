"""The endpoint table against the reference document: names, HTTP methods, paths and argument order."""

import re

import pytest

import ubiops
from ubiops.api.core_api import Operation
from ubiops.api.endpoints import AROUND_REQUESTS, BY_NAME, ENDPOINTS, STREAM

#: The signature lines and endpoint table of DeploymentRequests.md, copied as written there.
REFERENCE = """
list[DeploymentRequestBatchCreateResponse] batch_deployment_requests_create(project_name, deployment_name, data, timeout=timeout) | POST /projects/{project_name}/deployments/{deployment_name}/requests/batch
list[DeploymentRequestBatchCreateResponse] batch_deployment_version_requests_create(project_name, deployment_name, version, data, timeout=timeout) | POST /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests/batch
object deployment_requests_batch_cancel(project_name, deployment_name, data, status=status) | POST /projects/{project_name}/deployments/{deployment_name}/requests/cancel
object deployment_requests_batch_delete(project_name, deployment_name, data) | POST /projects/{project_name}/deployments/{deployment_name}/requests/delete
list[DeploymentRequestDetail] deployment_requests_batch_get(project_name, deployment_name, data) | POST /projects/{project_name}/deployments/{deployment_name}/requests/collect
DeploymentRequestCreateResponse deployment_requests_create(project_name, deployment_name, data, timeout=timeout) | POST /projects/{project_name}/deployments/{deployment_name}/requests
None deployment_requests_delete(project_name, deployment_name, request_id) | DELETE /projects/{project_name}/deployments/{deployment_name}/requests/{request_id}
DeploymentRequestSingleDetail deployment_requests_get(project_name, deployment_name, request_id, metadata_only=metadata_only) | GET /projects/{project_name}/deployments/{deployment_name}/requests/{request_id}
list[DeploymentRequestList] deployment_requests_list(project_name, deployment_name, status=status, limit=limit, offset=offset, start_date=start_date, end_date=end_date, search_id=search_id) | GET /projects/{project_name}/deployments/{deployment_name}/requests
object deployment_requests_update(project_name, deployment_name, request_id, data) | PATCH /projects/{project_name}/deployments/{deployment_name}/requests/{request_id}
object deployment_version_requests_batch_cancel(project_name, deployment_name, version, data, status=status) | POST /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests/cancel
object deployment_version_requests_batch_delete(project_name, deployment_name, version, data) | POST /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests/delete
list[DeploymentRequestDetail] deployment_version_requests_batch_get(project_name, deployment_name, version, data) | POST /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests/collect
DeploymentRequestCreateResponse deployment_version_requests_create(project_name, deployment_name, version, data, timeout=timeout) | POST /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests
None deployment_version_requests_delete(project_name, deployment_name, request_id, version) | DELETE /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests/{request_id}
DeploymentRequestSingleDetail deployment_version_requests_get(project_name, deployment_name, request_id, version, metadata_only=metadata_only) | GET /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests/{request_id}
list[DeploymentRequestList] deployment_version_requests_list(project_name, deployment_name, version, status=status, limit=limit, offset=offset, start_date=start_date, end_date=end_date, search_id=search_id) | GET /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests
object deployment_version_requests_update(project_name, deployment_name, request_id, version, data) | PATCH /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests/{request_id}
"""  # noqa: E501
#: The input/output getters (api-semantics.md), in the same notation.
GETTERS = """
str or dict() deployment_requests_input_get(project_name, deployment_name, request_id) | GET /projects/{project_name}/deployments/{deployment_name}/requests/{request_id}/input
str or dict() deployment_requests_output_get(project_name, deployment_name, request_id) | GET /projects/{project_name}/deployments/{deployment_name}/requests/{request_id}/output
str or dict() deployment_version_requests_input_get(project_name, deployment_name, request_id, version) | GET /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests/{request_id}/input
str or dict() deployment_version_requests_output_get(project_name, deployment_name, request_id, version) | GET /projects/{project_name}/deployments/{deployment_name}/versions/{version}/requests/{request_id}/output
"""  # noqa: E501
#: The read-only methods around requests, as the public client's documentation writes them.
AROUND = """
Status service_status() | GET /status
list[ProjectList] projects_list(organization=organization, labels=labels) | GET /projects
ProjectDetail projects_get(project_name) | GET /projects/{project_name}
list[Logs] projects_log_list(project_name, data=data) | POST /projects/{project_name}/logs
list[LogList] logs_list(project_name, query=query, start=start, end=end, limit=limit) | GET /projects/{project_name}/logs
list[DeploymentList] deployments_list(project_name, labels=labels, supports_request_format=supports_request_format) | GET /projects/{project_name}/deployments
DeploymentDetail deployments_get(project_name, deployment_name) | GET /projects/{project_name}/deployments/{deployment_name}
list[DeploymentVersionList] deployment_versions_list(project_name, deployment_name, labels=labels) | GET /projects/{project_name}/deployments/{deployment_name}/versions
DeploymentVersionDetail deployment_versions_get(project_name, deployment_name, version) | GET /projects/{project_name}/deployments/{deployment_name}/versions/{version}
"""  # noqa: E501
_LINE = re.compile(r"^(?P<returns>.+?) (?P<name>\w+)\((?P<args>[^)]*)\) \| (?P<method>[A-Z]+) (?P<path>\S+)$")


def _rows(text):
    rows = {}
    for line in text.strip().splitlines():
        match = _LINE.match(line)
        assert match, line
        args = [a.strip() for a in match["args"].split(",") if a.strip()]
        rows[match["name"]] = {
            "returns": match["returns"],
            "positional": tuple(a for a in args if "=" not in a),
            "optional": {a.split("=")[0] for a in args if "=" in a},
            "method": match["method"],
            "path": match["path"],
        }
    return rows


ROWS = {**_rows(REFERENCE), **_rows(GETTERS), **_rows(AROUND)}
OPTIONAL_EXTRAS = {"priority"}  # api-semantics.md: priority on create and batch create, absent from the reference


def test_the_table_has_the_22_names_of_the_reference_and_the_getters_and_the_9_around_requests():
    assert len(_rows(REFERENCE)) == 18
    assert len(ENDPOINTS) == 22
    assert sorted(e.name for e in ENDPOINTS) == sorted({**_rows(REFERENCE), **_rows(GETTERS)})
    assert [e.name for e in AROUND_REQUESTS] == list(_rows(AROUND))
    assert sorted(BY_NAME) == sorted(ROWS)


def test_the_methods_around_requests_only_read():
    assert all(e.idempotent and not e.direct for e in AROUND_REQUESTS)
    assert {e.method for e in AROUND_REQUESTS} == {"GET", "POST"}  # POST: the logs query has a body


@pytest.mark.parametrize("name", sorted(ROWS))
def test_method_path_and_argument_order_match_the_reference(name):
    endpoint, row = BY_NAME[name], ROWS[name]
    assert endpoint.method == row["method"]
    assert endpoint.path == row["path"]
    assert endpoint.positional == row["positional"]
    optional = {p.name for p in endpoint.params if not p.required}
    assert row["optional"] <= optional
    assert optional - row["optional"] <= OPTIONAL_EXTRAS
    assert endpoint.returns.doc_type == row["returns"]


def test_version_delete_takes_the_version_last():
    assert BY_NAME["deployment_version_requests_delete"].positional == (
        "project_name",
        "deployment_name",
        "request_id",
        "version",
    )


def test_versioned_twins_are_derived_from_the_default_version_endpoints():
    defaults, twins = ENDPOINTS[:11], ENDPOINTS[11:]
    assert all("/versions/" not in e.path for e in defaults)
    assert twins == tuple(e.for_version() for e in defaults)
    for default, twin in zip(defaults, twins):
        assert twin.name == default.name.replace("deployment_requests", "deployment_version_requests")
        assert (twin.method, twin.returns, twin.idempotent, twin.direct) == (
            default.method,
            default.returns,
            default.idempotent,
            default.direct,
        )


def test_only_creates_are_not_idempotent_and_only_direct_creates_are_direct():
    assert {e.name for e in ENDPOINTS if not e.idempotent} == {
        "batch_deployment_requests_create",
        "batch_deployment_version_requests_create",
        "deployment_requests_create",
        "deployment_version_requests_create",
    }
    assert {e.name for e in ENDPOINTS if e.direct} == {
        "deployment_requests_create",
        "deployment_version_requests_create",
    }


def test_core_api_has_exactly_62_methods_named_after_the_table():
    public = {name for name in vars(ubiops.CoreApi) if not name.startswith("_")}
    assert public == set(ROWS) | {f"{name}_with_http_info" for name in ROWS}
    assert len(public) == 62
    assert all(isinstance(vars(ubiops.CoreApi)[name], Operation) for name in public)
    assert STREAM.name not in public


@pytest.mark.parametrize("name", sorted(ROWS))
def test_bound_methods_carry_the_name_and_a_docstring_with_the_signature(name):
    core_api = ubiops.CoreApi(ubiops.ApiClient(ubiops.Configuration(host="http://127.0.0.1:9/v2.1")))
    method = getattr(core_api, name)
    info = getattr(core_api, f"{name}_with_http_info")
    assert method.__name__ == name
    assert info.__name__ == f"{name}_with_http_info"
    row = ROWS[name]
    assert f"{name}({', '.join(row['positional'])}" in method.__doc__
    assert f"{row['method']} {row['path']}" in method.__doc__
    assert ", status, headers)" in info.__doc__
