"""CoreApi: one method per deployment-request endpoint, each a typed name over the endpoint table.

Each method's signature (parameter names, kinds, defaults, annotations) is made at run time from its endpoint
declaration by :mod:`ubiops.api.signatures`, so ``help()``, ``inspect.signature`` and notebook completion show it.
Type checkers read the same declarations from ``core_api.pyi``, generated from the table; after adding an endpoint
and its ``Operation()`` line below, regenerate it with::

    python -m ubiops.api._stubgen

(``test/unit/test_signatures.py`` fails while the committed stub differs from what that command writes.)
"""

from types import MethodType
from typing import Any, Callable, Dict, Generic, List, Optional, Tuple, TypeVar, Union

from ubiops.api import signatures
from ubiops.api.endpoints import BY_NAME, Endpoint
from ubiops.api_client import ApiClient
from ubiops.models import (
    DeploymentDetail,
    DeploymentList,
    DeploymentRequestBatchCreateResponse,
    DeploymentRequestCreateResponse,
    DeploymentRequestDetail,
    DeploymentRequestList,
    DeploymentRequestSingleDetail,
    DeploymentVersionDetail,
    DeploymentVersionList,
    LogList,
    Logs,
    ProjectDetail,
    ProjectList,
    Status,
)
from ubiops.rest import HTTPHeaderDict

__all__ = ["CoreApi", "Operation"]

R = TypeVar("R")
WITH_HTTP_INFO = "_with_http_info"


class Operation(Generic[R]):
    """A CoreApi method made from the endpoint named like the attribute (less ``_with_http_info``).

    ``core_api.deployment_requests_get(project_name, deployment_name, request_id, metadata_only=True)`` checks
    its arguments, sends the call and returns the decoded answer; the ``_with_http_info`` twin returns
    ``(data, status, headers)``. On first access the operation makes a plain function carrying the endpoint's
    signature and docstring: ``CoreApi.<name>`` is that function and ``core_api.<name>`` the bound method.
    """

    endpoint: Endpoint
    with_http_info: bool
    _owner: type
    _function: Optional[Callable[..., R]] = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.with_http_info = name.endswith(WITH_HTTP_INFO)
        self.endpoint = BY_NAME[name[: -len(WITH_HTTP_INFO)] if self.with_http_info else name]
        self.__doc__ = _docstring(self.endpoint, self.with_http_info)
        self._owner = owner

    def __get__(self, api: Optional["CoreApi"], owner: type) -> Callable[..., R]:
        function = self._function or self._make_function()
        return function if api is None else MethodType(function, api)

    def _make_function(self) -> Callable[..., R]:
        """The method as a function of ``(self, *args, **kwargs)``, named, documented and with its signature (built
        here, on first access, so importing ubiops builds none; two threads racing here build equal functions)."""
        endpoint, with_http_info = self.endpoint, self.with_http_info

        def method(api: "CoreApi", *args: Any, **kwargs: Any) -> Any:
            return api.api_client.call(endpoint, args, kwargs, with_http_info)

        declaration = signatures.declare(endpoint, with_http_info)
        method.__name__ = declaration.name
        method.__qualname__ = f"{self._owner.__name__}.{declaration.name}"
        method.__module__ = self._owner.__module__
        method.__doc__ = self.__doc__
        method.__signature__ = signatures.signature(declaration)  # type: ignore[attr-defined]
        self._function = method
        return method


def _docstring(endpoint: Endpoint, with_http_info: bool) -> str:
    required = ", ".join(endpoint.positional)
    optional = "".join(f", {p.name}={p.name}" for p in endpoint.params if not p.required)
    returns = f"({endpoint.returns.doc_type}, status, headers)" if with_http_info else endpoint.returns.doc_type
    params = "\n".join(f"    {p.name} ({p.doc_type}{'' if p.required else ', optional'})" for p in endpoint.params)
    return (
        f"{endpoint.summary}.\n\n"
        f"{endpoint.method} {endpoint.path}\n\n"
        f"{endpoint.name}({required}{optional}) -> {returns}\n\n"
        f"Parameters:\n{params}\n\n"
        "Every method also takes, by keyword: async_req=True (returns a multiprocessing.pool.AsyncResult at once;\n"
        "its .get() returns the result), _request_timeout (seconds, or a (connect, read) pair),\n"
        "_preload_content=False (returns the raw urllib3 response unread), _return_http_data_only (False: returns\n"
        "(data, status, headers)), _retries (an int or a RetryPolicy for this call) and _headers (a dict).\n"
        "See docs/DeploymentRequests.md."
    )


Info = Tuple[R, int, HTTPHeaderDict]
Batch = List[DeploymentRequestBatchCreateResponse]
Details = List[DeploymentRequestDetail]
Listed = List[DeploymentRequestList]
Created = DeploymentRequestCreateResponse
Single = DeploymentRequestSingleDetail
Content = Union[str, Dict[str, Any], List[Any]]


