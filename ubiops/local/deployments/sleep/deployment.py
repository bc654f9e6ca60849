"""Bundled example for the demo: a plain deployment that sleeps the number of seconds it is given, so that
requests stay processing and pending long enough to be cancelled."""

import time
from typing import Any, Dict


class Deployment:
    def __init__(self, base_directory: str, context: Dict[str, Any]) -> None:
        pass

    def request(self, data: str, context: Dict[str, Any]) -> str:
        seconds = float(data)
        time.sleep(seconds)
        return f"slept {seconds:g} s"
