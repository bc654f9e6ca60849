"""`reload=True` (`ubiops-local serve --reload`): a change to a package's files reloads its versions, running
requests finish on the old code, and code that does not load leaves the old code serving."""

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Dict

import pytest
from local_helpers import http_for, wait_until
from test_environments import tiny_wheel

from ubiops.local.cache import CACHE_VARIABLE

URL = "/projects/local/deployments/live/requests"
CODE = """import time


class Deployment:
    def request(self, data):
        if data.startswith("sleep:"):
            time.sleep(float(data[6:]))
        return "{tag}"
"""


def write_code(package: Path, text: str) -> None:
    """Write deployment.py with a modification time that surely differs from the one before."""
    file = package / "deployment.py"
    before = file.stat().st_mtime_ns if file.exists() else 0
    file.write_text(text)
    os.utime(file, ns=(before + 2_000_000_000, before + 2_000_000_000))


@pytest.fixture
def package(tmp_path: Path) -> Path:
    folder = tmp_path / "live"
    folder.mkdir()
    write_code(folder, CODE.format(tag="one"))
    return folder


def config(package: Path, instances: int = 1) -> Dict[str, Any]:
    return {"deployments": [{"name": "live", "path": str(package), "instances": instances}]}


def test_a_changed_package_serves_new_requests_with_the_new_code(start_server, package, caplog):
    caplog.set_level(logging.INFO, logger="ubiops.local")
    http = http_for(start_server(config(package, instances=2), reload=True))
    assert http.post(URL, text="x").json()["result"] == "one"
    write_code(package, CODE.format(tag="two"))
    wait_until(lambda: http.post(URL, text="x").json()["result"] == "two", timeout=15)
    assert [http.post(URL, text="x").json()["result"] for _ in range(6)] == ["two"] * 6  # every instance renewed
    messages = [r.getMessage() for r in caplog.records]
    assert any("deployment live version v1: deployment.py changed; reloading" in m for m in messages), messages
    # the reload's thread says so once the idle instances are renewed, which may be just after the first new answer
    wait_until(lambda: any("reloaded; new requests run the new code" in r.getMessage() for r in caplog.records))


def test_a_running_request_finishes_on_the_old_code(start_server, package):
    http = http_for(start_server(config(package), reload=True))
    results = []
    slow = threading.Thread(target=lambda: results.append(http.post(URL, text="sleep:2").json()))
    slow.start()
    wait_until(lambda: http.get(f"{URL}?status=processing").json(), timeout=10)
    write_code(package, CODE.format(tag="two"))
    slow.join(30)
    assert results[0]["status"] == "completed" and results[0]["result"] == "one"
    wait_until(lambda: http.post(URL, text="x").json()["result"] == "two", timeout=15)


def test_code_that_does_not_load_leaves_the_old_code_serving(start_server, package, caplog):
    caplog.set_level(logging.INFO, logger="ubiops.local")
    http = http_for(start_server(config(package), reload=True))
    write_code(package, "class Deployment:\n    def request(self, data):\n        return (\n")
    wait_until(lambda: any("the reload failed" in r.getMessage() for r in caplog.records), timeout=15)
    failed = next(r.getMessage() for r in caplog.records if "the reload failed" in r.getMessage())
    assert "old code goes on serving" in failed and "SyntaxError" in failed and "deployment.py, line 3" in failed
    assert http.post(URL, text="x").json()["result"] == "one"
    write_code(package, CODE.format(tag="fixed"))
    wait_until(lambda: http.post(URL, text="x").json()["result"] == "fixed", timeout=15)


def test_without_reload_a_change_is_not_picked_up(start_server, package):
    http = http_for(start_server(config(package)))
    write_code(package, CODE.format(tag="two"))
    time.sleep(1.5)  # three looks of a watcher, had there been one
    assert http.post(URL, text="x").json()["result"] == "one"


def test_a_changed_requirements_txt_rebuilds_the_environment_and_reloads(start_server, package, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "cache"))
    http = http_for(start_server(config(package), reload=True))
    tiny_wheel(package / "wheels" / "tiny_local-0.1-py3-none-any.whl")
    (package / "requirements.txt").write_text("--no-index\n./wheels/tiny_local-0.1-py3-none-any.whl\n")
    write_code(
        package,
        "import tiny_local\n\n\nclass Deployment:\n    def request(self, data):\n        return tiny_local.VALUE\n",
    )
    wait_until(lambda: http.post(URL, text="x").json()["result"] == "from a local wheel", timeout=30)
