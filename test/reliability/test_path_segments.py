"""A path parameter can never change the path: whatever a name holds (dots, slashes, percent signs, ?, #, unicode),
it travels as exactly one percent-encoded segment, and the server reads it back as that parameter."""

from typing import Any, Dict, List, Tuple
from urllib.parse import unquote, urlsplit

import pytest
from reliability_support import DEPLOYMENT, PROJECT, VERSION

import ubiops
from ubiops.api.endpoints import ENDPOINTS, Endpoint
from ubiops.exceptions import ApiException, NotFoundException

#: Values a path segment must carry through unchanged.
NASTY = [
    "..",
    ".",
    "...",
    "%2F",
    "a%2Fb",
    "%2e%2e",
    "?x=1",
    "#frag",
    "a;b",
    "a\\b",
    " ",
    "\n",
    "\x00",
    "é",
    "日本",
    "\u2215",  # division slash
    "\uff0f",  # fullwidth solidus
    "\U0001f600",
    "x" * 300,
]
NASTY += ["a/b", "../local", "echo/versions/v1", "echo/requests", "local/deployments/echo"]  # %2F on the wire
NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"
NAMES = {"project_name": PROJECT, "deployment_name": DEPLOYMENT, "version": VERSION, "request_id": NO_SUCH_ID}
LABELS = {"project_name": "project", "deployment_name": "deployment", "version": "version", "request_id": "request"}


def call_with(endpoint: Endpoint, names: Dict[str, str]) -> Tuple[List[Any], Dict[str, Any]]:
    """Arguments that are valid but for the names, and harmless (unknown ids, never an existing request)."""
    values: Dict[str, Any] = dict(names)
    for param in endpoint.params:
        if param.where == "body":
            if "update" in endpoint.name:
                values[param.name] = {"status": "cancelled"}
            elif endpoint.name.endswith(("batch_cancel", "batch_delete", "batch_get")):
                values[param.name] = [NO_SUCH_ID]
            else:
                values[param.name] = "path test"
    return [values[name] for name in endpoint.positional], {}


def path_params(endpoint: Endpoint) -> List[str]:
    return [p.name for p in endpoint.params if p.where == "path"]


def check_server_reads(api: ubiops.CoreApi, endpoint: Endpoint, values: List[str]) -> List[str]:
    """Each value in each path parameter in turn: the server must answer 404 naming that value as that parameter."""
    wrong = []
    for value in values:
        for name in path_params(endpoint):
            args, kwargs = call_with(endpoint, {**NAMES, name: value})
            try:
                answer: Any = getattr(api, endpoint.name)(*args, **kwargs)
            except NotFoundException as err:
                if f"{LABELS[name]} {value!r}" in (err.message or ""):
                    continue
                answer = err
            except ApiException as err:
                answer = err
            wrong.append(f"{name}={value!r}: {answer!s:.200}")
    return wrong


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_the_server_reads_each_name_as_its_parameter(endpoint: Endpoint, direct_api: ubiops.CoreApi) -> None:
    assert check_server_reads(direct_api, endpoint, NASTY) == []


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_the_client_sends_each_name_as_one_segment(endpoint: Endpoint, faulty_api: ubiops.CoreApi, proxy) -> None:
    template = endpoint.path.split("/")
    for value in ["..", ".", "a/b", "../x", "%2F", "?x=1#y", "é/日本", "\uff0f"]:
        args, kwargs = call_with(endpoint, {name: value for name in path_params(endpoint)})
        try:
            getattr(faulty_api, endpoint.name)(*args, **kwargs, _retries=0)
        except ApiException:
            pass  # the answer does not matter here, only what went on the wire
        sent = urlsplit(proxy.targets[-1]).path.split("/")[2:]  # without the leading "" and "v2.1"
        assert len(sent) == len(template) - 1, (value, proxy.targets[-1])
        for expected, segment in zip(template[1:], sent):
            assert unquote(segment) == (value if expected.startswith("{") else expected), (value, proxy.targets[-1])