class CoreApi:
    """The deployment-requests API. Every method is documented in docs/DeploymentRequests.md.

    Without an ApiClient it makes one from the environment (``UBIOPS_API_TOKEN``, ``UBIOPS_API_HOST``)::

        core_api = ubiops.CoreApi()
        result = core_api.deployment_requests_create("my-project", "my-deployment", {"x": 1.0})
        core_api.api_client.close()
    """

    def __init__(self, api_client: Optional[ApiClient] = None) -> None:
        self.api_client = api_client if api_client is not None else ApiClient()

    # default version                                                   # a named version
    batch_deployment_requests_create: Operation[Batch] = Operation()
    batch_deployment_version_requests_create: Operation[Batch] = Operation()
    deployment_requests_batch_cancel: Operation[Any] = Operation()
    deployment_version_requests_batch_cancel: Operation[Any] = Operation()
    deployment_requests_batch_delete: Operation[Any] = Operation()
    deployment_version_requests_batch_delete: Operation[Any] = Operation()
    deployment_requests_batch_get: Operation[Details] = Operation()
    deployment_version_requests_batch_get: Operation[Details] = Operation()
    deployment_requests_create: Operation[Created] = Operation()
    deployment_version_requests_create: Operation[Created] = Operation()
    deployment_requests_delete: Operation[None] = Operation()
    deployment_version_requests_delete: Operation[None] = Operation()
    deployment_requests_get: Operation[Single] = Operation()
    deployment_version_requests_get: Operation[Single] = Operation()
    deployment_requests_list: Operation[Listed] = Operation()
    deployment_version_requests_list: Operation[Listed] = Operation()
    deployment_requests_update: Operation[Any] = Operation()
    deployment_version_requests_update: Operation[Any] = Operation()
    deployment_requests_input_get: Operation[Content] = Operation()
    deployment_version_requests_input_get: Operation[Content] = Operation()
    deployment_requests_output_get: Operation[Content] = Operation()
    deployment_version_requests_output_get: Operation[Content] = Operation()

    batch_deployment_requests_create_with_http_info: Operation[Info[Batch]] = Operation()
    batch_deployment_version_requests_create_with_http_info: Operation[Info[Batch]] = Operation()
    deployment_requests_batch_cancel_with_http_info: Operation[Info[Any]] = Operation()
    deployment_version_requests_batch_cancel_with_http_info: Operation[Info[Any]] = Operation()
    deployment_requests_batch_delete_with_http_info: Operation[Info[Any]] = Operation()
    deployment_version_requests_batch_delete_with_http_info: Operation[Info[Any]] = Operation()
    deployment_requests_batch_get_with_http_info: Operation[Info[Details]] = Operation()
    deployment_version_requests_batch_get_with_http_info: Operation[Info[Details]] = Operation()
    deployment_requests_create_with_http_info: Operation[Info[Created]] = Operation()
    deployment_version_requests_create_with_http_info: Operation[Info[Created]] = Operation()
    deployment_requests_delete_with_http_info: Operation[Info[None]] = Operation()
    deployment_version_requests_delete_with_http_info: Operation[Info[None]] = Operation()
    deployment_requests_get_with_http_info: Operation[Info[Single]] = Operation()
    deployment_version_requests_get_with_http_info: Operation[Info[Single]] = Operation()
    deployment_requests_list_with_http_info: Operation[Info[Listed]] = Operation()
    deployment_version_requests_list_with_http_info: Operation[Info[Listed]] = Operation()
    deployment_requests_update_with_http_info: Operation[Info[Any]] = Operation()
    deployment_version_requests_update_with_http_info: Operation[Info[Any]] = Operation()
    deployment_requests_input_get_with_http_info: Operation[Info[Content]] = Operation()
    deployment_version_requests_input_get_with_http_info: Operation[Info[Content]] = Operation()
    deployment_requests_output_get_with_http_info: Operation[Info[Content]] = Operation()
    deployment_version_requests_output_get_with_http_info: Operation[Info[Content]] = Operation()

    # around requests (read-only)
    service_status: Operation[Status] = Operation()
    projects_list: Operation[List[ProjectList]] = Operation()
    projects_get: Operation[ProjectDetail] = Operation()
    projects_log_list: Operation[List[Logs]] = Operation()
    logs_list: Operation[List[LogList]] = Operation()
    deployments_list: Operation[List[DeploymentList]] = Operation()
    deployments_get: Operation[DeploymentDetail] = Operation()
    deployment_versions_list: Operation[List[DeploymentVersionList]] = Operation()
    deployment_versions_get: Operation[DeploymentVersionDetail] = Operation()

    service_status_with_http_info: Operation[Info[Status]] = Operation()
    projects_list_with_http_info: Operation[Info[List[ProjectList]]] = Operation()
    projects_get_with_http_info: Operation[Info[ProjectDetail]] = Operation()
    projects_log_list_with_http_info: Operation[Info[List[Logs]]] = Operation()
    logs_list_with_http_info: Operation[Info[List[LogList]]] = Operation()
    deployments_list_with_http_info: Operation[Info[List[DeploymentList]]] = Operation()
    deployments_get_with_http_info: Operation[Info[DeploymentDetail]] = Operation()
    deployment_versions_list_with_http_info: Operation[Info[List[DeploymentVersionList]]] = Operation()
    deployment_versions_get_with_http_info: Operation[Info[DeploymentVersionDetail]] = Operation()
