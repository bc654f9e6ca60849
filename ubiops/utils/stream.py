"""A direct request whose partial results arrive while the deployment runs (``POST .../requests/stream``)."""

import json
from typing import Any, Iterator, List, Optional, Union

from ubiops.api import CoreApi
from ubiops.api.endpoints import STREAM
from ubiops.models import DeploymentRequestCreateResponse
from ubiops.utils._target import Target
from ubiops.utils.errors import RequestFailedError, StreamError

__all__ = ["stream_request"]

STREAM_VERSION = STREAM.for_version()
#: Bytes asked for per read; a chunk that arrives is handed on at once, whatever its size.
READ_SIZE = 65536


def stream_request(
    core_api: CoreApi,
    project_name: str,
    deployment_name: str,
    data: Union[str, dict, list],
    version: Optional[str] = None,
    *,
    timeout: Optional[int] = None,
    raise_on_failure: bool = True,
) -> Iterator[Union[str, DeploymentRequestCreateResponse]]:
    """Yield each partial result (a ``str``) as the deployment sends it, then the final response.

    Example::

        for part in stream_request(core_api, "my-project", "my-deployment", {"prompt": "hi"}):
            if isinstance(part, str):
                print(part, end="", flush=True)
            else:
                print("\\nstatus:", part.status)

    Nothing is sent until the iteration starts. A failed or cancelled request raises RequestFailedError with its
    ``error_message`` (``raise_on_failure=False`` yields its response instead); an error reported in the stream,
    or a stream that ends before its final response, raises StreamError.
    """
    target = Target.of("stream_request", core_api, project_name, deployment_name, version)
    return _stream(target, data, timeout, raise_on_failure)


def _stream(
    target: Target, data: Any, timeout: Optional[int], raise_on_failure: bool
) -> Iterator[Union[str, DeploymentRequestCreateResponse]]:
    endpoint = STREAM if target.version is None else STREAM_VERSION
    arguments = target.arguments(data=data, **({} if timeout is None else {"timeout": timeout}))
    options = {"_preload_content": False, "_headers": {"Accept": "text/event-stream"}}
    response = target.core_api.api_client.call(endpoint, (), {**arguments, **options}, False)
    finished = False
    try:
        final = None
        for item in _events(response.stream(READ_SIZE, decode_content=True)):
            if isinstance(item, str):
                yield item
            else:
                final = item
        if final is None:
            raise StreamError("the stream ended before its final response")
        finished = True
    finally:
        if finished:
            response.release_conn()
        else:  # stopped early or broken: the rest of the body is not wanted, and the connection not reusable
            response.close()
    record = DeploymentRequestCreateResponse.from_json(final)
    if raise_on_failure and record.status != "completed":
        raise RequestFailedError([(0, record)], [record])
    yield record


def _events(chunks: Iterator[bytes]) -> Iterator[Union[str, dict]]:
    """Server-sent events: each event's ``data:`` lines joined by newlines, then the final JSON line as a dict."""
    buffer = b""
    data: List[str] = []
    event = ""
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8").rstrip("\r")
            if line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line == "":
                if data or event:
                    text = "\n".join(data)
                    if event == "error":
                        raise StreamError(f"the stream reported an error: {text}")
                    yield text
                data, event = [], ""
            elif line.startswith("{"):
                yield _final(line)
            # other lines (": comments", "id:", "retry:") carry nothing for us
    if buffer.strip():
        yield _final(buffer.decode("utf-8"))


def _final(line: str) -> dict:
    try:
        value = json.loads(line)
    except ValueError as err:
        raise StreamError(f"the stream's final line is not JSON: {line[:200]!r}") from err
    if not isinstance(value, dict):
        raise StreamError(f"the stream's final line is not a JSON object: {line[:200]!r}")
    if "error" in value and "id" not in value:
        raise StreamError(f"the stream reported an error: {value['error']}")
    return value
