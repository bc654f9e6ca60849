"""The server configuration: defaults, YAML files, and an error naming file, deployment and key for each mistake."""

from pathlib import Path
from typing import Any, Dict

import pytest

from ubiops.local.config import BUNDLED_DIR, ConfigError, default_config, load_config

PACKAGES = Path(__file__).parent / "packages"
TOOL = str(PACKAGES / "srv_tool")


def config_with(**deployment: Any) -> Dict[str, Any]:
    return {"deployments": [{"name": "dep", "path": TOOL, **deployment}]}


def test_defaults_of_a_minimal_deployment():
    config = load_config({"deployments": [{"name": "dep", "path": TOOL}]})
    assert config.project == "local"
    (deployment,) = config.deployments
    assert (deployment.input_type, deployment.output_type) == (None, None)  # untyped: any JSON value or text
    assert deployment.default_version == "v1"
    (version,) = deployment.versions
    assert (version.name, version.path, version.instances) == ("v1", Path(TOOL), 1)


def test_versions_override_path_instances_and_environment():
    config = load_config(
        config_with(
            instances=2,
            environment_variables={"A": "1", "B": 2},
            versions=[
                {"name": "v1"},
                {"name": "v2", "path": str(BUNDLED_DIR / "echo"), "instances": 3, "environment_variables": {"B": "x"}},
            ],
            default_version="v2",
        )
    )
    v1, v2 = config.deployments[0].versions
    assert (v1.path, v1.instances, v1.environment_variables) == (Path(TOOL), 2, {"A": "1", "B": "2"})
    assert (v2.path, v2.instances, v2.environment_variables) == (BUNDLED_DIR / "echo", 3, {"A": "1", "B": "x"})
    assert config.deployments[0].default_version == "v2"


def test_default_config_serves_the_bundled_examples():
    config = load_config(default_config())
    assert config.project == "local"
    echo, calculator = config.deployments
    assert (echo.name, echo.input_type, echo.versions[0].instances) == ("echo", "plain", 2)
    assert calculator.input_type == calculator.output_type == "structured"
    assert [(f.name, f.data_type) for f in calculator.input_fields] == [
        ("x", "double"),
        ("y", "double"),
        ("op", "string"),
    ]
    assert [(f.name, f.data_type) for f in calculator.output_fields] == [("result", "double")]
    assert load_config(None) == config


def test_yaml_file_with_paths_relative_to_the_file(tmp_path):
    package = tmp_path / "packages" / "mine"
    package.mkdir(parents=True)
    (package / "deployment.py").write_text("class Deployment:\n    pass\n")
    file = tmp_path / "conf" / "server.yaml"
    file.parent.mkdir()
    file.write_text(
        "project: my-project\n"
        "deployments:\n"
        "  - name: my-deployment\n"
        "    path: ../packages/mine\n"
        "    input_type: structured\n"
        "    input_fields: [{name: x, data_type: double}]\n"
        "    output_type: structured\n"
        "    output_fields: [{name: y, data_type: array_int}]\n"
        "    instances: 2\n"
    )
    config = load_config(str(file))
    assert config.project == "my-project"
    assert config.deployments[0].versions[0].path == package.resolve()
    assert config.deployments[0].output_fields[0].data_type == "array_int"


def test_deployment_directories_get_defaults_and_their_names():
    config = load_config(None, [TOOL, str(BUNDLED_DIR / "echo")])
    assert [d.name for d in config.deployments] == ["srv-tool", "echo"]  # as UbiOps names go
    assert all(d.input_type is None and d.default_version == "v1" for d in config.deployments)


@pytest.mark.parametrize(
    "config, where, rule",
    [
        ({"deployments": [], "projects": 1}, "top level", "unknown key 'projects'"),
        ({"deployments": []}, "key 'deployments'", "non-empty list"),
        ({"project": "a/b", "deployments": [{"name": "dep", "path": TOOL}]}, "key 'project'", "'a/b'"),
        (config_with(colour="red"), "deployment 'dep'", "unknown key 'colour'"),
        (config_with(instances="two"), "deployment 'dep': key 'instances'", "integer >= 1"),
        (config_with(instances=0), "deployment 'dep': key 'instances'", "integer >= 1"),
        (config_with(input_type="json"), "deployment 'dep': key 'input_type'", "structured, plain"),
        (config_with(input_fields=[{"name": "x", "data_type": "double"}]), "key 'input_fields'", "structured"),
        (
            config_with(input_type="structured", input_fields=[{"name": "x", "data_type": "float"}]),
            "key 'input_fields'[0]: key 'data_type'",
            "'float'",
        ),
        (
            config_with(input_type="structured", input_fields=[{"name": "x", "data_type": "int", "unit": "m"}]),
            "key 'input_fields'[0]",
            "unknown key 'unit'",
        ),
        (
            config_with(
                input_type="structured",
                input_fields=[{"name": "x", "data_type": "int"}, {"name": "x", "data_type": "int"}],
            ),
            "key 'input_fields'",
            "duplicate field name 'x'",
        ),
        (config_with(path=str(PACKAGES)), "deployment 'dep': version 'v1': key 'path'", "has no deployment.py"),
        (config_with(path="/no/such/dir"), "key 'path'", "not a directory"),
        (config_with(versions=[{"name": "v1"}, {"name": "v1"}]), "key 'versions'", "duplicate version name 'v1'"),
        (config_with(versions=[{"name": "v1", "size": 3}]), "versions[0]", "unknown key 'size'"),
        (config_with(versions=["v1"]), "versions[0]", "must be a mapping"),
        (config_with(default_version="v9"), "key 'default_version'", "'v9' is not among the versions ['v1']"),
        (config_with(environment_variables=["A=1"]), "key 'environment_variables'", "mapping"),
        (config_with(environment_variables={"A": [1]}), "environment_variables': A", "string or number"),
        ({"deployments": [{"path": TOOL}]}, "deployments[0]: key 'name'", "None"),
        (
            {"deployments": [{"name": "dep", "path": TOOL}, {"name": "dep", "path": TOOL}]},
            "deployments",
            "duplicate deployment name 'dep'",
        ),
        ({"deployments": [{"name": "dep"}]}, "version 'v1': key 'path'", "missing"),
        # "$" would let a final newline through, and every record of the deployment would be broken JSON
        ({"deployments": [{"name": "dep\n", "path": TOOL}]}, "key 'name'", "got 'dep\\n'"),
    ],
)
def test_bad_config_names_where_and_why(config, where, rule):
    with pytest.raises(ConfigError) as error:
        load_config(config)
    message = str(error.value)
    assert message.startswith("config: ")
    assert where in message and rule in message, message


def test_errors_in_a_file_name_the_file(tmp_path):
    file = tmp_path / "bad.yaml"
    file.write_text(f"deployments:\n  - name: dep\n    path: {TOOL}\n    instances: -1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: deployment 'dep': key 'instances': must be an integer >= 1"):
        load_config(str(file))
    file.write_text("deployments: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_config(file)
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the config file"):
        load_config(tmp_path / "missing.yaml")
    file.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: the config must be a mapping"):
        load_config(file)
