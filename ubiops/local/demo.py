"""`ubiops-local demo`: start a local server with the bundled deployments and use it the way a user would.

Steps: a direct request, a batch with progress and failing items (the one-call workflow), a filtered list, a
cancel of processing and pending requests (on the bundled `sleep` deployment), deletes; then a short summary.
Exit status 0 when every step did what it should.
"""

import argparse
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

OPERATIONS = ("add", "sub", "mul", "div")
#: Every this-many-th batch item divides by zero, so it fails.
FAILING_EVERY = 50
#: Requests to the `sleep` deployment that the cancel step cancels, and how long each would sleep.
TO_CANCEL = 5
SLEEP_SECONDS = "60"


class DemoError(Exception):
    """A step did not do what it should."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise DemoError(message)


def calculator_items(count: int) -> List[Dict[str, Any]]:
    """x op y with y = 0 for every FAILING_EVERY-th item, which makes the divisions among them fail."""
    items = []
    for i in range(count):
        failing = i % FAILING_EVERY == FAILING_EVERY - 1
        items.append(
            {"x": float(i), "y": 0.0 if failing else float(i % 7 + 1), "op": "div" if failing else OPERATIONS[i % 4]}
        )
    return items


def result_of(record: Any) -> Any:
    """The calculator's answer in a completed record."""
    return record.result["result"] if isinstance(record.result, dict) else record.result


def expected(item: Dict[str, Any]) -> float:
    x, y, op = item["x"], item["y"], item["op"]
    return {"add": x + y, "sub": x - y, "mul": x * y, "div": x / y if y else float("nan")}[op]


class Demo:
    """The steps, sharing one client; each returns the lines it reports."""

    def __init__(self, core_api: Any, project: str, items: int, progress: bool) -> None:
        self.core_api, self.project, self.items, self.progress = core_api, project, items, progress
        self.direct_id = ""
        self.cancelled_ids: List[str] = []
        self.requests_made = 0

    def direct(self) -> List[str]:
        started = time.perf_counter()
        response = self.core_api.deployment_requests_create(self.project, "calculator", {"x": 6, "y": 7, "op": "mul"})
        took = (time.perf_counter() - started) * 1000
        self.direct_id, self.requests_made = response.id, self.requests_made + 1
        require(response.status == "completed", f"expected completed, got {response.status}: {response.error_message}")
        require(response.result == {"result": 42.0}, f"6 mul 7 should be 42.0, got {response.result}")
        return [f"calculator 6 mul 7 = {result_of(response)} ({took:.0f} ms)"]

    def batch(self) -> List[str]:
        from ubiops.utils import run_requests

        items = calculator_items(self.items)
        started = time.perf_counter()
        records = run_requests(self.core_api, self.project, "calculator", items, progress=self.progress)
        took = time.perf_counter() - started
        self.requests_made += len(items)
        failed = [(i, r) for i, r in enumerate(records) if r.status != "completed"]
        expected_failures = [i for i, item in enumerate(items) if item["op"] == "div" and item["y"] == 0]
        require([i for i, _ in failed] == expected_failures, f"failed items {[i for i, _ in failed][:10]}...")
        for item, record in zip(items, records):
            require(record.request_data == item, f"record {record.id} is out of input order")
            if record.status == "completed":
                require(result_of(record) == expected(item), f"{item} gave {record.result}")
        shown = ", ".join(
            f"#{i} {item['x']:g} {item['op']} {item['y']:g} = {result_of(record):g}"
            for i, (item, record) in enumerate(zip(items[:3], records[:3]))
        )
        first_index, first = failed[0]
        return [
            f"{len(items):,} calculator items in {took:.1f} s ({len(items) / took:,.0f}/s), in input order: "
            f"{len(items) - len(failed):,} completed, {len(failed)} failed",
            f"results: {shown}, ...",
            f"failure: #{first_index} {first.error_message}",
        ]

    def listing(self) -> List[str]:
        from ubiops.utils import iter_requests

        failed = list(iter_requests(self.core_api, self.project, "calculator", status="failed"))
        expected_failures = len([item for item in calculator_items(self.items) if item["y"] == 0])
        require(len(failed) == expected_failures, f"list status=failed found {len(failed)}, not {expected_failures}")
        newest = self.core_api.deployment_requests_list(self.project, "calculator", status="failed", limit=1)[0]
        return [f"status=failed: {len(failed)} requests; newest {newest.id} created {newest.time_created:%H:%M:%S}"]

    def cancel(self) -> List[str]:
        """Requests to the bundled `sleep` deployment (one instance) stay processing or pending long enough to
        cancel: one processing (its instance is stopped) and the others pending."""
        from ubiops.utils import Backoff, collect_requests

        api, project = self.core_api, self.project
        waiting = [r.id for r in api.batch_deployment_requests_create(project, "sleep", [SLEEP_SECONDS] * TO_CANCEL)]
        self.requests_made += TO_CANCEL
        first = api.deployment_requests_get(project, "sleep", waiting[0], metadata_only=True)
        for delay in Backoff(first=0.05, cap=0.5).delays():  # until the first one runs (it loads the package first)
            if first.status != "pending":
                break
            time.sleep(delay)
            first = api.deployment_requests_get(project, "sleep", waiting[0], metadata_only=True)
        require(first.status == "processing", f"the first sleep request is {first.status}, not processing")
        answer = api.deployment_requests_batch_cancel(project, "sleep", waiting)
        require(answer == {"cancelled": TO_CANCEL}, f"bulk cancel answered {answer}")
        records = collect_requests(api, project, "sleep", waiting, max_wait=60)
        require(all(r.status == "cancelled" for r in records), f"statuses {[r.status for r in records]}")
        self.cancelled_ids = waiting
        return [f"{TO_CANCEL} requests cancelled: 1 processing (its instance stopped) and {TO_CANCEL - 1} pending"]

    def delete(self) -> List[str]:
        from ubiops.exceptions import NotFoundException

        api, project = self.core_api, self.project
        answer = api.deployment_requests_batch_delete(project, "sleep", self.cancelled_ids)
        require(answer == {"deleted": len(self.cancelled_ids)}, f"bulk delete answered {answer}")
        api.deployment_requests_delete(project, "calculator", self.direct_id)
        try:
            api.deployment_requests_get(project, "calculator", self.direct_id)
        except NotFoundException as err:
            gone = f"get -> {err.status}"
        else:
            raise DemoError(f"request {self.direct_id} is still there after its delete")
        return [f"{len(self.cancelled_ids)} cancelled requests deleted in one call; the direct one too ({gone})"]


