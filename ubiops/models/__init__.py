"""Typed records of the deployment-requests API."""

from ubiops.models.base import Model
from ubiops.models.deployment_requests import (
    DeploymentRequestBatchCreateResponse,
    DeploymentRequestCreateResponse,
    DeploymentRequestDetail,
    DeploymentRequestList,
    DeploymentRequestSingleDetail,
    DeploymentRequestUpdate,
)

__all__ = [
    "Model",
    "DeploymentRequestBatchCreateResponse",
    "DeploymentRequestCreateResponse",
    "DeploymentRequestDetail",
    "DeploymentRequestList",
    "DeploymentRequestSingleDetail",
    "DeploymentRequestUpdate",
]
