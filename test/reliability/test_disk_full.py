"""Disk-full findings: the data directory on a 4 MiB tmpfs, filled up with a filler file. A create that cannot be
stored answers 507 and stores nothing; a direct request whose outcome cannot be written still gets a final record,
never a 503 or a hang; stop() with a full disk returns, and the data directory opens again.

Needs root and a working `mount -t tmpfs`; skipped otherwise. The mount is always undone."""

import errno
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from server_support import Servers, config, deployment, http_for, where

from ubiops.local import LocalServer

CHUNK = b"\0" * 65536


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root to mount a 4 MiB tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"mount -t tmpfs does not work here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk is full (ENOSPC)."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for _ in range(4 * 1024 * 1024 // len(CHUNK) + 16):
            try:
                f.write(CHUNK)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
        else:
            raise AssertionError("the 4 MiB disk never filled up")
        try:  # the last partial block
            while f.write(b"\0" * 512):
                pass
        except OSError:
            pass
    return filler


@pytest.mark.timeout(60)
def test_a_create_on_a_full_disk_answers_507_and_stores_nothing(servers: Servers, small_disk: Path) -> None:
    """Finding 6a (disk full): a batch create on a full disk answers 507 with a JSON error and stores nothing; once
    there is space again, creates work."""
    server = servers.start(config(deployment("tool", instances=1)), data_dir=small_disk / "data")
    http = http_for(server)
    filler = fill(small_disk)
    try:
        # 50 items of 2 KB: more than the WAL file the server's start left (about 40 KB), whose space SQLite reuses
        # once a checkpoint ran (a busy machine makes that likely), so the create must grow a file on the full disk
        reply = http.post(f"{where('tool')}/requests/batch", json_body=["full-disk-item " + "x" * 2000] * 50)
        assert reply.status == 507, reply
        assert isinstance(reply.json().get("error"), str) and reply.json()["error"], reply
    finally:
        filler.unlink()
    for status in ("pending", "processing", "completed,failed,cancelled"):
        listed = http.get(f"{where('tool')}/requests", query={"status": status, "limit": 1000})
        assert listed.status == 200, listed
        assert listed.json() == [], (status, listed.json())
    ids = http.batch("tool", ["after"])
    assert http.wait_status("tool", ids[0], timeout=20)["status"] == "completed"


@pytest.mark.timeout(60)
def test_a_direct_request_whose_outcome_cannot_be_written_gets_a_final_record(
    servers: Servers, small_disk: Path
) -> None:
    """Finding 6b (disk full): the disk fills up while a direct request runs (it sleeps 1 s, then returns ~1 MB);
    space comes back ~2 s later. The caller gets a final record (completed, or failed with a message), never a
    503, never a hang."""
    server = servers.start(config(deployment("tool", instances=1)), data_dir=small_disk / "data")
    http = http_for(server)
    box: Dict[str, Any] = {}

    def call() -> None:
        try:
            box["reply"] = http.direct("tool", "sleep:1;big:1000000", read=30)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    time.sleep(0.3)
    filler = fill(small_disk)
    try:
        time.sleep(2)
    finally:
        filler.unlink()
    thread.join(35)
    assert not thread.is_alive(), "no answer"
    assert "error" not in box, box.get("error")
    reply = box["reply"]
    assert reply.status == 200, reply
    body = reply.json()
    assert body["status"] in ("completed", "failed"), body
    if body["status"] == "failed":
        assert body["error_message"], body
    else:
        assert body["result"] == "x" * 1_000_000
    stored = http.wait_status("tool", body["id"], timeout=20)
    assert stored["status"] == body["status"], stored


@pytest.mark.timeout(60)
def test_a_stop_on_a_full_disk_returns_and_the_data_dir_opens_again(servers: Servers, small_disk: Path) -> None:
    """Finding 6c (disk full): server.stop() with the disk full returns without raising; after freeing space a new
    LocalServer opens the same data directory and serves it."""
    data_dir = small_disk / "data"
    cfg = config(deployment("tool", instances=1))
    server = servers.start(cfg, data_dir=data_dir)
    http = http_for(server)
    before = http.batch("tool", [f"item-{n}" for n in range(20)])
    http.wait_all("tool", before, timeout=20)
    filler = fill(small_disk)
    try:
        server.stop()
    finally:
        filler.unlink()
    again = LocalServer(config=cfg, data_dir=data_dir)
    servers.started.append(again)
    again.start()
    http = http_for(again)
    records = http.collect("tool", before)
    assert {r["status"] for r in records.values()} == {"completed"}
    ids = http.batch("tool", ["after"])
    assert http.wait_status("tool", ids[0], timeout=20)["status"] == "completed"
