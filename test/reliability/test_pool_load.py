"""Load: 16 threads share one ApiClient and make 150 calls each against the local server. No call fails, urllib3
never discards a connection ("connection pool is full"), and the client never holds more connections to the server
than the pool size."""

import logging
import threading
from typing import Any, Iterator, List

import psutil
import pytest
from reliability_support import DEPLOYMENT, PROJECT

import ubiops
from ubiops.local import LocalServer, default_config

THREADS = 16
CALLS = 150


@pytest.fixture(scope="module")
def load_server() -> Iterator[LocalServer]:
    with LocalServer(config=default_config()) as running:
        yield running


class Watcher(threading.Thread):
    """Samples this process's established connections to the server until stopped."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.most = 0
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        process = psutil.Process()
        while not self.stop.wait(0.05):
            connections = getattr(process, "net_connections", process.connections)(kind="tcp")  # psutil < 6
            ours = [c for c in connections if c.raddr and c.raddr.port == self.port and c.status == "ESTABLISHED"]
            self.most = max(self.most, len(ours))
            self.samples += 1


@pytest.mark.slow
def test_sixteen_threads_share_one_client(load_server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    configuration = load_server.configuration()
    configuration.connection_pool_maxsize = THREADS
    errors: List[BaseException] = []
    counts = [0] * THREADS
    with ubiops.ApiClient(configuration) as client:
        api = ubiops.CoreApi(client)
        seed = api.batch_deployment_requests_create(PROJECT, DEPLOYMENT, [f"seed-{n}" for n in range(10)])
        ids = [r.id for r in seed]

        def work(number: int) -> None:
            try:
                for call in range(CALLS):
                    kind = call % 10
                    if kind in (0, 5):
                        api.deployment_requests_get(PROJECT, DEPLOYMENT, ids[call % len(ids)], metadata_only=True)
                    elif kind in (1, 6):
                        api.deployment_requests_list(PROJECT, DEPLOYMENT, status="completed", limit=5)
                    elif kind in (2, 7):
                        api.deployment_requests_batch_get(PROJECT, DEPLOYMENT, ids[:3])
                    elif kind in (3, 8):
                        api.deployment_version_requests_get(PROJECT, DEPLOYMENT, ids[0], "v1")
                    else:
                        api.batch_deployment_requests_create(PROJECT, DEPLOYMENT, [f"load-{number}-{call}"])
                    counts[number] += 1
            except BaseException as err:  # reported below with the thread's number
                errors.append(err)

        watcher = Watcher(int(load_server.url.rsplit(":", 1)[1].split("/", 1)[0]))
        watcher.start()
        workers = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(240)
        watcher.stop.set()
        watcher.join(5)

    assert errors == [] and counts == [CALLS] * THREADS, errors[:3]
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "pool is full" in m.lower()]
    opened = [m for m in messages if m.startswith("Starting new HTTP connection")]
    assert 1 <= len(opened) <= THREADS, len(opened)
    assert watcher.samples > 0 and 1 <= watcher.most <= THREADS, (watcher.most, watcher.samples)


def test_more_hosts_than_pools_and_a_call_after_close(caplog: pytest.LogCaptureFixture) -> None:
    """The client keeps the connection pools of 4 hosts, as urllib3's manager does; calls to 6 hosts in turn each
    land once, close() closes every connection the client holds, and a call after close() opens a new one."""
    servers = [LocalServer(config=default_config(), token="pools") for _ in range(6)]
    try:
        for server in servers:
            server.start()
        ports = {int(server.url.rsplit(":", 1)[1].split("/", 1)[0]) for server in servers}
        configuration = servers[0].configuration()
        with ubiops.ApiClient(configuration) as client:
            api = ubiops.CoreApi(client)
            for server in servers * 2:
                configuration.host = server.configuration().host
                api.batch_deployment_requests_create(PROJECT, DEPLOYMENT, ["x"])
            client.close()
            left_open = [c for c in _connections() if c.raddr and c.raddr.port in ports]
            api.batch_deployment_requests_create(PROJECT, DEPLOYMENT, ["x"])
        counts = []
        for server in servers:
            with ubiops.ApiClient(server.configuration()) as other:
                counts.append(len(ubiops.CoreApi(other).deployment_requests_list(PROJECT, DEPLOYMENT)))
    finally:
        for server in servers:
            server.stop()
    assert left_open == []
    assert counts == [2, 2, 2, 2, 2, 3]  # the call after close() went to the last host set


def _connections() -> List[Any]:
    process = psutil.Process()
    return [
        c for c in getattr(process, "net_connections", process.connections)(kind="tcp") if c.status == "ESTABLISHED"
    ]
