"""Findings of the review of the web view (i11) that only a browser shows, against real servers on 127.0.0.1."""

from pathlib import Path
from typing import Any, Iterator

import pytest
from web_helpers import PACKAGES

from ubiops.local import LocalServer

PLAIN = {"deployments": [{"name": "echo", "path": str(PACKAGES / "echo_request")}]}


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with LocalServer(config=PLAIN, data_dir=tmp_path_factory.mktemp("data")) as server:
        yield server


def test_two_servers_on_one_host_keep_their_sessions(context: Any, tmp_path: Path) -> None:
    """Cookies are per host, not per port: both servers set the same cookie name on 127.0.0.1, so logging in to the
    second replaced the first one's session and its page went to "Logged out" (and back, and forth)."""
    from playwright.sync_api import expect

    with (
        LocalServer(config=PLAIN, data_dir=tmp_path / "a") as first,
        LocalServer(config=PLAIN, data_dir=tmp_path / "b") as second,
    ):
        assert first.web_url and second.web_url
        pages = []
        for server in (first, second):
            page = context.new_page()
            page.goto(server.web_url)
            expect(page.get_by_role("heading", level=1)).to_have_text("Project local")
            pages.append(page)
        for page in pages:  # each page's next poll (every 2 s) still has its session
            page.wait_for_timeout(2500)
            expect(page.get_by_role("heading", level=1)).to_have_text("Project local")
            expect(page.locator("article.deployment")).to_have_count(1)


def test_the_token_url_followed_from_another_site_logs_in(page: Any, small_server: LocalServer) -> None:
    """The banner's URL as a link on another site (a notebook that printed LocalServer.web_url, a chat, a wiki):
    the token was right and the cookie set, but the 303 to / was part of a cross-site navigation, so the browser
    did not send the SameSite=Strict cookie with it, and the page said "log in" with a valid token in hand."""
    from playwright.sync_api import expect

    assert small_server.web_url is not None
    page.set_content(f'<a id="go" href="{small_server.web_url}">the web view</a>')  # about:blank: another site
    page.click("#go")
    expect(page.get_by_role("heading", level=1)).to_have_text("Project local")
    assert page.url == small_server.web_url.split("?")[0]
