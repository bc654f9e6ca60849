"""The project logs endpoints over the deployments' log files (logfile.py); the query language is logquery.py."""

from typing import Any, Dict, List, Optional

from ubiops.local import logquery
from ubiops.local.logfile import LogFile, LogRecord, read_records
from ubiops.local.metadata import Metadata
from ubiops.local.validation import ApiError, json_type


class ProjectLogs:
    """GET and POST /projects/{p}/logs: the log records of every deployment, filtered and paged."""

    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata
        self._files: Dict[str, LogFile] = {}

    def add(self, deployment: str, log: LogFile) -> LogFile:
        self._files[deployment] = log
        return log

    def _records(self, project: str) -> List[LogRecord]:
        self.metadata.check_project(project)
        records: List[LogRecord] = []
        for log in self._files.values():
            records += read_records(log.files())
        return records

    def list(
        self, project: str, query: Optional[str], start: Optional[int], end: Optional[int], limit: int
    ) -> List[Dict[str, Any]]:
        """GET /projects/{p}/logs: see logquery.py."""
        keep = logquery.compile_query(query)
        now = logquery.now_ns()
        start = now if start is None else start
        end = now - logquery.DAY_NS if end is None else end
        chosen = logquery.select(self._records(project), keep, start, end, limit)
        return [logquery.log_list_record(record) for record in chosen]

    def list_old(self, project: str, body: Any) -> List[Dict[str, Any]]:
        """POST /projects/{p}/logs (deprecated on the platform): {filters, date, id, date_range, limit}."""
        body = {} if body is None else body
        if not isinstance(body, dict):
            raise ApiError(
                400,
                "data: expected a JSON object (a dict) with filters, date, id, date_range, limit, "
                f"got {json_type(body)}",
            )
        unknown = set(body) - {"filters", "date", "id", "date_range", "limit"}
        if unknown:
            raise ApiError(400, f"data: unknown key {sorted(unknown)[0]!r}")
        keep = logquery.old_filter(body.get("filters"))
        date_range = body.get("date_range", -21600)
        limit = body.get("limit", 1000)
        for name, value, low, high in (("date_range", date_range, -86400, 86400), ("limit", limit, 1, 5000)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ApiError(400, f"{name}: must be an integer from {low} to {high}, got {value!r}")
        records = self._records(project)
        if body.get("id") is not None:
            start = next((r.timestamp for r in records if logquery.log_id(r) == str(body["id"])), None)
            if start is None:
                raise ApiError(404, f"id: log line {body['id']!r} not found")
        else:
            date = body.get("date")
            if date is not None and not isinstance(date, str):
                raise ApiError(400, f"date: must be an ISO 8601 date-time, got {date!r}")
            start = logquery.parse_moment("date", date)
            start = logquery.now_ns() if start is None else start
        span = date_range * 1_000_000_000
        if span >= 0:
            chosen = logquery.select(records, keep, start, start + span + 1, limit)
        else:
            chosen = logquery.select(records, keep, start, start + span - 1, limit)
        return [logquery.old_log_record(record) for record in chosen]
