"""Fixtures of the local server tests: real servers on 127.0.0.1 (port 0), real SQLite files, real workers."""

from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest
from local_helpers import PACKAGES, Http, http_for, structured_deployment, tool_deployment

from ubiops.local import LocalServer, default_config
from ubiops.local.config import DATA_TYPES


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., LocalServer]]:
    """start_server(config, **LocalServer kwargs) -> a started server, stopped at the end of the test."""
    servers: List[LocalServer] = []

    def start(config: Any = None, **kwargs: Any) -> LocalServer:
        kwargs.setdefault("data_dir", tmp_path / f"data{len(servers)}")
        server = LocalServer(config=config, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """One server per test module: the bundled deployments, `tool` (v1 default, v2; 2 instances), `structured`, and
    `typed` (one input field of each data type, named after it; it only serves to check input)."""
    config = default_config()
    record_file = tmp_path_factory.mktemp("record") / "runs.txt"
    config["deployments"] += [
        tool_deployment(
            instances=2,
            versions=[{"name": "v1"}, {"name": "v2"}],
            environment_variables={"RECORD_FILE": str(record_file)},
        ),
        structured_deployment(),
        {
            "name": "typed",
            "path": str(PACKAGES / "srv_structured"),
            "input_type": "structured",
            "input_fields": [{"name": t, "data_type": t} for t in DATA_TYPES],
        },
    ]
    with LocalServer(config=config, data_dir=tmp_path_factory.mktemp("data")) as server:
        yield server


@pytest.fixture(scope="module")
def http(shared_server: LocalServer) -> Http:
    return http_for(shared_server)
