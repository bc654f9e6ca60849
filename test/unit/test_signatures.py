"""CoreApi signatures: made at run time from the endpoint table, and the same in the generated core_api.pyi.

After adding an endpoint, ``python -m ubiops.api._stubgen`` rewrites the stub; test_the_committed_stub_is_up_to_date
fails until it has been run.
"""

import ast
import inspect
import pydoc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ubiops
from ubiops.api import _stubgen, checks, signatures
from ubiops.api.core_api import Operation
from ubiops.api.endpoints import PROJECT, Endpoint, Param, many
from ubiops.api_client import CALL_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
NAMES = [name for name, value in vars(ubiops.CoreApi).items() if isinstance(value, Operation)]
KINDS = {"posonlyargs": inspect.Parameter.POSITIONAL_ONLY, "args": inspect.Parameter.POSITIONAL_OR_KEYWORD}
KINDS["kwonlyargs"] = inspect.Parameter.KEYWORD_ONLY


def _core_api():
    return ubiops.CoreApi(ubiops.ApiClient(ubiops.Configuration(host="http://127.0.0.1:9/v2.1")))


def _stub_declarations():
    """The last (general) declaration of each CoreApi method in the committed stub, by name."""
    tree = ast.parse(_stubgen.STUB.read_text(encoding="utf-8"))
    (core_api,) = (node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "CoreApi")
    return {node.name: node for node in core_api.body if isinstance(node, ast.FunctionDef)}


STUB = _stub_declarations()


def test_the_committed_stub_is_up_to_date():
    assert _stubgen.STUB.read_text(encoding="utf-8") == _stubgen.render(), (
        "ubiops/api/core_api.pyi is out of date with the endpoint table: run python -m ubiops.api._stubgen"
    )


