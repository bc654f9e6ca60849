"""The pytest plugin as a user's project uses it: a pytest process of its own (pytester) over a project of its own."""

import re
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

from ubiops.local import ConfigError
from ubiops.local.config import load_config
from ubiops.local.pytest_plugin import _resolve_from_rootdir

pytest_plugins = ["pytester"]

DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "PytestPlugin.md"
#: A user's project: its own deployment package, a YAML config beside the tests, a conftest naming it from the root.
PROJECT = {
    "pytest.ini": """
        [pytest]
        testpaths = tests
        """,
    "shout/deployment.py": """
        class Deployment:
            def __init__(self, base_directory, context):
                pass

            def request(self, data, context):
                return data.upper()
        """,
    "tests/ubiops-local.yaml": """
        project: mine
        deployments:
          - name: shout
            path: ../shout
        """,
    "tests/conftest.py": """
        import pytest

        @pytest.fixture(scope="session")
        def ubiops_local_config():
            return "tests/ubiops-local.yaml"
        """,
    "tests/test_shout.py": """
        def test_direct_request(ubiops_core_api, ubiops_local_server, request):
            created = ubiops_core_api.deployment_requests_create("mine", "shout", "hello")
            assert (created.status, created.result) == ("completed", "HELLO")
            assert ubiops_local_server.config.deployments[0].versions[0].path == request.config.rootpath / "shout"
        """,
}

#: A conftest.py addition that counts the ApiClients closed, and writes the count to closed.txt at the end.
RECORDING_CLOSE = """
    import ubiops

    closed = []
    close = ubiops.ApiClient.close

    def recording_close(api_client):
        closed.append(api_client)
        close(api_client)

    ubiops.ApiClient.close = recording_close

    def pytest_sessionfinish(session):
        (session.config.rootpath / "closed.txt").write_text(str(len(closed)))
    """


