"""ubiops: a Python client for the UbiOps deployment-requests API.

Example::

    import ubiops

    configuration = ubiops.Configuration()
    configuration.api_key["Authorization"] = "Token <YOUR_API_TOKEN>"
    with ubiops.ApiClient(configuration) as api_client:
        core_api = ubiops.CoreApi(api_client)
        print(core_api.deployment_requests_create("my-project", "my-deployment", {"x": 1.0}))
"""

from typing import TYPE_CHECKING, Any

from ubiops._version import __version__
from ubiops.api import CoreApi
from ubiops.api_client import ApiClient
from ubiops.configuration import Configuration
from ubiops.exceptions import (
    ApiAttributeError,
    ApiConnectionError,
    ApiException,
    ApiKeyError,
    ApiRequestError,
    ApiTimeoutError,
    ApiTypeError,
    ApiValueError,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotFoundException,
    OpenApiException,
    PayloadTooLargeException,
    ServiceException,
    TooManyRequestsException,
    UbiOpsException,
    UnauthorizedException,
)
from ubiops.models import (
    DeploymentDetail,
    DeploymentList,
    DeploymentRequestBatchCreateResponse,
    DeploymentRequestCreateResponse,
    DeploymentRequestDetail,
    DeploymentRequestList,
    DeploymentRequestSingleDetail,
    DeploymentRequestUpdate,
    DeploymentVersionDetail,
    DeploymentVersionList,
    DeploymentVersionPort,
    InputOutputFieldDetail,
    InputOutputFieldList,
    InputOutputWidgetList,
    LogList,
    LogMetadata,
    Logs,
    LogsCreate,
    ProjectDetail,
    ProjectList,
    Status,
)
from ubiops.retry import RetryPolicy

if TYPE_CHECKING:
    from ubiops import utils as utils
else:

    def __getattr__(name: str) -> Any:
        """``ubiops.utils`` after a plain ``import ubiops``, as in the public client, imported on first use only:
        ``import ubiops`` stays as fast as it was. Once imported, the package attribute is set and this is not called
        again."""
        if name == "utils":
            import importlib

            return importlib.import_module("ubiops.utils")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "__version__",
    "ApiClient",
    "Configuration",
    "CoreApi",
    "RetryPolicy",
    "DeploymentRequestBatchCreateResponse",
    "DeploymentRequestCreateResponse",
    "DeploymentRequestDetail",
    "DeploymentRequestList",
    "DeploymentRequestSingleDetail",
    "DeploymentRequestUpdate",
    "DeploymentDetail",
    "DeploymentList",
    "DeploymentVersionDetail",
    "DeploymentVersionList",
    "DeploymentVersionPort",
    "InputOutputFieldDetail",
    "InputOutputFieldList",
    "InputOutputWidgetList",
    "LogList",
    "LogMetadata",
    "Logs",
    "LogsCreate",
    "ProjectDetail",
    "ProjectList",
    "Status",
    "UbiOpsException",
    "OpenApiException",
    "ApiTypeError",
    "ApiValueError",
    "ApiKeyError",
    "ApiAttributeError",
    "ApiException",
    "ApiRequestError",
    "BadRequestException",
    "UnauthorizedException",
    "ForbiddenException",
    "NotFoundException",
    "ConflictException",
    "PayloadTooLargeException",
    "TooManyRequestsException",
    "ServiceException",
    "ApiConnectionError",
    "ApiTimeoutError",
]
