"""Helpers of the web view's browser tests: the API over plain HTTP, screenshots."""

from __future__ import annotations  # urllib3 1.26 has no BaseHTTPResponse to evaluate

import json
from pathlib import Path
from typing import Any, Dict, List

import urllib3

from ubiops.local import LocalServer

PACKAGES = Path(__file__).resolve().parent.parent / "local" / "packages"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
TIMEOUT_MS = 10_000  #: Playwright's expect and actions: generous, since nothing waits for it when things work


class Api:
    """The API with the token header, over plain HTTP (what the tests set up or check besides the browser)."""

    def __init__(self, server: LocalServer) -> None:
        self.base = server.url
        self.root = server.url[: -len("/v2.1")]
        self.token = server.token
        self.http = urllib3.PoolManager(retries=False, timeout=30)

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> urllib3.BaseHTTPResponse:
        """`path` below /v2.1/projects/local, or from the root when it starts with //."""
        url = self.root + path[1:] if path.startswith("//") else f"{self.base}/projects/local{path}"
        all_headers = {"Authorization": f"Token {self.token}", **headers}
        data = None
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
            data = json.dumps(body).encode()
        return self.http.request(method, url, body=data, headers=all_headers, redirect=False)

    def json(self, method: str, path: str, body: Any = None) -> Any:
        response = self.request(method, path, body)
        assert response.status < 300, (response.status, response.data[:500])
        return json.loads(response.data) if response.data else None

    def direct(self, deployment: str, data: Any) -> Dict[str, Any]:
        return self.json("POST", f"/deployments/{deployment}/requests", data)

    def batch(self, deployment: str, items: List[Any]) -> List[str]:
        return [row["id"] for row in self.json("POST", f"/deployments/{deployment}/requests/batch", items)]

    def record(self, deployment: str, request_id: str) -> Dict[str, Any]:
        return self.json("GET", f"/deployments/{deployment}/requests/{request_id}")


def screenshot(page: Any, name: str) -> Path:
    """Saves a screenshot of the whole page as test/web/screenshots/<name>.png (ignored by git)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
