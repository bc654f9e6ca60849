"""Findings of the review of the i9 change (compatibility with the public client and the official tools), each
proven against a real LocalServer on 127.0.0.1."""

from typing import Iterator

import pytest
from local_helpers import Http, http_for

import ubiops
from ubiops.local import LocalServer, default_config

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with LocalServer(config=default_config(), data_dir=tmp_path_factory.mktemp("data")) as started:
        yield started


@pytest.fixture(scope="module")
def http(server: LocalServer) -> Http:
    return http_for(server)


@pytest.fixture
def core_api(server: LocalServer) -> Iterator[ubiops.CoreApi]:
    configuration = ubiops.Configuration(
        host=server.url, api_key={"Authorization": server.token}, api_key_prefix={"Authorization": "Token"}
    )
    with ubiops.ApiClient(configuration) as api_client:
        yield ubiops.CoreApi(api_client)


def test_public_client_style_except_api_request_error(core_api: ubiops.CoreApi) -> None:
    """The public client raises ubiops.exceptions.ApiRequestError for a non-2xx answer; code that catches it by that
    name must work unchanged (it was an AttributeError raised while the except clause was evaluated)."""
    try:
        core_api.deployments_get(project_name="local", deployment_name="nope")
    except ubiops.exceptions.ApiRequestError as error:
        assert error.status == 404
        assert "nope" in error.get_body_message()
    else:
        pytest.fail("no exception")
