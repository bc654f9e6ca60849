"""The public client's helpers (wait_for_deployment_request, its version twin, stream_deployment_request, run_local)
against the local server and real package directories."""

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar, Dict, List

import pytest
import urllib3

import ubiops
from ubiops.exceptions import exception_for_status
from ubiops.local._worker import TRACEBACK_HINT
from ubiops.utils import (
    LogsUnavailableWarning,
    RequestFailedError,
    StatusError,
    WaitTimeoutApiError,
    WaitTimeoutError,
    compat,
    run_local,
    stream_deployment_request,
    wait_for_deployment_request,
    wait_for_deployment_version_request,
)

PROJECT = "local"
PACKAGES = Path(__file__).resolve().parent / "packages"
ROOT = Path(__file__).resolve().parents[2]


def cancel(core_api: ubiops.CoreApi, deployment: str, request_id: str) -> None:
    core_api.deployment_requests_update(PROJECT, deployment, request_id, {"status": "cancelled"})


# --- waiting ------------------------------------------------------------------------------------------------------


def test_wait_for_a_completed_request_returns_its_record_and_prints_its_statuses(core_api, capsys):
    request_id = core_api.batch_deployment_requests_create(PROJECT, "sleeper", ["0.3"])[0].id
    record = wait_for_deployment_request(core_api.api_client, PROJECT, "sleeper", request_id)
    assert isinstance(record, ubiops.DeploymentRequestSingleDetail)
    assert (record.id, record.status, record.request_data, record.result) == (request_id, "completed", "0.3", "0.3")
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "Deployment request: completed"
    assert set(lines[:-1]) <= {"Deployment request: pending", "Deployment request: processing"}
    assert len(lines) == len(set(lines))  # each status once, not once per poll


def test_wait_takes_a_core_api_too_and_is_silent_when_quiet(core_api, capsys):
    request_id = core_api.batch_deployment_requests_create(PROJECT, "echo", ["hi"])[0].id
    record = wait_for_deployment_request(core_api, PROJECT, "echo", request_id, 60, True)  # public positional order
    assert (record.status, record.result) == ("completed", "hi")
    assert capsys.readouterr().out == ""


def test_wait_for_a_version_request(core_api, capsys):
    request_id = core_api.batch_deployment_version_requests_create(PROJECT, "streamer", "v2", [{"n": 1, "gate": ""}])[
        0
    ].id
    record = wait_for_deployment_version_request(core_api.api_client, PROJECT, "streamer", "v2", request_id)
    assert (record.status, record.version, record.result) == ("completed", "v2", {"parts": 1})
    assert capsys.readouterr().out.splitlines()[-1] == "Deployment version request: completed"


def test_a_failed_request_raises_status_error_with_the_public_text(core_api, capsys):
    request_id = core_api.batch_deployment_requests_create(PROJECT, "streamer", [{"n": -1, "gate": ""}])[0].id
    with pytest.raises(StatusError) as caught:
        wait_for_deployment_request(core_api.api_client, PROJECT, "streamer", request_id)
    assert str(caught.value) == f"Deployment request: failed: ValueError: n must be >= 0, got -1{TRACEBACK_HINT}"
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, ubiops.UbiOpsException)
    assert isinstance(caught.value, RequestFailedError) and caught.value.records[0].id == request_id
    assert caught.value.error_message == f"ValueError: n must be >= 0, got -1{TRACEBACK_HINT}"
    assert capsys.readouterr().out.splitlines()[-1] == "Deployment request: failed"
    from ubiops.utils.exceptions import StatusError as PublicPath

    assert PublicPath is StatusError


def test_a_cancelled_request_raises_status_error(core_api):
    request_id = core_api.batch_deployment_requests_create(PROJECT, "sleeper", ["30"])[0].id
    threading.Timer(0.2, cancel, (core_api, "sleeper", request_id)).start()
    with pytest.raises(StatusError, match=r"^Deployment request: cancelled"):
        wait_for_deployment_request(core_api, PROJECT, "sleeper", request_id, quiet=True)


