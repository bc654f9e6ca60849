"""Request bodies as the endpoints take them: read within the size limit, then a JSON value or (text/plain) a string.

Whatever the client sends ends in a 4xx ApiError naming the header or the rule, never in a 500.
"""

import codecs
import json
import math
import re
from typing import Any, List, Optional, Tuple

from werkzeug.wrappers import Request

from ubiops.local.http_framing import FramingError
from ubiops.local.validation import ApiError, TextBody

#: text/plain charsets taken, by their Python codec name (codecs.lookup normalises the aliases)
CHARSETS = ("utf-8", "ascii", "iso8859-1")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:20]} is too large")
    return value


def read_body(request: Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"body: {request.content_length} bytes is over the limit of {limit} bytes")
    chunks: List[bytes] = []
    size = 0
    while True:
        try:
            chunk = request.stream.read(65536)
        except FramingError as exc:  # the connection is closed after the answer: the framing is lost
            raise ApiError(exc.status, exc.message) from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body: over the limit of {limit} bytes")
        chunks.append(chunk)


def decode_text(data: bytes, charset: str) -> str:
    """A text/plain body in one of CHARSETS (415 for any other), holding text that UTF-8 can store (else 400)."""
    try:
        codec = codecs.lookup(charset).name
    except (LookupError, ValueError, TypeError):
        codec = ""
    if codec not in CHARSETS:
        raise ApiError(
            415,
            f"Content-Type: charset {charset[:40]!r} is not taken for text/plain; use utf-8, us-ascii or iso-8859-1",
        )
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"body: not valid text in the declared charset {charset[:40]!r}: {exc}") from None
    if lone_surrogate(text) is not None:
        raise ApiError(400, "body: the text holds a lone surrogate (\\ud800 to \\udfff without its pair)")
    return text


def parse_body(request: Request, limit: int, text_allowed: bool) -> Any:
    """None for no body; TextBody for text/plain (where allowed); else the JSON value."""
    data = read_body(request, limit)
    mimetype = request.mimetype
    if not data and not mimetype:
        return None
    if mimetype == "text/plain" and text_allowed:
        return TextBody(decode_text(data, request.mimetype_params.get("charset", "utf-8")))
    if mimetype not in ("", "application/json") and not mimetype.endswith("+json"):
        allowed = "application/json or text/plain" if text_allowed else "application/json"
        raise ApiError(400, f"Content-Type: must be {allowed}, got {mimetype!r}")
    if not data:
        return None
    try:
        value = json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"body: malformed JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(data):  # rare: only then look for a string that is not valid Unicode
        where = lone_surrogate(value)
        if where is not None:
            raise ApiError(
                400, f"{where}: a string holds a lone surrogate escape (\\ud800 to \\udfff without its pair)"
            )
    return value


def lone_surrogate(value: Any) -> Optional[str]:
    """Where in a parsed JSON value a string (or key) cannot be encoded as UTF-8, e.g. data[0]['op']; else None."""
    stack: List[Tuple[str, Any]] = [("data", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return where
        elif isinstance(item, list):
            stack.extend((f"{where}[{index}]", child) for index, child in enumerate(item))
        elif isinstance(item, dict):
            stack.extend((f"{where}[{key!r}]", key) for key in item)
            stack.extend((f"{where}[{key!r}]", child) for key, child in item.items())
    return None
