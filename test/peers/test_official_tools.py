"""The official UbiOps CLI (ubiops-cli 2.32.0) and the public client library, unchanged, against ubiops-local.

The CLI keeps its config in a file inside its own package directory, so each run uses a private copy of the
package (on PYTHONPATH) and a private HOME: the cached environment is never written to."""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from ubiops.local import LocalServer, default_config

pytestmark = [pytest.mark.peers, pytest.mark.timeout(180)]

PACKAGES = Path(__file__).parent / "packages"
RETURNS_DICT = Path(__file__).parent.parent / "local" / "packages" / "returns_dict"
STEP_TIMEOUT = 60  #: seconds for any one command of a peer


class Peer:
    """Runs the official CLI and scripts in the peers' environment, configured for one server."""

    def __init__(self, python: Path, home: Path, server: LocalServer) -> None:
        self.python = python
        self.home = home
        self.server = server
        site = subprocess.run(
            [str(python), "-c", "import ubiops_cli, os; print(os.path.dirname(ubiops_cli.__file__))"],
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=True,
        ).stdout.strip()
        self.packages = home / "cli-package"
        shutil.copytree(site, self.packages / "ubiops_cli", ignore=shutil.ignore_patterns(".config", "__pycache__"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("UBIOPS_", "PYTHON"))}
        self.env.update(HOME=str(home), PYTHONPATH=str(self.packages), PYTHONIOENCODING="utf-8", NO_COLOR="1")

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(self.python), "-m", "ubiops_cli.main", *args],
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            env=self.env,
            cwd=self.home,
        )
        assert result.returncode == 0, (
            f"ubiops {' '.join(args)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
        assert "Error" not in result.stdout, result.stdout
        return result.stdout

    def script(self, source: str, *args: str) -> str:
        path = self.home / "script.py"
        path.write_text(textwrap.dedent(source))
        result = subprocess.run(
            [str(self.python), str(path), *args],
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            env=self.env,
            cwd=self.home,
        )
        assert result.returncode == 0, f"script: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    config = default_config()
    greeter = {"name": "greeter", "path": str(PACKAGES / "greeter"), "input_type": "plain", "output_type": "plain"}
    dicts = {"name": "dicts", "path": str(RETURNS_DICT)}  # no types declared, as most packages come
    config["deployments"] += [greeter, dicts]
    with LocalServer(config=config, data_dir=tmp_path_factory.mktemp("data")) as started:
        yield started


@pytest.fixture(scope="module")
def peer(peers_python: Path, server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Peer:
    peer = Peer(peers_python, tmp_path_factory.mktemp("home"), server)
    out = peer.cli("signin", "--token", "--api", server.url, "-p", f"Token {server.token}")
    assert "Welcome to UbiOps!" in out and "Selected project: local" in out
    return peer


def ids_in(text: str) -> List[str]:
    return re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)


def test_cli_status_and_projects(peer: Peer, server: LocalServer) -> None:
    status = peer.cli("status")
    assert "Authorized" in status and "email: local@ubiops.local" in status
    assert f"api: {server.url}" in status and "project: local" in status
    assert "local" in peer.cli("projects", "list")
    projects = json.loads(peer.cli("projects", "list", "-fmt", "json"))
    assert [(p["name"], p["organization_name"]) for p in projects] == [("local", "local")]
    assert json.loads(peer.cli("projects", "get", "local", "-fmt", "json"))["name"] == "local"
    assert "local" in peer.cli("current_project", "get")
    assert peer.cli("config", "get", "default.project").strip() == "local"


def test_cli_deployments_and_versions(peer: Peer) -> None:
    table = peer.cli("deployments", "list")
    assert all(name in table for name in ("echo", "calculator", "greeter"))
    calculator = json.loads(peer.cli("deployments", "get", "calculator", "-fmt", "json"))
    assert (calculator["input_type"], calculator["default_version"]) == ("structured", "v1")
    assert [f["name"] for f in calculator["input_fields"]] == ["x", "y", "op"]
    assert "calculator" in peer.cli("deployments", "get", "calculator")
    versions = peer.cli("versions", "list", "-d", "greeter")
    assert "v1" in versions and "available" in versions and "[DEFAULT]" in versions
    version = json.loads(peer.cli("versions", "get", "v1", "-d", "greeter", "-fmt", "json"))
    assert (version["version"], version["deployment"], version["status"]) == ("v1", "greeter", "available")
    assert version["has_request_method"] is True
    assert "environment_name" in peer.cli("versions", "get", "v1", "-d", "greeter")


def test_cli_requests_and_logs(peer: Peer) -> None:
    plain = peer.cli("deployments", "requests", "create", "greeter", "--data", "world")
    assert "thinking about world" in plain and "almost there" in plain  # the streamed updates, as they came
    assert "hello world" in plain and "completed" in plain
    direct_id = ids_in(plain)[0]

    structured = json.loads(
        peer.cli(
            "deployments", "requests", "create", "calculator", "--data", '{"x": 2, "y": 5, "op": "mul"}', "-fmt", "json"
        )
    )
    # the CLI sends structured --data as a list (one direct request for all of them): one result per item
    assert [(r["status"], r["result"]) for r in structured] == [("completed", [{"result": 10.0}])]

    batch = json.loads(
        peer.cli(
            "deployments", "requests", "create", "greeter", "--batch", "--data", "a", "--data", "b", "-fmt", "json"
        )
    )
    batch_ids = [r["id"] for r in batch]
    assert len(batch_ids) == 2 and all(r["status"] == "pending" for r in batch)
    deadline = time.monotonic() + 30
    while True:
        got = json.loads(
            peer.cli(
                "deployments",
                "requests",
                "get",
                "greeter",
                *[arg for i in batch_ids for arg in ("-id", i)],
                "-fmt",
                "json",
            )
        )
        if all(r["status"] == "completed" for r in got) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert sorted(r["status"] for r in got) == ["completed", "completed"]
    listed = peer.cli("deployments", "requests", "list", "greeter")
    assert all(i in listed for i in batch_ids + [direct_id])

    logs = peer.cli("logs", "--no_pager", "-fmt", "oneline", "-q", f'| deployment_request_id="{direct_id}"')
    assert "greeting world" in logs and "a warning about world" in logs and "greeting a" not in logs
    extended = peer.cli("logs", "--no_pager", "-fmt", "extended", "-q", '|= "greeting" | deployment_name="greeter"')
    assert "deployment_name: greeter" in extended and "greeting b" in extended
    assert f"deployment_request_id: {batch_ids[1]}" in extended


def test_cli_requests_to_an_untyped_package_that_returns_dicts(peer: Peer) -> None:
    """An untyped deployment shows as structured, so the CLI json-parses --data, which a dict package wants."""
    assert json.loads(peer.cli("deployments", "get", "dicts", "-fmt", "json"))["input_type"] == "structured"
    direct = json.loads(
        peer.cli("deployments", "requests", "create", "dicts", "--data", '{"a": [1, 2]}', "-fmt", "json")
    )
    # as for calculator, the CLI sends the structured --data as a list of one: one result per item
    assert [(r["status"], [item["input"] for item in r["result"]]) for r in direct] == [("completed", [{"a": [1, 2]}])]
    batch = json.loads(
        peer.cli("deployments", "requests", "create", "dicts", "--batch", "--data", '{"n": 1}', "-fmt", "json")
    )
    request_id = batch[0]["id"]
    deadline = time.monotonic() + 30
    while True:
        got = json.loads(peer.cli("deployments", "requests", "get", "dicts", "-id", request_id, "-fmt", "json"))
        if got[0]["status"] == "completed" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert got[0]["status"] == "completed"
    output = json.loads(peer.cli("deployments", "requests", "output", "dicts", "-id", request_id))
    assert output["input"] == {"n": 1} and output["deployment"] == "dicts"


CLIENT_SCRIPT = """
    import sys
    import ubiops

    url, token = sys.argv[1:3]
    configuration = ubiops.Configuration(host=url, api_key={"Authorization": f"Token {token}"})
    client = ubiops.ApiClient(configuration)
    core_api = ubiops.CoreApi(client)
    print("status:", core_api.service_status().status)
    version = core_api.deployment_versions_get("local", "greeter", "v1")
    print("version:", version.version, version.status)
    direct = core_api.deployment_requests_create("local", "calculator", {"x": 6, "y": 7, "op": "mul"})
    print("direct:", direct.status, direct.result)
    failed = core_api.deployment_requests_create("local", "calculator", {"x": 1, "y": 0, "op": "div"})
    print("failed:", failed.status, bool(failed.error_message))
    batch = core_api.batch_deployment_requests_create("local", "greeter", ["ann", "bob"])
    ids = [item.id for item in batch]
    for request_id in ids:
        ubiops.utils.wait_for_deployment_request(client, "local", "greeter", request_id, quiet=True, timeout=30)
    collected = core_api.deployment_requests_batch_get("local", "greeter", ids)
    print("batch:", sorted((r.status, r.result) for r in collected))
    updates = list(ubiops.utils.stream_deployment_request(client, "local", "greeter", data="eve", full_response=True))
    print("stream updates:", updates[:-1])
    print("stream final:", updates[-1].status, updates[-1].result)
    try:
        list(ubiops.utils.stream_deployment_request(client, "local", "calculator", data={"x": 1, "y": 0, "op": "div"}))
    except ubiops.exceptions.UbiOpsException as exc:
        print("stream error:", exc)
    logs = core_api.logs_list("local", query='| deployment_name="greeter" |= "greeting"', start="0",
                              end=str(__import__("time").time_ns()), limit=100)
    print("logs:", [log.log for log in logs])
    try:
        core_api.deployments_create("local", {"name": "new", "input_type": "plain", "output_type": "plain"})
    except ubiops.exceptions.ApiException as exc:
        print("create deployment:", exc.status)
    client.close()
"""


def test_public_client_tutorial(peer: Peer, server: LocalServer) -> None:
    out = peer.script(CLIENT_SCRIPT, server.url, server.token)
    lines: Dict[str, Any] = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert lines["status"] == "ok"
    assert lines["version"] == "v1 available"
    assert lines["direct"] == "completed {'result': 42.0}"
    assert lines["failed"] == "failed True"
    assert lines["batch"] == "[('completed', 'hello ann'), ('completed', 'hello bob')]"
    assert lines["stream updates"] == "['thinking about eve', 'almost there']"
    assert lines["stream final"] == "completed hello eve"
    assert "division by zero" in lines["stream error"].lower()
    assert lines["logs"].startswith("['greeting") and "'greeting eve'" in lines["logs"]
    assert lines["create deployment"] == "501"


# -- a user's own package, as it is, served with one command ----------------------------------------------------------

USERS_CODE = """import os

import inflection
from casing import title


class Deployment:
    def __init__(self, base_directory, context):
        self.greeting = os.environ["GREETING"]

    def request(self, data):
        text = data["text"]
        return {"camel": inflection.camelize(text), "title": title(text), "greeting": self.greeting}
"""
DEPLOYMENT_YAML = """deployment_name: my-model
deployment_description: Deployment created via command line.
deployment_labels:
  team: vision
input_type: structured
input_fields:
  - name: text
    data_type: string
output_type: structured
output_fields:
  - name: camel
    data_type: string
  - name: title
    data_type: string
  - name: greeting
    data_type: string
"""
VERSION_YAML = """deployment_name: my-model
version_name: v2
environment_name: ubiops-ubuntu24-04-python3-13
instance_type_group_name: 2048 MB + 0.5 vCPU
minimum_instances: 0
maximum_instances: 1
instance_processes: 1
environment_variables:
  - name: GREETING
    value: hello
    secret: false
"""
#: what pip prints when it cannot reach the package index (the test then skips)
OFFLINE_SIGNS = ("No matching distribution found for inflection", "Failed to establish a new connection")


def test_a_users_package_with_requirements_and_cli_yaml_serves_with_one_command(
    peers_python: Path, tmp_path: Path
) -> None:
    """The folder a user uploads to UbiOps (requirements.txt, libraries/, a name with a space) and the YAML files they
    give the UbiOps CLI: one `ubiops-local serve`, then the official CLI's first request gets its answer."""
    needs_pypi = RETURNS_DICT.parent / "needs_pypi"
    package = tmp_path / "My Model"
    shutil.copytree(needs_pypi / "libraries", package / "libraries")
    shutil.copy(needs_pypi / "requirements.txt", package)  # the same requirements: the cached environment is used
    (package / "deployment.py").write_text(USERS_CODE)
    (tmp_path / "deployment.yaml").write_text(DEPLOYMENT_YAML)
    (tmp_path / "version.yaml").write_text(VERSION_YAML)
    cache = Path(os.environ.get("UBIOPS_TEST_PEERS_CACHE") or Path.home() / ".cache" / "ubiops-test-peers")
    command = [sys.executable, "-m", "ubiops.local", "serve", "--deployment", str(package), "--port", "0"]
    command += ["--deployment-config", "deployment.yaml", "--version-config", "version.yaml", "--quiet"]
    env = {**os.environ, "UBIOPS_LOCAL_CACHE": str(cache / "local-envs"), "UBIOPS_LOCAL_TOKEN": "users-token"}
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        banner = []
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                break
        if not banner:
            errors = process.stderr.read()
            if any(sign in errors for sign in OFFLINE_SIGNS):
                pytest.skip(f"PyPI cannot be reached: {errors[-500:]}")
            raise AssertionError(errors)
        assert "my-model (v2; default v2)" in banner[1], banner
        url = banner[0].rsplit(" ", 1)[1]
        peer = Peer(peers_python, tmp_path / "home", server=None)  # type: ignore[arg-type]
        assert "Welcome to UbiOps!" in peer.cli("signin", "--token", "--api", url, "-p", "Token users-token")
        answer = json.loads(
            peer.cli(
                "deployments", "requests", "create", "my-model", "--data", '{"text": "local_server"}', "-fmt", "json"
            )
        )
        assert [(r["status"], r["result"]) for r in answer] == [
            ("completed", [{"camel": "LocalServer", "title": "Local Server", "greeting": "hello"}])
        ]
        deployment = json.loads(peer.cli("deployments", "get", "my-model", "-fmt", "json"))
        assert deployment["labels"] == {"team": "vision"} and deployment["input_type"] == "structured"
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode == 0
