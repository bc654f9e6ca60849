"""Fairness of the scheduler: no request waits in a busy instance's chunk while another instance is idle."""

from typing import Callable, List

from local_helpers import http_for, tool_deployment, wait_until

from ubiops.local import LocalServer

WHERE = "/projects/local/deployments/tool"


def test_slow_requests_after_fast_ones_spread_over_the_instances(start_server: Callable[..., LocalServer]) -> None:
    """Fast requests make the chunks big; a burst of slow ones must still not land in one instance's chunk."""
    server = start_server({"project": "local", "deployments": [tool_deployment(instances=2)]})
    http = http_for(server)
    fast = http.batch(WHERE, ["fast"] * 200)
    assert all(record["status"] == "completed" for record in http.wait_all(WHERE, fast).values())
    slow = http.batch(WHERE, ["sleep:30"] * 3)

    def statuses() -> List[str]:
        reply = http.post(f"{WHERE}/requests/collect", json_body=slow)
        assert reply.status == 200, reply
        return sorted(record["status"] for record in reply.json())

    try:
        wait_until(lambda: statuses().count("processing") == 2, message="two slow requests processing at once")
        assert statuses() == ["pending", "processing", "processing"]
    finally:
        http.post(f"{WHERE}/requests/cancel", json_body=slow)
