"""The web view in a real browser (Debian's Chromium, driven by Playwright) against a real server with real workers.

Each test starts from a fresh browser context (no cookies); what it must see it waits for with Playwright's
expect (auto-retrying, with a timeout), never with sleeps. Screenshots of each page go to test/web/screenshots/.
"""

import json
import re
import time
from pathlib import Path
from typing import Any, List

import pytest
from web_helpers import Api, screenshot

from ubiops.local import LocalServer
from ubiops.local._worker import TRACEBACK_HINT

pytestmark = pytest.mark.slow


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def root_of(server: LocalServer) -> str:
    return server.url[: -len("/v2.1")]


def wait_status(api: Api, deployment: str, request_id: str, status: str, timeout: float = 10.0) -> None:
    """Waits (polling the API) until a request has a status: to set up a state the test then looks at."""
    deadline = time.monotonic() + timeout
    while api.record(deployment, request_id)["status"] != status:
        assert time.monotonic() < deadline, f"request {request_id} never became {status}"
        time.sleep(0.05)


# -- login ---------------------------------------------------------------------------------------------------------


def test_token_url_logs_in_and_leaves_the_address_bar(page: Any, context: Any, web_server: LocalServer) -> None:
    root = root_of(web_server)
    assert web_server.web_url == f"{root}/?token={web_server.token}"
    page.goto(web_server.web_url)
    expect(page).to_have_url(f"{root}/")
    assert web_server.token not in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Project local")
    [cookie] = context.cookies()
    assert cookie["name"] == f"ubiops_local_session_{web_server.port}"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["value"] != web_server.token
    # the token is nowhere in the page either (the page holds only its CSRF token)
    assert web_server.token not in page.content()


