"""Typed declarations of ``ubiops.api.core_api``, generated from the endpoint table.

Do not edit: regenerate with ``python -m ubiops.api._stubgen`` (see that module).
"""

from datetime import datetime
from multiprocessing.pool import AsyncResult
from typing import Any, Callable, Dict, Generic, List, Literal, Optional, Tuple, TypeVar, Union, overload

from urllib3._collections import HTTPHeaderDict

from ubiops.api.endpoints import Endpoint
from ubiops.api_client import ApiClient
from ubiops.models import (
    DeploymentRequestBatchCreateResponse,
    DeploymentRequestCreateResponse,
    DeploymentRequestDetail,
    DeploymentRequestList,
    DeploymentRequestSingleDetail,
    DeploymentRequestUpdate,
)
from ubiops.retry import RetryPolicy

__all__ = ["CoreApi", "Operation"]

R = TypeVar("R")

class Operation(Generic[R]):
    endpoint: Endpoint
    with_http_info: bool
    def __set_name__(self, owner: type, name: str) -> None: ...
    def __get__(self, api: Optional[CoreApi], owner: type) -> Callable[..., R]: ...

class CoreApi:
    api_client: ApiClient
    def __init__(self, api_client: Optional[ApiClient] = None) -> None: ...
    @overload
    def batch_deployment_requests_create(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[Any], str, Dict[str, Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[List[DeploymentRequestBatchCreateResponse]]: ...
    @overload
    def batch_deployment_requests_create(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[Any], str, Dict[str, Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> List[DeploymentRequestBatchCreateResponse]: ...
    @overload
    def batch_deployment_version_requests_create(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[Any], str, Dict[str, Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[List[DeploymentRequestBatchCreateResponse]]: ...
    @overload
    def batch_deployment_version_requests_create(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[Any], str, Dict[str, Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> List[DeploymentRequestBatchCreateResponse]: ...
    @overload
    def deployment_requests_batch_cancel(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        status: Optional[str] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Any]: ...
    @overload
    def deployment_requests_batch_cancel(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        status: Optional[str] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Any: ...
    @overload
    def deployment_version_requests_batch_cancel(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        status: Optional[str] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Any]: ...
    @overload
    def deployment_version_requests_batch_cancel(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        status: Optional[str] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Any: ...
    @overload
    def deployment_requests_batch_delete(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Any]: ...
    @overload
    def deployment_requests_batch_delete(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Any: ...
    @overload
    def deployment_version_requests_batch_delete(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Any]: ...
    @overload
    def deployment_version_requests_batch_delete(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Any: ...
    @overload
    def deployment_requests_batch_get(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[List[DeploymentRequestDetail]]: ...
    @overload
    def deployment_requests_batch_get(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> List[DeploymentRequestDetail]: ...
    @overload
    def deployment_version_requests_batch_get(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[List[DeploymentRequestDetail]]: ...
    @overload
    def deployment_version_requests_batch_get(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> List[DeploymentRequestDetail]: ...
    @overload
    def deployment_requests_create(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[str, Dict[str, Any], List[Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[DeploymentRequestCreateResponse]: ...
    @overload
    def deployment_requests_create(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[str, Dict[str, Any], List[Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> DeploymentRequestCreateResponse: ...
    @overload
    def deployment_version_requests_create(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[str, Dict[str, Any], List[Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[DeploymentRequestCreateResponse]: ...
    @overload
    def deployment_version_requests_create(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[str, Dict[str, Any], List[Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> DeploymentRequestCreateResponse: ...
    @overload
    def deployment_requests_delete(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[None]: ...
    @overload
    def deployment_requests_delete(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> None: ...
    @overload
    def deployment_version_requests_delete(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[None]: ...
    @overload
    def deployment_version_requests_delete(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> None: ...
    @overload
    def deployment_requests_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        metadata_only: Optional[bool] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[DeploymentRequestSingleDetail]: ...
    @overload
    def deployment_requests_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        metadata_only: Optional[bool] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> DeploymentRequestSingleDetail: ...
    @overload
    def deployment_version_requests_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        metadata_only: Optional[bool] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[DeploymentRequestSingleDetail]: ...
    @overload
    def deployment_version_requests_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        metadata_only: Optional[bool] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> DeploymentRequestSingleDetail: ...
    @overload
    def deployment_requests_list(
        self,
        project_name: str,
        deployment_name: str,
        *,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        start_date: Optional[Union[str, datetime]] = None,
        end_date: Optional[Union[str, datetime]] = None,
        search_id: Optional[str] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[List[DeploymentRequestList]]: ...
    @overload
    def deployment_requests_list(
        self,
        project_name: str,
        deployment_name: str,
        *,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        start_date: Optional[Union[str, datetime]] = None,
        end_date: Optional[Union[str, datetime]] = None,
        search_id: Optional[str] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> List[DeploymentRequestList]: ...
    @overload
    def deployment_version_requests_list(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        *,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        start_date: Optional[Union[str, datetime]] = None,
        end_date: Optional[Union[str, datetime]] = None,
        search_id: Optional[str] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[List[DeploymentRequestList]]: ...
    @overload
    def deployment_version_requests_list(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        *,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        start_date: Optional[Union[str, datetime]] = None,
        end_date: Optional[Union[str, datetime]] = None,
        search_id: Optional[str] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> List[DeploymentRequestList]: ...
    @overload
    def deployment_requests_update(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        data: Union[DeploymentRequestUpdate, Dict[str, Any]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Any]: ...
    @overload
    def deployment_requests_update(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        data: Union[DeploymentRequestUpdate, Dict[str, Any]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Any: ...
    @overload
    def deployment_version_requests_update(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        data: Union[DeploymentRequestUpdate, Dict[str, Any]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Any]: ...
    @overload
    def deployment_version_requests_update(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        data: Union[DeploymentRequestUpdate, Dict[str, Any]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Any: ...
    @overload
    def deployment_requests_input_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Union[str, Dict[str, Any], List[Any]]]: ...
    @overload
    def deployment_requests_input_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Union[str, Dict[str, Any], List[Any]]: ...
    @overload
    def deployment_version_requests_input_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Union[str, Dict[str, Any], List[Any]]]: ...
    @overload
    def deployment_version_requests_input_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Union[str, Dict[str, Any], List[Any]]: ...
    @overload
    def deployment_requests_output_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Union[str, Dict[str, Any], List[Any]]]: ...
    @overload
    def deployment_requests_output_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Union[str, Dict[str, Any], List[Any]]: ...
    @overload
    def deployment_version_requests_output_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Union[str, Dict[str, Any], List[Any]]]: ...
    @overload
    def deployment_version_requests_output_get(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = True,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Union[str, Dict[str, Any], List[Any]]: ...
    @overload
    def batch_deployment_requests_create_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[Any], str, Dict[str, Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[List[DeploymentRequestBatchCreateResponse], int, HTTPHeaderDict]]: ...
    @overload
    def batch_deployment_requests_create_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[Any], str, Dict[str, Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[List[DeploymentRequestBatchCreateResponse], int, HTTPHeaderDict]: ...
    @overload
    def batch_deployment_version_requests_create_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[Any], str, Dict[str, Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[List[DeploymentRequestBatchCreateResponse], int, HTTPHeaderDict]]: ...
    @overload
    def batch_deployment_version_requests_create_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[Any], str, Dict[str, Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[List[DeploymentRequestBatchCreateResponse], int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_batch_cancel_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        status: Optional[str] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Any, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_batch_cancel_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        status: Optional[str] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Any, int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_batch_cancel_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        status: Optional[str] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Any, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_batch_cancel_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        status: Optional[str] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Any, int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_batch_delete_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Any, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_batch_delete_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Any, int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_batch_delete_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Any, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_batch_delete_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Any, int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_batch_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[List[DeploymentRequestDetail], int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_batch_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[List[DeploymentRequestDetail], int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_batch_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[List[DeploymentRequestDetail], int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_batch_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[List[str], Tuple[str, ...]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[List[DeploymentRequestDetail], int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_create_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[str, Dict[str, Any], List[Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[DeploymentRequestCreateResponse, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_create_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        data: Union[str, Dict[str, Any], List[Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[DeploymentRequestCreateResponse, int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_create_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[str, Dict[str, Any], List[Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[DeploymentRequestCreateResponse, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_create_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        data: Union[str, Dict[str, Any], List[Any]],
        *,
        timeout: Optional[int] = None,
        priority: Optional[int] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[DeploymentRequestCreateResponse, int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_delete_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[None, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_delete_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[None, int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_delete_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[None, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_delete_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[None, int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        metadata_only: Optional[bool] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[DeploymentRequestSingleDetail, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        metadata_only: Optional[bool] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[DeploymentRequestSingleDetail, int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        metadata_only: Optional[bool] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[DeploymentRequestSingleDetail, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        metadata_only: Optional[bool] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[DeploymentRequestSingleDetail, int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_list_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        *,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        start_date: Optional[Union[str, datetime]] = None,
        end_date: Optional[Union[str, datetime]] = None,
        search_id: Optional[str] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[List[DeploymentRequestList], int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_list_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        *,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        start_date: Optional[Union[str, datetime]] = None,
        end_date: Optional[Union[str, datetime]] = None,
        search_id: Optional[str] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[List[DeploymentRequestList], int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_list_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        *,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        start_date: Optional[Union[str, datetime]] = None,
        end_date: Optional[Union[str, datetime]] = None,
        search_id: Optional[str] = None,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[List[DeploymentRequestList], int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_list_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        version: str,
        *,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
        start_date: Optional[Union[str, datetime]] = None,
        end_date: Optional[Union[str, datetime]] = None,
        search_id: Optional[str] = None,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[List[DeploymentRequestList], int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_update_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        data: Union[DeploymentRequestUpdate, Dict[str, Any]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Any, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_update_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        data: Union[DeploymentRequestUpdate, Dict[str, Any]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Any, int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_update_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        data: Union[DeploymentRequestUpdate, Dict[str, Any]],
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Any, int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_update_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        data: Union[DeploymentRequestUpdate, Dict[str, Any]],
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Any, int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_input_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Union[str, Dict[str, Any], List[Any]], int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_input_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Union[str, Dict[str, Any], List[Any]], int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_input_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Union[str, Dict[str, Any], List[Any]], int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_input_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Union[str, Dict[str, Any], List[Any]], int, HTTPHeaderDict]: ...
    @overload
    def deployment_requests_output_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Union[str, Dict[str, Any], List[Any]], int, HTTPHeaderDict]]: ...
    @overload
    def deployment_requests_output_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Union[str, Dict[str, Any], List[Any]], int, HTTPHeaderDict]: ...
    @overload
    def deployment_version_requests_output_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: Literal[True],
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> AsyncResult[Tuple[Union[str, Dict[str, Any], List[Any]], int, HTTPHeaderDict]]: ...
    @overload
    def deployment_version_requests_output_get_with_http_info(
        self,
        project_name: str,
        deployment_name: str,
        request_id: str,
        version: str,
        *,
        async_req: bool = False,
        _request_timeout: Optional[Union[float, Tuple[float, float]]] = None,
        _preload_content: bool = True,
        _return_http_data_only: bool = False,
        _retries: Optional[Union[int, RetryPolicy]] = None,
        _headers: Optional[Dict[str, str]] = None,
    ) -> Tuple[Union[str, Dict[str, Any], List[Any]], int, HTTPHeaderDict]: ...
