"""A script copied from the reference document runs unchanged: every ```python block of DeploymentRequests.md runs
in its own Python process against a recording server that answers the reference's example bodies.

Two facts of the reference are handled openly rather than hidden:
- The "Use authorization parameters" scripts assign ``configuration.host = "https://api.ubiops.com/v2.1"``
  themselves; an explicit host wins over ``UBIOPS_API_HOST``, so that one string literal is replaced by the
  recording server's URL (the test asserts it is the only change). The environment-variable scripts run as written.
- The batch-cancel scripts pass the placeholder ``status = 'status_example'``, which the reference itself says must
  be 'pending' or 'processing'; the client refuses it before sending anything (ApiValueError naming ``status``),
  as the real API would refuse it with a 400. Those scripts must fail exactly that way.
"""

import contextlib
import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, NamedTuple, Tuple

import pytest
from recording_server import RecordingServer

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "DeploymentRequests.md"  # ../shared
ROOT = Path(__file__).resolve().parents[2]
HOST_LINE = 'configuration.host = "https://api.ubiops.com/v2.1"'
TOKEN = "Token reference-example-token"


class Example(NamedTuple):
    name: str
    variant: str  # "environment" or "parameters"
    code: str
    http_method: str
    path: str  # the reference table's path template


def _examples() -> List[Example]:
    text = REFERENCE.read_text(encoding="utf-8")
    table = dict(re.findall(r"^\[\*\*(\w+)\*\*\]\S* \| \*\*[A-Z]+\*\* (\S+) \|", text, flags=re.M))
    methods = dict(re.findall(r"^\[\*\*(\w+)\*\*\]\S* \| \*\*([A-Z]+)\*\*", text, flags=re.M))
    examples = []
    for section in re.split(r"^# \*\*", text, flags=re.M)[1:]:
        name = section.split("**", 1)[0]
        for code in re.findall(r"```python\n(.*?)```", section, flags=re.S):
            code = textwrap.dedent(code)
            variant = "parameters" if "ubiops.Configuration()" in code else "environment"
            examples.append(Example(name, variant, code, methods[name], table[name]))
    return examples


EXAMPLES = _examples()


class Outcome(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    requests: list
    script: str


def _script_and_environment(example: Example, server: RecordingServer) -> Tuple[str, Dict[str, str]]:
    script = example.code
    if example.variant == "parameters":
        assert script.count(HOST_LINE) == 1
        script = script.replace(HOST_LINE, f'configuration.host = "{server.url}"')
    environment = {
        **os.environ,
        "UBIOPS_API_HOST": server.url,
        "UBIOPS_API_TOKEN": TOKEN,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return script, environment


def _run(example: Example) -> Outcome:
    """One script as `python -c` in a fresh interpreter (where os.fork is missing)."""
    with RecordingServer() as server:
        script, environment = _script_and_environment(example, server)
        done = subprocess.run(
            [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60
        )
        return Outcome(done.returncode, done.stdout, done.stderr, list(server.requests), script)


def _run_forked(examples: List[Example], folder: Path) -> List[Outcome]:
    """Every script at once, each in a process forked from one that imported ubiops (reference_runner.py), each
    against a recording server of its own."""
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(RecordingServer()) for _ in examples]
        jobs = []
        for index, (example, server) in enumerate(zip(examples, servers)):
            script, environment = _script_and_environment(example, server)
            jobs.append(
                {
                    "code": script,
                    "env": environment,
                    "stdout": str(folder / f"{index}.out"),
                    "stderr": str(folder / f"{index}.err"),
                }
            )
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("reference_runner.py"))],
            input=json.dumps(jobs),
            env=jobs[0]["env"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        codes = json.loads(done.stdout)
        return [
            Outcome(
                code,
                Path(job["stdout"]).read_text(),
                Path(job["stderr"]).read_text(),
                list(server.requests),
                job["code"],
            )
            for code, job, server in zip(codes, jobs, servers)
        ]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every script's outcome: forked from one process that imported ubiops (a fresh interpreter per script spent
    most of its time importing), or, without os.fork, fresh interpreters a few at a time."""
    if hasattr(os, "fork"):
        return dict(enumerate(_run_forked(EXAMPLES, tmp_path_factory.mktemp("reference-scripts"))))
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(range(len(EXAMPLES)), pool.map(_run, EXAMPLES)))


def test_the_reference_has_two_scripts_per_method():
    assert len(EXAMPLES) == 36
    assert {(e.name, e.variant) for e in EXAMPLES} == {
        (name, variant) for name in {e.name for e in EXAMPLES} for variant in ("environment", "parameters")
    }


#: What each script's ``print(api_response)`` shows of the canned answer.
PRINTED = {
    "batch_deployment_requests_create": "[DeploymentRequestBatchCreateResponse(id='69eca481-",
    "deployment_requests_batch_delete": "{'deleted': 2}",
    "deployment_requests_batch_get": "[DeploymentRequestDetail(id='2f909aeb-",
    "deployment_requests_create": "DeploymentRequestCreateResponse(id='ffce45da-",
    "deployment_requests_get": "DeploymentRequestSingleDetail(id='2f909aeb-",
    "deployment_requests_list": "[DeploymentRequestList(id='69eca481-",
    "deployment_requests_update": "'status': 'cancelled'",
}


def _expected_path(template: str) -> str:
    values = {
        "project_name": "project_name_example",
        "deployment_name": "deployment_name_example",
        "version": "version_example",
        "request_id": "request_id_example",
    }
    return "/v2.1" + template.format(**values)


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=[f"{e.name}-{e.variant}" for e in EXAMPLES] or None)
def test_reference_script_runs_unchanged(outcomes, index):
    example, outcome = EXAMPLES[index], outcomes[index]
    if example.name.endswith("batch_cancel"):
        assert outcome.returncode == 1
        assert "ubiops.exceptions.ApiValueError" in outcome.stderr
        assert "`status` must be one of 'pending', 'processing', got 'status_example'" in outcome.stderr
        assert outcome.requests == []
        return
    assert outcome.returncode == 0, outcome.stderr
    (sent,) = outcome.requests
    assert sent.method == example.http_method
    assert sent.path.split("?")[0] == _expected_path(example.path)
    token = TOKEN if example.variant == "environment" else "Token <YOUR_API_TOKEN>"
    assert sent.headers["authorization"] == token
    base = example.name.replace("deployment_version_requests", "deployment_requests")
    if base == "deployment_requests_delete":
        assert outcome.stdout == ""  # the script prints nothing
    else:
        assert PRINTED[base] in outcome.stdout