def test_the_timeout_raises_the_public_504_api_exception(core_api):
    request_id = core_api.batch_deployment_requests_create(PROJECT, "sleeper", ["30"])[0].id
    try:
        with pytest.raises(ubiops.ApiException) as caught:
            wait_for_deployment_request(core_api.api_client, PROJECT, "sleeper", request_id, timeout=0.3, quiet=True)
        error = caught.value
        assert (error.status, error.reason, error.body) == (504, "Deployment request Timeout", "Timeout was reached")
        assert isinstance(error, WaitTimeoutApiError) and isinstance(error, WaitTimeoutError)
        assert error.request_id == request_id and error.last_status in ("pending", "processing")
        assert f"request {request_id} is not final after 0.3 s of waiting" in str(error)
    finally:
        cancel(core_api, "sleeper", request_id)


def test_wrong_arguments_are_refused_before_any_call():
    with pytest.raises(ubiops.ApiTypeError, match=r"`client` must be a ubiops\.ApiClient or ubiops\.CoreApi"):
        wait_for_deployment_request("not a client", PROJECT, "echo", "abc")
    with pytest.raises(ubiops.ApiValueError, match="wait_for_deployment_request: `timeout` must be a number"):
        wait_for_deployment_request(ubiops.CoreApi(ubiops.ApiClient()), PROJECT, "echo", "abc", timeout=-1)


# --- stream_logs --------------------------------------------------------------------------------------------------


class NoLogsCoreApi(ubiops.CoreApi):
    """A client without ``projects_log_list``, whatever CoreApi has by now."""

    projects_log_list = None


def test_stream_logs_without_a_logs_method_warns_once_and_waits(server, capsys):
    with ubiops.ApiClient(server.configuration()) as api_client:
        core_api = NoLogsCoreApi(api_client)
        request_id = core_api.batch_deployment_requests_create(PROJECT, "echo", ["x"])[0].id
        with pytest.warns(LogsUnavailableWarning, match="no CoreApi.projects_log_list") as warned:
            record = wait_for_deployment_request(core_api, PROJECT, "echo", request_id, stream_logs=True)
    assert record.status == "completed" and len(warned) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "Deployment request: completed"


class RawLogsCoreApi(ubiops.CoreApi):
    """A client whose ``projects_log_list`` posts to a logs route this server does not have (as a platform without
    it would answer): the helper must get the server's real refusal (501) and wait on without logs."""

    calls: List[Dict[str, Any]]

    def projects_log_list(self, project_name: str, data: Dict[str, Any]) -> Any:
        self.calls = getattr(self, "calls", []) + [data]
        configuration = self.api_client.configuration
        response = urllib3.request(
            "POST",
            f"{configuration.host}/projects/{project_name}/logs-of-another-platform",
            json=data,
            headers={"Authorization": configuration.get_api_key_with_prefix("Authorization")},
        )
        if response.status >= 300:
            raise exception_for_status(response.status)(response.status, response.reason, response)
        return response.json()


def test_stream_logs_shows_the_request_s_own_log_lines(server, capsys):
    with ubiops.ApiClient(server.configuration()) as api_client:
        core_api = ubiops.CoreApi(api_client)
        first, second = core_api.batch_deployment_requests_create(PROJECT, "sleeper", ["0.3", "0.4"])
        wait_for_deployment_request(core_api, PROJECT, "sleeper", first.id, quiet=True)
        record = wait_for_deployment_request(core_api, PROJECT, "sleeper", second.id, stream_logs=True)
    assert record.status == "completed"
    printed = capsys.readouterr().out.splitlines()
    assert any(line.endswith("sleeping 0.4 s") for line in printed), printed
    assert not any("sleeping 0.3 s" in line for line in printed)  # another request's line