def test_login_page_takes_the_token(page: Any, web_server: LocalServer) -> None:
    root = root_of(web_server)
    page.goto(f"{root}/")
    expect(page).to_have_url(f"{root}/login")
    screenshot(page, "login")
    page.get_by_label("Token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("not this server's")
    page.get_by_label("Token").fill(web_server.token)
    page.get_by_label("Token").press("Enter")
    expect(page).to_have_url(f"{root}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Project local")


def test_log_out_ends_the_session(logged_in: Any, web_server: LocalServer) -> None:
    page = logged_in
    root = root_of(web_server)
    expect(page.locator("article.deployment").first).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{root}/login")
    page.goto(f"{root}/#/requests")
    expect(page).to_have_url(re.compile(f"^{re.escape(root)}/login(#.*)?$"))  # a browser keeps the fragment


# -- nothing without the token ---------------------------------------------------------------------------------


def test_nothing_is_served_without_the_token(logged_in: Any, context: Any, api: Api) -> None:
    """Plain HTTP: no page, file or data without a session; a session cookie without the page's CSRF header is not
    enough for the API nor for the view's data (another site can make the browser send the cookie, not the header).
    """
    page, http = logged_in, api.http

    def get(path: str, **headers: str) -> Any:
        return http.request("GET", api.root + path, headers=headers, redirect=False)

    page_answer = get("/")
    assert page_answer.status == 303 and page_answer.headers["Location"] == "/login"
    for path in ("/ui/static/app.js", "/ui/static/style.css", "/ui/static/icon.svg", "/ui/api/overview"):
        answer = get(path)
        assert answer.status == 401, path
        assert b"createElement" not in answer.data and b"deployments" not in answer.data
    assert get("/?token=wrong").status == 401
    assert "Set-Cookie" not in get("/?token=wrong").headers

    cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf and csrf != "{{csrf_token}}"
    for path in ("/v2.1/projects/local/deployments", "/ui/api/overview", "/ui/api/requests"):
        assert get(path, Cookie=cookie).status == 401, path
        assert get(path, Cookie=cookie, **{"X-CSRF-Token": "wrong"}).status == 401, path
        assert get(path, Cookie=cookie, **{"X-CSRF-Token": csrf}).status == 200, path
    # and the files, with the cookie alone (a page's <script> sends no header): served, with the headers it needs
    script = get("/ui/static/app.js", Cookie=cookie)
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    index = get("/", Cookie=cookie)
    assert "default-src 'self'" in index.headers["Content-Security-Policy"]
    assert index.headers["Referrer-Policy"] == "no-referrer" and index.headers["Cache-Control"] == "no-store"
    # a state change with the cookie alone: refused, and nothing changed
    request_id = api.direct("echo", "kept")["id"]
    answer = http.request(
        "DELETE", f"{api.base}/projects/local/deployments/echo/requests/{request_id}", headers={"Cookie": cookie}
    )
    assert answer.status == 401
    assert api.record("echo", request_id)["status"] == "completed"


# -- overview --------------------------------------------------------------------------------------------------


def test_overview_shows_deployments_instances_and_recent_requests(logged_in: Any, api: Api) -> None:
    page = logged_in
    first = api.direct("echo", "hello from the overview test")["id"]
    page.reload()
    cards = page.locator("article.deployment")
    expect(cards).to_have_count(6)
    calculator = page.locator('article[data-deployment="calculator"]')
    expect(calculator).to_contain_text("structured: x double, y double, op string")
    expect(calculator).to_contain_text("result double")
    echo = page.locator('article[data-deployment="echo"]')
    expect(echo.locator(".instance")).to_have_count(2)
    expect(echo.locator(".instance").first).to_have_text(re.compile(r"0: (idle|busy)"))
    expect(echo.locator('tr[data-version="v1"] .tag')).to_have_text("default")
    tool = page.locator('article[data-deployment="tool"]')
    expect(tool).to_contain_text("not declared")
    broken = page.locator('article[data-deployment="broken"]')
    expect(broken.locator(".instance")).to_have_text(["0: failed"])
    expect(broken.locator(".instance-error")).to_contain_text("cannot load model weights.bin")
    recent = page.locator("section.recent")
    expect(recent.locator(f'tr[data-id="{first}"]')).to_contain_text("completed")
    # live: a request made elsewhere appears without a reload
    second = api.direct("echo", "and another")["id"]
    expect(recent.locator("tbody tr").first).to_have_attribute("data-id", second)
    expect(page.locator(f'tr[data-id="{first}"]')).to_be_visible()
    screenshot(page, "overview")


def test_overview_shows_queues_and_busy_instances(logged_in: Any, api: Api) -> None:
    page = logged_in
    ids = api.batch("slow", ["sleep:30", "sleep:30"])
    try:
        slow = page.locator('article[data-deployment="slow"]')
        expect(slow.locator(".instance")).to_have_text(["0: busy"])
        expect(slow.locator(".queue-pending")).to_have_text("1")
        expect(slow.locator(".queue-processing")).to_have_text("1")
    finally:
        api.json("POST", "/deployments/slow/requests/cancel", ids)
    expect(slow.locator(".queue-pending")).to_have_text("0")
    expect(slow.locator(".instance")).to_have_text(["0: idle"])


# -- requests --------------------------------------------------------------------------------------------------


def test_a_batch_changes_status_live(logged_in: Any, web_server: LocalServer) -> None:
    """A batch sent from the form; its list shows its requests pending, then completed, without a reload."""
    page = logged_in
    page.goto(f"{root_of(web_server)}/#/try/batchy")
    page.get_by_label("Inputs, one per line").fill("sleep:1\nsleep:1\nsleep:1\n")
    page.get_by_role("button", name="Create batch").click()
    expect(page.locator("#batch-result")).to_contain_text("Created 3 requests")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="Watch them in the requests list").click()
    rows = page.locator("table.requests tbody tr")
    expect(rows).to_have_count(3)
    # one instance: the third request waits about two seconds for its turn
    expect(rows.first.locator(".status")).to_have_text("pending")
    screenshot(page, "requests-live")
    for index in range(3):
        expect(rows.nth(index).locator(".status")).to_have_text("completed")
    assert page.evaluate("window.notReloaded") is True
    expect(rows.first.locator("td.number")).to_have_text(re.compile(r"^1\.\d\d s$"))


def test_requests_filter_by_status(logged_in: Any, web_server: LocalServer, api: Api) -> None:
    page = logged_in
    failed = api.direct("tool", "raise:filtered out")["id"]
    done = api.direct("tool", "fine")["id"]
    page.goto(f"{root_of(web_server)}/#/requests/tool")
    expect(page.locator(f'tr[data-id="{done}"]')).to_be_visible()
    # with the keyboard: each arrow key shows that status at once, and the focus stays on the filter
    status = page.get_by_label("Status")
    status.focus()
    for shown in ("pending", "processing", "completed", "failed"):
        page.keyboard.press("ArrowDown")
        expect(page).to_have_url(re.compile(f"#/requests/tool\\?status={shown}$"))
        expect(status).to_be_focused()
        expect(status).to_have_value(shown)
    expect(page.locator(f'tr[data-id="{failed}"]')).to_be_visible()
    expect(page.locator(f'tr[data-id="{done}"]')).to_have_count(0)
    statuses = page.locator("table.requests tbody tr .status").all_inner_texts()
    assert statuses and set(statuses) == {"failed"}


