"""Page through ``list`` with ``limit``/``offset`` until the end."""

from datetime import datetime
from typing import Iterator, Optional, Set, Union

from ubiops.api import CoreApi
from ubiops.models import DeploymentRequestList
from ubiops.utils._target import Target, check_count
from ubiops.utils.pace import Pace, default_pace

__all__ = ["iter_requests", "DEFAULT_PAGE_SIZE"]

#: Requests per ``list`` call.
DEFAULT_PAGE_SIZE = 250


def iter_requests(
    core_api: CoreApi,
    project_name: str,
    deployment_name: str,
    version: Optional[str] = None,
    *,
    status: Optional[str] = None,
    start_date: Union[None, str, datetime] = None,
    end_date: Union[None, str, datetime] = None,
    search_id: Optional[str] = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    pace: Optional[Pace] = None,
) -> Iterator[DeploymentRequestList]:
    """Every request that ``list`` shows with these filters, each yielded once, page after page.

    Offsets shift when requests enter or leave the filtered set while paging. A request that moved to a later
    page is recognised by its id and not yielded again; one that left the set before its page was read is not
    seen. So every request is yielded exactly once when nobody deletes requests during the paging and the
    filter asks for final statuses only (``completed``, ``failed``, ``cancelled``: a request never leaves them).
    Requests that enter the set meanwhile may or may not be yielded; with an ``end_date`` in the past, once all
    requests created before it are final, the set is fixed. Remembers the ids yielded (about 100 bytes each).
    """
    target = Target.of("iter_requests", core_api, project_name, deployment_name, version)
    filters = {
        name: value
        for name, value in (
            ("status", status),
            ("start_date", start_date),
            ("end_date", end_date),
            ("search_id", search_id),
        )
        if value is not None
    }
    check_count("iter_requests", "page_size", page_size, 1)
    target.validate("deployment_requests_list", "iter_requests", **filters)
    return _pages(target, filters, page_size, pace or default_pace())


def _pages(target: Target, filters: dict, page_size: int, pace: Pace) -> Iterator[DeploymentRequestList]:
    seen: Set[str] = set()
    offset = 0
    while True:
        page = target.call(pace, "deployment_requests_list", limit=page_size, offset=offset, **filters)
        for record in page:
            if record.id not in seen:
                seen.add(record.id)
                yield record
        if len(page) < page_size:
            return
        offset += len(page)
