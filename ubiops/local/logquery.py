"""The project logs endpoint over the deployments' log files (logfile.py).

GET /projects/{p}/logs (the public client's logs_list, the CLI's `ubiops logs`): query parameters `query` (a
subset of Grafana LogQL, below), `start`, `end` (ISO 8601, or a number of seconds or nanoseconds since the epoch),
`limit` (1..5000, default 1000). Start is inclusive, end exclusive; start < end searches forward (oldest first),
start > end backward (newest first). Defaults: start now, end 24 hours before now.

POST /projects/{p}/logs (the older, deprecated projects_log_list): a body {filters, date, id, date_range, limit}.

LogQL subset: line filters `|= "text"`, `!= "text"`, `|~ "regex"`, `!~ "regex"`; label filters after `|`:
`label="value"`, `label!="value"`, `label=~"regex"`, `label!~"regex"` (regexes match the whole value), chained
with `and`, `,`, `or` (and binds tighter), parentheses, or another `|`; a stream selector `{label="value", ...}`.
Strings in double quotes (with escapes) or backticks. A label a line does not have is the empty string.
"""

import json
import re
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ubiops.local.logfile import LogRecord, format_time
from ubiops.local.validation import ApiError, json_type

DAY_NS = 86_400 * 1_000_000_000
LIMIT = (1, 5000, 1000)
#: How deep parentheses may nest in a query (each level costs a few Python frames).
MAX_NESTING = 32

Predicate = Callable[[LogRecord, Dict[str, str]], bool]

