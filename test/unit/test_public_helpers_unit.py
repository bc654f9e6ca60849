"""The public-client helpers' parts that need no server: their errors and how the stream's final response is
handed on."""

import pickle

import pytest

import ubiops
from ubiops.models import DeploymentRequestCreateResponse
from ubiops.utils import StatusError, WaitTimeoutApiError, WaitTimeoutError
from ubiops.utils.compat import _public_stream


def test_the_wait_timeout_is_the_public_504_and_ours():
    error = WaitTimeoutApiError("Deployment request", "abc", "processing", 30)
    assert (error.status, error.reason, error.body) == (504, "Deployment request Timeout", "Timeout was reached")
    assert isinstance(error, ubiops.ApiException) and isinstance(error, WaitTimeoutError)
    assert isinstance(error, TimeoutError)
    assert (error.request_id, error.last_status) == ("abc", "processing")
    assert str(error) == (
        "(504) Deployment request Timeout: request abc is not final after 30 s of waiting; last status: processing"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.status, copy.unfinished) == (str(error), 504, {"abc": "processing"})


def test_status_error_keeps_the_public_text_and_the_record():
    record = DeploymentRequestCreateResponse(id="abc", status="failed", error_message="boom")
    error = StatusError("Deployment request: failed: boom", record)
    assert str(error) == "Deployment request: failed: boom"
    assert isinstance(error, ValueError) and isinstance(error, ubiops.UbiOpsException)
    assert (error.request_id, error.error_message, error.records) == ("abc", "boom", [record])
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_the_final_response_is_yielded_only_with_full_response():
    done = DeploymentRequestCreateResponse(id="abc", status="completed", result={"x": 1})
    assert list(_public_stream(iter(["a", "b", done]), False)) == ["a", "b"]
    assert list(_public_stream(iter(["a", done]), True)) == ["a", done]


def test_a_failed_final_response_raises_after_the_parts():
    failed = DeploymentRequestCreateResponse(id="abc", status="failed", error_message="boom")
    stream = _public_stream(iter(["a", failed]), True)
    assert next(stream) == "a"
    with pytest.raises(StatusError, match=r"^Request failed with error message: boom$"):
        next(stream)
