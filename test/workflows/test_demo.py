"""`ubiops-local demo` (ubiops.local.demo.main) runs end to end in its own process and reports every step."""

import re
import subprocess
import sys


def test_demo_runs_every_step_and_exits_0():
    command = [sys.executable, "-m", "ubiops.local", "demo", "--items", "200"]  # what `ubiops-local demo` runs
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"^ubiops-local demo: server at http://127\.0\.0\.1:\d+/v2\.1, project local", out, re.M)
    assert "1. direct    calculator 6 mul 7 = 42.0" in out
    assert "2. batch     200 calculator items in " in out and "in input order: 196 completed, 4 failed" in out
    assert (
        "failure: #49 ValueError: division by zero: y must not be 0 when op is div (traceback in this request's logs"
        in out
    )
    assert "3. list      status=failed: 4 requests" in out
    assert "4. cancel    5 requests cancelled: 1 processing (its instance stopped) and 4 pending" in out
    assert "5. delete    5 cancelled requests deleted in one call" in out
    assert re.search(r"^summary: 5 of 5 steps ok, 206 requests made, [\d.]+ s$", out, re.M)
    assert "requests:" in result.stderr  # the progress display, on stderr only
    assert "requests:" not in out


def test_demo_without_progress_prints_nothing_on_stderr():
    command = [sys.executable, "-m", "ubiops.local", "demo", "--items", "50", "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "summary: 5 of 5 steps ok" in result.stdout