_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)"""
    r"""|(?P<op>\|=|\|~|!=|!~|=~|==|=|\||,|\(|\)|\{|\}|>=|<=|>|<)"""
    r"""|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"""
)


def labels_of(record: LogRecord) -> Dict[str, str]:
    labels = {
        "deployment_name": record.deployment,
        "deployment_version": record.version,
        "process_id": str(record.process_id),
        "level": record.level,
        "system": "false",
    }
    if record.request_id:
        labels["deployment_request_id"] = record.request_id
    return labels


def metadata_of(record: LogRecord) -> Dict[str, Any]:
    found: Dict[str, Any] = {
        "deployment_name": record.deployment,
        "deployment_version": record.version,
        "process_id": record.process_id,
        "level": record.level,
        "system": False,
    }
    if record.request_id:
        found["deployment_request_id"] = record.request_id
    return found


# -- the query language ----------------------------------------------------------------------------------------


def _tokens(query: str) -> List[Tuple[str, str]]:
    tokens, at = [], 0
    while at < len(query):
        if query[at:].strip() == "":
            break
        match = _TOKEN.match(query, at)
        if not match or match.end() == at:
            raise ApiError(400, f"query: cannot read {query[at:].strip()[:40]!r} (at character {at})")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        at = match.end()
    return tokens


def _string(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    try:
        return str(json.loads(text))
    except ValueError:
        raise ApiError(400, f"query: bad string {text}") from None


def _regex(text: str, anchored: bool) -> "re.Pattern[str]":
    try:
        return re.compile(f"(?:{text})\\Z" if anchored else text)
    except re.error as exc:
        raise ApiError(400, f"query: bad regular expression {text!r}: {exc}") from None


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokens(query)
        self.at = 0
        self.depth = 0

    def peek(self) -> Optional[Tuple[str, str]]:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ApiError(400, "query: ends too early")
        self.at += 1
        return token

    def string(self) -> str:
        kind, text = self.take()
        if kind != "string":
            raise ApiError(400, f"query: expected a string in quotes or backticks, got {text!r}")
        return _string(text)

    def parse(self) -> List[Predicate]:
        stages: List[Predicate] = []
        while self.peek() is not None:
            _, text = self.take()
            if text in ("|=", "!=", "|~", "!~"):
                stages.append(self.line_filter(text, self.string()))
            elif text == "|":
                stages.append(self.or_expression())
            elif text == "{":
                stages.append(self.selector())
            else:
                raise ApiError(400, f"query: expected |=, !=, |~, !~, | or {{ and got {text!r}")
        return stages

    def line_filter(self, op: str, value: str) -> Predicate:
        if op == "|=":
            return lambda record, _: value in record.text
        if op == "!=":
            return lambda record, _: value not in record.text
        pattern = _regex(value, anchored=False)
        if op == "|~":
            return lambda record, _: pattern.search(record.text) is not None
        return lambda record, _: pattern.search(record.text) is None

    def selector(self) -> Predicate:
        matchers = [self.matcher()]
        while True:
            _, text = self.take()
            if text == "}":
                break
            if text != ",":
                raise ApiError(400, f"query: expected , or }} in the selector, got {text!r}")
            matchers.append(self.matcher())
        return lambda record, labels: all(m(record, labels) for m in matchers)

    def or_expression(self) -> Predicate:
        terms = [self.and_expression()]
        while self.peek() == ("word", "or"):
            self.take()
            terms.append(self.and_expression())
        return terms[0] if len(terms) == 1 else (lambda record, labels: any(t(record, labels) for t in terms))

    def and_expression(self) -> Predicate:
        factors = [self.factor()]
        while True:
            token = self.peek()
            if token in (("word", "and"), ("op", ",")):
                self.take()
            elif token is None or (token[0] != "word" and token[1] != "(") or token == ("word", "or"):
                break
            factors.append(self.factor())
        return factors[0] if len(factors) == 1 else (lambda record, labels: all(f(record, labels) for f in factors))

    def factor(self) -> Predicate:
        if self.peek() == ("op", "("):
            self.take()
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ApiError(400, f"query: parentheses nest deeper than {MAX_NESTING} levels")
            inner = self.or_expression()
            if self.take()[1] != ")":
                raise ApiError(400, "query: expected )")
            self.depth -= 1
            return inner
        return self.matcher()

    def matcher(self) -> Predicate:
        kind, name = self.take()
        if kind != "word":
            raise ApiError(400, f"query: expected a label name, got {name!r}")
        _, op = self.take()
        if op not in ("=", "==", "!=", "=~", "!~"):
            raise ApiError(400, f"query: label operator {op!r} is not supported (use =, !=, =~ or !~)")
        value = self.string()
        if op in ("=", "=="):
            return lambda _, labels: labels.get(name, "") == value
        if op == "!=":
            return lambda _, labels: labels.get(name, "") != value
        pattern = _regex(value, anchored=True)
        if op == "=~":
            return lambda _, labels: pattern.match(labels.get(name, "")) is not None
        return lambda _, labels: pattern.match(labels.get(name, "")) is None


def compile_query(query: Optional[str]) -> Predicate:
    stages = _Parser(query or "").parse()
    if not stages:
        return lambda record, labels: True
    return lambda record, labels: all(stage(record, labels) for stage in stages)


# -- times -----------------------------------------------------------------------------------------------------


def parse_moment(name: str, raw: Optional[str]) -> Optional[int]:
    """ISO 8601 (UTC without an offset), or seconds (a number up to 12 digits) or nanoseconds since the epoch."""
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        if len(text) > 40:  # past any date (year 10^13 in ns): Decimal would take it, but nothing comes of it
            raise ApiError(400, f"{name}: timestamp too large, got {text[:40]!r}...")
        if "." not in text and len(text) > 12:
            return int(text)
        return int(Decimal(text) * 1_000_000_000)
    iso = text[:-1] + "+00:00" if text[-1:] in "Zz" else text
    match = re.match(r"^(.*T\d\d:\d\d(?::\d\d)?)\.(\d+)(.*)$", iso)
    fraction = 0
    if match:
        fraction = int((match[2] + "000000000")[:9])
        iso = match[1] + match[3]
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise ApiError(400, f"{name}: must be an ISO 8601 date-time or a timestamp, got {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1_000_000_000 + fraction


# -- selecting -------------------------------------------------------------------------------------------------


def select(records: Iterable[LogRecord], keep: Predicate, start: int, end: int, limit: int) -> List[LogRecord]:
    """Forward (start < end): start <= t < end, oldest first; backward (start > end): end < t <= start, newest
    first; at most `limit`."""
    if start <= end:
        chosen = [r for r in records if start <= r.timestamp < end and keep(r, labels_of(r))]
        chosen.sort(key=lambda r: r.timestamp)
    else:
        chosen = [r for r in records if end < r.timestamp <= start and keep(r, labels_of(r))]
        chosen.sort(key=lambda r: r.timestamp, reverse=True)
    return chosen[:limit]


def now_ns() -> int:
    return time.time_ns()


def log_list_record(record: LogRecord) -> Dict[str, Any]:
    return {
        "timestamp": record.timestamp,
        "timestamp_str": format_time(record.timestamp),
        "log": record.text,
        "metadata": metadata_of(record),
    }


def log_id(record: LogRecord) -> str:
    return f"{record.timestamp}-{record.deployment}"


def old_log_record(record: LogRecord) -> Dict[str, Any]:
    """The deprecated POST endpoint's shape (`Logs`): id, date, log and the metadata at the top level."""
    return {"id": log_id(record), "date": format_time(record.timestamp), "log": record.text, **metadata_of(record)}


OLD_FILTERS = {
    "deployment_name",
    "deployment_version",
    "deployment_request_id",
    "request_id",
    "process_id",
    "level",
    "system",
    "pipeline_name",
    "pipeline_version",
    "pipeline_object_name",
    "pipeline_request_id",
    "deployment_version_revision_id",
    "instance_id",
    "environment_name",
    "environment_build_id",
    "webhook_name",
}


def old_filter(filters: Any) -> Predicate:
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise ApiError(
            400,
            'filters: expected an object (a dict) like {"deployment_name": "my-deployment"}, '
            f"got {json_type(filters)}",
        )
    wanted: Dict[str, str] = {}
    for key, value in filters.items():
        if key not in OLD_FILTERS:
            raise ApiError(400, f"filters: unknown filter {key!r} (allowed: {', '.join(sorted(OLD_FILTERS))})")
        if value is None:
            continue
        name = "deployment_request_id" if key == "request_id" else key
        wanted[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return lambda _, labels: all(labels.get(k, "") == v for k, v in wanted.items())
