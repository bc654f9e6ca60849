"""The API classes: endpoints declared as data, served by one request path."""

from ubiops.api.core_api import CoreApi

__all__ = ["CoreApi"]
