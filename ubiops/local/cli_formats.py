"""The YAML files of the official UbiOps CLI, for `ubiops-local serve --deployment-config/--version-config`.

A deployment file is what users give `ubiops deployments create -f`, a version file what they give
`ubiops deployments deploy -f` (formats of ubiops-cli 2.32.0). Each is paired with a package given as
`--deployment [NAME=]DIR` and the pairs become entries of our own config format (config.py), which checks them again.
Keys that do not apply locally are accepted and ignored; a key of neither format is an error naming file and key.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ubiops.local.config import (
    DEFAULT_VERSION,
    Checker,
    CliFile,
    ConfigError,
    PackageSpec,
    package_root,
    read_yaml_mapping,
)

#: `ubiops deployments create -f`; `project` is written by `ubiops deployments get -o` (the served project is ours).
DEPLOYMENT_USED = {
    "deployment_name",
    "deployment_description",
    "deployment_labels",
    "deployment_supports_request_format",
    "input_type",
    "input_fields",
    "output_type",
    "output_fields",
}
DEPLOYMENT_IGNORED = {"project"}
#: `ubiops deployments deploy -f`; environment_variables is ours (the platform keeps them apart from the version).
VERSION_USED = {
    "deployment_name",
    "version_name",
    "version_description",
    "version_labels",
    "maximum_instances",
    "instance_processes",
    "environment_variables",
    "deployment_file",
}
VERSION_IGNORED = {
    "environment_name",
    "environment",  # the old name of environment_name
    "environment_tag",
    "instance_type",
    "instance_type_group_id",
    "instance_type_group_name",
    "scaling_strategy",
    "minimum_instances",
    "maximum_idle_time",
    "request_retention_mode",
    "request_retention_time",
    "maximum_queue_size",
    "health_check",
    "ignore_file",
}
DEPLOYMENT_KEYS = DEPLOYMENT_USED | DEPLOYMENT_IGNORED
VERSION_KEYS = VERSION_USED | VERSION_IGNORED
_FIELD_KEYS = {"name", "data_type", "widget"}  # the widget only shapes the web app's form
_VARIABLE_KEYS = {"name", "value", "secret"}
_DEPLOYMENT_FILES = ("deployment", "deployment.py")


@dataclass
class DeploymentFile:
    """A checked deployment file: what our config calls the deployment's types, fields, description and labels."""

    label: str
    deployment_name: Optional[str]
    settings: Dict[str, Any]


@dataclass
class VersionFile:
    """A checked version file: its deployment and one version entry of our config."""

    label: str
    deployment_name: Optional[str]
    version: Dict[str, Any]


@dataclass
class _Package:
    """A --deployment package while files are paired with it; `fixed` once its name was given."""

    spec: PackageSpec
    name: str  # "" when the folder name gives none and nothing named it
    fixed: bool
    deployment: Optional[DeploymentFile] = None
    versions: List[VersionFile] = field(default_factory=list)


def package_entries(
    specs: Sequence[PackageSpec],
    deployment_files: Sequence[CliFile] = (),
    version_files: Sequence[CliFile] = (),
    taken: Sequence[Any] = (),
) -> List[Dict[str, Any]]:
    """Config entries of the packages, with the deployment and version files paired to them; `taken` are the names
    of the deployments already configured (--config), which the packages may not take."""
    deployment_paths = {_identity(source) for source in deployment_files}
    version_paths = {_identity(source) for source in version_files}
    packages = [_Package(spec, spec.name or _derived(spec), spec.name is not None) for spec in specs]
    for index, source in enumerate(deployment_files):
        deployment = read_deployment_file(source, index, also_version=_identity(source) in version_paths)
        package = _pair(packages, deployment.label, deployment.deployment_name, "deployment config")
        if package.deployment is not None:
            raise ConfigError(
                f"{deployment.label}: deployment {package.name!r} already has the deployment config "
                f"{package.deployment.label}"
            )
        package.deployment = deployment
    for index, source in enumerate(version_files):
        version = read_version_file(source, index, also_deployment=_identity(source) in deployment_paths)
        _pair(packages, version.label, version.deployment_name, "version config").versions.append(version)
    entries = [_entry(package) for package in packages]
    seen = {name for name in taken if isinstance(name, str)}
    for package, entry in zip(packages, entries):
        if entry["name"] in seen:
            raise ConfigError(
                f"{package.spec.label}: a deployment named {entry['name']!r} is already served; "
                f"name this one with NAME=DIR"
            )
        seen.add(entry["name"])
    return entries