def run_steps(steps: List[Tuple[str, Callable[[], List[str]]]]) -> List[str]:
    """Run each step, print what it reports; the names of the steps that failed."""
    failures = []
    for number, (name, step) in enumerate(steps, 1):
        started = time.perf_counter()
        try:
            lines = step()
        except Exception as err:  # report and go on: the summary says which steps failed
            failures.append(name)
            lines = [f"FAILED: {type(err).__name__}: {err}"]
        label = f"{number}. {name}"
        print(f"{label:<12} {lines[0]}  [{time.perf_counter() - started:.2f} s]", flush=True)
        for line in lines[1:]:
            print(f"{'':<12} {line}", flush=True)
    return failures


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="ubiops-local demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000, help="calculator items in the batch step (default 1000)")
    parser.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    args = parser.parse_args(argv)
    if args.items < FAILING_EVERY:
        parser.error(f"--items must be at least {FAILING_EVERY}, so that some items fail")

    import ubiops
    from ubiops.local import LocalServer, default_config
    from ubiops.local.config import BUNDLED_DIR

    started = time.perf_counter()
    config = default_config()
    sleep = {"name": "sleep", "path": str(BUNDLED_DIR / "sleep"), "input_type": "plain", "output_type": "plain"}
    config["deployments"].append(sleep)  # for the cancel step
    with LocalServer(config=config, port=0) as server:
        names = ", ".join(d.name for d in server.config.deployments)
        print(f"ubiops-local demo: server at {server.url}, project {server.config.project} ({names})", flush=True)
        with ubiops.ApiClient(server.configuration()) as api_client:
            demo = Demo(ubiops.CoreApi(api_client), server.config.project, args.items, not args.no_progress)
            steps = [
                ("direct", demo.direct),
                ("batch", demo.batch),
                ("list", demo.listing),
                ("cancel", demo.cancel),
                ("delete", demo.delete),
            ]
            failures = run_steps(steps)
    took = time.perf_counter() - started
    if failures:
        print(f"summary: {len(failures)} of {len(steps)} steps FAILED ({', '.join(failures)}), {took:.1f} s")
        return 1
    print(f"summary: {len(steps)} of {len(steps)} steps ok, {demo.requests_made:,} requests made, {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