def test_the_stub_check_command_says_so():
    result = subprocess.run(
        [sys.executable, "-m", "ubiops.api._stubgen", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_stub_declares_every_registered_method_and_nothing_else():
    assert len(NAMES) >= 44
    assert set(STUB) == set(NAMES) | {"__init__"}


@pytest.mark.parametrize("name", NAMES)
def test_the_run_time_signature_is_the_stubs_general_declaration(name):
    """Names, kinds, defaults and annotations (the stub's text, evaluated, against the run-time objects)."""
    node = STUB[name]
    stub = []
    for field, kind in KINDS.items():
        arguments = getattr(node.args, field)
        defaults = node.args.kw_defaults if field == "kwonlyargs" else node.args.defaults
        defaults = [None] * (len(arguments) - len(defaults)) + list(defaults)
        for argument, default in zip(arguments, defaults):
            default = inspect.Parameter.empty if default is None else ast.literal_eval(default)
            stub.append((argument.arg, kind, default, ast.unparse(argument.annotation) if argument.annotation else ""))
    assert node.args.vararg is None and node.args.kwarg is None
    runtime = inspect.signature(getattr(ubiops.CoreApi, name))
    assert [(n, k, d) for n, k, d, _ in stub] == [(p.name, p.kind, p.default) for p in runtime.parameters.values()]
    for (param_name, _, _, text), param in zip(stub[1:], list(runtime.parameters.values())[1:]):
        assert text, f"{name}: `{param_name}` has no annotation in the stub"
        assert inspect.formatannotation(signatures.evaluate(text)) == inspect.formatannotation(param.annotation)
        assert signatures.evaluate(text) == param.annotation, param_name
    returns = ast.unparse(node.returns)
    assert signatures.evaluate(returns) == runtime.return_annotation
    assert inspect.formatannotation(signatures.evaluate(returns)) == inspect.formatannotation(runtime.return_annotation)


@pytest.mark.parametrize("name", NAMES)
def test_the_bound_method_shows_the_signature_without_self(name):
    bound = inspect.signature(getattr(_core_api(), name))
    unbound = inspect.signature(getattr(ubiops.CoreApi, name))
    assert list(bound.parameters.values()) == list(unbound.parameters.values())[1:]
    assert bound.return_annotation == unbound.return_annotation


def test_deployment_requests_create_reads_as_in_the_public_client():
    signature = inspect.signature(_core_api().deployment_requests_create)
    params = signature.parameters
    assert list(params)[:3] == ["project_name", "deployment_name", "data"]
    assert all(params[n].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for n in list(params)[:3])
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[3:])
    assert list(params)[3:] == ["timeout", "priority", *(name for name, _, _ in signatures.CALL_OPTIONS)]
    assert str(params["project_name"]) == "project_name: str"
    assert str(params["timeout"]) == "timeout: Optional[int] = None"
    assert str(params["async_req"]) == "async_req: bool = False"
    assert params["_return_http_data_only"].default is True
    assert signature.return_annotation is ubiops.DeploymentRequestCreateResponse
    info = inspect.signature(_core_api().deployment_requests_create_with_http_info)
    assert info.parameters["_return_http_data_only"].default is False
    assert inspect.formatannotation(info.return_annotation) == (
        "Tuple[ubiops.models.deployment_requests.DeploymentRequestCreateResponse, int, "
        "urllib3._collections.HTTPHeaderDict]"
    )


def test_the_version_twin_puts_version_after_the_last_path_argument():
    params = list(inspect.signature(_core_api().deployment_version_requests_delete).parameters)
    assert params[:4] == ["project_name", "deployment_name", "request_id", "version"]


def test_the_call_options_are_the_ones_the_client_takes():
    assert {name for name, _, _ in signatures.CALL_OPTIONS} == CALL_OPTIONS


@pytest.mark.parametrize("name", NAMES)
def test_the_signature_accepts_what_the_method_accepts(name):
    """Every parameter the endpoint binds is in the signature, positionally exactly the required ones."""
    endpoint = vars(ubiops.CoreApi)[name].endpoint
    params = inspect.signature(getattr(_core_api(), name)).parameters
    positional = [n for n, p in params.items() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert tuple(positional) == endpoint.positional
    assert set(params) == {p.name for p in endpoint.params} | CALL_OPTIONS


@pytest.mark.parametrize("target", ["class", "instance"])
def test_help_shows_the_parameters_the_endpoint_and_its_parameters(target):
    owner = ubiops.CoreApi if target == "class" else _core_api()
    text = pydoc.render_doc(owner.deployment_requests_create, renderer=pydoc.plaintext)
    assert "deployment_requests_create(" in text
    assert "project_name: str, deployment_name: str, data: " in text
    assert "timeout: Optional[int] = None" in text
    assert "POST /projects/{project_name}/deployments/{deployment_name}/requests" in text
    assert "timeout (int, optional)" in text
    assert "AsyncResult" in text  # what async_req=True returns


def test_help_on_the_class_lists_every_method_with_its_parameters():
    text = pydoc.render_doc(ubiops.CoreApi, renderer=pydoc.plaintext)
    for name in NAMES:
        first = list(inspect.signature(getattr(ubiops.CoreApi, name)).parameters)[1]  # after self
        listed = f"{name}(self, project_name: str" if first == "project_name" else f"{name}(self, *, {first}"
        assert listed in text, name


def test_importing_ubiops_builds_no_signature():
    code = (
        "import ubiops, sys; from ubiops.api.core_api import Operation; "
        "ops = [v for v in vars(ubiops.CoreApi).values() if isinstance(v, Operation)]; "
        "assert ops and all(op._function is None for op in ops), 'built at import'; "
        "assert 'inspect' not in sys.modules, 'inspect imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_a_new_endpoint_gets_its_signature_from_its_declaration():
    endpoint = Endpoint(
        "deployment_things_list",
        "List things",
        "GET",
        "/projects/{project_name}/things",
        (
            PROJECT,
            Param("labels", "query", checks.text, "list[str]"),
            Param("filter", "query", checks.text, "dict(str, int)"),
        ),
        many(ubiops.DeploymentRequestDetail),
    )
    declaration = signatures.declare(endpoint, with_http_info=False)
    assert [(a.name, a.kind, a.annotation) for a in declaration.arguments[:3]] == [
        ("project_name", "positional", "str"),
        ("labels", "keyword", "Optional[List[str]]"),
        ("filter", "keyword", "Optional[Dict[str, int]]"),
    ]
    assert declaration.returns == "List[DeploymentRequestDetail]"
    signature = signatures.signature(declaration)
    assert list(signature.parameters)[:4] == ["self", "project_name", "labels", "filter"]


def test_an_unknown_doc_type_is_an_error_naming_the_endpoint_and_parameter():
    endpoint = Endpoint(
        "things_get",
        "Get",
        "GET",
        "/p/{project_name}",
        (PROJECT, Param("x", "body", checks.text, "Thing")),
        many(ubiops.DeploymentRequestDetail),
    )
    with pytest.raises(ValueError, match=r"things_get: `x`: no annotation for the doc type 'Thing'"):
        signatures.declare(endpoint, with_http_info=False)


@pytest.mark.parametrize(
    ("doc_type", "text"),
    [
        ("str", "str"),
        ("object", "Any"),
        ("str or dict()", "Union[str, Dict[str, Any]]"),
        ("list[str or dict()]", "List[Union[str, Dict[str, Any]]]"),
        ("list[DeploymentRequestDetail]", "List[DeploymentRequestDetail]"),
        ("dict(str, list[int])", "Dict[str, List[int]]"),
    ],
)
def test_doc_types_read_as_typing_text(doc_type, text):
    assert signatures.type_text(doc_type) == text


GOOD = """
    from datetime import datetime
    from multiprocessing.pool import AsyncResult
    from typing import List, cast

    import ubiops

    core_api = ubiops.CoreApi()
    created: ubiops.DeploymentRequestCreateResponse = core_api.deployment_requests_create(
        "project", "deployment", {"x": 1.0}, timeout=60, priority=1, _retries=0, _request_timeout=(5, 30)
    )
    detail = core_api.deployment_requests_get(project_name="p", deployment_name="d", request_id="r", metadata_only=True)
    print(detail.status)
    records: List[ubiops.DeploymentRequestList] = core_api.deployment_version_requests_list("p", "d", "v", limit=10)
    data, status, headers = core_api.deployment_requests_get_with_http_info("p", "d", "r")
    print(data.id, status + 1, headers.get("Content-Type"))
    thread = core_api.batch_deployment_requests_create("p", "d", [{"x": 1.0}], async_req=True)
    batch = cast("AsyncResult[List[ubiops.DeploymentRequestBatchCreateResponse]]", thread).get()
    print([r.id for r in batch])
    core_api.deployment_version_requests_delete("p", "d", "r", "v")
    # as UbiOps' tutorials write them: a dict for projects_log_list's data, a datetime or an int for logs_list's times
    core_api.projects_log_list(project_name="p", data={"date_range": -86400, "filters": {"deployment_name": "d"}})
    core_api.logs_list("p", query='{deployment_name="d"}', start=datetime.now(), end=1700000000, limit=10)
"""
BAD = {
    "wrong keyword": (
        'core_api.deployment_requests_get("p", "d", "r", metadata=True)',
        'Unexpected keyword argument "metadata"',
    ),
    "too many positionals": (
        'core_api.deployment_requests_get("p", "d", "r", True)',
        'Too many positional arguments for "deployment_requests_get"',
    ),
    "missing argument": (
        'core_api.deployment_requests_get("p", "d")',
        'Missing positional argument "request_id" in call to "deployment_requests_get"',
    ),
    "wrong type": (
        'core_api.deployment_requests_create("p", "d", {}, timeout="60")',
        'Argument "timeout" to "deployment_requests_create" of "CoreApi" has incompatible type "str"',
    ),
    "wrong return use": (
        'core_api.deployment_requests_get("p", "d", "r").no_such_field',
        '"DeploymentRequestSingleDetail" has no attribute "no_such_field"',
    ),
}


def test_mypy_checks_calls_against_the_stub(tmp_path):
    """One mypy run: the correct snippet passes, each wrong call fails on its own line with the argument named."""
    files = {"good.py": textwrap.dedent(GOOD)}
    for i, (line, _) in enumerate(BAD.values()):
        files[f"bad_{i}.py"] = f"import ubiops\n\ncore_api = ubiops.CoreApi()\n{line}\n"
    for file_name, text in files.items():
        (tmp_path / file_name).write_text(text)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--cache-dir",
            str(tmp_path / ".cache"),
            "--no-error-summary",
            *(str(tmp_path / f) for f in files),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors = result.stdout.splitlines()
    assert not [e for e in errors if "good.py" in e], result.stdout + result.stderr
    for i, (case, (_, message)) in enumerate(BAD.items()):
        found = [e for e in errors if f"bad_{i}.py:4:" in e]
        assert any(message in e for e in found), f"{case}: {found or result.stdout + result.stderr}"