def _identity(source: CliFile) -> Any:
    return Path(source).resolve() if isinstance(source, (str, Path)) else id(source)


def _derived(spec: PackageSpec) -> str:
    try:
        return spec.default_name()
    except ConfigError:
        return ""  # reported when the package is still unnamed after pairing


def _pair(packages: List[_Package], label: str, wanted: Optional[str], what: str) -> _Package:
    """The package a file configures: the one of its deployment_name, else the only one (which takes that name
    unless its name was given)."""
    if not packages:
        raise ConfigError(f"{label}: a {what} needs the package it configures: give it with --deployment [NAME=]DIR")
    if wanted is not None:
        for package in packages:
            if package.name == wanted:
                package.fixed = True
                return package
    if len(packages) == 1:
        (only,) = packages
        if wanted is None:
            return only
        if not only.fixed:  # named after its folder: the file names it
            only.name, only.fixed = wanted, True
            return only
        raise ConfigError(
            f"{label}: deployment_name {wanted!r} does not match {only.spec.label}, which is named {only.name!r}"
        )
    names = ", ".join(repr(package.name) for package in packages)
    if wanted is None:
        raise ConfigError(
            f"{label}: no deployment_name, and there are {len(packages)} --deployment packages ({names}); "
            f"add deployment_name to say which it configures"
        )
    raise ConfigError(
        f"{label}: deployment_name {wanted!r} matches none of the --deployment packages ({names}); "
        f"give its package as --deployment {wanted}=DIR"
    )


def _entry(package: _Package) -> Dict[str, Any]:
    name = package.name or package.spec.default_name()  # raises: nothing named it
    entry: Dict[str, Any] = {"name": name, "path": str(package_root(package.spec.path, package.spec.label))}
    if package.deployment is not None:
        entry.update(package.deployment.settings)
    if package.versions:
        entry["versions"] = [version.version for version in package.versions]
    return entry


# -- reading the files ------------------------------------------------------------------------------------------------


def read_deployment_file(source: CliFile, index: int = 0, also_version: bool = False) -> DeploymentFile:
    """A deployment file (or dict) checked; `also_version`: the same file is a version file too, so the keys of
    that format are read there (one file may hold both, as the official CLI ignores the keys it does not read)."""
    label, raw = _load(source, "deployment_configs", index)
    given = _given(raw, label, ("deployment", DEPLOYMENT_KEYS), ("version", VERSION_KEYS), also_version)
    check = Checker(label, Path.cwd())
    if given.get("deployment_supports_request_format", True) is not True:
        raise check.fail(
            "key 'deployment_supports_request_format'",
            "only deployments that support the request format (true, the default) can be served locally",
        )
    settings: Dict[str, Any] = {
        "description": check.description(given.get("deployment_description"), ""),
        "labels": check.labels(given.get("deployment_labels"), ""),
    }
    for side in ("input", "output"):
        io_type = check.io_type(given.get(f"{side}_type"), f"key '{side}_type'")
        fields = check.fields(
            {f"{side}_fields": _without_widgets(given.get(f"{side}_fields"))}, f"{side}_fields", io_type, ""
        )
        if io_type is not None:
            settings[f"{side}_type"] = io_type
        if fields:
            settings[f"{side}_fields"] = [{"name": f.name, "data_type": f.data_type} for f in fields]
    return DeploymentFile(label, _name(check, given.get("deployment_name"), "deployment_name"), settings)


