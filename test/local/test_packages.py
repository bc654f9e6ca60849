"""Deployment packages as UbiOps users write them: no declared types, folder names, NAME=DIR, zips, and the YAML
files of the official CLI; real servers on 127.0.0.1 with real workers."""

import concurrent.futures
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
from local_helpers import PACKAGES, Http, http_for
from test_cli import Served

import ubiops
from ubiops.local import ConfigError, LocalServer, unzip
from ubiops.local.cache import CACHE_VARIABLE
from ubiops.local.config import BUNDLED_DIR, load_config, parse_deployment
from ubiops.local.unzip import unpack_package
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


# -- names and NAME=DIR ----------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test unpacks its zips into its own cache, never into the user's."""
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache"


def package_copy(where: Path, source: Path = RETURNS_DICT) -> Path:
    shutil.copytree(source, where, ignore=shutil.ignore_patterns("__pycache__"))
    return where


def served_names(server: LocalServer) -> List[str]:
    return [d["name"] for d in http_for(server).get(P).json()]


def test_a_folder_is_served_under_its_name_as_ubiops_writes_names(start_server: Callable[..., LocalServer], tmp_path):
    folder = package_copy(tmp_path / "My Model")
    server = start_server(deployment_dirs=[str(folder)])
    assert served_names(server) == ["my-model"]
    reply = http_for(server).post(f"{P}/my-model/requests", json_body={"a": 1}).json()
    assert reply["result"]["input"] == {"a": 1} and reply["result"]["deployment"] == "my-model"


@pytest.mark.parametrize(
    ("folder", "name"),
    [("deployment_package", "deployment-package"), ("Modèle  v2", "modele-v2"), ("--x--", "x"), ("A.B_c", "a-b-c")],
)
def test_folder_names_become_ubiops_names(tmp_path: Path, folder: str, name: str) -> None:
    package_copy(tmp_path / folder)
    assert load_config(None, [str(tmp_path / folder)]).deployments[0].name == name


def test_a_folder_name_that_gives_no_name_asks_for_name_equals_dir(tmp_path: Path) -> None:
    folder = package_copy(tmp_path / "___")
    with pytest.raises(ConfigError) as error:
        load_config(None, [str(folder)])
    message = str(error.value)
    assert "'___'" in message and "NAME=DIR" in message and str(folder) in message
    assert load_config(None, [f"named={folder}"]).deployments[0].name == "named"  # as the message says


def test_name_equals_dir(start_server: Callable[..., LocalServer], tmp_path: Path) -> None:
    server = start_server(deployment_dirs=[f"scorer={RETURNS_DICT}", str(BUNDLED_DIR / "echo")])
    assert served_names(server) == ["scorer", "echo"]
    assert http_for(server).post(f"{P}/scorer/requests", text="x").json()["result"]["deployment"] == "scorer"


