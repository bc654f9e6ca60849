"""Read-only metadata of the served config (user, project, deployments, versions) as the UbiOps API shows it, and
the answer for the platform's paths that the local server does not emulate (501, naming the feature).

Ids are stable (uuid5 of the names), so they stay the same across restarts; creation_date and last_updated are
the moment the server started.
"""

import ast
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ubiops.local.config import DeploymentConfig, ServerConfig, VersionConfig
from ubiops.local.validation import ApiError

ORGANIZATION = "local"
USER_EMAIL = "local@ubiops.local"
ENVIRONMENT = f"python{sys.version_info.major}-{sys.version_info.minor}"
NOT_EMULATED = "is not emulated by ubiops-local"


def shown_io_type(io_type: Optional[str]) -> str:
    """An undeclared (untyped) side shows as structured with no fields: the official CLI then json-parses `--data`,
    which is what the users of packages that take and return dicts want; the server itself takes any JSON or text."""
    return "structured" if io_type is None else io_type


def stable_id(*names: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "ubiops-local:" + "/".join(names)))


def label_filter(raw: Optional[str]) -> Dict[str, str]:
    """`key:value,key2:value2` as the platform takes it; empty means no filter."""
    labels: Dict[str, str] = {}
    for pair in (raw or "").split(","):
        if not pair.strip():
            continue
        key, sep, value = pair.partition(":")
        if not sep or not key.strip():
            raise ApiError(400, f"labels: expected key:value pairs separated by commas, got {raw!r}")
        labels[key.strip()] = value.strip()
    return labels


def has_labels(labels: Dict[str, str], wanted: Dict[str, str]) -> bool:
    """Whether labels hold every wanted key with its value (an empty filter matches everything)."""
    return all(labels.get(key) == value for key, value in wanted.items())


