"""pytest fixtures for testing code against the local server (registered through the pytest11 entry point).

Override `ubiops_local_config` in your conftest.py to serve your own deployments:

    @pytest.fixture(scope="session")
    def ubiops_local_config():
        return "tests/ubiops-local.yaml"   # or a dict; relative paths are taken from the pytest rootdir

Loaded in every pytest run where ubiops is installed, so it imports nothing heavy until a fixture is used.
See docs/PytestPlugin.md.
"""

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, Mapping

import pytest

if TYPE_CHECKING:
    from ubiops import CoreApi
    from ubiops.local.server import LocalServer

#: The servers' data directories are in pytest's temporary directory, which it keeps for the last few runs: the
#: requests and deployment logs of a failed test can be read afterwards.
DATA_DIR = "ubiops-local"


@pytest.fixture(scope="session")
def ubiops_local_config() -> Any:
    """The config to serve: a YAML path or a dict; by default the bundled echo and calculator deployments."""
    from ubiops.local.config import default_config

    return default_config()


@pytest.fixture(scope="session")
def ubiops_local_server(
    ubiops_local_config: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator["LocalServer"]:
    """A LocalServer shared by the session, on a free port; `.url`, `.token`, `.configuration()`."""
    with _server(ubiops_local_config, request, tmp_path_factory.mktemp(DATA_DIR)) as server:
        yield server


@pytest.fixture(scope="session")
def ubiops_core_api(ubiops_local_server: "LocalServer") -> Iterator["CoreApi"]:
    """A ubiops.CoreApi bound to the session server; its ApiClient is closed at the end of the session."""
    with _core_api(ubiops_local_server) as core_api:
        yield core_api


@pytest.fixture
def ubiops_local_fresh_server(
    ubiops_local_config: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator["LocalServer"]:
    """A LocalServer of this test alone, same config, starting without requests; stopped after the test."""
    with _server(ubiops_local_config, request, tmp_path / DATA_DIR) as server:
        yield server


@pytest.fixture
def ubiops_fresh_core_api(ubiops_local_fresh_server: "LocalServer") -> Iterator["CoreApi"]:
    """A ubiops.CoreApi bound to this test's fresh server; its ApiClient is closed after the test."""
    with _core_api(ubiops_local_fresh_server) as core_api:
        yield core_api


@contextmanager
def _server(config: Any, request: pytest.FixtureRequest, data_dir: Path) -> Iterator["LocalServer"]:
    from ubiops.local.server import LocalServer

    with LocalServer(config=_resolve_from_rootdir(config, request.config.rootpath), data_dir=data_dir) as server:
        yield server


@contextmanager
def _core_api(server: "LocalServer") -> Iterator["CoreApi"]:
    import ubiops

    with ubiops.ApiClient(server.configuration()) as api_client:
        yield ubiops.CoreApi(api_client)


def _resolve_from_rootdir(config: Any, rootdir: Path) -> Any:
    """`config` with its relative paths taken from `rootdir`, so the directory pytest starts in does not matter.

    A YAML path itself (the paths in the file stay relative to the file), or the `path` of each deployment and
    version of a dict (a new dict; the caller's is not changed). Anything malformed is left for load_config to report.
    """
    if isinstance(config, (str, Path)):
        return _absolute(rootdir, config)
    if isinstance(config, Mapping) and isinstance(config.get("deployments"), list):
        return {**config, "deployments": [_deployment(rootdir, item) for item in config["deployments"]]}
    return config


def _deployment(rootdir: Path, deployment: Any) -> Any:
    if not isinstance(deployment, Mapping):
        return deployment
    resolved = _entry(rootdir, deployment)
    if isinstance(deployment.get("versions"), list):
        resolved["versions"] = [
            _entry(rootdir, version) if isinstance(version, Mapping) else version for version in deployment["versions"]
        ]
    return resolved


def _entry(rootdir: Path, entry: Mapping[str, Any]) -> Dict[str, Any]:
    return {**entry, "path": _absolute(rootdir, entry["path"])} if "path" in entry else dict(entry)


def _absolute(rootdir: Path, path: Any) -> Any:
    if not isinstance(path, (str, Path)) or not str(path):
        return path  # not a path: load_config says what is wrong with it
    expanded = Path(path).expanduser()  # load_config expands "~" too, so "~/pkg" is absolute, not under the rootdir
    return expanded if expanded.is_absolute() else rootdir / expanded
