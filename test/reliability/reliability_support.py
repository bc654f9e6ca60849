"""What the reliability tests share: names on the local server, the fast retry policy, the tally of the run, the
TLS files, and the ledger that counts on the server how often a create really happened."""

import ssl
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, NamedTuple, Set

import ubiops

PROJECT, DEPLOYMENT, VERSION = "local", "echo", "v1"
#: Fast retries for tests: the waits are real, only short.
FAST_RETRIES = ubiops.RetryPolicy(total=3, backoff_factor=0.01, backoff_max=0.05, retry_after_max=5)


@dataclass
class Tally:
    """What the suite did, for the closing line: faults injected, calls made under faults, creates that were lost
    or duplicated, fuzz cases run."""

    faults: int = 0
    calls_under_faults: int = 0
    creates_checked: int = 0
    lost: int = 0
    duplicated: int = 0
    fuzz_cases: int = 0
    requests_checked: int = 0  #: the stress test: requests whose final record was checked
    runs_recorded: int = 0  #: ... runs its deployment recorded
    run_duplicates: int = 0  #: ... request ids recorded more than once

    def line(self) -> str:
        return (
            f"reliability: faults injected: {self.faults}, calls under faults: {self.calls_under_faults}, "
            f"creates checked: {self.creates_checked}, lost: {self.lost}, duplicated: {self.duplicated}, "
            f"fuzz cases: {self.fuzz_cases}, stress requests checked: {self.requests_checked}, "
            f"runs recorded: {self.runs_recorded}, duplicate runs: {self.run_duplicates}"
        )


TALLY = Tally()


class Tls(NamedTuple):
    ca_file: str
    cert_file: str
    key_file: str
    server_context: ssl.SSLContext


class Ledger:
    """Counts, on the server, the requests whose data carries a marker: how many times a create really happened."""

    GROUPS = ("pending", "processing", "completed,failed,cancelled,cancelled_pending")

    def __init__(self, api: ubiops.CoreApi) -> None:
        self.api = api
        self.data: Dict[str, Any] = {}

    @staticmethod
    def markers(count: int) -> List[str]:
        return [f"marker-{uuid.uuid4()}" for _ in range(count)]

    def count(self, marker: str) -> int:
        """Searches the newest requests of every status (listed in the order statuses move, so none is missed)."""
        seen: Set[str] = set()
        for status in self.GROUPS:
            listed = self.api.deployment_requests_list(PROJECT, DEPLOYMENT, status=status, limit=100)
            seen.update(record.id for record in listed)
        unknown = sorted(seen - set(self.data))
        for start in range(0, len(unknown), 250):
            for record in self.api.deployment_requests_batch_get(PROJECT, DEPLOYMENT, unknown[start : start + 250]):
                self.data[record.id] = record.request_data
        return sum(1 for request_id in seen if self.data.get(request_id) == marker)
