"""Projects and their logs, as the public client declares them."""

from datetime import datetime
from typing import Dict, List, Optional

from ubiops.models.base import Model

__all__ = ["ProjectList", "ProjectDetail", "LogsCreate", "Logs"]


class ProjectList(Model):
    """A project as ``projects_list`` shows it."""

    id: Optional[str] = None
    name: Optional[str] = None
    creation_date: Optional[datetime] = None
    advanced_permissions: Optional[bool] = None
    credits: Optional[float] = None
    organization_name: Optional[str] = None
    labels: Optional[Dict[str, str]] = None


class ProjectDetail(ProjectList):
    """A project as ``projects_get`` returns it."""

    suspended: Optional[bool] = None
    suspended_reason: Optional[str] = None
    cors_origins: Optional[List[str]] = None


class LogsCreate(Model):
    """Which log lines ``projects_log_list`` returns: ``filters`` such as ``{"deployment_name": "d",
    "deployment_version": "v1", "deployment_request_id": "..."}``, lines from ``date`` (ISO 8601) going
    ``date_range`` seconds (negative: back in time), or from the line ``id``; at most ``limit`` lines."""

    filters: Optional[Dict[str, str]] = None
    date_range: Optional[int] = None
    date: Optional[str] = None
    id: Optional[str] = None
    limit: Optional[int] = None


class Logs(Model):
    """One log line; ``date`` is ISO 8601 text, as the public client keeps it."""

    id: Optional[str] = None
    log: Optional[str] = None
    date: Optional[str] = None
    deployment_name: Optional[str] = None
    deployment_version: Optional[str] = None
    deployment_version_revision_id: Optional[str] = None
    build_id: Optional[str] = None
    instance_id: Optional[str] = None
    process_id: Optional[int] = None
    environment_name: Optional[str] = None
    environment_build_id: Optional[str] = None
    pipeline_name: Optional[str] = None
    pipeline_version: Optional[str] = None
    pipeline_object_name: Optional[str] = None
    deployment_request_id: Optional[str] = None
    pipeline_request_id: Optional[str] = None
    webhook_name: Optional[str] = None
    system: Optional[bool] = None
    level: Optional[str] = None


class LogMetadata(Model):
    """Where a log line comes from (``LogList.metadata``)."""

    deployment_name: Optional[str] = None
    deployment_version: Optional[str] = None
    deployment_version_revision_id: Optional[str] = None
    instance_id: Optional[str] = None
    process_id: Optional[int] = None
    environment_name: Optional[str] = None
    environment_tag: Optional[str] = None
    environment_build_id: Optional[str] = None
    pipeline_name: Optional[str] = None
    pipeline_version: Optional[str] = None
    pipeline_object_name: Optional[str] = None
    deployment_request_id: Optional[str] = None
    pipeline_request_id: Optional[str] = None
    webhook_name: Optional[str] = None
    system: Optional[bool] = None
    level: Optional[str] = None


class LogList(Model):
    """One log line as ``logs_list`` returns it; ``timestamp`` is in nanoseconds since the epoch."""

    timestamp: Optional[int] = None
    timestamp_str: Optional[str] = None
    log: Optional[str] = None
    metadata: Optional[LogMetadata] = None
