"""One tutorial-style script, as UbiOps' tutorials write it, run unchanged with the public client (in the peers'
environment) and with ours (in this one), against the same ubiops-local: both must print the same lines."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Iterator

import pytest

from ubiops.local import LocalServer, default_config

pytestmark = [pytest.mark.peers, pytest.mark.timeout(180)]

PACKAGES = Path(__file__).parent / "packages"

TUTORIAL = """
    import sys
    import time

    import ubiops

    url, token = sys.argv[1:3]
    configuration = ubiops.Configuration()
    configuration.host = url
    configuration.api_key["Authorization"] = "Token " + token
    api_client = ubiops.ApiClient(configuration)
    core_api = ubiops.CoreApi(api_client)
    print("status:", core_api.service_status().status)
    project = core_api.projects_get("local")
    print("project:", project.name, project.organization_name)
    print("deployments:", sorted(d.name for d in core_api.deployments_list("local")))
    deployment = core_api.deployments_get("local", "greeter")
    print("deployment:", deployment.name, deployment.input_type, deployment.default_version)
    versions = core_api.deployment_versions_list("local", "greeter")
    print("versions:", [(v.version, v.status) for v in versions])
    version = core_api.deployment_versions_get("local", "greeter", "v1")
    print("version:", version.version, version.status)
    direct = core_api.deployment_requests_create("local", "calculator", {"x": 6, "y": 7, "op": "mul"})
    print("direct:", direct.status, direct.result)
    failed = core_api.deployment_requests_create("local", "calculator", {"x": 1, "y": 0, "op": "div"})
    print("failed:", failed.status, "division by zero" in failed.error_message.lower())
    batch = core_api.batch_deployment_requests_create("local", "greeter", ["ann", "bob"])
    for item in batch:
        ubiops.utils.wait_for_deployment_request(api_client, "local", "greeter", item.id, quiet=True, timeout=30)
    collected = core_api.deployment_requests_batch_get("local", "greeter", [item.id for item in batch])
    print("batch:", sorted((r.status, r.result) for r in collected))
    parts = list(ubiops.utils.stream_deployment_request(api_client, "local", "greeter", data="eve", full_response=True))
    print("stream:", parts[:-1], parts[-1].status, parts[-1].result)
    logs = core_api.logs_list("local", query='{deployment_name="greeter"} |= "greeting"', start="0",
                              end=str(time.time_ns() + 10**9), limit=100)
    print("logs:", sorted({log.log for log in logs}), {log.metadata.deployment_name for log in logs})
    api_client.close()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    config = default_config()
    config["deployments"].append({"name": "greeter", "path": str(PACKAGES / "greeter")})
    with LocalServer(config=config, data_dir=tmp_path_factory.mktemp("data")) as started:
        yield started


def run(python: Path, script: Path, server: LocalServer, cwd: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UBIOPS_", "PYTHONPATH"))}
    result = subprocess.run(
        [str(python), str(script), server.url, server.token],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )
    assert result.returncode == 0, f"{python}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)


def test_the_same_tutorial_script_prints_the_same_with_both_clients(
    peers_python: Path, server: LocalServer, tmp_path: Path
) -> None:
    script = tmp_path / "tutorial.py"
    script.write_text(textwrap.dedent(TUTORIAL))
    public = run(peers_python, script, server, tmp_path)
    ours = run(Path(sys.executable), script, server, Path(__file__).resolve().parents[2])
    assert public["status"] == "ok" and public["direct"] == "completed {'result': 42.0}"
    assert public["batch"] == "[('completed', 'hello ann'), ('completed', 'hello bob')]"
    assert public["logs"].startswith("['greeting")
    assert ours == public