def test_a_path_with_an_equals_sign_that_exists_is_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package_copy(tmp_path / "a=b")
    monkeypatch.chdir(tmp_path)
    spec = parse_deployment("a=b")
    assert (spec.name, spec.path) == (None, (tmp_path / "a=b").resolve())
    assert load_config(None, ["a=b"]).deployments[0].name == "a-b"
    relative = parse_deployment(f"x={Path('a=b')}")  # split at the first "=": name x, path a=b
    assert (relative.name, relative.path) == ("x", (tmp_path / "a=b").resolve())


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("name=", "give a package folder or .zip file"),
        ("name=/no/such/dir", "/no/such/dir is not a directory or a .zip file"),
        ("./x=y", "is not a directory or a .zip file"),  # "./x" is no name: the whole text is the path
        (str(PACKAGES), "has no deployment.py"),
    ],
)
def test_bad_deployment_arguments_name_the_argument(value: str, says: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(None, [value])
    assert f"--deployment {value!r}" in str(error.value) and says in str(error.value)


def test_two_packages_under_one_name_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--deployment .*'echo' is already served; name this one with NAME=DIR"):
        load_config(None, [str(BUNDLED_DIR / "echo"), f"echo={RETURNS_DICT}"])
    config = tmp_path / "server.yaml"
    config.write_text(f"deployments:\n  - name: returns-dict\n    path: {BUNDLED_DIR / 'echo'}\n")
    with pytest.raises(ConfigError, match=r"'returns-dict' is already served"):
        load_config(config, [str(RETURNS_DICT)])


# -- zipped packages -------------------------------------------------------------------------------------------------


def zip_package(zip_path: Path, source: Path = RETURNS_DICT, folder: str = "") -> Path:
    """A zip of the package's files, at the zip's root or inside `folder` (as UbiOps users zip deployment_package)."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        if folder:
            archive.writestr(f"{folder}/", "")
        for file in sorted(source.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                archive.write(file, f"{folder}/{file.relative_to(source)}" if folder else file.relative_to(source))
    return zip_path


def zip_with(zip_path: Path, members: Dict[str, str], mode: int = 0) -> Path:
    """A zip of the given members (name -> text); `mode`: Unix file type and bits of every member."""
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, text in members.items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (mode or stat.S_IFREG | 0o644) << 16
            archive.writestr(info, text)
    return zip_path


def entries(cache: Path) -> List[Path]:
    """The cache entries of unpacked packages, hidden (temporary) ones too; not the entries' lock files."""
    if not (cache / "packages").exists():
        return []
    return sorted(path for path in (cache / "packages").iterdir() if not path.name.endswith(".lock"))


@pytest.mark.parametrize("folder", ["", "deployment_package"])
def test_a_zip_serves_and_is_unpacked_once(
    start_server: Callable[..., LocalServer], tmp_path: Path, cache: Path, folder: str
) -> None:
    package = zip_package(tmp_path / "Scoring Model.zip", folder=folder)
    server = start_server(deployment_dirs=[str(package)])
    assert served_names(server) == ["scoring-model"]  # the zip's name without .zip
    result = http_for(server).post(f"{P}/scoring-model/requests", json_body={"a": 1}).json()["result"]
    (entry,) = entries(cache)
    assert Path(result["base_directory"]) == (entry / folder if folder else entry)
    (entry / "sentinel").write_text("still here")
    server.stop()
    config = {"deployments": [{"name": "again", "path": str(package)}]}  # a zip as config path too
    again = start_server(config, deployment_dirs=[f"named={package}"])
    assert entries(cache) == [entry] and (entry / "sentinel").read_text() == "still here"
    assert served_names(again) == ["again", "named"]
    assert http_for(again).post(f"{P}/named/requests", text="t").json()["result"]["input"] == "t"


def test_a_changed_zip_is_unpacked_again_and_the_macos_folder_is_left_out(tmp_path: Path, cache: Path) -> None:
    package = zip_package(tmp_path / "model.zip", folder="model")
    first = load_config(None, [str(package)]).deployments[0].versions[0].path
    with zipfile.ZipFile(package, "a") as archive:
        archive.writestr("__MACOSX/model/._deployment.py", "resource fork")
    second = load_config(None, [str(package)]).deployments[0].versions[0].path
    assert first != second and first.name == second.name == "model"
    assert len(entries(cache)) == 2 and not (second.parent / "__MACOSX").exists()


def test_concurrent_unpacking_of_one_zip_leaves_one_whole_entry(tmp_path: Path, cache: Path) -> None:
    package = zip_package(tmp_path / "model.zip", folder="model")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        roots = set(pool.map(lambda _: unpack_package(package), range(8)))
    (root,) = roots
    assert entries(cache) == [root.parent]  # no temporary directory is left behind
    assert (root / "deployment.py").read_bytes() == (RETURNS_DICT / "deployment.py").read_bytes()


def test_a_damaged_entry_is_unpacked_again(tmp_path: Path, cache: Path) -> None:
    package = zip_package(tmp_path / "model.zip")
    root = unpack_package(package)
    (root / "deployment.py").unlink()
    assert unpack_package(package) == root and (root / "deployment.py").is_file()
    assert entries(cache) == [root]


@pytest.mark.parametrize(
    ("members", "mode", "says"),
    [
        ({"deployment.py": "", "../evil.py": "x"}, 0, "'../evil.py' would be unpacked outside the package"),
        ({"deployment.py": "", "/etc/evil": "x"}, 0, "'/etc/evil' would be unpacked outside the package"),
        ({"deployment.py": "", "a\\..\\..\\evil": "x"}, 0, "outside the package"),
        ({"C:/evil/deployment.py": ""}, 0, "outside the package"),
        ({"deployment.py": "/etc/passwd"}, stat.S_IFLNK | 0o777, "'deployment.py' is a symbolic link"),
        ({"deployment.py": ""}, stat.S_IFIFO | 0o644, "special file"),
        ({"readme.txt": "no code"}, 0, "has no deployment.py at its root"),
        ({"a/readme.txt": "", "b/deployment.py": ""}, 0, "nor in a single top-level folder"),
        ({"pkg/src/deployment.py": ""}, 0, "holds pkg/src/deployment.py: zip the folder that holds deployment.py"),
    ],
)
def test_bad_zips_name_the_file_and_the_problem(tmp_path: Path, cache: Path, members, mode, says) -> None:
    package = zip_with(tmp_path / "bad.zip", members, mode)
    with pytest.raises(ConfigError) as error:
        load_config(None, [str(package)])
    message = str(error.value)
    assert f"--deployment '{package}'" in message and str(package) in message and says in message, message
    assert entries(cache) == [] and not (tmp_path / "evil.py").exists()


def test_a_file_that_is_no_zip_and_a_config_path_name_the_key(tmp_path: Path) -> None:
    fake = tmp_path / "model.zip"
    fake.write_text("not a zip")
    with pytest.raises(ConfigError, match=r"model\.zip: not a valid zip file"):
        load_config(None, [str(fake)])
    with pytest.raises(ConfigError) as error:
        load_config({"deployments": [{"name": "dep", "path": str(fake)}]})
    assert "deployment 'dep': version 'v1': key 'path'" in str(error.value) and "not a valid zip" in str(error.value)


def test_zips_over_the_caps_are_refused(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = zip_with(tmp_path / "big.zip", {"deployment.py": "x" * 5000, "data.bin": "y" * 5000})
    monkeypatch.setattr(unzip, "MAX_TOTAL_SIZE", 8000)
    with pytest.raises(ConfigError, match=r"big\.zip: unpacks to more than"):
        load_config(None, [str(package)])
    monkeypatch.setattr(unzip, "MAX_TOTAL_SIZE", 10_000)
    monkeypatch.setattr(unzip, "MAX_MEMBERS", 1)
    with pytest.raises(ConfigError, match=r"big\.zip: holds 2 members, more than the 1 allowed"):
        load_config(None, [str(package)])
    monkeypatch.setattr(unzip, "MAX_MEMBERS", 2)
    assert (load_config(None, [str(package)]).deployments[0].versions[0].path / "data.bin").stat().st_size == 5000


def test_a_cache_that_cannot_be_written_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = write(tmp_path / "not-a-directory", "a file where the cache should be")
    monkeypatch.setenv(CACHE_VARIABLE, str(blocker))
    with pytest.raises(ConfigError) as error:
        load_config(None, [str(zip_package(tmp_path / "model.zip"))])
    assert "model.zip: cannot unpack it into the cache" in str(error.value) and str(blocker) in str(error.value)


# -- the YAML files of the official UbiOps CLI ----------------------------------------------------------------------

#: The example of `ubiops deployments create --help` (ubiops-cli 2.32.0), with fields that fit returns_dict's `env`.
DEPLOYMENT_YAML = """\
deployment_name: my-deployment-name
deployment_description: Deployment created via command line.
deployment_labels:
  my-key-1: my-label-1
  my-key-2: my-label-2
deployment_supports_request_format: true
input_type: structured
input_fields:
  - name: env
    data_type: string
output_type: structured
output_fields:
  - name: value
    data_type: string
"""
#: The example of `ubiops deployments deploy --help`, every key of it, plus environment variables.
VERSION_YAML = """\
deployment_name: my-deployment-name
version_name: my-deployment-version
version_description: Version created via command line.
version_labels:
  my-key-1: my-label-1
  my-key-2: my-label-2
environment_name: ubiops-ubuntu24-04-python3-13
environment_tag: v1
instance_type_group_name: 2048 MB + 0.5 vCPU
scaling_strategy: default
minimum_instances: 0
maximum_instances: 2
instance_processes: 2
maximum_idle_time: 300
request_retention_mode: none
request_retention_time: 604800
maximum_queue_size: 100000
health_check:
  port: 8080
  path: "/status"
  timeout: 3
  interval: 5
  failure_threshold: 3
environment_variables:
  - {name: GREETING, value: hello from the version file, secret: true}
  - {name: EMPTY, value: null}
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_official_cli_files_configure_a_package(start_server: Callable[..., LocalServer], tmp_path: Path) -> None:
    server = start_server(
        deployment_dirs=[str(RETURNS_DICT)],  # named after the folder: the files name it
        deployment_configs=[write(tmp_path / "deployment.yaml", DEPLOYMENT_YAML)],
        version_configs=[str(write(tmp_path / "version.yaml", VERSION_YAML))],
    )
    http = http_for(server)
    where = f"{P}/my-deployment-name"
    shown = http.get(where).json()
    assert (shown["description"], shown["default_version"]) == (
        "Deployment created via command line.",
        "my-deployment-version",
    )
    assert shown["labels"] == {"my-key-1": "my-label-1", "my-key-2": "my-label-2"}
    assert shown["input_fields"] == [{"name": "env", "data_type": "string", "widget": None}]
    version = http.get(f"{where}/versions/my-deployment-version").json()
    assert (version["description"], version["labels"]["my-key-2"]) == (
        "Version created via command line.",
        "my-label-2",
    )
    assert version["maximum_instances"] == 4  # maximum_instances 2 x instance_processes 2
    assert [d["name"] for d in http.get(P, query={"labels": "my-key-1:my-label-1"}).json()] == ["my-deployment-name"]
    assert http.get(P, query={"labels": "my-key-1:other"}).json() == []
    assert http.post(f"{where}/requests", json_body={"env": "GREETING"}).json()["result"] == {
        "value": "hello from the version file"
    }
    assert http.post(f"{where}/requests", json_body={"env": "EMPTY"}).json()["result"] == {"value": ""}
    assert "unknown field 'x'" in error_of(http.post(f"{where}/requests", json_body={"env": "A", "x": 1}))


def test_one_file_may_hold_both_formats_and_variables_may_be_a_mapping(tmp_path: Path) -> None:
    both = write(tmp_path / "both.yaml", "deployment_name: both\nversion_name: v3\nenvironment_variables: {A: 1}\n")
    (deployment,) = load_config(None, [str(RETURNS_DICT)], [both], [both]).deployments
    assert (deployment.name, deployment.input_type, deployment.default_version) == ("both", None, "v3")
    assert deployment.versions[0].environment_variables == {"A": "1"}
    assert deployment.versions[0].instances == 1


def test_files_pair_with_their_packages_by_name(tmp_path: Path) -> None:
    first = write(tmp_path / "first.yaml", "deployment_name: first\ninput_type: plain\noutput_type: plain\n")
    second = write(tmp_path / "second.yaml", "deployment_name: second\nversion_name: v2\nmaximum_instances: 3\n")
    config = load_config(
        {"deployments": [{"name": "configured", "path": str(RETURNS_DICT)}]},
        [f"second={RETURNS_DICT}", f"first={BUNDLED_DIR / 'echo'}"],
        [first],
        [second],
    )
    configured, second_deployment, first_deployment = config.deployments
    assert (first_deployment.name, first_deployment.input_type) == ("first", "plain")
    assert (second_deployment.name, second_deployment.versions[0].name) == ("second", "v2")
    assert second_deployment.versions[0].instances == 3 and configured.name == "configured"


@pytest.mark.parametrize(
    ("text", "kind", "says"),
    [
        ("deployment_name: x\ncolour: red\n", "deployment", "unknown key 'colour'"),
        ("version_name: v1\nreplicas: 2\n", "version", "unknown key 'replicas'"),
        ("deployment_name: x\nversion_name: v1\n", "deployment", "key 'version_name' belongs in a version file"),
        ("input_type: structured\n", "version", "key 'input_type' belongs in a deployment file"),
        ("input_type: json\n", "deployment", "key 'input_type': must be one of structured, plain"),
        (
            "input_type: structured\ninput_fields: [{name: x, data_type: float}]\n",
            "deployment",
            "key 'input_fields'[0]: key 'data_type'",
        ),
        ("input_fields: [{name: x, data_type: int}]\n", "deployment", "only allowed when input_type is structured"),
        ("deployment_supports_request_format: false\n", "deployment", "deployment_supports_request_format"),
        ("deployment_name: a/b\n", "deployment", "key 'deployment_name'"),
        ("maximum_instances: -1\n", "version", "key 'maximum_instances': must be an integer >= 0"),
        ("instance_processes: many\n", "version", "key 'instance_processes'"),
        ("deployment_file: main.py\n", "version", "key 'deployment_file'"),
        (
            "environment_variables: [{name: A, val: 1}]\n",
            "version",
            "key 'environment_variables'[0]: unknown key 'val'",
        ),
        ("environment_variables: [A=1]\n", "version", "key 'environment_variables'[0]"),
        ("environment_variables: {A: [1]}\n", "version", "key 'environment_variables': A"),
        ("version_labels: [a]\n", "version", "key 'labels'"),
        ("- a list\n", "version", "must be a mapping"),
        ("deployment_name: [unclosed\n", "deployment", "not valid YAML"),
    ],
)
def test_bad_cli_files_name_the_file_and_the_key(tmp_path: Path, text: str, kind: str, says: str) -> None:
    file = write(tmp_path / f"my-{kind}.yaml", text)
    files = ([file], []) if kind == "deployment" else ([], [file])
    with pytest.raises(ConfigError) as error:
        load_config(None, [str(RETURNS_DICT)], *files)
    assert str(error.value).startswith(f"{file}: ") and says in str(error.value), str(error.value)


def test_files_that_match_no_package_say_what_did_not_match(tmp_path: Path) -> None:
    named = write(tmp_path / "named.yaml", "deployment_name: wanted\n")
    unnamed = write(tmp_path / "unnamed.yaml", "input_type: plain\n")
    unnamed_version = write(tmp_path / "unnamed-version.yaml", "version_name: v2\n")
    cases = [
        ([], [named], [], "needs the package it configures"),
        (
            [f"a={RETURNS_DICT}", f"b={RETURNS_DICT}"],
            [named],
            [],
            "'wanted' matches none of the --deployment packages ('a', 'b')",
        ),
        (
            [f"a={RETURNS_DICT}", f"b={RETURNS_DICT}"],
            [],
            [unnamed_version],
            "no deployment_name, and there are 2 --deployment",
        ),
        ([f"other={RETURNS_DICT}"], [], [named], "'wanted' does not match --deployment 'other="),
        ([str(RETURNS_DICT)], [unnamed, unnamed], [], "already has the deployment config"),
    ]
    for dirs, deployments, versions, says in cases:
        with pytest.raises(ConfigError) as error:
            load_config(None, dirs, deployments, versions)
        message = str(error.value)
        assert says in message and str(tmp_path) in message, message


def test_a_version_file_names_a_package_named_after_its_folder(tmp_path: Path) -> None:
    version = write(tmp_path / "v.yaml", "deployment_name: renamed\nversion_name: prod\n")
    (deployment,) = load_config(None, [str(RETURNS_DICT)], [], [version]).deployments
    assert (deployment.name, deployment.default_version) == ("renamed", "prod")
    folder = package_copy(tmp_path / "___")  # no name of its own: the file names it
    (deployment,) = load_config(None, [str(folder)], [], [version]).deployments
    assert deployment.name == "renamed"
    with pytest.raises(ConfigError, match="NAME=DIR"):
        load_config(None, [str(folder)], [], [write(tmp_path / "w.yaml", "version_name: x\n")])


# -- the same through `python -m ubiops.local serve` -----------------------------------------------------------------


def test_serve_takes_name_equals_zip_and_the_official_cli_files_with_config(tmp_path: Path, cache: Path) -> None:
    package = zip_package(tmp_path / "package.zip", folder="deployment_package")
    config = write(tmp_path / "server.yaml", f"deployments:\n  - name: echo\n    path: {BUNDLED_DIR / 'echo'}\n")
    deployment = write(tmp_path / "deployment.yaml", DEPLOYMENT_YAML.replace("my-deployment-name", "scorer"))
    version = write(tmp_path / "version.yaml", "deployment_name: scorer\nenvironment_variables: {GREETING: hi}\n")
    served = Served(
        [
            *("--config", str(config), "--deployment", f"scorer={package}"),
            *("--deployment-config", str(deployment), "--version-config", str(version)),
            *("--port", "0", "--data-dir", str(tmp_path / "data")),
        ],
        env={CACHE_VARIABLE: str(cache)},
    )
    try:
        assert "echo (v1; default v1)" in served.lines[1] and "scorer (v1; default v1)" in served.lines[1]
        reply = served.http.post(f"{P}/scorer/requests", json_body={"env": "GREETING"}).json()
        assert reply["result"] == {"value": "hi"}, reply
        assert served.http.get(f"{P}/scorer").json()["labels"]["my-key-1"] == "my-label-1"
        assert len(entries(cache)) == 1
    finally:
        assert served.stop() == 0, served.stderr()
        assert served.process.stdout is not None
        served.process.stdout.close()
        served.stderr_path.unlink()


def test_serve_reports_a_bad_cli_file_before_starting(tmp_path: Path) -> None:
    version = write(tmp_path / "version.yaml", "version_name: v1\nreplicas: 3\n")
    result = subprocess.run(
        [sys.executable, "-m", "ubiops.local", "serve", "--deployment", str(RETURNS_DICT)]
        + ["--version-config", str(version), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert f"{version}: unknown key 'replicas'" in result.stderr
