"""One deployment (or one version of it) that the helpers call, so each helper is written once for both."""

from typing import Any, NamedTuple, Optional

from ubiops.api import CoreApi
from ubiops.api.endpoints import BY_NAME
from ubiops.exceptions import ApiTypeError, ApiValueError
from ubiops.utils.pace import Pace


class Target(NamedTuple):
    """``version`` None: the deployment-level endpoints; else their ``/versions/{version}`` twins."""

    core_api: CoreApi
    project_name: str
    deployment_name: str
    version: Optional[str]

    @classmethod
    def of(cls, helper: str, core_api: Any, project_name: Any, deployment_name: Any, version: Any) -> "Target":
        """Checked before any call, so a mistake is reported where it was made."""
        if not isinstance(core_api, CoreApi):
            raise ApiTypeError(f"{helper}: `core_api` must be a ubiops.CoreApi, got {type(core_api).__name__}")
        target = cls(core_api, project_name, deployment_name, version)
        target.validate("deployment_requests_get", helper)
        return target

    def name(self, method: str) -> str:
        return method if self.version is None else method.replace("deployment_requests", "deployment_version_requests")

    def arguments(self, **kwargs: Any) -> dict:
        version = {} if self.version is None else {"version": self.version}
        return {"project_name": self.project_name, "deployment_name": self.deployment_name, **version, **kwargs}

    def validate(self, method: str, helper: str, **kwargs: Any) -> None:
        """The endpoint's own argument checks, with the helper's name in the message."""
        endpoint = BY_NAME[self.name(method)]._replace(name=helper)
        endpoint.validate(self.arguments(**kwargs))

    def call(self, pace: Pace, method: str, **kwargs: Any) -> Any:
        return pace.call(getattr(self.core_api, self.name(method)), **self.arguments(**kwargs))


def check_count(helper: str, name: str, value: Any, low: int, high: Optional[int] = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiTypeError(f"{helper}: `{name}` must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ApiValueError(f"{helper}: `{name}` must be {bounds}, got {value}")
