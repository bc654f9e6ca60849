"""A local UbiOps-compatible server that runs real deployment code: `LocalServer`, `ubiops-local serve`.

Importing this package is cheap and needs only the standard library; LocalServer (werkzeug) loads on first use.
"""

from typing import TYPE_CHECKING, Any

from ubiops.local.config import ConfigError, default_config

if TYPE_CHECKING:
    from ubiops.local.runtime import DeploymentStartError
    from ubiops.local.server import LocalServer

__all__ = ["ConfigError", "DeploymentStartError", "LocalServer", "default_config"]


def __getattr__(name: str) -> Any:
    if name == "LocalServer":
        from ubiops.local.server import LocalServer

        return LocalServer
    if name == "DeploymentStartError":
        from ubiops.local.runtime import DeploymentStartError

        return DeploymentStartError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
