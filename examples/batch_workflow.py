"""Thousands of inputs in, results out in input order, failures reported per item: `run_requests`.

    ubiops-local serve            # then export the two lines it prints
    python examples/batch_workflow.py [count]

Uses the bundled `calculator` deployment of project `local` (or UBIOPS_PROJECT / UBIOPS_DEPLOYMENT).
"""

import os
import sys

import ubiops
from ubiops.utils import run_requests

PROJECT = os.environ.get("UBIOPS_PROJECT", "local")
DEPLOYMENT = os.environ.get("UBIOPS_DEPLOYMENT", "calculator")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    # A generator works too: it is read as the batch calls go out, never held in memory at once.
    items = ({"x": float(i), "y": float(i % 10), "op": "div"} for i in range(count))
    with ubiops.ApiClient() as api_client:
        core_api = ubiops.CoreApi(api_client)
        records = run_requests(core_api, PROJECT, DEPLOYMENT, items, progress=True)  # a bar on stderr
    failed = [(i, r) for i, r in enumerate(records) if r.status != "completed"]
    print(f"{len(records) - len(failed)} completed, {len(failed)} failed")
    for i, record in enumerate(records[:3]):
        print(f"#{i}: {record.request_data} -> {record.result}")
    for i, record in failed[:3]:
        print(f"#{i} failed: {record.error_message}")


if __name__ == "__main__":
    main()
