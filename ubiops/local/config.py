"""Server configuration: which deployments the local server runs, read from YAML or a dict.

Every problem is reported before the server starts, as a ConfigError naming the file, the deployment and the key.
Importing this module needs nothing beyond the standard library (PyYAML is imported only to read a file).
"""

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ubiops.local.unzip import BadZip, unpack_package

DATA_TYPES = (
    "int",
    "double",
    "string",
    "bool",
    "dict",
    "file",
    "array_int",
    "array_double",
    "array_string",
    "array_file",
)
IO_TYPES = ("structured", "plain")
#: Names of projects, deployments and versions: they are path segments of the API, so no "/" and no dot-names.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # used with fullmatch: "$" lets a final newline in
DEFAULT_PROJECT = "local"
DEFAULT_VERSION = "v1"
BUNDLED_DIR = Path(__file__).parent / "deployments"

_TOP_KEYS = {"project", "deployments"}
_DEPLOYMENT_KEYS = {
    "name",
    "path",
    "input_type",
    "input_fields",
    "output_type",
    "output_fields",
    "instances",
    "environment_variables",
    "versions",
    "default_version",
    "description",
    "labels",
}
_VERSION_KEYS = {"name", "path", "instances", "environment_variables", "description", "labels"}
_FIELD_KEYS = {"name", "data_type"}


class ConfigError(ValueError):
    """A configuration that cannot be served; the message says where and why."""


@dataclass(frozen=True)
class Field:
    name: str
    data_type: str


@dataclass(frozen=True)
class VersionConfig:
    name: str
    path: Path
    instances: int
    environment_variables: Dict[str, str]
    description: str = ""
    labels: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentConfig:
    """input_type/output_type None: not declared (untyped), which takes and returns any JSON value or text."""

    name: str
    input_type: Optional[str]
    input_fields: Tuple[Field, ...]
    output_type: Optional[str]
    output_fields: Tuple[Field, ...]
    versions: Tuple[VersionConfig, ...]
    default_version: str
    description: str = ""
    labels: Dict[str, str] = field(default_factory=dict)

    def version(self, name: str) -> Optional[VersionConfig]:
        return next((v for v in self.versions if v.name == name), None)

    def unknown_version(self, name: str) -> str:
        """The 404 message for a version this deployment does not have: it names the ones it has."""
        return f"version {name!r} of deployment {self.name!r} not found (its versions: {_names(self.versions)})"


@dataclass(frozen=True)
class ServerConfig:
    project: str
    deployments: Tuple[DeploymentConfig, ...]

    def deployment(self, name: str) -> Optional[DeploymentConfig]:
        return next((d for d in self.deployments if d.name == name), None)

    def unknown_deployment(self, name: str) -> str:
        """The 404 message for a deployment this server does not serve: it names the ones it serves."""
        return (
            f"deployment {name!r} not found in project {self.project!r} "
            f"(this server serves: {_names(self.deployments)})"
        )


def _names(items: Any) -> str:
    return ", ".join(item.name for item in items) or "none"


ConfigSource = Union[str, Path, Mapping[str, Any]]


def default_config() -> Dict[str, Any]:
    """The bundled example deployments: `echo` (plain) and `calculator` (structured), project `local`."""
    return {
        "project": DEFAULT_PROJECT,
        "deployments": [
            {
                "name": "echo",
                "path": str(BUNDLED_DIR / "echo"),
                "input_type": "plain",
                "output_type": "plain",
                "instances": 2,
            },
            {
                "name": "calculator",
                "path": str(BUNDLED_DIR / "calculator"),
                "input_type": "structured",
                "input_fields": [
                    {"name": "x", "data_type": "double"},
                    {"name": "y", "data_type": "double"},
                    {"name": "op", "data_type": "string"},
                ],
                "output_type": "structured",
                "output_fields": [{"name": "result", "data_type": "double"}],
            },
        ],
    }


# -- packages given on the command line: `--deployment [NAME=]DIR` ----------------------------------------------------


