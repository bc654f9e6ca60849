"""Response records: stored rows encoded as the API's JSON, by hand.

The stored request data and result are JSON texts already, and collecting thousands of records is the hot path of
polling clients, so records are put together as text rather than built as dicts and encoded again.
"""

import functools
import json
from datetime import datetime, timezone
from json.encoder import encode_basestring
from typing import Any, Iterable, Optional

from ubiops.local.store import StoredRequest


@functools.lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def iso(us: Optional[int]) -> Optional[str]:
    """Microseconds since the epoch as ISO 8601 UTC with milliseconds, e.g. 2020-03-28T20:00:26.613+00:00."""
    if us is None:
        return None
    seconds, micro = divmod(us, 1_000_000)
    return f"{_iso_seconds(seconds)}.{micro // 1000:03d}+00:00"


def compact_json(value: Any) -> str:
    if isinstance(value, str):  # the common plain item; what json.dumps would give, without its overhead
        return encode_basestring(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class JsonText(str):
    """Encoded JSON, sent by the HTTP layer as it is. Records are encoded by hand: the stored request data and
    result are JSON texts already, and collecting thousands of records is the hot path of polling clients."""


def _text(value: Optional[str]) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def _number(value: Optional[int]) -> str:
    return "null" if value is None else str(value)


def _time(us: Optional[int]) -> str:
    return "null" if us is None else f'"{iso(us)}"'


def _names(row: StoredRequest) -> str:
    """Ids are our uuids and names match config.NAME_PATTERN: neither needs escaping."""
    return f'"id":"{row.id}","deployment":"{row.deployment}","version":"{row.version}","status":"{row.status}",' + (
        '"success":true' if row.status == "completed" else '"success":false'
    )


def _metadata(row: StoredRequest) -> str:
    return (
        f'{_names(row)},"time_created":{_time(row.time_created)},"time_started":{_time(row.time_started)},'
        f'"time_completed":{_time(row.time_completed)},"input_size":{row.input_size},'
        f'"output_size":{_number(row.output_size)}'
    )


def list_record(row: StoredRequest) -> str:
    return "{" + _metadata(row) + "}"


def full_record(row: StoredRequest, metadata_only: bool = False, origin: bool = False) -> str:
    data = "" if metadata_only else f',"request_data":{row.request_data},"result":{row.result or "null"}'
    tail = ',"origin":{"created_by":"local"}' if origin else ""
    return f'{{{_metadata(row)},"timeout":{row.timeout}{data},"error_message":{_text(row.error_message)}{tail}}}'


def direct_record(row: StoredRequest) -> JsonText:
    return JsonText(
        f'{{{_names(row)},"result":{row.result or "null"},"error_message":{_text(row.error_message)},'
        f'"timeout":{row.timeout}}}'
    )


def json_list(items: Iterable[str]) -> JsonText:
    return JsonText("[" + ",".join(items) + "]")


def created_record(row: StoredRequest) -> str:
    """What a batch create answers per request."""
    return (
        f'{{"id":"{row.id}","deployment":"{row.deployment}","version":"{row.version}","status":"{row.status}",'
        f'"time_created":"{iso(row.time_created)}"}}'
    )
