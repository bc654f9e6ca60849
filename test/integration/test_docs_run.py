"""Docs that run: every ```python block of README.md, docs/*.md and docs/models/*.md, and every script in examples/,
runs as a reader would run it; an unmarked block that fails fails the test.

How a block runs:
- On its own, as ``python -c`` runs it (a script of examples/ as ``python examples/<name>.py`` from the repository
  root), in a process forked from one that imported ubiops (reference_runner.py); all blocks at once. The working
  directory holds the files blocks name as a reader's own: ubiops-local.yaml, deployment_package.zip,
  deployment.yaml, version.yaml. A block with ``>>>`` lines runs as a doctest (NORMALIZE_WHITESPACE: a long output
  line may be wrapped on the page).
- Against ubiops-local, one server per project the docs name, shared by the blocks: ``project_name_example``
  (deployment ``deployment_name_example`` with version ``version_example``: the bundled echo), ``my-project``
  (``my-deployment``: the bundled calculator with undeclared types; ``my-llm``: doc_packages/my_llm, which streams)
  and ``local`` (the bundled examples). A block goes to the server whose project name it holds as a string, else
  to ``local``; UBIOPS_API_HOST and UBIOPS_API_TOKEN name that server. Every server's token is
  ``<YOUR_API_TOKEN>``, so the placeholder ``"Token <YOUR_API_TOKEN>"`` works as written.
- Two adaptations, made to the block's string constants (found by parsing it) and asserted to be its only changes:
  the UbiOps cloud's URL ``https://api.ubiops.com/v2.1`` becomes the server's, and the placeholder request ids
  (``request_id_example``, ``request_id_1``, ``request_id_2``) become ids of completed requests made for that
  block alone.
- Blocks share their servers and run at once: the cancel-every-pending examples cancel whatever batch requests
  are pending on ``project_name_example`` then, so a block that waits for its own to complete uses ``my-project``.

Markers: an HTML comment on the line just before the fence.
- ``<!-- not run: <why> -->``: the block is not run. A marker without a reason fails the test.
- ``<!-- run after the previous block -->``: the block runs as one script after the page's previous ```python block.
Any other comment there fails the test: a misspelt marker must not run or hide a block silently.
"""

import ast
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Set, Tuple

import pytest

import ubiops
from ubiops.local import LocalServer, default_config
from ubiops.utils import collect_requests

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs" / "models").glob("*.md"))]
SCRIPTS = sorted((ROOT / "examples").glob("*.py"))
BUNDLED = ROOT / "ubiops" / "local" / "deployments"

CLOUD_HOST = "https://api.ubiops.com/v2.1"
TOKEN = "<YOUR_API_TOKEN>"
PLACEHOLDER_IDS = ("request_id_example", "request_id_1", "request_id_2")
PLACEHOLDERS = "project_name_example"  # the project whose deployment holds the placeholder ids' requests
CONFIGS = {
    PLACEHOLDERS: {
        "project": PLACEHOLDERS,
        "deployments": [
            {
                "name": "deployment_name_example",
                "path": str(BUNDLED / "echo"),
                "versions": [{"name": "version_example"}],
            }
        ],
    },
    "my-project": {
        "project": "my-project",
        "deployments": [
            {"name": "my-deployment", "path": str(BUNDLED / "calculator")},
            {"name": "my-llm", "path": str(HERE / "doc_packages" / "my_llm")},
        ],
    },
    "local": default_config(),
}

NOT_RUN = re.compile(r"<!--\s*not run:(.*)-->")
AFTER = "<!-- run after the previous block -->"
FENCE = re.compile(r"^( *)```python[ \t]*\n(.*?)^\1```[ \t]*$", re.S | re.M)
DOCTEST = """\
import doctest, sys
test = doctest.DocTestParser().get_doctest({text!r}, {{"__name__": "__main__"}}, {name!r}, {name!r}, 0)
runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
runner.run(test)
sys.exit(1 if runner.failures else 0)
"""


class Block(NamedTuple):
    name: str  # "docs/Workflows.md:7", the line of the opening fence; or the script's path
    code: str  # what runs: the block dedented (after the previous block's code, for `run after`)
    reason: Optional[str] = None  # why it is not run (a `not run` marker)
    problem: Optional[str] = None  # a marker the test does not accept
    file: Optional[str] = None  # a script of examples/, run as `python <file>`

    @property
    def doctest(self) -> bool:
        return re.search(r"^>>> ", self.code, flags=re.M) is not None


