"""Limit findings: output size (max_output_size), error message size, log size (max_log_size with one rotated file),
and a start_date at the epoch that must count as given."""

import time
from typing import Dict

import pytest
from server_support import Servers, config, deployment, http_for, where


@pytest.mark.timeout(60)
def test_an_output_over_max_output_size_fails_the_request(servers: Servers) -> None:
    """Finding 7 (limits): with max_output_size=100_000, a 200,000-character output fails its request with an
    error_message naming max_output_size; the direct and the batch path alike."""
    server = servers.start(config(deployment("tool", instances=1)), max_output_size=100_000)
    http = http_for(server)
    reply = http.direct("tool", "big:200000", read=25)
    assert reply.status == 200, reply
    body = reply.json()
    assert (body["status"], body["result"]) == ("failed", None), body
    assert "max_output_size" in (body["error_message"] or ""), body
    [request_id] = http.batch("tool", ["big:200000"])
    record = http.wait_status("tool", request_id, timeout=20)
    assert record["status"] == "failed" and "max_output_size" in (record["error_message"] or ""), record
    small = http.direct("tool", "big:1000", read=25).json()
    assert (small["status"], len(small["result"])) == ("completed", 1000), small


@pytest.mark.timeout(60)
def test_a_huge_exception_message_is_cut_to_ten_thousand_characters(servers: Servers) -> None:
    """Finding 7 (limits): an exception message of 5,000,000 characters gives an error_message of at most 10,000
    characters (direct and batch)."""
    server = servers.start(config(deployment("tool", instances=1)))
    http = http_for(server)
    reply = http.direct("tool", "raisebig:5000000", read=25)
    assert reply.status == 200, f"{reply.status} {reply.data[:200]!r}"
    body = reply.json()
    assert body["status"] == "failed", body["status"]
    assert 0 < len(body["error_message"]) <= 10_000, len(body["error_message"])
    [request_id] = http.batch("tool", ["raisebig:5000000"])
    record = http.wait_status("tool", request_id, timeout=20)
    assert record["status"] == "failed", record["status"]
    assert 0 < len(record["error_message"]) <= 10_000, len(record["error_message"])


@pytest.mark.timeout(60)
def test_logs_rotate_at_max_log_size(servers: Servers) -> None:
    """Finding 7 (limits): with max_log_size=65536, a deployment that prints 2 MB leaves the files in
    data_dir/logs (all together) under 200 KiB: the log and one rotated <name>.log.1."""
    server = servers.start(config(deployment("tool", instances=1)), max_log_size=65536)
    http = http_for(server)
    reply = http.direct("tool", f"print:{2 * 1024 * 1024}", read=25)
    assert reply.status == 200 and reply.json()["status"] == "completed", reply
    logs = server.data_dir / "logs"

    def sizes() -> Dict[str, int]:
        found = {}
        for file in logs.iterdir():
            try:
                found[file.name] = file.stat().st_size
            except FileNotFoundError:  # rotated away between the listing and the stat
                pass
        return found

    deadline = time.monotonic() + 10  # a log writer may lag its deployment a little
    while sum(sizes().values()) >= 200 * 1024 and time.monotonic() < deadline:
        time.sleep(0.1)
    last = sizes()
    assert sum(last.values()) < 200 * 1024, last
    assert set(last) <= {"tool.log", "tool.log.1"}, last


@pytest.mark.timeout(30)
def test_a_start_date_at_the_epoch_counts_as_given(servers: Servers) -> None:
    """Finding 8: start_date=1970-01-01T00:00:00Z is a date like any other: with status=pending it answers 400
    (date filters go only with final statuses), as any other start_date does."""
    server = servers.start(config(deployment("tool", instances=1)))
    http = http_for(server)
    path = f"{where('tool')}/requests"
    other = http.get(path, query={"status": "pending", "start_date": "2020-01-01T00:00:00Z"})
    assert other.status == 400, other
    epoch = http.get(path, query={"status": "pending", "start_date": "1970-01-01T00:00:00Z"})
    assert epoch.status == 400, epoch
    assert "start_date" in epoch.json()["error"], epoch
    end = http.get(path, query={"status": "processing", "end_date": "1970-01-01T00:00:00Z"})
    assert end.status == 400, end
    final = http.get(path, query={"status": "completed", "start_date": "1970-01-01T00:00:00Z"})
    assert final.status == 200, final
