"""Fuzzing the client's argument checks: every method gets generated arguments (each either valid or anything at
all), unknown keywords, extra positionals and odd call options. A bad argument raises ApiTypeError or ApiValueError
before any network I/O; nothing ever escapes as an AttributeError, KeyError or any other exception from inside.

The client points at a port where nothing listens and does not retry, so a call whose arguments pass the checks
ends as ApiConnectionError ("could not connect") without reaching anything."""

import datetime
import math
import socket
from collections import Counter
from typing import Any, Dict, Iterator, List

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reliability_support import Tally

import ubiops
from ubiops.api.endpoints import ENDPOINTS, Endpoint
from ubiops.exceptions import ApiConnectionError, ApiTypeError, ApiValueError

VALID: Dict[str, Any] = {
    "project_name": "local",
    "deployment_name": "echo",
    "version": "v1",
    "request_id": "00000000-0000-4000-8000-000000000000",
    "timeout": 60,
    "priority": 0,
    "metadata_only": True,
    "status": "completed",
    "limit": 10,
    "offset": 0,
    "start_date": "2020-01-01T00:00:00Z",
    "end_date": datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc),
    "search_id": "abc",
}
VALID_DATA = {
    "batch_deployment_requests_create": ["a", "b"],
    "deployment_requests_batch_cancel": ["id-1"],
    "deployment_requests_batch_delete": ["id-1"],
    "deployment_requests_batch_get": ["id-1"],
    "deployment_requests_create": {"x": 1.0},
    "deployment_requests_update": {"status": "cancelled"},
}


def valid_value(base: str, name: str) -> Any:
    if name == "data":
        return VALID_DATA[base]
    return "pending" if (base, name) == ("deployment_requests_batch_cancel", "status") else VALID[name]


class Opaque:
    """An object the client cannot know."""


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.binary(max_size=8),
    st.sampled_from([math.nan, math.inf, -1, 0, 10**30, "", " ", "\x00", "\n", Opaque(), Opaque, len, ...]),
    st.datetimes(),
    st.dates(),
    st.builds(ubiops.DeploymentRequestUpdate, status=st.just("cancelled")),
)
anything = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.frozensets(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=6) | st.integers(), children, max_size=3),
    ),
    max_leaves=8,
)
big_lists = st.integers(240, 260).map(lambda n: ["id"] * n)
call_options = st.fixed_dictionaries(
    {},
    optional={
        "_request_timeout": anything | st.tuples(anything, anything),
        "_retries": anything.filter(lambda v: not (isinstance(v, int) and not isinstance(v, bool) and v > 0)),
        "_headers": anything,
        "_preload_content": st.booleans(),
        "_return_http_data_only": anything,
    },
)
KINDS = st.sampled_from(["valid", "valid", "anything", "big", "absent"])


@st.composite
def calls(draw: Any, endpoint: Endpoint) -> Dict[str, Any]:
    base = endpoint.name.replace("deployment_version_requests", "deployment_requests")
    kwargs: Dict[str, Any] = {}
    for param in endpoint.params:
        valid = valid_value(base, param.name)
        kind = draw(KINDS)
        if kind == "valid":
            kwargs[param.name] = valid
        elif kind == "anything":
            kwargs[param.name] = draw(anything)
        elif kind == "big" and param.name == "data":
            kwargs[param.name] = draw(big_lists)
    positional = draw(st.integers(0, len(endpoint.positional) + 1))
    args: List[Any] = []
    for name in endpoint.positional[:positional]:
        args.append(kwargs.pop(name, None))
    if positional > len(endpoint.positional):
        args.append(draw(anything))
    if draw(st.sampled_from([False] * 5 + [True])):
        kwargs[draw(st.sampled_from(["data_", "projectName", "_timeout", "request", "headers"]))] = 1
    kwargs.update(draw(call_options))
    return {"args": args, "kwargs": kwargs}


@pytest.fixture(scope="module")
def offline_api() -> Iterator[ubiops.CoreApi]:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = ubiops.Configuration(host=f"http://127.0.0.1:{port}/v2.1", api_key={"Authorization": "t"})
    configuration.retries = 0
    with ubiops.ApiClient(configuration) as client:
        yield ubiops.CoreApi(client)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_bad_arguments_are_argument_errors_before_any_io(
    endpoint: Endpoint, offline_api: ubiops.CoreApi, tally: Tally
) -> None:
    method = getattr(offline_api, endpoint.name)
    base = endpoint.name.replace("deployment_version_requests", "deployment_requests")
    valid = {p.name: valid_value(base, p.name) for p in endpoint.params}
    outcomes: Counter = Counter()

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(call=calls(endpoint))
    @example(call={"args": [], "kwargs": valid})
    def fuzz(call: Dict[str, Any]) -> None:
        tally.fuzz_cases += 1
        try:
            method(*call["args"], **call["kwargs"])
        except (ApiTypeError, ApiValueError) as err:
            assert str(err), "an argument error says what is wrong"
            outcomes["argument error"] += 1
        except ApiConnectionError as err:
            assert "could not connect" in str(err), err  # the checks let it through: it went to the (closed) port
            outcomes["passed the checks"] += 1
        else:
            raise AssertionError("a call to a closed port cannot succeed")

    fuzz()
    assert outcomes["argument error"] and outcomes["passed the checks"], outcomes


@pytest.mark.parametrize("args", [("local", "echo", "\ud800"), ("local", "\udfff", "x")], ids=["data", "path"])
def test_a_lone_surrogate_is_an_argument_error(args: Any, offline_api: ubiops.CoreApi) -> None:
    with pytest.raises((ApiTypeError, ApiValueError)):
        offline_api.deployment_requests_create(*args)
