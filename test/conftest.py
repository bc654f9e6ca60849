"""Makes helpers that live in test/ (recording_server) importable from every test directory; for pytest-xdist
(pytest.ini runs the suite in several processes, `--dist loadgroup`), keeps each file whose tests share a module
fixture in one process, and sums the reliability suite's tally over the processes."""

import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: Fixture scopes that tie a file's tests to one process: the fixture is made once there, not once per process.
SHARED_SCOPES = {"module", "package", "class"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """The tests of a file that uses a module (or class) fixture run in one process, one after the other, as without
    xdist (`xdist_group`, named after the file); every other test goes wherever a process is free."""
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        definitions = fixtures.name2fixturedefs.values() if fixtures is not None else ()
        if any(d.scope in SHARED_SCOPES for defs in definitions for d in defs):
            group = item.path.relative_to(HERE).with_suffix("").as_posix()
            item.add_marker(pytest.mark.xdist_group(group))


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