def test_pages_of_a_hundred_thousand_requests(logged_in: Any, web_server: LocalServer) -> None:
    """`echo` holds 100,000 stored requests: the list shows one page of them at once, fast, and pages on."""
    page = logged_in
    asked: List[str] = []
    page.on("request", lambda request: asked.append(request.url))
    started = time.monotonic()
    page.goto(f"{root_of(web_server)}/#/requests/echo/v1?status=completed")
    rows = page.locator("table.requests tbody tr")
    expect(rows).to_have_count(50)
    shown_after = time.monotonic() - started
    first_page = rows.evaluate_all("rows => rows.map(row => row.dataset.id)")
    page.get_by_role("link", name="Older →").click()
    expect(rows.first).not_to_have_attribute("data-id", first_page[0])
    expect(rows).to_have_count(50)
    second_page = rows.evaluate_all("rows => rows.map(row => row.dataset.id)")
    assert not set(first_page) & set(second_page)
    page.get_by_role("link", name="← Newer").click()
    expect(rows.first).to_have_attribute("data-id", first_page[0])
    lists = [url for url in asked if "/ui/api/requests" in url or re.search(r"/requests(\?|$)", url)]
    assert lists and all("limit=50" in url for url in lists), lists
    assert shown_after < 5, f"the first page took {shown_after:.1f} s"


# -- one request -----------------------------------------------------------------------------------------------


def test_a_failed_request_shows_its_error_and_log_lines(logged_in: Any, web_server: LocalServer, api: Api) -> None:
    page = logged_in
    answer = api.direct("tool", "print:reading the model;raise:the model file is missing")
    assert answer["status"] == "failed"
    page.goto(f"{root_of(web_server)}/#/requests/tool?status=failed")
    page.locator(f'tr[data-id="{answer["id"]}"] a').click()
    expect(page).to_have_url(re.compile(f"#/request/tool/v1/{answer['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(answer["id"])
    expect(page.locator(".request-head .status")).to_have_text("failed")
    expect(page.locator("pre.error-text")).to_have_text(f"ValueError: the model file is missing{TRACEBACK_HINT}")
    log_lines = page.locator("table.log-lines tbody tr")
    expect(log_lines.filter(has_text="stdout: reading the model")).to_have_count(1)
    expect(log_lines.filter(has_text="stderr: reading the model")).to_have_class(re.compile("level-error"))
    expect(page.locator(".data", has_text="Input").locator("pre")).to_have_text(
        "print:reading the model;raise:the model file is missing"
    )
    expect(page.get_by_role("button", name="Cancel request")).to_be_disabled()
    screenshot(page, "request-failed")


def test_structured_input_and_output_are_shown_as_json_and_downloaded(
    logged_in: Any, web_server: LocalServer, api: Api
) -> None:
    page = logged_in
    answer = api.direct("calculator", {"x": 1.5, "y": 2, "op": "add"})
    page.goto(f"{root_of(web_server)}/#/request/calculator/v1/{answer['id']}")
    output = page.locator(".data", has_text="Output")
    expect(output.locator(".kind")).to_have_text("JSON")
    expect(output.locator("pre")).to_have_text(json.dumps({"result": 3.5}, indent=2))
    expect(page.locator(".data", has_text="Input").locator("pre")).to_contain_text('"op": "add"')
    # downloads go through the API with the CSRF header (a plain link could not send it)
    with page.expect_download() as output_download:
        output.get_by_role("button", name="Download").click()
    assert output_download.value.suggested_filename == f"{answer['id']}-output.json"
    assert json.loads(Path(output_download.value.path()).read_text()) == {"result": 3.5}
    with page.expect_download() as input_download:
        page.locator(".data", has_text="Input").get_by_role("button", name="Download").click()
    assert input_download.value.suggested_filename == f"{answer['id']}-input.json"
    assert json.loads(Path(input_download.value.path()).read_text()) == {"x": 1.5, "y": 2, "op": "add"}


def test_cancel_a_pending_request(logged_in: Any, web_server: LocalServer, api: Api) -> None:
    page = logged_in
    running, waiting = api.batch("slow", ["sleep:30", "sleep:30"])
    try:
        wait_status(api, "slow", running, "processing")
        page.goto(f"{root_of(web_server)}/#/request/slow/v1/{waiting}")
        expect(page.locator(".request-head .status")).to_have_text("pending")
        cancel = page.get_by_role("button", name="Cancel request")
        expect(cancel).to_be_enabled()
        cancel.click()
        expect(page.locator(".outcome")).to_have_text("Cancelled.")
        expect(page.locator(".request-head .status")).to_have_text("cancelled")
        expect(cancel).to_be_disabled()
        screenshot(page, "request-cancelled")
        assert api.record("slow", waiting)["status"] == "cancelled"
        assert api.record("slow", running)["status"] == "processing"
    finally:
        api.json("POST", "/deployments/slow/requests/cancel", [running, waiting])


def test_cancel_a_processing_request(logged_in: Any, web_server: LocalServer, api: Api) -> None:
    page = logged_in
    [running] = api.batch("slow", ["sleep:30"])
    try:
        wait_status(api, "slow", running, "processing")
        page.goto(f"{root_of(web_server)}/#/request/slow/v1/{running}")
        expect(page.locator(".request-head .status")).to_have_text("processing")
        page.get_by_role("button", name="Cancel request").click()
        expect(page.locator(".request-head .status")).to_have_text("cancelled")
    finally:
        api.json("POST", "/deployments/slow/requests/cancel", [running])


def test_delete_a_request(logged_in: Any, web_server: LocalServer, api: Api) -> None:
    page = logged_in
    request_id = api.direct("echo", "to be deleted")["id"]
    page.goto(f"{root_of(web_server)}/#/request/echo/v1/{request_id}")
    expect(page.locator(".request-head .status")).to_have_text("completed")
    page.get_by_role("button", name="Delete…").click()
    page.get_by_role("button", name="Keep it").click()  # thought better of it: nothing happens
    expect(page.get_by_role("button", name="Delete…")).to_be_focused()
    assert api.request("GET", f"/deployments/echo/requests/{request_id}").status == 200
    page.keyboard.press("Enter")  # the keyboard: Delete… again, focus on the confirmation
    confirm = page.get_by_role("button", name="Delete", exact=True)
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".outcome")).to_contain_text("Deleted.")
    assert api.request("GET", f"/deployments/echo/requests/{request_id}").status == 404
    page.get_by_role("link", name="Back to the requests").click()
    expect(page).to_have_url(re.compile(r"#/requests/echo/v1$"))
    expect(page.locator(f'tr[data-id="{request_id}"]')).to_have_count(0)


