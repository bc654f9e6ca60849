"""One local server for the workflow tests: the bundled echo and calculator, plus deployments of their own so that a
test can count what is on the server without seeing other tests' requests."""

from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

PACKAGES = Path(__file__).resolve().parent / "packages"
PROJECT = "local"


def workflow_config() -> Dict[str, Any]:
    from ubiops.local import default_config

    config = default_config()
    echo = next(d for d in config["deployments"] if d["name"] == "echo")
    config["deployments"] += [
        {**echo, "name": "echo-many", "instances": 2},
        {**echo, "name": "echo-pages", "instances": 1},
        {
            "name": "streamer",
            "path": str(PACKAGES / "streamer"),
            "input_type": "structured",
            "input_fields": [{"name": "n", "data_type": "int"}, {"name": "gate", "data_type": "string"}],
            "output_type": "structured",
            "output_fields": [{"name": "parts", "data_type": "int"}],
            "versions": [{"name": "v1"}, {"name": "v2"}],
        },
        {"name": "sleeper", "path": str(PACKAGES / "sleeper"), "instances": 2},
        {"name": "sleeper-many", "path": str(PACKAGES / "sleeper"), "instances": 2},
    ]
    return config


@pytest.fixture(scope="session")
def server() -> Iterator[Any]:
    from ubiops.local import LocalServer

    with LocalServer(config=workflow_config(), min_timeout=1) as local_server:  # a timeout test need not wait 10 s
        yield local_server


@pytest.fixture()
def core_api(server: Any) -> Iterator[Any]:
    import ubiops

    with ubiops.ApiClient(server.configuration()) as api_client:
        yield ubiops.CoreApi(api_client)


@pytest.fixture()
def pace() -> Any:
    """No budget: the local server has no rate limit, and the tests should not wait for one."""
    from ubiops.utils import Pace

    return Pace(calls_per_minute=None)
