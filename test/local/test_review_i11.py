"""Findings of the review of the i11 change (the web view of the local server), each proven against a real
LocalServer on 127.0.0.1 with real worker processes, over plain HTTP."""

import threading
import time
from typing import List

import pytest
import urllib3
from local_helpers import PACKAGES, http_for

from ubiops.local import LocalServer

pytestmark = pytest.mark.timeout(120)


def test_the_overview_answers_while_instances_crash_and_are_replaced(tmp_path):
    """instance_states() reads each slot's instance without taking the slot, and asked it exited(): that read the
    instance's pidfd while its owner closed it (the instance crashed and was replaced), so select() got a closed
    descriptor (OSError EBADF: the overview answered 500) or, once the number was reused, another file's."""
    config = {"deployments": [{"name": "crash", "path": str(PACKAGES / "exits_3"), "instances": 4}]}
    with LocalServer(config=config, data_dir=tmp_path / "data") as server:
        http = http_for(server)
        until = time.monotonic() + 5.0
        statuses: List[int] = []

        def crash() -> None:
            while time.monotonic() < until:
                http.post("/projects/local/deployments/crash/requests", text="die")

        def poll() -> None:
            pool = urllib3.PoolManager(retries=False, timeout=30)
            url = server.url[: -len("/v2.1")] + "/ui/api/overview"
            while time.monotonic() < until:
                statuses.append(pool.request("GET", url, headers={"Authorization": f"Token {server.token}"}).status)

        threads = [threading.Thread(target=crash) for _ in range(4)] + [threading.Thread(target=poll) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses and set(statuses) == {200}, {status: statuses.count(status) for status in set(statuses)}
