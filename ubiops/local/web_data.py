"""What the web view reads beyond the API: the state of every version (instances, queues, throughput) and pages of
requests across statuses and deployments, newest first. Read only: every change goes through the API."""

from typing import Any, Dict, List, Optional, Tuple

from ubiops.local.backend import Backend
from ubiops.local.config import DeploymentConfig, Field
from ubiops.local.records import JsonText, compact_json, json_list, list_record
from ubiops.local.store import StoredRequest
from ubiops.local.validation import STATUSES, ApiError

RECENT = 20  #: requests across the project on the overview
PAGE_LIMIT = (1, 200, 50)  #: (least, most, default) requests per page


def overview(backend: Backend) -> JsonText:
    """The project, each deployment with its versions' instances and queues, and the most recent requests."""
    project = backend.config.project
    fields = {
        "project": project,
        "deployments": [_deployment(backend, project, deployment) for deployment in backend.config.deployments],
    }
    return _with_records(fields, "recent", backend.store.page(project, None, None, (), RECENT, None))


def page(
    backend: Backend,
    deployment: Optional[str],
    version: Optional[str],
    status: Optional[str],
    limit: int,
    before: Optional[int],
) -> JsonText:
    """A page of requests, newest first; `next` is the `before` of the next page, None on the last one."""
    project = backend.config.project
    if version is not None and deployment is None:
        raise ApiError(400, "version: give the deployment too")
    if deployment is not None:
        backend.version(project, deployment, version)  # a 404 naming what does not exist
    statuses = [s for s in (status or "").split(",") if s]
    for value in statuses:
        if value not in STATUSES:
            raise ApiError(400, f"status: unknown status {value!r} (allowed: {', '.join(STATUSES)})")
    rows = backend.store.page(project, deployment, version, statuses, limit + 1, before)
    more = len(rows) > limit
    rows = rows[:limit]
    return _with_records({"next": rows[-1].time_created if more else None}, "requests", rows)


def _with_records(fields: Dict[str, Any], name: str, rows: List[StoredRequest]) -> JsonText:
    """`fields` with the rows under `name`, each as the API's list endpoint gives a request (records.list_record)."""
    head = compact_json(fields)[:-1]
    return JsonText(f'{head}{"," if fields else ""}"{name}":{json_list(list_record(row) for row in rows)}}}')


def _deployment(backend: Backend, project: str, deployment: DeploymentConfig) -> Dict[str, Any]:
    versions: List[Dict[str, Any]] = []
    for version in deployment.versions:
        lane = backend.version(project, deployment.name, version.name)
        versions.append({"name": version.name, "instances": lane.runtime.instance_states(), **lane.stats()})
    return {
        "name": deployment.name,
        "input_type": deployment.input_type,
        "output_type": deployment.output_type,
        "input_fields": _fields(deployment.input_fields),
        "output_fields": _fields(deployment.output_fields),
        "default_version": deployment.default_version,
        "versions": versions,
    }


def _fields(fields: Tuple[Field, ...]) -> List[Dict[str, str]]:
    return [{"name": f.name, "data_type": f.data_type} for f in fields]