def test_an_unknown_request(logged_in: Any, web_server: LocalServer) -> None:
    page = logged_in
    page.goto(f"{root_of(web_server)}/#/request/echo/v1/00000000-0000-4000-8000-000000000000")
    expect(page.locator("main")).to_contain_text("There is no such request")


# -- try it ----------------------------------------------------------------------------------------------------


def test_try_it_streams_updates_live(logged_in: Any, web_server: LocalServer, api: Api) -> None:
    page = logged_in
    page.goto(f"{root_of(web_server)}/#/try/tool")
    page.get_by_label("Input", exact=True).fill("stream:first|second;sleep:1.5;stream:third")
    page.get_by_role("button", name="Send request").click()
    updates = page.locator("#updates li")
    # the first two updates are on screen while the deployment still sleeps before its third
    expect(updates).to_have_count(2)
    expect(page.locator("#open-request")).to_have_count(0)
    expect(updates).to_have_text([re.compile("first$"), re.compile("second$")])
    expect(updates).to_have_count(3)
    expect(updates.nth(2)).to_contain_text("third")
    expect(page.locator("#stream-state .status")).to_have_text("completed")
    expect(page.locator("#result-output")).to_have_text("stream:first|second;sleep:1.5;stream:third")
    screenshot(page, "try-stream")
    page.locator("#open-request").click()
    expect(page.locator(".request-head .status")).to_have_text("completed")
    request_id = page.url.rsplit("/", 1)[1]
    assert api.record("tool", request_id)["result"] == "stream:first|second;sleep:1.5;stream:third"


