"""Deployment packages as UbiOps users write them: no declared types, folder names, NAME=DIR, zips, and the YAML
files of the official CLI; real servers on 127.0.0.1 with real workers."""

from typing import Any, Iterator

import pytest
from local_helpers import PACKAGES, Http, http_for

import ubiops
from ubiops.local import LocalServer
from ubiops.local.config import BUNDLED_DIR
from ubiops.utils import collect_requests

RETURNS_DICT = PACKAGES / "returns_dict"
P = "/projects/local/deployments"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """`untyped` and `anything` declare nothing; `typed` runs the same package with declared types."""
    config = {
        "deployments": [
            {"name": "untyped", "path": str(RETURNS_DICT)},
            {"name": "anything", "path": str(BUNDLED_DIR / "echo")},
            {"name": "plain-out", "path": str(RETURNS_DICT), "output_type": "plain"},
            {
                "name": "typed",
                "path": str(RETURNS_DICT),
                "input_type": "structured",
                "input_fields": [{"name": "x", "data_type": "int"}],
                "output_type": "structured",
                "output_fields": [{"name": "input", "data_type": "dict"}],
            },
        ]
    }
    with LocalServer(config=config, data_dir=tmp_path_factory.mktemp("data")) as started:
        yield started


@pytest.fixture(scope="module")
def http(server: LocalServer) -> Http:
    return http_for(server)


@pytest.fixture
def core_api(server: LocalServer) -> Iterator[ubiops.CoreApi]:
    with ubiops.ApiClient(server.configuration()) as api_client:
        yield ubiops.CoreApi(api_client)


def error_of(reply: Any, status: int = 400) -> str:
    assert reply.status == status, reply
    return str(reply.json()["error"])


# -- untyped deployments ---------------------------------------------------------------------------------------------


def test_a_dict_returning_package_without_config_answers_direct_and_batch_requests(core_api: ubiops.CoreApi) -> None:
    direct = core_api.deployment_requests_create("local", "untyped", {"a": [1, 2]})
    assert direct.status == "completed", direct.error_message
    assert direct.result["input"] == {"a": [1, 2]} and direct.result["deployment"] == "untyped"
    created = core_api.batch_deployment_requests_create("local", "untyped", [{"n": 1}, {"n": 2}])
    records = collect_requests(core_api, "local", "untyped", [r.id for r in created], max_wait=60)
    assert [r.status for r in records] == ["completed", "completed"]
    assert [r.result["input"] for r in records] == [{"n": 1}, {"n": 2}]
    assert [r.request_data for r in records] == [{"n": 1}, {"n": 2}]


def test_untyped_takes_text_as_plain_and_any_json_value(http: Http) -> None:
    text = http.post(f"{P}/untyped/requests", text="hello ✓").json()
    assert text["status"] == "completed", text
    assert (text["result"]["input"], text["result"]["input_kind"]) == ("hello ✓", "str")
    for value in ([1, "two"], 3.5, "a JSON string", None, True):
        reply = http.post(f"{P}/anything/requests", json_body={"v": value}).json()
        assert reply["result"] == {"v": value}, reply


def test_untyped_output_is_stored_as_returned(http: Http) -> None:
    as_text = http.post(f"{P}/anything/requests", text="just text").json()
    record = http.get(f"{P}/anything/requests/{as_text['id']}").json()
    assert (record["request_data"], record["result"]) == ("just text", "just text")
    output = http.get(f"{P}/anything/requests/{as_text['id']}/output")
    assert output.data == b"just text" and output.headers["Content-Type"].startswith("text/plain")
    as_dict = http.post(f"{P}/untyped/requests", json_body={"k": 1}).json()
    record = http.get(f"{P}/untyped/requests/{as_dict['id']}").json()
    assert record["request_data"] == {"k": 1} and record["result"]["input"] == {"k": 1}
    assert http.get(f"{P}/untyped/requests/{as_dict['id']}/output").json()["input"] == {"k": 1}


def test_untyped_shows_as_structured_without_fields(http: Http) -> None:
    shown = http.get(f"{P}/untyped").json()
    assert (shown["input_type"], shown["output_type"]) == ("structured", "structured")
    assert (shown["input_fields"], shown["output_fields"]) == ([], [])


def test_declared_types_are_still_enforced(http: Http) -> None:
    assert "field 'x'" in error_of(http.post(f"{P}/typed/requests", json_body={"x": "one"}))
    assert "unknown field 'y'" in error_of(http.post(f"{P}/typed/requests", json_body={"x": 1, "y": 2}))
    assert "structured" in error_of(http.post(f"{P}/typed/requests", text="text"))
    wrong_output = http.post(f"{P}/typed/requests", json_body={"x": 1}).json()  # also returns other fields
    assert wrong_output["status"] == "failed" and "unknown field 'input_kind'" in wrong_output["error_message"]


def test_a_declared_plain_output_that_gets_a_dict_says_how_to_fix_it(http: Http) -> None:
    failed = http.post(f"{P}/plain-out/requests", json_body={"k": 1}).json()
    assert failed["status"] == "failed"
    message = failed["error_message"]
    assert "plain output" in message and "got object" in message
    assert "output_type: structured" in message and "output_fields" in message and "leave output_type out" in message
