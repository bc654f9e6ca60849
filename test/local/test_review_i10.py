"""Findings of the review of the i10 change (bring your own deployment package: fail-fast start, --reload, the
terminal, stored tokens, untyped and zipped packages, environments), each proven against a real LocalServer on
127.0.0.1 with real worker processes."""

import os
import threading
import time
from pathlib import Path
from typing import List

import pytest
from local_helpers import wait_until

from ubiops.local import LocalServer

pytestmark = pytest.mark.timeout(120)

SLOW_INIT = """import time


class Deployment:
    def __init__(self):
        time.sleep({seconds})

    def request(self, data):
        return "{tag}"
"""


def write_code(package: Path, text: str) -> None:
    """Write deployment.py with a modification time that surely differs from the one before."""
    file = package / "deployment.py"
    before = file.stat().st_mtime_ns if file.exists() else 0
    file.write_text(text)
    os.utime(file, ns=(before + 2_000_000_000, before + 2_000_000_000))


def package_with(tmp_path: Path, name: str, code: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    write_code(folder, code)
    return folder


def threads_named(prefix: str) -> List[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


@pytest.mark.parametrize("keep_going", [False, True])
def test_a_stop_while_start_waits_for_a_slow_load_leaves_nothing_serving(tmp_path: Path, keep_going: bool) -> None:
    """stop() from another thread while start() waits for a package's __init__: start() went on after the stop
    (with keep_going it bound the port and served with no backend, and started the status writer and the
    dispatchers after they were stopped); without keep_going it blamed the package ("the instance died")."""
    package = package_with(tmp_path, "slow", SLOW_INIT.format(seconds=30, tag="x"))
    server = LocalServer(
        config={"deployments": [{"name": "slow", "path": str(package)}]},
        data_dir=tmp_path / "data",
        keep_going=keep_going,
    )
    outcome: List[BaseException] = []

    def start() -> None:
        try:
            server.start()
        except BaseException as exc:
            outcome.append(exc)

    starter = threading.Thread(target=start)
    starter.start()
    wait_until(lambda: (tmp_path / "data" / "logs").is_dir(), timeout=10)
    time.sleep(0.5)
    assert server.stop()
    starter.join(20)
    assert not starter.is_alive()
    try:
        assert not server.running
        assert len(outcome) == 1 and type(outcome[0]) is RuntimeError, outcome
        assert threads_named("dispatch-slow") == [] and threads_named("status-writer") == []
    finally:
        server.stop()
