"""pytest fixtures for testing code against the local server (registered through the pytest11 entry point).

Override `ubiops_local_config` in your conftest.py to serve your own deployments:

    @pytest.fixture(scope="session")
    def ubiops_local_config():
        return "tests/ubiops-local.yaml"   # or a dict

Loaded in every pytest run where ubiops is installed, so it imports nothing heavy until a fixture is used.
"""

from typing import Any, Iterator

import pytest


@pytest.fixture(scope="session")
def ubiops_local_config() -> Any:
    """The config to serve: a YAML path or a dict; by default the bundled echo and calculator deployments."""
    from ubiops.local.config import default_config

    return default_config()


@pytest.fixture(scope="session")
def ubiops_local_server(ubiops_local_config: Any) -> Iterator[Any]:
    """A running LocalServer on a free port with a temporary data directory; `.url`, `.token`, `.configuration()`."""
    from ubiops.local.server import LocalServer

    with LocalServer(config=ubiops_local_config) as server:
        yield server