def write(root: Path, files: Dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in a process of its own, as the user runs it, in the current directory."""
    # A user's project need not have hypothesis; its pytest plugin alone adds about 1.2 s to each start.
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest", *args, timeout=120)


@pytest.mark.parametrize(
    ("ini", "where", "args"),
    [
        ("pytest.ini", ".", ()),
        ("pytest.ini", ".", ("tests",)),
        ("pytest.ini", "tests", ()),
        ("pyproject.toml", "tests", ()),
    ],
    ids=["root", "root-tests-arg", "subfolder", "pyproject-subfolder"],
)
def test_a_relative_yaml_path_is_found_from_the_rootdir(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ini: str, where: str, args: List[str]
) -> None:
    files = dict(PROJECT)
    if ini == "pyproject.toml":
        del files["pytest.ini"]
        files["pyproject.toml"] = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
    write(pytester.path, files)
    monkeypatch.chdir(pytester.path / where)
    run(pytester, *args).assert_outcomes(passed=1)


def test_dict_paths_are_found_from_the_rootdir_and_the_dict_is_not_changed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(pytester.path, {name: text for name, text in PROJECT.items() if not name.startswith("tests/")})
    write(
        pytester.path,
        {
            "whisper/deployment.py": PROJECT["shout/deployment.py"].replace("upper", "lower"),
            "tests/conftest.py": """
                import pytest

                CONFIG = {
                    "project": "mine",
                    "deployments": [
                        {
                            "name": "shout",
                            "path": "shout",
                            "versions": [{"name": "v1"}, {"name": "v2", "path": "whisper"}],
                        }
                    ],
                }

                @pytest.fixture(scope="session")
                def ubiops_local_config():
                    return CONFIG
                """,
            "tests/test_versions.py": """
                def test_each_version_runs_its_package(ubiops_core_api, ubiops_local_config):
                    for version, result in [("v1", "HI"), ("v2", "hi")]:
                        created = ubiops_core_api.deployment_version_requests_create("mine", "shout", version, "Hi")
                        assert created.result == result
                    deployment = ubiops_local_config["deployments"][0]
                    assert (deployment["path"], deployment["versions"][1]["path"]) == ("shout", "whisper")
                """,
        },
    )
    monkeypatch.chdir(pytester.path / "tests")  # where neither "shout" nor "whisper" is
    run(pytester).assert_outcomes(passed=1)


def test_a_config_that_cannot_be_served_errors_each_test_with_the_resolved_path(pytester: pytest.Pytester) -> None:
    files = {**PROJECT, "tests/conftest.py": PROJECT["tests/conftest.py"].replace("ubiops-local", "missing")}
    files["tests/test_two.py"] = "def test_other(ubiops_local_server):\n    pass\n"
    write(pytester.path, files)
    result = run(pytester)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([f"*ConfigError: {pytester.path / 'tests' / 'missing.yaml'}: cannot read*"])


def test_fresh_servers_start_empty_and_the_session_server_is_shared(pytester: pytest.Pytester) -> None:
    write(pytester.path, PROJECT)
    write(
        pytester.path,
        {
            "tests/conftest.py": textwrap.dedent(PROJECT["tests/conftest.py"]) + textwrap.dedent(RECORDING_CLOSE),
            "tests/test_fresh.py": """
                import pytest
                from conftest import closed

                fresh_servers = []
                session_apis = []
                session_ids = []

                @pytest.mark.parametrize("run", [1, 2])
                def test_a_fresh_server_starts_without_requests(run, ubiops_local_fresh_server, ubiops_fresh_core_api):
                    assert ubiops_fresh_core_api.deployment_requests_list("mine", "shout") == []
                    ubiops_fresh_core_api.deployment_requests_create("mine", "shout", f"fresh {run}")
                    assert len(ubiops_fresh_core_api.deployment_requests_list("mine", "shout")) == 1
                    assert ubiops_fresh_core_api.api_client.configuration.host == ubiops_local_fresh_server.url
                    fresh_servers.append(ubiops_local_fresh_server)

                def test_fresh_servers_and_their_clients_end_with_their_test(ubiops_local_server):
                    assert [server.running for server in fresh_servers] == [False, False]
                    assert len(closed) == 2
                    data_dirs = {server.data_dir for server in [*fresh_servers, ubiops_local_server]}
                    assert len(data_dirs) == 3
                    assert all(d.name == "ubiops-local" for d in data_dirs - {ubiops_local_server.data_dir})

                def test_the_session_server_keeps_its_requests(ubiops_core_api):
                    session_apis.append(ubiops_core_api)
                    session_ids.append(ubiops_core_api.deployment_requests_create("mine", "shout", "kept").id)

                def test_the_next_test_sees_them(ubiops_core_api, ubiops_local_server):
                    assert ubiops_core_api is session_apis[0]
                    assert ubiops_local_server.running
                    # the fresh servers' requests were never made to it
                    assert [r.id for r in ubiops_core_api.deployment_requests_list("mine", "shout")] == session_ids
                """,
        },
    )
    run(pytester, "tests/test_fresh.py").assert_outcomes(passed=5)
    assert (pytester.path / "closed.txt").read_text() == "3"  # the session's ApiClient too, at the end


def test_loading_the_plugin_does_not_load_the_server(pytester: pytest.Pytester) -> None:
    write(
        pytester.path,
        {
            "test_cheap.py": """
                import sys

                def test_not_loaded(request):
                    assert request.config.pluginmanager.has_plugin("ubiops_local")
                    assert "ubiops.local.server" not in sys.modules
                """
        },
    )
    run(pytester).assert_outcomes(passed=1)


def test_relative_paths_in_a_dict_are_taken_from_the_rootdir_and_the_rest_is_kept(tmp_path: Path) -> None:
    config = {
        "project": "p",
        "deployments": [
            {"name": "a", "path": "pkg", "versions": [{"name": "v1"}, {"name": "v2", "path": Path("other")}]},
            {"name": "b", "path": "/abs/pkg", "versions": [{"name": "v1", "path": "~/pkg"}]},
        ],
    }
    resolved = _resolve_from_rootdir(config, tmp_path)
    a, b = resolved["deployments"]
    assert (a["path"], a["versions"][0], a["versions"][1]["path"]) == (
        tmp_path / "pkg",
        {"name": "v1"},
        tmp_path / "other",
    )
    assert (b["path"], b["versions"][0]["path"]) == (Path("/abs/pkg"), Path("~/pkg").expanduser())
    assert config["deployments"][0]["path"] == "pkg" and config["deployments"][0]["versions"][1]["path"] == Path(
        "other"
    )
    assert _resolve_from_rootdir("tests/c.yaml", tmp_path) == tmp_path / "tests" / "c.yaml"
    assert _resolve_from_rootdir(None, tmp_path) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"deployments": "nope"}, "key 'deployments': must be a non-empty list"),
        ({"deployments": ["nope"]}, r"deployments\[0\]: must be a mapping"),
        ({"deployments": [{"name": "a", "path": 3}]}, "key 'path': must be the path of a package directory"),
        ({"deployments": [{"name": "a", "path": ""}]}, "key 'path': must be the path of a package directory"),
        ({"deployments": [{"name": "a", "path": "p", "versions": ["v1"]}]}, r"versions\[0\]: must be a mapping"),
        (42, "expected a file path or a dict, got int"),
    ],
)
def test_a_malformed_config_is_left_for_load_config_to_report(tmp_path: Path, config: object, message: str) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "deployment.py").write_text("")
    with pytest.raises(ConfigError, match=message):
        load_config(_resolve_from_rootdir(config, tmp_path))


def doc_files() -> Dict[str, List[str]]:
    """The code blocks of docs/PytestPlugin.md by the file each one is (its first line, `# <path>`), in order."""
    files: Dict[str, List[str]] = {}
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", DOCS_PAGE.read_text(encoding="utf-8"), re.S | re.M):
        language, text = match.groups()
        if language:  # the project layout is a block without a language
            first = text.splitlines()[0]
            assert first.startswith("# "), f"a {language} block without its file name: {first!r}"
            files.setdefault(first[2:], []).append(text)
    return files


@pytest.mark.parametrize(("variant", "where"), [(0, "."), (1, "tests")], ids=["yaml-from-root", "dict-from-tests"])
def test_the_docs_example_runs_as_written(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variant: int, where: str
) -> None:
    files = doc_files()
    assert len(files["tests/conftest.py"]) == 2  # the YAML path and the dict
    write(pytester.path, {name: texts[min(variant, len(texts) - 1)] for name, texts in files.items()})
    monkeypatch.chdir(pytester.path / where)
    run(pytester).assert_outcomes(passed=3)
