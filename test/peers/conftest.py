"""The official UbiOps tools (the `ubiops-cli` package and the public `ubiops` client it pulls) in a virtual
environment of their own, built once from PyPI and cached outside the repository, keyed by the CLI's version:
`$UBIOPS_TEST_PEERS_CACHE` or `~/.cache/ubiops-test-peers`, then `cli-<version>`. Our package has the same import
name (`ubiops`) as the public client, so the two can never share an environment."""

import contextlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Iterator

import pytest

try:
    import fcntl
except ImportError:  # Windows: no lock; two builds at once still end with one of them (see build_venv)
    fcntl = None  # type: ignore[assignment]

CLI_VERSION = "2.32.0"
#: what pip prints when it cannot reach the package index (then the tests skip; any other failure fails)
OFFLINE_SIGNS = (
    "Could not find a version that satisfies",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Max retries exceeded",
    "No matching distribution found",
    "Read timed out",
)


def cache_root() -> Path:
    return Path(os.environ.get("UBIOPS_TEST_PEERS_CACHE") or Path.home() / ".cache" / "ubiops-test-peers")


def venv_python(directory: Path) -> Path:
    return directory / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def build_venv(target: Path) -> None:
    """Build into a fresh directory beside the target, then rename: a half-built one is never used."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f"{target.name}.building-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(work)
    try:
        result = subprocess.run(
            [
                str(venv_python(work)),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                f"ubiops-cli=={CLI_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(work, ignore_errors=True)
        pytest.skip(f"installing ubiops-cli=={CLI_VERSION} from PyPI took over 600 s (PyPI cannot be reached?)")
    if result.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        output = result.stdout + result.stderr
        if any(sign in output for sign in OFFLINE_SIGNS):
            pytest.skip(f"PyPI cannot be reached to install ubiops-cli=={CLI_VERSION}: {output.strip()[-300:]}")
        pytest.fail(f"pip install ubiops-cli=={CLI_VERSION} failed:\n{output[-2000:]}")
    (work / "complete").write_text(CLI_VERSION)
    try:
        os.rename(work, target)
    except OSError:  # another run finished first: use theirs
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """Held while one process checks and builds the environment: pytest-xdist's workers (or two runs) each have this
    session fixture, and the second waits for the first's build instead of building it again beside it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(f"{target.name}.lock"), "w") as lock_file:
        if fcntl is not None:
            fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


@pytest.fixture(scope="session")
def peers_python() -> Path:
    """The Python of the cached environment with ubiops-cli (and the public ubiops) installed."""
    target = cache_root() / f"cli-{CLI_VERSION}"
    with build_lock(target):
        if not (target / "complete").exists() or not venv_python(target).exists():
            shutil.rmtree(target, ignore_errors=True)
            build_venv(target)
    python = venv_python(target)
    check = subprocess.run(
        [str(python), "-c", "import ubiops, ubiops_cli; print(ubiops.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=target,  # not the repository: there, `import ubiops` would find ours
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    assert check.returncode == 0, check.stderr
    assert str(target) in check.stdout, f"the peers' ubiops is not the public one: {check.stdout}"
    assert Path(sys.executable).resolve() != python.resolve()
    return python