def ubiops_name(text: str) -> str:
    """A name as UbiOps writes them (lowercase letters, digits, dashes) from a folder or file name: `My Model` ->
    `my-model`, `modèle` -> `modele`; "" when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:64].rstrip("-")


def is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip" and not path.is_dir()


@dataclass(frozen=True)
class PackageSpec:
    """One `--deployment [NAME=]DIR` (or item of LocalServer's deployment_dirs): a package folder or .zip file."""

    text: str  #: as given, for messages
    path: Path  #: absolute, not yet checked for deployment.py nor unpacked
    name: Optional[str]  #: given as NAME=DIR, else None (named after the folder or zip)

    @property
    def label(self) -> str:
        return f"--deployment {self.text!r}"

    def default_name(self) -> str:
        """The deployment name from the folder or zip file name; a ConfigError when it gives none."""
        stem = self.path.stem if is_zip(self.path) else self.path.name
        name = ubiops_name(stem)
        if not name:
            raise ConfigError(
                f"{self.label}: the name {stem!r} gives no deployment name (lowercase letters, digits and dashes); "
                f"name the deployment with NAME=DIR, e.g. --deployment my-deployment={self.text}"
            )
        return name


def parse_deployment(value: Union[str, Path]) -> PackageSpec:
    """`DIR` or `NAME=DIR` (split at the first `=` when the left part is a valid name and the whole text is not an
    existing path); DIR may be a .zip file. Relative paths are relative to the current directory."""
    text = str(value)
    name, path_text = None, text
    left, equals, right = text.partition("=")
    if equals and NAME_PATTERN.fullmatch(left) and not Path(text).expanduser().exists():
        name, path_text = left, right
    if not path_text:
        raise ConfigError(f"--deployment {text!r}: give a package folder or .zip file, as DIR or NAME=DIR")
    path = Path(path_text).expanduser().resolve()
    if not path.is_dir() and not (path.is_file() and is_zip(path)):
        raise ConfigError(f"--deployment {text!r}: {path} is not a directory or a .zip file")
    return PackageSpec(text, path, name)


def package_root(path: Path, where: str) -> Path:
    """The folder to run: `path` itself, or the root of its zip unpacked in the cache; a ConfigError starting with
    `where` when it is neither a package folder nor a good zip."""
    if is_zip(path) and path.is_file():
        try:
            return unpack_package(path)
        except BadZip as exc:
            raise ConfigError(f"{where}: {path}: {exc}") from None
    if not path.is_dir():
        raise ConfigError(f"{where}: {path} is not a directory or a .zip file")
    if not (path / "deployment.py").is_file():
        raise ConfigError(f"{where}: {path} has no deployment.py")
    return path


def directory_deployment(directory: Union[str, Path]) -> Dict[str, Any]:
    """The config entry of `--deployment [NAME=]DIR` alone: untyped, version v1."""
    spec = parse_deployment(directory)
    return {"name": spec.name or spec.default_name(), "path": str(package_root(spec.path, spec.label))}


# -- reading and checking ---------------------------------------------------------------------------------------------


def read_yaml_mapping(path: Union[str, Path], what: str = "the keys project and deployments") -> Dict[str, Any]:
    """Parse a YAML file that holds a mapping (not yet checked); `what` says what the mapping should hold."""
    import yaml

    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the config file: {exc.strerror or exc}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the config must be a mapping with {what}")
    return raw


def read_config_file(path: Union[str, Path]) -> Dict[str, Any]:
    """Parse a YAML config file into a dict (not yet checked); relative paths stay relative to the file."""
    return read_yaml_mapping(path)


CliFile = Union[str, Path, Mapping[str, Any]]


def load_config(
    source: Optional[ConfigSource] = None,
    extra_directories: Sequence[Union[str, Path]] = (),
    deployment_configs: Sequence[CliFile] = (),
    version_configs: Sequence[CliFile] = (),
) -> ServerConfig:
    """Check a config (a YAML file path, a dict, or None for the bundled examples) and resolve its paths.

    `extra_directories` adds one deployment per `[NAME=]DIR` (the CLI's `--deployment`); `deployment_configs` and
    `version_configs` are the YAML files of the official UbiOps CLI (cli_formats.py), paired with those packages.
    Paths in a file are relative to the file; paths in a dict are relative to the current directory.
    """
    specs = [parse_deployment(value) for value in extra_directories]
    if source is None and not (specs or deployment_configs or version_configs):
        source = default_config()
    if source is None:
        raw: Mapping[str, Any] = {}
        label, base = "command line", Path.cwd()
    elif isinstance(source, (str, Path)):
        raw = read_config_file(source)
        label, base = str(source), Path(source).resolve().parent
    elif isinstance(source, Mapping):
        raw, label, base = source, "config", Path.cwd()
    else:
        raise ConfigError(f"config: expected a file path or a dict, got {type(source).__name__}")
    if specs or deployment_configs or version_configs:
        from ubiops.local.cli_formats import package_entries  # cli_formats builds on this module

        configured = [d.get("name") for d in _as_list(raw.get("deployments")) if isinstance(d, Mapping)]
        entries = package_entries(specs, deployment_configs, version_configs, taken=configured)
        raw = {**raw, "deployments": [*_as_list(raw.get("deployments")), *entries]}
    return Checker(label, base).server(raw)


def _as_list(value: Any) -> List[Any]:
    return list(value) if isinstance(value, list) else []


class Checker:
    """Turns raw config data into a ServerConfig; every error names the file, the deployment and the key."""

    def __init__(self, label: str, base: Path) -> None:
        self.label = label
        self.base = base

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.label}: {where}: {message}")

    def server(self, raw: Mapping[str, Any]) -> ServerConfig:
        self.unknown_keys(raw, _TOP_KEYS, "top level")
        project = self.name(raw.get("project", DEFAULT_PROJECT), "key 'project'")
        deployments = raw.get("deployments")
        if not isinstance(deployments, list) or not deployments:
            raise self.fail("key 'deployments'", "must be a non-empty list of deployments")
        checked = [self.deployment(item, index) for index, item in enumerate(deployments)]
        self.no_duplicates([d.name for d in checked], "deployments", "deployment name")
        return ServerConfig(project=project, deployments=tuple(checked))

    def deployment(self, raw: Any, index: int) -> DeploymentConfig:
        where = f"deployments[{index}]"
        if not isinstance(raw, dict):
            raise self.fail(where, f"must be a mapping, got {type(raw).__name__}")
        if "name" in raw and isinstance(raw["name"], str):
            where = f"deployment '{raw['name']}'"
        self.unknown_keys(raw, _DEPLOYMENT_KEYS, where)
        name = self.name(raw.get("name"), f"{where}: key 'name'")
        input_type = self.io_type(raw.get("input_type"), f"{where}: key 'input_type'")
        output_type = self.io_type(raw.get("output_type"), f"{where}: key 'output_type'")
        input_fields = self.fields(raw, "input_fields", input_type, where)
        output_fields = self.fields(raw, "output_fields", output_type, where)
        defaults = {
            "path": raw.get("path"),
            "instances": self.instances(raw.get("instances", 1), f"{where}: key 'instances'"),
            "environment_variables": self.environment(raw.get("environment_variables", {}), where),
        }
        versions_raw = raw.get("versions", [{"name": DEFAULT_VERSION}])
        if not isinstance(versions_raw, list) or not versions_raw:
            raise self.fail(f"{where}: key 'versions'", "must be a non-empty list of versions like {name: v1}")
        versions = [self.version(item, i, where, defaults) for i, item in enumerate(versions_raw)]
        self.no_duplicates([v.name for v in versions], f"{where}: key 'versions'", "version name")
        default_version = raw.get("default_version", versions[0].name)
        if default_version not in {v.name for v in versions}:
            raise self.fail(
                f"{where}: key 'default_version'",
                f"{default_version!r} is not among the versions {[v.name for v in versions]}",
            )
        return DeploymentConfig(
            name=name,
            input_type=input_type,
            input_fields=input_fields,
            output_type=output_type,
            output_fields=output_fields,
            versions=tuple(versions),
            default_version=default_version,
            description=self.description(raw.get("description"), where),
            labels=self.labels(raw.get("labels"), where),
        )

    def version(self, raw: Any, index: int, where: str, defaults: Dict[str, Any]) -> VersionConfig:
        here = f"{where}: versions[{index}]"
        if not isinstance(raw, dict):
            raise self.fail(here, f"must be a mapping like {{name: v1}}, got {type(raw).__name__}")
        self.unknown_keys(raw, _VERSION_KEYS, here)
        name = self.name(raw.get("name"), f"{here}: key 'name'")
        here = f"{where}: version '{name}'"
        path = raw.get("path", defaults["path"])
        if path is None:
            raise self.fail(f"{here}: key 'path'", "missing: give the package directory for the deployment or version")
        environment = dict(defaults["environment_variables"])
        environment.update(self.environment(raw.get("environment_variables", {}), here))
        return VersionConfig(
            name=name,
            path=self.package(path, f"{here}: key 'path'"),
            instances=self.instances(raw.get("instances", defaults["instances"]), f"{here}: key 'instances'"),
            environment_variables=environment,
            description=self.description(raw.get("description"), here),
            labels=self.labels(raw.get("labels"), here),
        )

    def io_type(self, value: Any, where: str) -> Optional[str]:
        """None (left out) is an untyped side: any JSON value or text goes through unchecked."""
        return None if value is None else self.choice(value, IO_TYPES, where)

    def fields(self, raw: Mapping[str, Any], key: str, io_type: Optional[str], where: str) -> Tuple[Field, ...]:
        here = _key(where, key)
        value = raw.get(key)
        if value is None:
            return ()
        if io_type != "structured":
            raise self.fail(here, f"only allowed when {key.split('_')[0]}_type is structured")
        if not isinstance(value, list):
            raise self.fail(here, "must be a list like [{name: x, data_type: double}]")
        fields = []
        for index, item in enumerate(value):
            at = f"{here}[{index}]"
            if not isinstance(item, dict):
                raise self.fail(at, "must be a mapping like {name: x, data_type: double}")
            self.unknown_keys(item, _FIELD_KEYS, at)
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise self.fail(f"{at}: key 'name'", "must be a non-empty string")
            fields.append(Field(name, self.choice(item.get("data_type"), DATA_TYPES, f"{at}: key 'data_type'")))
        self.no_duplicates([f.name for f in fields], here, "field name")
        return tuple(fields)

    def package(self, value: Any, where: str) -> Path:
        """A package folder, or a .zip file unpacked into the cache (unzip.py): the folder to run."""
        if not isinstance(value, (str, Path)) or not str(value):
            raise self.fail(where, "must be the path of a package directory or .zip file")
        path = Path(value).expanduser()
        return package_root((path if path.is_absolute() else self.base / path).resolve(), f"{self.label}: {where}")

    def description(self, value: Any, where: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(_key(where, "description"), f"must be a string, got {type(value).__name__}")
        return value

    def labels(self, value: Any, where: str) -> Dict[str, str]:
        """Labels as the API shows them: a mapping of strings to strings (numbers are written as text)."""
        here = _key(where, "labels")
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(here, "must be a mapping like {team: vision}")
        result = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise self.fail(here, f"label names must be non-empty strings, got {key!r}")
            if item is not None and not isinstance(item, (str, int, float, bool)):
                raise self.fail(f"{here}: {key}", f"must be a string or number, got {type(item).__name__}")
            result[key] = "" if item is None else str(item).lower() if isinstance(item, bool) else str(item)
        return result

    def environment(self, value: Any, where: str) -> Dict[str, str]:
        here = _key(where, "environment_variables")
        if not isinstance(value, dict):
            raise self.fail(here, "must be a mapping of names to values")
        result = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise self.fail(here, f"variable names must be non-empty strings, got {key!r}")
            if not isinstance(item, (str, int, float, bool)):
                raise self.fail(f"{here}: {key}", f"must be a string or number, got {type(item).__name__}")
            result[key] = str(item).lower() if isinstance(item, bool) else str(item)
        return result

    def name(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
            raise self.fail(
                where,
                f"must be a name of 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit; "
                f"got {value!r}",
            )
        return value

    def choice(self, value: Any, allowed: Sequence[str], where: str) -> str:
        if value not in allowed:
            raise self.fail(where, f"must be one of {', '.join(allowed)}; got {value!r}")
        return str(value)

    def instances(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(where, f"must be an integer >= 1, got {value!r}")
        return value

    def unknown_keys(self, raw: Mapping[str, Any], allowed: set, where: str) -> None:
        unknown = sorted(str(key) for key in raw if key not in allowed)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")

    def no_duplicates(self, names: List[str], where: str, what: str) -> None:
        seen = set()
        for name in names:
            if name in seen:
                raise self.fail(where, f"duplicate {what} {name!r}")
            seen.add(name)


def _key(where: str, key: str) -> str:
    """Where a key is, for messages: below `where`, or at the top of the file when `where` is empty."""
    return f"{where}: key '{key}'" if where else f"key '{key}'"
