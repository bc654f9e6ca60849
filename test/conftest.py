"""Makes helpers that live in test/ (recording_server) importable from every test directory, sums the
reliability suite's tally over pytest-xdist's workers (pytest.ini runs the suite in several processes), and lets
the suite's Python processes cache bytecode.

The suite starts hundreds of Python processes (pytest-xdist's workers, servers, the CLIs, pytester runs), and with
PYTHONDONTWRITEBYTECODE set (as on the project's machines) each compiled this package and the test modules anew: a
tenth of a second and more each. They cache it in a folder of the temporary directory instead (PYTHONPYCACHEPREFIX,
never beside the sources); the variables are set here, before pytest-xdist starts its workers, which inherit them."""

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

_PYCACHE = os.path.join(tempfile.gettempdir(), f"ubiops-test-pycache-{os.getuid() if hasattr(os, 'getuid') else 0}")
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ["PYTHONPYCACHEPREFIX"] = _PYCACHE
sys.dont_write_bytecode, sys.pycache_prefix = False, _PYCACHE  # this process's own imports from here on

#: The tallies the workers handed over (test/reliability/conftest.py), when the suite ran under pytest-xdist.
_WORKER_TALLIES: List[Dict[str, int]] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    tally = getattr(node, "workeroutput", {}).get("reliability_tally")
    if tally:
        _WORKER_TALLIES.append(tally)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Under pytest-xdist the controller prints the reliability line, summed over the workers (without xdist,
    test/reliability/conftest.py prints it)."""
    if not _WORKER_TALLIES:
        return
    sys.path.insert(0, str(HERE / "reliability"))
    from reliability_support import Tally

    total = Tally(**{name: sum(t.get(name, 0) for t in _WORKER_TALLIES) for name in _WORKER_TALLIES[0]})
    if total.calls_under_faults or total.fuzz_cases or total.requests_checked:
        terminalreporter.write_line(total.line())


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Files with slow tests first. pytest-xdist runs each file whole in one process (--dist loadfile), so a long
    file that started last would run on alone after the others ended."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # a stable sort: each file's order is kept
