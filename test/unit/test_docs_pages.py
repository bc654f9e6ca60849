"""Every model has its page under docs/models listing its fields, and every method around requests its section."""

from pathlib import Path

import pytest

from ubiops.api.endpoints import AROUND_REQUESTS
from ubiops.models import MODELS

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_has_a_page_with_its_fields_in_order(name):
    page = (DOCS / "models" / f"{name}.md").read_text()
    listed = [line.split("**")[1] for line in page.splitlines() if line.startswith("**")]
    assert listed == list(MODELS[name]._fields)


@pytest.mark.parametrize("endpoint", AROUND_REQUESTS, ids=lambda e: e.name)
def test_every_method_around_requests_has_a_section(endpoint):
    pages = "".join(path.read_text() for path in DOCS.glob("*.md"))
    assert f"# **{endpoint.name}**" in pages
    assert f"**{endpoint.method}** {endpoint.path} | {endpoint.summary}" in pages
