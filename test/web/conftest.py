"""Fixtures of the web view's browser tests: Debian's Chromium driven by Playwright, against a real LocalServer.

One browser per session, one server per module (real workers, a real SQLite file holding 100,000 old requests), a
fresh browser context (no cookies) per test. The system's Chromium is used as it is: Playwright's own browsers are
never downloaded. Chromium is started with the flags that keep it off the network (this machine has none: without
them it stalls on background requests).
"""

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest
from web_helpers import PACKAGES, TIMEOUT_MS, Api

from ubiops.local import LocalServer, default_config
from ubiops.local.store import Store, StoredRequest

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: How many old requests the server's store holds before it starts: the list pages must stay fast with them.
STORED = 100_000


def chromium_path() -> Optional[str]:
    """$UBIOPS_TEST_CHROMIUM, else Debian's /usr/bin/chromium, else a chromium on the PATH."""
    given = os.environ.get("UBIOPS_TEST_CHROMIUM")
    if given:
        return given
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    """CI (.ci/run sets UBIOPS_REQUIRE_BROWSER=1) fails; elsewhere the browser tests are skipped with the reason."""
    if os.environ.get("UBIOPS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    if executable is None:
        _unavailable("no chromium found: apt-get install chromium (or set UBIOPS_TEST_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _fill_store(data_dir: Path, deployment: str, count: int) -> None:
    """`count` completed requests of `deployment` v1 from a day ago, written straight into the store (the API would
    take minutes to create and run them); the server opens the same file at its start."""
    store = Store(data_dir / "requests.sqlite3")
    start = 1_000_000 * (int(time.time()) - 86_400)
    rows = [
        StoredRequest(
            id=str(uuid.UUID(int=index + 1, version=4)),
            project="local",
            deployment=deployment,
            version="v1",
            mode="batch",
            status="completed",
            priority=1,
            timeout=14400,
            time_created=start + index * 1000,
            time_started=start + index * 1000 + 100,
            time_completed=start + index * 1000 + 300,
            request_data=json.dumps(f"old {index}"),
            result=json.dumps(f"old {index}"),
            error_message=None,
            input_size=len(f"old {index}"),
            output_size=len(f"old {index}"),
        )
        for index in range(count)
    ]
    store.insert(rows)
    store.close()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The bundled `echo` (plain, 2 instances, with 100,000 stored requests) and `calculator` (structured), and the
    srv_tool package (see its docstring) as `tool` (types not declared, 2 instances), `batchy` (1 instance: a
    batch's requests wait their turn) and `slow` (plain in and out, 1 instance: for cancelling); `broken` does not
    load (served with keep_going)."""
    config = default_config()
    tool = str(PACKAGES / "srv_tool")
    config["deployments"] += [
        {"name": "tool", "path": tool, "instances": 2},
        {"name": "batchy", "path": tool},
        {"name": "slow", "path": tool, "input_type": "plain", "output_type": "plain"},
        {"name": "broken", "path": str(PACKAGES / "init_raises")},
    ]
    data_dir = tmp_path_factory.mktemp("data")
    _fill_store(data_dir, "echo", STORED)
    with LocalServer(config=config, data_dir=data_dir, stop_grace=0.5, keep_going=True) as server:
        yield server


@pytest.fixture(scope="module")
def api(web_server: LocalServer) -> Api:
    return Api(web_server)


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies), sized like a laptop screen."""
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    """A page whose uncaught script errors fail the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    errors: List[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def logged_in(page: Any, web_server: LocalServer) -> Any:
    """The page after opening the URL the banner prints (the token URL), at the overview."""
    assert web_server.web_url is not None
    page.goto(web_server.web_url)
    page.wait_for_url(web_server.web_url.split("?")[0])
    return page
