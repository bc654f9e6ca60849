"""Workflows beyond single calls: wait for a request, submit and collect thousands, page through ``list``, stream.

Every helper takes the ``CoreApi`` to use, then the project, deployment and optional version, like the CoreApi
methods. See docs/Workflows.md. Example::

    from ubiops.utils import run_requests

    records = run_requests(core_api, "my-project", "my-deployment", items, progress=True)
    results = [r.result for r in records if r.status == "completed"]   # in the order of items

Polling helpers stay within a calls-per-minute budget (:class:`Pace`, 240 a minute by default, shared by the
process) and honour 429 answers. Importing this package is cheap; tqdm is imported only when progress is shown.
"""

from ubiops.utils.errors import RequestFailedError, StreamError, SubmitError, WaitTimeoutError, WorkflowError
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
]
