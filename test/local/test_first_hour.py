"""Messages a newcomer meets in the first hour, as the ubiops client shows them from a real local server: each one
says what happened and points at the fix, and the docs show them as they really are."""

import re
from pathlib import Path
from typing import Iterator

import pytest

import ubiops
from ubiops.local import LocalServer

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def core_api(shared_server: LocalServer) -> Iterator[ubiops.CoreApi]:
    with ubiops.ApiClient(shared_server.configuration()) as client:
        yield ubiops.CoreApi(client)


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_exceptions_page_shows_the_real_text_of_a_404(core_api: ubiops.CoreApi) -> None:
    with pytest.raises(ubiops.NotFoundException) as raised:
        core_api.deployment_requests_get("local", "echo", "abc")
    assert str(raised.value) == "(404) NOT FOUND: request 'abc' not found in deployment 'echo'"
    assert f"`{raised.value}`" in one_line((DOCS / "Exceptions.md").read_text())
