"""Typed records of the API: deployment requests, and the status, projects, deployments, versions and logs that
request code reads around them."""

from ubiops.models.base import MODELS, Model
from ubiops.models.deployment_requests import (
    DeploymentRequestBatchCreateResponse,
    DeploymentRequestCreateResponse,
    DeploymentRequestDetail,
    DeploymentRequestList,
    DeploymentRequestSingleDetail,
    DeploymentRequestUpdate,
)
from ubiops.models.deployments import (
    DeploymentDetail,
    DeploymentList,
    DeploymentVersionDetail,
    DeploymentVersionList,
    DeploymentVersionPort,
    InputOutputFieldDetail,
    InputOutputFieldList,
    InputOutputWidgetList,
)
from ubiops.models.projects import LogList, LogMetadata, Logs, LogsCreate, ProjectDetail, ProjectList
from ubiops.models.status import Status

__all__ = [
    "Model",
    "MODELS",
    "DeploymentRequestBatchCreateResponse",
    "DeploymentRequestCreateResponse",
    "DeploymentRequestDetail",
    "DeploymentRequestList",
    "DeploymentRequestSingleDetail",
    "DeploymentRequestUpdate",
    "Status",
    "ProjectList",
    "ProjectDetail",
    "LogsCreate",
    "Logs",
    "LogList",
    "LogMetadata",
    "DeploymentList",
    "DeploymentDetail",
    "DeploymentVersionList",
    "DeploymentVersionDetail",
    "DeploymentVersionPort",
    "InputOutputFieldList",
    "InputOutputFieldDetail",
    "InputOutputWidgetList",
]
