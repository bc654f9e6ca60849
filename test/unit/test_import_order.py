"""Either module can be imported first: ``ubiops.api`` builds on ``ubiops.api_client``, never the other way round.

``import ubiops.x`` always runs ``ubiops/__init__.py`` first, whose own import order would hide a cycle, so each
check runs in a fresh interpreter with a bare ``ubiops`` package that imports nothing by itself."""

import subprocess
import sys
from pathlib import Path

import pytest

import ubiops

PACKAGE_DIR = str(Path(ubiops.__file__).resolve().parent)

BARE_PACKAGE = f"""
import sys, types
package = types.ModuleType("ubiops")
package.__path__ = [{PACKAGE_DIR!r}]
sys.modules["ubiops"] = package
"""


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", BARE_PACKAGE + code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "first, second",
    [("ubiops.api_client", "ubiops.api.core_api"), ("ubiops.api.core_api", "ubiops.api_client")],
)
def test_either_import_order_works(first, second):
    out = _run(
        f"import importlib\n"
        f"importlib.import_module({first!r})\n"
        f"importlib.import_module({second!r})\n"
        "from ubiops.api.core_api import CoreApi\n"
        "from ubiops.api_client import ApiClient\n"
        "print(CoreApi.__name__, ApiClient.__name__)\n"
    )
    assert out.split() == ["CoreApi", "ApiClient"]


def test_the_api_client_does_not_import_the_api_package():
    out = _run("import ubiops.api_client\nprint(sorted(m for m in sys.modules if m.startswith('ubiops.api.')))\n")
    assert out.strip() == "[]"