def test_stream_logs_against_a_server_without_the_logs_endpoint_warns_once_and_waits(server, capsys):
    answer = 501  # what this server answers for an API path it does not emulate
    with ubiops.ApiClient(server.configuration()) as api_client:
        core_api = RawLogsCoreApi(api_client)
        request_id = core_api.batch_deployment_requests_create(PROJECT, "sleeper", ["0.5"])[0].id
        with pytest.warns(LogsUnavailableWarning) as warned:
            record = wait_for_deployment_version_request(
                core_api, PROJECT, "sleeper", "v1", request_id, stream_logs=True
            )
    assert record.status == "completed"
    assert len(warned) == 1 and f"the server answered {answer}" in str(warned[0].message)
    assert len(core_api.calls) == 1  # one call, then the wait went on without logs
    sent = core_api.calls[0]
    assert sent["filters"] == {
        "deployment_name": "sleeper",
        "deployment_version": "v1",
        "deployment_request_id": request_id,
    }
    assert (sent["limit"], sent["date_range"]) == (500, 86400) and sent["date"].startswith("20")
    assert capsys.readouterr().out.splitlines()[-1] == "Deployment version request: completed"


class FakeLogsCoreApi(ubiops.CoreApi):
    """Log lines from a list, as the public client's ``Logs`` models would come (here plain dicts)."""

    lines: ClassVar[List[Dict[str, str]]] = [
        {"id": f"log-{i}", "log": f"line {i}\n", "date": "2024-01-01T00:00:00Z"} for i in range(3)
    ]

    def projects_log_list(self, project_name: str, data: Dict[str, Any]) -> Any:
        self.sent = getattr(self, "sent", []) + [data]
        if "id" not in data:
            return self.lines[:2]
        start = next(i for i, line in enumerate(self.lines) if line["id"] == data["id"])
        return self.lines[start:]  # inclusive of the id given, as the API is


def test_stream_logs_prints_each_line_once_while_waiting(server, capsys, monkeypatch):
    monkeypatch.setattr(compat, "LOG_SETTLE_SECONDS", 0.2)
    monkeypatch.setattr(compat, "LOG_SETTLE_INTERVAL", 0.1)
    with ubiops.ApiClient(server.configuration()) as api_client:
        core_api = FakeLogsCoreApi(api_client)
        request_id = core_api.batch_deployment_requests_create(PROJECT, "sleeper", ["0.3"])[0].id
        record = wait_for_deployment_request(core_api, PROJECT, "sleeper", request_id, stream_logs=True)
    assert record.status == "completed"
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("line")] == ["line 0", "line 1", "line 2"]
    assert out[-1] == "Deployment request: completed"
    assert all(sent.get("id") in (None, "log-1", "log-2") for sent in core_api.sent)


# --- streaming ----------------------------------------------------------------------------------------------------


def test_stream_yields_the_partial_results_only(core_api):
    parts = list(stream_deployment_request(core_api.api_client, PROJECT, "streamer", data={"n": 3, "gate": ""}))
    assert parts == ["part 0", "part 1", "part 2"]


def test_stream_with_full_response_yields_the_response_last(core_api, tmp_path):
    gate = tmp_path / "gate"
    parts: List[Any] = []
    for part in stream_deployment_request(core_api, PROJECT, "streamer", "v2", {"n": 2, "gate": str(gate)}, 60, True):
        parts.append(part)
        if part == "part 0":
            gate.touch()  # the deployment waits for this: part 0 came while it ran
    assert parts[:2] == ["part 0", "part 1"]
    assert isinstance(parts[2], ubiops.DeploymentRequestCreateResponse)
    assert (parts[2].status, parts[2].result, parts[2].version) == ("completed", {"parts": 2}, "v2")
    assert len(parts) == 3


def test_a_failed_stream_raises_a_ubiops_exception_with_the_public_text(core_api):
    with pytest.raises(
        ubiops.UbiOpsException,
        match=r"^Request failed with error message: ValueError: n must be >= 0, got -1 \(traceback in ",
    ):
        list(stream_deployment_request(core_api, PROJECT, "streamer", data={"n": -1, "gate": ""}, full_response=True))


