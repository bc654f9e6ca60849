"""The records of the deployment-requests API, as the reference document lists them."""

from datetime import datetime
from typing import Any, Dict, Optional, Union

from ubiops.exceptions import ApiValueError
from ubiops.models.base import Model

__all__ = [
    "DeploymentRequestBatchCreateResponse",
    "DeploymentRequestCreateResponse",
    "DeploymentRequestDetail",
    "DeploymentRequestSingleDetail",
    "DeploymentRequestList",
    "DeploymentRequestUpdate",
]

#: Statuses after which a request no longer changes.
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

RequestData = Union[str, Dict[str, Any], list, None]


class _Identity(Model):
    id: Optional[str] = None
    deployment: Optional[str] = None
    version: Optional[str] = None
    status: Optional[str] = None


class DeploymentRequestBatchCreateResponse(_Identity):
    """One created item of a batch request; ``status`` is always ``pending``."""

    time_created: Optional[datetime] = None


class DeploymentRequestCreateResponse(_Identity):
    """The outcome of a direct request: ``completed`` with ``result``, or ``failed`` with ``error_message``."""

    success: Optional[bool] = None
    result: RequestData = None
    error_message: Optional[str] = None
    timeout: Optional[int] = None


class DeploymentRequestList(_Identity):
    """A request as ``list`` shows it: metadata without input and output."""

    success: Optional[bool] = None
    time_created: Optional[datetime] = None
    time_started: Optional[datetime] = None
    time_completed: Optional[datetime] = None
    input_size: Optional[int] = None
    output_size: Optional[int] = None


class DeploymentRequestDetail(_Identity):
    """A request as ``collect`` returns it."""

    success: Optional[bool] = None
    time_created: Optional[datetime] = None
    time_started: Optional[datetime] = None
    time_completed: Optional[datetime] = None
    timeout: Optional[int] = None
    request_data: RequestData = None
    result: RequestData = None
    error_message: Optional[str] = None
    input_size: Optional[int] = None
    output_size: Optional[int] = None


class DeploymentRequestSingleDetail(DeploymentRequestDetail):
    """A request as ``get`` returns it; ``origin`` says who created it."""

    origin: Optional[Dict[str, Any]] = None


class DeploymentRequestUpdate(Model):
    """The body of an update; cancelling is the only update there is, so ``status`` defaults to ``cancelled``."""

    status: Optional[str] = "cancelled"

    def _validate(self, configuration: Any) -> None:
        if configuration is not None and not configuration.client_side_validation:
            return
        if self.status != "cancelled":
            raise ApiValueError(f"Invalid value for `status` ({self.status!r}): the only allowed value is 'cancelled'")