def blocks_of(name: str, text: str) -> List[Block]:
    """The ```python blocks of one Markdown page, with their markers."""
    blocks: List[Block] = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        code = textwrap.dedent(match.group(2))
        before = (text[: match.start()].splitlines() or [""])[-1].strip()
        block = Block(f"{name}:{line}", code)
        marked = NOT_RUN.fullmatch(before)
        if before == AFTER:
            if not blocks or blocks[-1].reason or blocks[-1].problem:
                block = block._replace(problem="`run after the previous block`, but no block before it runs")
            else:
                block = block._replace(code=blocks[-1].code + "\n" + code)
        elif marked:
            reason = marked.group(1).strip()
            block = block._replace(reason=reason, problem=None if reason else "a `not run` marker without a reason")
        elif before.startswith("<!--"):
            block = block._replace(problem=f"an unknown marker before the block: {before}")
        blocks.append(block)
    return blocks


def all_blocks() -> List[Block]:
    blocks = [b for page in PAGES for b in blocks_of(page.relative_to(ROOT).as_posix(), page.read_text("utf-8"))]
    scripts = [path.relative_to(ROOT).as_posix() for path in SCRIPTS]
    return blocks + [Block(script, (ROOT / script).read_text("utf-8"), file=script) for script in scripts]


BLOCKS = all_blocks()
RUN = [block for block in BLOCKS if block.reason is None and block.problem is None]

#: Blocks that must fail: the test would pass a runner that lost failures otherwise.
CANARIES = blocks_of(
    "canary.md",
    """
```python
import ubiops
raise ubiops.UbiOpsException("a block that fails")
```

```python
>>> 1 + 1
3
```
""",
)


