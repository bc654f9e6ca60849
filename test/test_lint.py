"""ruff and mypy are part of the suite, so a style or type error fails CI like a broken test."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_passes():
    result = _run(sys.executable, "-m", "ruff", "check", "ubiops", "test", "bench", "examples")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes():
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_checks_the_module_behind_the_stub():
    """With ``core_api.pyi`` beside it, ``mypy`` reads the stub for ``ubiops.api.core_api``: check the code too."""
    result = _run(sys.executable, "-m", "mypy", "ubiops/api/core_api.py")
    assert result.returncode == 0, result.stdout + result.stderr
