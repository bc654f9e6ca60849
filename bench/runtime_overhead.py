"""Per-request overhead of DeploymentRuntime.run(ticket): N echo requests through 2 instances from 2 threads.

Run: python bench/runtime_overhead.py [N]
"""

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from ubiops.local.runtime import DeploymentRuntime, Ticket

PACKAGE = Path(__file__).resolve().parent.parent / "test" / "local" / "packages" / "echo_request"
CONTEXT = {
    "project": "bench",
    "deployment": "echo",
    "version": "v1",
    "input_type": "structured",
    "output_type": "structured",
    "input_fields": [],
    "output_fields": [],
    "language": "python3",
    "environment_variables": {},
}


def main(total: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runtime = DeploymentRuntime(PACKAGE, context=CONTEXT, instances=2, log_path=Path(tmp) / "log")
        runtime.start()
        try:
            for i in range(20):  # warm up: both instances loaded
                runtime.run(Ticket.direct(f"warm-{i}", json.dumps({"i": i}), 60))
            failures = []

            def worker(thread: int) -> None:
                for i in range(total // 2):
                    outcome = runtime.run(Ticket(f"{thread}-{i}", json.dumps({"i": i}), "batch", 60))
                    if outcome.result != {"i": i}:
                        failures.append(outcome)

            threads = [threading.Thread(target=worker, args=(t,)) for t in range(2)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
        finally:
            runtime.stop()
    assert not failures, failures[:3]
    print(
        f"{total} requests in {elapsed:.3f} s: {elapsed / total * 1e3:.4f} ms per request "
        f"(wall time / requests, 2 instances, 2 threads), {total / elapsed:.0f} requests/s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