def test_try_it_with_the_keyboard_and_structured_input(logged_in: Any, web_server: LocalServer) -> None:
    page = logged_in
    expect(page.locator("article.deployment").first).to_be_visible()
    page.locator('a[href="#/try/calculator"]').focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#/try/calculator$"))
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    page.keyboard.press("Tab")  # the Requests link
    page.keyboard.press("Tab")  # the version
    page.keyboard.press("Tab")  # the input, filled with the declared fields as a start
    textarea = page.get_by_label("Input", exact=True)
    expect(textarea).to_be_focused()
    assert json.loads(textarea.input_value()) == {"x": 0, "y": 0, "op": ""}
    page.keyboard.press("Control+a")
    page.keyboard.type('{"x": 6, "y": 7, "op": "mul"}')
    page.keyboard.press("Control+Enter")
    expect(page.locator("#stream-state .status")).to_have_text("completed")
    expect(page.locator("#result-output")).to_have_text(json.dumps({"result": 42}, indent=2))
    expect(page.locator("#updates")).to_have_text("(none)")


def test_try_it_a_failing_request(logged_in: Any, web_server: LocalServer) -> None:
    page = logged_in
    page.goto(f"{root_of(web_server)}/#/try/calculator")
    page.get_by_label("Input", exact=True).fill('{"x": 1, "y": 0, "op": "div"}')
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#stream-state .status")).to_have_text("failed")
    expect(page.locator("#result pre.error-text")).to_contain_text("zero")


def test_try_it_checks_fields_before_sending(logged_in: Any, web_server: LocalServer) -> None:
    page = logged_in
    sent: List[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    page.goto(f"{root_of(web_server)}/#/try/calculator")
    textarea = page.get_by_label("Input", exact=True)
    send = page.get_by_role("button", name="Send request")
    error = page.locator("#try-error")
    for given, message in (
        ('{"x": 1, "y": "two", "op": "add"}', "field 'y': expected double, got string"),
        ('{"x": 1, "op": "add"}', "field 'y' is missing (data_type double)"),
        ('{"x": 1, "y": 2, "op": "add", "z": 3}', "unknown field 'z'"),
        ('{"x": 1, "y": 2, "op": ', "The input is not valid JSON"),
        ('"just text"', "expected a JSON object with the fields x, y, op, got string"),
    ):
        textarea.fill(given)
        send.click()
        expect(error).to_contain_text(message)
        expect(textarea).to_have_attribute("aria-invalid", "true")
    screenshot(page, "try-field-error")
    batch = page.get_by_label("Inputs, one per line")
    batch.fill('{"x": 1, "y": 2, "op": "add"}\n{"x": 1, "y": [2], "op": "add"}\n')
    page.get_by_role("button", name="Create batch").click()
    expect(page.locator("#batch-error")).to_contain_text("Line 2: field 'y': expected double, got array")
    assert sent == [], f"sent although the input was refused: {sent}"


def test_try_it_plain_text_and_json_lines(logged_in: Any, web_server: LocalServer, api: Api) -> None:
    """A plain deployment gets the text as it is (even text that looks like JSON); a batch takes one per line."""
    page = logged_in
    page.goto(f"{root_of(web_server)}/#/try/slow")
    page.get_by_label("Input", exact=True).fill('{"not": "json to me"}')
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#result-output")).to_have_text('{"not": "json to me"}')
    page.get_by_label("Inputs, one per line").fill('first\n"second"\n\n{"third": 3}\n')
    page.get_by_role("button", name="Create batch").click()
    expect(page.locator("#batch-result")).to_contain_text("Created 3 requests")
    listed = api.json("GET", "//ui/api/requests?deployment=slow&limit=3")["requests"]
    inputs = [api.record("slow", row["id"])["request_data"] for row in listed]
    assert sorted(inputs) == sorted(["first", "second", '{"third": 3}'])


def test_pages_that_do_not_exist(logged_in: Any, web_server: LocalServer) -> None:
    page = logged_in
    page.goto(f"{root_of(web_server)}/#/try/nothing")
    expect(page.locator("main")).to_contain_text("There is no deployment nothing")
    page.goto(f"{root_of(web_server)}/#/what/is/this")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")


def test_overview_of_a_busy_project(logged_in: Any, api: Api) -> None:
    """Last, after the others: the overview with requests of every kind, a busy instance and a queue (the
    screenshot in the docs)."""
    page = logged_in
    ids = api.batch("batchy", ["sleep:30"] * 3)
    try:
        batchy = page.locator('article[data-deployment="batchy"]')
        expect(batchy.locator(".instance")).to_have_text(["0: busy"])
        expect(batchy.locator(".queue-pending")).to_have_text("2")
        expect(page.locator("section.recent tbody tr")).to_have_count(20)
        expect(page.locator(f'section.recent tr[data-id="{ids[0]}"] .status')).to_have_text("processing")
        screenshot(page, "overview-busy")
    finally:
        api.json("POST", "/deployments/batchy/requests/cancel", ids)
