"""Deployments and their versions, as the public client declares them (read-only here)."""

from datetime import datetime
from typing import Dict, List, Optional

from ubiops.models.base import Model

__all__ = [
    "InputOutputFieldList",
    "InputOutputWidgetList",
    "InputOutputFieldDetail",
    "DeploymentList",
    "DeploymentDetail",
    "DeploymentVersionPort",
    "DeploymentVersionList",
    "DeploymentVersionDetail",
]


class InputOutputFieldList(Model):
    """An input or output field of a structured deployment: its name and data type (``int``, ``string``, ...)."""

    name: Optional[str] = None
    data_type: Optional[str] = None


class InputOutputWidgetList(Model):
    """How the web app shows a field."""

    type: Optional[str] = None
    configuration: Optional[Dict[str, str]] = None


class InputOutputFieldDetail(InputOutputFieldList):
    """A field as ``deployments_get`` shows it, with its widget."""

    widget: Optional[InputOutputWidgetList] = None


class DeploymentList(Model):
    """A deployment as ``deployments_list`` shows it."""

    id: Optional[str] = None
    name: Optional[str] = None
    supports_request_format: Optional[bool] = None
    project: Optional[str] = None
    description: Optional[str] = None
    input_type: Optional[str] = None
    output_type: Optional[str] = None
    input_fields: Optional[List[InputOutputFieldList]] = None
    output_fields: Optional[List[InputOutputFieldList]] = None
    labels: Optional[Dict[str, str]] = None
    creation_date: Optional[datetime] = None
    last_updated: Optional[datetime] = None


class DeploymentDetail(DeploymentList):
    """A deployment as ``deployments_get`` returns it: its fields with their widgets, and its ``default_version``."""

    input_fields: Optional[List[InputOutputFieldDetail]] = None  # type: ignore[assignment]  # with their widgets
    output_fields: Optional[List[InputOutputFieldDetail]] = None  # type: ignore[assignment]
    default_version: Optional[str] = None


class DeploymentVersionPort(Model):
    """A port a version opens."""

    public_port: Optional[int] = None
    deployment_port: Optional[int] = None
    protocol: Optional[str] = None


class DeploymentVersionList(Model):
    """A version as ``deployment_versions_list`` shows it; ``status`` is ``available`` when it takes requests."""

    id: Optional[str] = None
    deployment: Optional[str] = None
    version: Optional[str] = None
    default: Optional[bool] = None
    description: Optional[str] = None
    environment: Optional[str] = None
    environment_display_name: Optional[str] = None
    status: Optional[str] = None
    active_revision: Optional[str] = None
    latest_revision: Optional[str] = None
    maximum_instances: Optional[int] = None
    minimum_instances: Optional[int] = None
    maximum_idle_time: Optional[int] = None
    labels: Optional[Dict[str, str]] = None
    creation_date: Optional[datetime] = None
    last_updated: Optional[datetime] = None
    request_retention_time: Optional[int] = None
    request_retention_mode: Optional[str] = None
    maximum_queue_size: Optional[int] = None
    static_ip: Optional[bool] = None
    restart_request_interruption: Optional[bool] = None
    ports: Optional[List[DeploymentVersionPort]] = None
    instance_type: Optional[str] = None
    scaling_strategy: Optional[str] = None
    instance_processes: Optional[int] = None


class DeploymentVersionDetail(DeploymentVersionList):
    """A version as ``deployment_versions_get`` returns it."""

    instance_type_group_id: Optional[str] = None
    instance_type_group_name: Optional[str] = None
    last_file_upload: Optional[datetime] = None
    has_request_method: Optional[bool] = None
    has_requests_method: Optional[bool] = None
