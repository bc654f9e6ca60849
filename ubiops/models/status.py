"""The answer of the service status endpoint."""

from typing import Optional

from ubiops.models.base import Model

__all__ = ["Status"]


class Status(Model):
    """The API's health: ``status`` is ``ok`` (or ``fail``, with a ``reason``)."""

    status: Optional[str] = None
    reason: Optional[str] = None
