"""Workflows beyond single calls: wait for a request, submit and collect thousands, page through ``list``, stream.

Every helper takes the ``CoreApi`` to use, then the project, deployment and optional version, like the CoreApi
methods. See docs/Workflows.md. Example::

    from ubiops.utils import run_requests

    records = run_requests(core_api, "my-project", "my-deployment", items, progress=True)
    results = [r.result for r in records if r.status == "completed"]   # in the order of items

Polling helpers stay within a calls-per-minute budget (:class:`Pace`, 240 a minute by default, shared by the
process) and honour 429 answers. Importing this package is cheap; tqdm is imported only when progress is shown.

The public UbiOps client's helpers are here by the same names and signatures (docs/Helpers.md):
``wait_for_deployment_request``, ``wait_for_deployment_version_request``, ``stream_deployment_request`` and
``run_local``; ``import ubiops`` makes this package reachable as ``ubiops.utils`` on first use.
"""

from ubiops.utils.compat import (
    LogsUnavailableWarning,
    stream_deployment_request,
    wait_for_deployment_request,
    wait_for_deployment_version,
    wait_for_deployment_version_request,
)
from ubiops.utils.deployment_package import run_local
from ubiops.utils.errors import (
    RequestFailedError,
    StatusError,
    StreamError,
    SubmitError,
    WaitTimeoutApiError,
    WaitTimeoutError,
    WorkflowError,
)
from ubiops.utils.pace import DEFAULT_CALLS_PER_MINUTE, Backoff, Pace
from ubiops.utils.paging import iter_requests
from ubiops.utils.stream import stream_request
from ubiops.utils.workflows import collect_requests, run_requests, submit_requests, wait_for_request

__all__ = [
    "wait_for_request",
    "submit_requests",
    "collect_requests",
    "run_requests",
    "iter_requests",
    "stream_request",
    "Pace",
    "Backoff",
    "DEFAULT_CALLS_PER_MINUTE",
    "WorkflowError",
    "WaitTimeoutError",
    "RequestFailedError",
    "SubmitError",
    "StreamError",
    "WaitTimeoutApiError",
    "StatusError",
    "wait_for_deployment_request",
    "wait_for_deployment_version_request",
    "wait_for_deployment_version",
    "stream_deployment_request",
    "run_local",
    "LogsUnavailableWarning",
]