def test_stream_refuses_data_that_is_not_a_dict_list_or_str(core_api):
    with pytest.raises(ubiops.ApiTypeError, match="`data` must be a dict"):
        stream_deployment_request(core_api, PROJECT, "streamer")


# --- run_local ----------------------------------------------------------------------------------------------------


def test_run_local_a_package_with_base_directory_context_and_libraries(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path_before, cwd_before = list(sys.path), os.getcwd()
    output = run_local(
        str(PACKAGES / "modern"),
        {"name": "Ada"},
        init_context={"environment_variables": {"PUNCTUATION": "!"}},
    )
    assert output == {
        "text": "Hello, Ada!",
        "base_directory": str(PACKAGES / "modern"),
        "deployment": "modern",
        "request_mode": "express",
    }
    assert capsys.readouterr().out == "greeting\n"  # the streaming update, printed
    assert sys.path == path_before and os.getcwd() == cwd_before  # put back
    assert "PUNCTUATION" not in os.environ and "greeting" not in sys.modules
    # a relative directory is taken from the working directory
    monkeypatch.chdir(PACKAGES)
    assert run_local("modern", {"name": "Bo"})["text"] == "Hello, Bo?"


def test_run_local_an_old_style_package(tmp_path):
    assert run_local(PACKAGES / "old_style", {"x": 21}) == {"double": 42, "calls": 1}
    # a list and only request(): one call per item on one instance, outputs in a list
    assert run_local(PACKAGES / "old_style", [{"x": 1}, {"x": 2}]) == [
        {"double": 2, "calls": 1},
        {"double": 4, "calls": 2},
    ]
    with pytest.raises(ValueError, match="asked to fail"):  # the deployment's own exception, as it is
        run_local(PACKAGES / "old_style", {"fail": True})


def test_run_local_a_requests_only_package():
    assert run_local(PACKAGES / "requests_only", {"values": [1, 2]}) == {"sum": 3, "version": "v1"}
    assert run_local(PACKAGES / "requests_only", [{"values": [1]}, {"values": [2, 3]}], {"version": "v7"}) == [
        {"sum": 1, "version": "v7"},
        {"sum": 5, "version": "v7"},
    ]


def test_run_local_reports_a_missing_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_local(tmp_path / "nothing", {})
    with pytest.raises(FileNotFoundError, match=r"has no deployment\.py"):
        run_local(tmp_path, {})
    (tmp_path / "deployment.py").write_text("class NotDeployment:\n    pass\n")
    with pytest.raises(AttributeError, match="does not define a class Deployment"):
        run_local(tmp_path, {})


def test_run_local_loads_edited_code_afresh(tmp_path):
    (tmp_path / "libraries").mkdir()
    (tmp_path / "deployment.py").write_text(
        "from helper_for_edit_test import value\n\n"
        "class Deployment:\n    def request(self, data):\n        return value()\n"
    )
    (tmp_path / "libraries" / "helper_for_edit_test.py").write_text("def value():\n    return 1\n")
    assert run_local(tmp_path, {}) == 1
    (tmp_path / "libraries" / "helper_for_edit_test.py").write_text("def value():\n    return 2  # edited\n")
    assert run_local(tmp_path, {}) == 2


# --- reaching ubiops.utils ----------------------------------------------------------------------------------------


def test_import_ubiops_reaches_utils_lazily():
    code = (
        "import sys, ubiops\n"
        "assert 'ubiops.utils' not in sys.modules, 'imported eagerly'\n"
        "names = ['wait_for_deployment_request', 'wait_for_deployment_version_request',\n"
        "         'stream_deployment_request', 'run_local', 'wait_for_request', 'run_requests', 'Pace']\n"
        "assert all(callable(getattr(ubiops.utils, n)) for n in names)\n"
        "assert 'ubiops.utils' in sys.modules\n"
        "from ubiops.utils import run_local\n"
        "try:\n"
        "    ubiops.no_such_name\n"
        "except AttributeError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "module 'ubiops' has no attribute 'no_such_name'\n"