def request_methods(package: Path) -> Tuple[Optional[bool], Optional[bool]]:
    """Whether class Deployment in deployment.py defines request and requests (None where it cannot be read)."""
    try:
        tree = ast.parse((package / "deployment.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None, None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Deployment":
            names = {item.name for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
            return "request" in names, "requests" in names
    return None, None


class Metadata:
    def __init__(self, config: ServerConfig, started: str) -> None:
        self.config = config
        self.started = started
        self._methods = {(d.name, v.name): request_methods(v.path) for d in config.deployments for v in d.versions}

    # -- lookups (404 with the usual message) -------------------------------------------------------------------

    def check_project(self, project: str) -> None:
        if project != self.config.project:
            raise ApiError(404, f"project {project!r} not found (this server serves project {self.config.project!r})")

    def find_deployment(self, project: str, deployment: str) -> DeploymentConfig:
        self.check_project(project)
        found = self.config.deployment(deployment)
        if found is None:
            raise ApiError(404, self.config.unknown_deployment(deployment))
        return found

    def find_version(self, project: str, deployment: str, version: str) -> Tuple[DeploymentConfig, VersionConfig]:
        found = self.find_deployment(project, deployment)
        config = found.version(version)
        if config is None:
            raise ApiError(404, found.unknown_version(version))
        return found, config

    # -- records ----------------------------------------------------------------------------------------------

    def user(self) -> Dict[str, Any]:
        return {"id": stable_id("user"), "email": USER_EMAIL, "name": "Local", "surname": "User"}

    def project(self, detail: bool = True) -> Dict[str, Any]:
        record: Dict[str, Any] = {
            "id": stable_id("project", self.config.project),
            "name": self.config.project,
            "creation_date": self.started,
            "advanced_permissions": False,
            "organization_name": ORGANIZATION,
            "credits": None,
            "labels": {},
        }
        if detail:
            record.update(suspended=False, suspended_reason=None, cors_origins=[])
        return record

    def projects(self, labels: Optional[str] = None) -> List[Dict[str, Any]]:
        """The one project, unless a label filter leaves it out (it has no labels)."""
        project = self.project(detail=False)
        return [project] if has_labels(project["labels"], label_filter(labels)) else []

    def deployment(self, config: DeploymentConfig) -> Dict[str, Any]:
        def fields(items: Sequence[Any]) -> List[Dict[str, Any]]:
            return [{"name": f.name, "data_type": f.data_type, "widget": None} for f in items]

        return {
            "id": stable_id("deployment", self.config.project, config.name),
            "name": config.name,
            "project": self.config.project,
            "description": config.description,
            "input_type": shown_io_type(config.input_type),
            "output_type": shown_io_type(config.output_type),
            "input_fields": fields(config.input_fields),
            "output_fields": fields(config.output_fields),
            "labels": dict(config.labels),
            "creation_date": self.started,
            "last_updated": self.started,
            "default_version": config.default_version,
            "supports_request_format": True,
        }

    def deployments(self, project: str, labels: Optional[str]) -> List[Dict[str, Any]]:
        self.check_project(project)
        wanted = label_filter(labels)
        return [self.deployment(d) for d in self.config.deployments if has_labels(d.labels, wanted)]

    def version(self, deployment: DeploymentConfig, version: VersionConfig) -> Dict[str, Any]:
        has_request, has_requests = self._methods.get((deployment.name, version.name), (None, None))
        revision = stable_id("revision", self.config.project, deployment.name, version.name)
        return {
            "id": stable_id("version", self.config.project, deployment.name, version.name),
            "deployment": deployment.name,
            "version": version.name,
            "default": version.name == deployment.default_version,
            "description": version.description,
            "environment_name": ENVIRONMENT,
            "environment_tag": "local",
            "status": "available",
            "active_revision": revision,
            "latest_revision": revision,
            "minimum_instances": version.instances,
            "maximum_instances": version.instances,
            "maximum_idle_time": 0,
            "labels": dict(version.labels),
            "creation_date": self.started,
            "last_updated": self.started,
            "last_file_upload": self.started,
            "request_retention_time": None,
            "request_retention_mode": "full",
            "maximum_queue_size": None,
            "restart_request_interruption": False,
            "ports": [],
            "instance_type": "local",
            "instance_type_group_id": stable_id("instance-type-group", "local"),
            "instance_type_group_name": "local",
            "scaling_strategy": "default",
            "instance_processes": 1,
            "has_request_method": has_request,
            "has_requests_method": has_requests,
            "health_check": None,
            "command": None,
            "args": None,
        }

    def versions(self, project: str, deployment: str, labels: Optional[str]) -> List[Dict[str, Any]]:
        config = self.find_deployment(project, deployment)
        wanted = label_filter(labels)
        return [self.version(config, v) for v in config.versions if has_labels(v.labels, wanted)]


# -- what the platform has and this server does not ------------------------------------------------------------

#: The first path segment below a project, deployment or version that names a platform feature.
FEATURES = {
    "pipelines": "managing pipelines and pipeline requests",
    "buckets": "managing buckets and files",
    "environments": "managing environments",
    "environment-variables": "managing environment variables",
    "revisions": "uploading deployment packages (revisions)",
    "builds": "building deployment packages",
    "instances": "listing instances",
    "instance-types": "listing instance types",
    "instance-type-groups": "managing instance type groups",
    "schedules": "managing request schedules",
    "webhooks": "managing webhooks",
    "exports": "exporting projects",
    "imports": "importing projects",
    "audit": "reading audit events",
    "metrics": "reading metrics",
    "users": "managing project users",
    "role-assignments": "managing roles",
    "roles": "managing roles",
    "services": "managing services",
    "blobs": "managing blobs",
    "usage": "reading usage",
    "resources": "reading resource usage",
    "quotas": "reading quotas",
    "requests": "listing the requests of the whole project",
    "service-users": "managing service users",
    "organizations": "managing organizations",
    "copy": "copying versions",
    "project-instances": "listing instances",
}
_VERBS = {"POST": "creating", "PATCH": "updating", "PUT": "updating", "DELETE": "deleting"}
#: Top-level API collections of the platform (below /v2.1); other top-level paths are 404.
PLATFORM_TOP = {"projects", "organizations", "user", "users"}


def not_emulated(method: str, segments: List[str], metadata: Metadata) -> ApiError:
    """The error for a path below /v2.1 (decoded segments) that no route of ours matched: 404 for a project,
    deployment or version that does not exist (as the platform answers) and for paths the platform does not have,
    else 501 naming the feature."""
    path = f"{method} /v2.1/{'/'.join(segments)}"
    if not segments or segments[0] not in PLATFORM_TOP:
        return ApiError(404, f"no such endpoint: {path}")
    verb = _VERBS.get(method, "changing")

    def feature(word: str, below_deployment: bool) -> ApiError:
        if word == "requests" and below_deployment:  # every request endpoint is emulated: this is not one
            return ApiError(404, f"no such endpoint: {path}")
        return ApiError(501, f"{FEATURES.get(word, f'the {word} API')} {NOT_EMULATED} ({path})")

    def unsupported(kind: str) -> ApiError:
        return ApiError(501, f"{verb} {kind} {NOT_EMULATED} ({path})")

    s = segments
    if s[0] == "user":
        return ApiError(501, f"changing the user {NOT_EMULATED} ({path})")
    if s[0] != "projects":
        return feature(s[0], False)
    try:
        if len(s) <= 2:
            if len(s) == 2:
                metadata.check_project(s[1])
            return unsupported("projects")
        metadata.check_project(s[1])
        if s[2] != "deployments":
            return feature(s[2], False)
        if len(s) <= 4:
            if len(s) == 4:
                metadata.find_deployment(s[1], s[3])
            return unsupported("deployments")
        metadata.find_deployment(s[1], s[3])
        if s[4] != "versions":
            return feature(s[4], True)
        if len(s) <= 6:
            if len(s) == 6:
                metadata.find_version(s[1], s[3], s[5])
            return unsupported("deployment versions")
        metadata.find_version(s[1], s[3], s[5])
        return feature(s[6], True)
    except ApiError as error:
        return error