def read_version_file(source: CliFile, index: int = 0, also_deployment: bool = False) -> VersionFile:
    """A version file (or dict) checked; instances: maximum_instances times instance_processes (each at least 1)."""
    label, raw = _load(source, "version_configs", index)
    given = _given(raw, label, ("version", VERSION_KEYS), ("deployment", DEPLOYMENT_KEYS), also_deployment)
    check = Checker(label, Path.cwd())
    deployment_file = given.get("deployment_file")
    if deployment_file is not None and str(deployment_file).strip() not in _DEPLOYMENT_FILES:
        raise check.fail("key 'deployment_file'", f"the local server runs deployment.py; got {deployment_file!r}")
    instances = _count(check, given, "maximum_instances") * _count(check, given, "instance_processes")
    version = {
        "name": _name(check, given.get("version_name"), "version_name") or DEFAULT_VERSION,
        "instances": instances,
        "environment_variables": check.environment(_variables(check, given.get("environment_variables", {})), ""),
        "description": check.description(given.get("version_description"), ""),
        "labels": check.labels(given.get("version_labels"), ""),
    }
    return VersionFile(label, _name(check, given.get("deployment_name"), "deployment_name"), version)


def _load(source: CliFile, option: str, index: int) -> Tuple[str, Mapping[str, Any]]:
    if isinstance(source, Mapping):
        return f"{option}[{index}]", source
    if isinstance(source, (str, Path)):
        return str(source), read_yaml_mapping(source, "keys like deployment_name")
    raise ConfigError(f"{option}[{index}]: expected a file path or a dict, got {type(source).__name__}")


_OPTIONS = {
    "deployment": "--deployment-config, `ubiops deployments create -f`",
    "version": "--version-config, `ubiops deployments deploy -f`",
}


def _given(
    raw: Mapping[str, Any], label: str, own: Tuple[str, Set[str]], other: Tuple[str, Set[str]], also_other: bool
) -> Dict[str, Any]:
    """The keys of the file's own format that have a value (null means not given, as for the official CLI)."""
    for key in raw:
        if key in own[1] or (also_other and key in other[1]):
            continue
        if key in other[1]:
            raise ConfigError(
                f"{label}: key {key!r} belongs in a {other[0]} file ({_OPTIONS[other[0]]}), not in a {own[0]} file; "
                f"move it, or give this file as {_OPTIONS[other[0]].split(',')[0]} too"
            )
        raise ConfigError(
            f"{label}: unknown key {key!r} for a {own[0]} file ({_OPTIONS[own[0]]}; keys: {', '.join(sorted(own[1]))})"
        )
    return {key: value for key, value in raw.items() if key in own[1] and value is not None}


def _without_widgets(value: Any) -> Any:
    """Fields as our config takes them: the web app's widget is accepted and left out."""
    if not isinstance(value, list):
        return value
    return [{k: v for k, v in item.items() if k != "widget"} if isinstance(item, dict) else item for item in value]


def _name(check: Checker, value: Any, key: str) -> Optional[str]:
    """A name, or None when not given; numbers are names too (`version_name: 2`), as for the official CLI."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return check.name(value, f"key '{key}'")


def _count(check: Checker, given: Mapping[str, Any], key: str) -> int:
    """An instance count of at least 1: 0 (scale to zero on the platform) still runs one process here."""
    value = given.get(key, 1)
    if isinstance(value, str) and value.strip().isdigit():  # the official CLI takes int(value)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise check.fail(f"key '{key}'", f"must be an integer >= 0, got {value!r}")
    return max(1, value)


def _variables(check: Checker, value: Any) -> Any:
    """environment_variables as a mapping of names to values, or as a list of {name, value, secret}, the way the
    UbiOps API lists them (`secret` changes nothing locally)."""
    if not isinstance(value, list):
        return value
    variables: Dict[Any, Any] = {}
    for index, item in enumerate(value):
        where = f"key 'environment_variables'[{index}]"
        if not isinstance(item, dict):
            raise check.fail(where, "must be a mapping like {name: MY_VARIABLE, value: '1', secret: false}")
        unknown = sorted(str(key) for key in item if key not in _VARIABLE_KEYS)
        if unknown:
            raise check.fail(where, f"unknown key {unknown[0]!r} (allowed: name, secret, value)")
        if not isinstance(item.get("name"), str) or not item["name"]:
            raise check.fail(f"{where}: key 'name'", f"must be a non-empty string, got {item.get('name')!r}")
        variables[item["name"]] = "" if item.get("value") is None else item["value"]
    return variables
