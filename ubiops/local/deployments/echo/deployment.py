"""Bundled example: a plain deployment that returns its input unchanged."""

from typing import Any, Dict


class Deployment:
    def __init__(self, base_directory: str, context: Dict[str, Any]) -> None:
        self.process_id = context["process_id"]

    def request(self, data: Any, context: Dict[str, Any]) -> Any:
        return data