def _constants(code: str) -> List[ast.Constant]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []  # runs unchanged, and fails with the SyntaxError
    return [node for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def adapt(code: str, replacements: Dict[str, str]) -> Tuple[str, List[Tuple[str, str]]]:
    """The code with the string constants named in replacements replaced, and what was replaced; asserts that the
    result differs from the code in those constants only."""
    spots = [node for node in _constants(code) if node.value in replacements]
    lines = code.splitlines(keepends=True)
    for node in sorted(spots, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        assert node.lineno == node.end_lineno, node.value
        line = lines[node.lineno - 1].encode("utf-8")  # offsets count UTF-8 bytes
        new = repr(replacements[node.value]).encode("utf-8")
        lines[node.lineno - 1] = (line[: node.col_offset] + new + line[node.end_col_offset :]).decode("utf-8")
    adapted = "".join(lines)
    if spots:
        back = {new: old for old, new in replacements.items()}
        restored = ast.parse(adapted)
        for node in ast.walk(restored):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in back:
                node.value = back[node.value]
        assert ast.dump(restored) == ast.dump(ast.parse(code))
    return adapted, [(node.value, replacements[node.value]) for node in spots]


class Outcome(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    code: str  # as it ran
    changes: List[Tuple[str, str]]
    project: str  # the server it ran against


def _reader_folder(folder: Path) -> Path:
    """The files blocks name as the reader's own: a config of the bundled echo, and a package zip with the
    UbiOps CLI's two YAML files for it (docs/LocalServer.md, docs/LocalPackages.md)."""
    folder.mkdir()
    (folder / "ubiops-local.yaml").write_text(
        f"project: local\ndeployments:\n  - name: echo\n    path: {BUNDLED / 'echo'}\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(BUNDLED / "echo" / "deployment.py", "deployment.py")
    (folder / "deployment_package.zip").write_bytes(buffer.getvalue())
    (folder / "deployment.yaml").write_text("deployment_name: my-model\ninput_type: plain\noutput_type: plain\n")
    (folder / "version.yaml").write_text("deployment_name: my-model\nversion_name: v1\n")
    return folder


def _plan(
    block: Block, values: Set[str], servers: Dict[str, LocalServer], fresh_ids: List[str]
) -> Tuple[str, str, list]:
    """(code as it runs, project of its server, changes): the adaptations of the module docstring. values: the
    block's string constants."""
    if block.doctest:
        return DOCTEST.format(text=block.code, name=block.name), "local", []
    projects = sorted(values & set(servers)) or ["local"]
    assert len(projects) == 1, f"{block.name} names the projects {projects}"
    replacements = {CLOUD_HOST: servers[projects[0]].url}
    for placeholder in sorted(values & set(PLACEHOLDER_IDS)):
        replacements[placeholder] = fresh_ids.pop()
    code, changes = adapt(block.code, replacements)
    return code, projects[0], changes


def run_blocks(blocks: List[Block], servers: Dict[str, LocalServer], folder: Path) -> Dict[str, Outcome]:
    """Every block at once, each in a process forked from one that imported ubiops (reference_runner.py)."""
    strings = [set() if block.doctest else {node.value for node in _constants(block.code)} for block in blocks]
    needed = sum(len(values & set(PLACEHOLDER_IDS)) for values in strings)
    with ubiops.ApiClient(servers[PLACEHOLDERS].configuration()) as api_client:
        core_api = ubiops.CoreApi(api_client)
        created = core_api.batch_deployment_requests_create(
            PLACEHOLDERS, "deployment_name_example", [f"input {i}" for i in range(needed)]
        )
        fresh_ids = [record.id for record in created]
        collect_requests(core_api, PLACEHOLDERS, "deployment_name_example", fresh_ids, max_wait=30)
    workdir = _reader_folder(folder / "reader")
    base_environment = {k: v for k, v in os.environ.items() if k not in ("UBIOPS_PROJECT", "UBIOPS_DEPLOYMENT")}
    jobs, plans = [], []
    for index, (block, values) in enumerate(zip(blocks, strings)):
        code, project, changes = _plan(block, values, servers, fresh_ids)
        environment = {
            **base_environment,
            "UBIOPS_API_HOST": servers[project].url,
            "UBIOPS_API_TOKEN": f"Token {TOKEN}",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        job = {
            "code": code,
            "env": environment,
            "stdout": str(folder / f"{index}.out"),
            "stderr": str(folder / f"{index}.err"),
            "cwd": str(ROOT if block.file else workdir),
            "timeout": 60,
        }
        if block.file:
            job["file"] = block.file
        jobs.append(job)
        plans.append((code, changes, project))
    done = subprocess.run(
        [sys.executable, str(HERE / "reference_runner.py"), "ubiops.local", "ubiops.utils"],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return {
        block.name: Outcome(returncode, Path(job["stdout"]).read_text(), Path(job["stderr"]).read_text(), *plan)
        for block, returncode, job, plan in zip(blocks, json.loads(done.stdout), jobs, plans)
    }


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> Dict[str, Outcome]:
    if not hasattr(os, "fork"):
        pytest.skip("the blocks are forked from one warm process (reference_runner.py)")
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(LocalServer(config=config, token=TOKEN)) for name, config in CONFIGS.items()
        }
        return run_blocks(RUN + CANARIES, servers, tmp_path_factory.mktemp("docs-run"))


def test_the_pages_have_their_blocks():
    names = {b.name.split(":")[0] for b in BLOCKS}
    assert {"README.md", "docs/DeploymentRequests.md", "docs/models/DeploymentRequestUpdate.md"} <= names
    assert {f"examples/{p.name}" for p in SCRIPTS} <= names and len(SCRIPTS) >= 3
    assert len(BLOCKS) >= 100


def test_every_marker_is_understood_and_says_why():
    assert [f"{block.name}: {block.problem}" for block in BLOCKS if block.problem] == []


@pytest.mark.parametrize("block", RUN, ids=[b.name for b in RUN])
def test_block_runs(outcomes, block):
    outcome = outcomes[block.name]
    assert outcome.returncode == 0, (
        f"{block.name} failed (exit code {outcome.returncode}) against the {outcome.project!r} server"
        f"{' with ' + str(outcome.changes) if outcome.changes else ''}:\n{outcome.stdout}\n{outcome.stderr}"
    )


def test_what_the_blocks_had_changed(outcomes):
    """The adaptations were needed (so they are still there to be made) and are of the kinds the docstring names."""
    changes = [change for outcome in outcomes.values() for change in outcome.changes]
    assert {old for old, _ in changes} == {CLOUD_HOST, *PLACEHOLDER_IDS}
    (cloud,) = [b.name for b in RUN if b.name.startswith("README.md:") and CLOUD_HOST in b.code]
    readme = outcomes[cloud]  # the README's block for the UbiOps cloud
    ((old, new),) = readme.changes
    assert readme.project == "my-project" and old == CLOUD_HOST
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v2\.1", new)


def test_a_failing_block_fails(outcomes):
    failing, doctest = (outcomes[b.name] for b in CANARIES)
    assert failing.returncode == 1 and "UbiOpsException: a block that fails" in failing.stderr
    assert doctest.returncode == 1 and "Expected:\n    3\nGot:\n    2" in doctest.stdout


def test_markers_are_read_as_documented():
    page = """
```python
a = 1
```
<!-- run after the previous block -->
```python
b = a
```
<!-- not run: needs a UbiOps account -->
```python
```
<!-- run after the previous block -->
```python
```
<!-- not run: -->
```python
```
<!--not run:   -->
```python
```
<!-- notrun: typo -->
```python
```
<!-- not run: only on the line just before the fence -->

```python
```
"""
    first, after, marked, after_marked, empty, blank, typo, apart = blocks_of("page.md", page)
    assert first.code == "a = 1\n" and after.code == "a = 1\n\nb = a\n" and after.problem is None
    assert marked.reason == "needs a UbiOps account" and marked.problem is None
    assert after_marked.problem == "`run after the previous block`, but no block before it runs"
    assert empty.problem == blank.problem == "a `not run` marker without a reason"
    assert typo.problem == "an unknown marker before the block: <!-- notrun: typo -->"
    assert apart.reason is None and apart.problem is None
