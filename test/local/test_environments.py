"""Environments built from a package's requirements.txt (environments.py), with real servers, real pip and PyPI.

The environment of needs_pypi (inflection==0.5.1) is kept between runs in `$UBIOPS_TEST_PEERS_CACHE/local-envs`
(default ~/.cache/ubiops-test-peers/local-envs), as test/peers keeps the official CLI: only the first run builds
it. Builds that must fail or start afresh use a temporary cache.
"""

import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import psutil
import pytest
from local_helpers import PACKAGES, http_for, wait_until

from ubiops.local import DeploymentStartError, LocalServer
from ubiops.local.cache import CACHE_VARIABLE
from ubiops.local.environments import (
    READY,
    TIMEOUT_VARIABLE,
    EnvironmentBuildError,
    environment_key,
    python_for,
    read_requirements,
)

#: what pip prints when it cannot reach the package index (then the tests that need PyPI skip)
OFFLINE_SIGNS = (
    "No matching distribution found for inflection",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Read timed out",
)
NEEDS_PYPI = PACKAGES / "needs_pypi"
WHERE = "/projects/local/deployments/{}/versions/{}/requests"


@pytest.fixture
def env_cache(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache kept between test runs."""
    root = os.environ.get("UBIOPS_TEST_PEERS_CACHE") or Path.home() / ".cache" / "ubiops-test-peers"
    path = Path(root) / "local-envs"
    monkeypatch.setenv(CACHE_VARIABLE, str(path))
    return path


@pytest.fixture
def tmp_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv(CACHE_VARIABLE, str(path))
    return path


@pytest.fixture
def build_records(caplog: pytest.LogCaptureFixture) -> Callable[[str], List[str]]:
    """build_records(word): the messages of ubiops.local that contain the word."""
    caplog.set_level(logging.INFO, logger="ubiops.local")
    return lambda word: [r.getMessage() for r in caplog.records if r.name == "ubiops.local" and word in r.getMessage()]


def started(start_server: Callable[..., LocalServer], config: Any, **kwargs: Any) -> LocalServer:
    """A started server; skips when pip could not reach PyPI."""
    try:
        return start_server(config, **kwargs)
    except DeploymentStartError as exc:
        if any(sign in str(exc) for sign in OFFLINE_SIGNS):
            pytest.skip(f"PyPI cannot be reached: {exc}")
        raise


def ask(server: LocalServer, deployment: str, data: str, version: str = "v1") -> Dict[str, Any]:
    reply = http_for(server).post(WHERE.format(deployment, version), text=data)
    assert reply.status == 200, reply
    return dict(reply.json())


def needs_pypi(**extra: Any) -> Dict[str, Any]:
    return {"deployments": [{"name": "needs", "path": str(NEEDS_PYPI), **extra}]}


def test_inflection_is_not_in_the_test_environment():
    """Else the tests below could pass without the package's environment."""
    assert importlib.util.find_spec("inflection") is None


def test_requirements_libraries_and_variables_reach_the_package(start_server, env_cache):
    config = needs_pypi(environment_variables={"GREETING": "hello"})
    server = started(start_server, config)
    record = ask(server, "needs", "local_server")
    assert record["status"] == "completed", record
    result = json.loads(record["result"])
    assert result["camel"] == "LocalServer"  # inflection, from the environment
    assert result["title"] == "Local Server"  # libraries/casing.py, which imports inflection too
    assert result["greeting_at_import"] == result["greeting"] == "hello"
    assert result["context_variables"] == {"GREETING": "hello"}
    assert Path(result["prefix"]).parent.parent == env_cache.resolve() / "envs"
    assert Path(result["executable"]) == Path(result["prefix"]) / "bin" / "python"


def test_a_second_start_and_another_version_reuse_the_environment(start_server, env_cache, build_records):
    started(start_server, needs_pypi()).stop()
    built = build_records("building an environment")
    env = env_cache.resolve() / "envs" / environment_key((NEEDS_PYPI / "requirements.txt").read_bytes()) / "env"
    assert (env / READY).is_file()
    ready_at = (env / READY).stat().st_mtime_ns
    began = time.monotonic()
    server = start_server(needs_pypi(versions=[{"name": "v1"}, {"name": "v2"}]))
    assert time.monotonic() - began < 10
    assert build_records("building an environment") == built  # no new build
    assert len(build_records("using the environment")) == 2 + (not built)
    assert (env / READY).stat().st_mtime_ns == ready_at
    assert json.loads(ask(server, "needs", "a_b", "v2")["result"])["camel"] == "AB"
    began = time.monotonic()
    assert python_for(NEEDS_PYPI, "needs", "v3") == str(env / "bin" / "python")
    assert time.monotonic() - began < 1.0


def test_a_requirement_that_cannot_be_installed_fails_the_start(start_server, tmp_cache, build_records):
    config = {"deployments": [{"name": "missing", "path": str(PACKAGES / "missing_requirement")}]}
    with pytest.raises(DeploymentStartError) as raised:
        start_server(config)
    [(deployment, version, path, message)] = raised.value.problems
    assert (deployment, version, path) == ("missing", "v1", PACKAGES / "missing_requirement")
    assert message.startswith("installing its requirements.txt failed")
    assert "ERROR: No matching distribution found for ubiops-local-no-such-package-xyz==1.0" in message
    key = environment_key((PACKAGES / "missing_requirement" / "requirements.txt").read_bytes())
    log_path = tmp_cache.resolve() / "envs" / key / "build.log"
    assert str(log_path) in message
    assert "No matching distribution found" in log_path.read_text()
    assert not (log_path.parent / "env").exists()  # nothing half-built is kept
    assert build_records(str(log_path))  # the log's path was logged when the build began


def test_with_keep_going_a_failed_build_fails_only_that_versions_requests(start_server, tmp_cache):
    config = {
        "deployments": [
            {"name": "missing", "path": str(PACKAGES / "missing_requirement")},
            {"name": "fine", "path": str(PACKAGES / "srv_tool")},
        ]
    }
    server = start_server(config, keep_going=True)
    failed = ask(server, "missing", "x")
    assert failed["status"] == "failed" and "No matching distribution found" in failed["error_message"]
    assert ask(server, "fine", "ok")["result"] == "ok"


def tiny_wheel(wheel: Path) -> None:
    """A wheel of one module, made here: pip installs it without a network."""
    wheel.parent.mkdir(parents=True)
    info = "tiny_local-0.1.dist-info"
    files = {
        "tiny_local.py": "VALUE = 'from a local wheel'\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: tiny-local\nVersion: 0.1\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)


def test_a_build_killed_halfway_is_built_again_once_for_two_at_once(
    start_server, tmp_cache, tmp_path, monkeypatch, build_records
):
    package = tmp_path / "local_wheel"
    tiny_wheel(package / "wheels" / "tiny_local-0.1-py3-none-any.whl")
    (package / "deployment.py").write_text(
        "import tiny_local\n\nclass Deployment:\n    def request(self, data):\n        return tiny_local.VALUE\n"
    )
    requirements = b"--no-index\n-r more.txt\n"
    (package / "requirements.txt").write_bytes(requirements)
    (package / "more.txt").write_text("./wheels/tiny_local-0.1-py3-none-any.whl\n")  # relative to the package
    half = tmp_cache.resolve() / "envs" / environment_key(requirements) / "env"
    (half / "bin").mkdir(parents=True)
    (half / "bin" / "python").symlink_to(sys.executable)  # all there but the mark of a finished build
    monkeypatch.chdir(tmp_path)
    pythons: List[str] = []
    builders = [
        threading.Thread(target=lambda: pythons.append(python_for(Path("local_wheel"), "wheel", "v1")))  # relative
        for _ in range(2)  # two servers at once: one builds, the other waits for it and uses its environment
    ]
    for builder in builders:
        builder.start()
    for builder in builders:
        builder.join(60)
    assert pythons == [str(half / "bin" / "python")] * 2
    assert (half / READY).is_file()
    server = start_server({"deployments": [{"name": "wheel", "path": str(package)}]})
    assert len(build_records("building an environment")) == 1
    assert len(build_records("using the environment")) == 2
    assert ask(server, "wheel", "x")["result"] == "from a local wheel"


@pytest.fixture
def silent_index() -> Iterator[str]:
    """An index URL on 127.0.0.1 that accepts connections and never answers: a pip that hangs."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: List[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:  # closed
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/simple"
    listener.close()
    for connection in held:
        connection.close()


def test_a_build_that_hangs_is_stopped_at_the_timeout(tmp_cache, tmp_path, monkeypatch, silent_index):
    package = tmp_path / "hangs"
    package.mkdir()
    (package / "requirements.txt").write_text(f"--index-url {silent_index}\nanything==1.0\n")
    monkeypatch.setenv(TIMEOUT_VARIABLE, "1")
    began = time.monotonic()
    with pytest.raises(EnvironmentBuildError, match=r"took over 1 s and was stopped") as raised:
        python_for(package, "hangs", "v1")
    assert time.monotonic() - began < 15
    assert raised.value.log_path is not None and raised.value.log_path.is_file()
    assert not (raised.value.log_path.parent / "env").exists()
    wait_until(lambda: not builders_of(package), timeout=5, message="pip and the interpreter it started gone")


def builders_of(package: Path) -> List[int]:
    """The live processes whose command line names the package (a child that pip left is nobody's child)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["status"] != psutil.STATUS_ZOMBIE and str(package) in " ".join(process.info["cmdline"] or []):
            found.append(process.pid)
    return found


def test_requirements_that_say_nothing_or_cannot_be_read(tmp_cache, tmp_path):
    assert python_for(PACKAGES / "comments_only", "c", "v1") == sys.executable
    assert not (tmp_cache / "envs").exists()
    assert read_requirements(tmp_path / "absent.txt", "d", "v1") is None
    utf16 = "\ufeff# a comment\n".encode("utf-16-le")
    (tmp_path / "utf16.txt").write_bytes(utf16)
    assert read_requirements(tmp_path / "utf16.txt", "d", "v1") is None
    (tmp_path / "latin1.txt").write_bytes("# café\ninflection==0.5.1\n".encode("latin-1"))
    with pytest.raises(EnvironmentBuildError, match=r"latin1.txt is not UTF-8 text .*: save it as UTF-8"):
        read_requirements(tmp_path / "latin1.txt", "d", "v1")


def test_ubiops_yaml_is_not_applied_and_says_so(start_server, caplog):
    caplog.set_level(logging.WARNING, logger="ubiops.local")
    server = start_server({"deployments": [{"name": "apt", "path": str(PACKAGES / "system_packages")}]})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    path = PACKAGES / "system_packages" / "ubiops.yaml"
    assert any(str(path) in w and "cowsay, libgomp1" in w and "by hand" in w for w in warnings), warnings
    assert ask(server, "apt", "hi")["result"] == "hi"


def test_no_build_runs_packages_in_the_servers_python(start_server, tmp_cache, build_records):
    with pytest.raises(DeploymentStartError, match="No module named 'inflection'"):
        start_server(needs_pypi(), build_environments=False)
    assert build_records("requirements.txt was not installed")
    assert not (tmp_cache / "envs").exists()


def test_the_command_line_serves_with_no_build(tmp_path):
    command = [sys.executable, "-m", "ubiops.local", "serve", "--no-build", "--port", "0", "--log-level", "info"]
    command += ["--deployment", str(PACKAGES / "missing_requirement"), "--data-dir", str(tmp_path / "data")]
    env = {**os.environ, CACHE_VARIABLE: str(tmp_path / "cache")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        assert any(line.startswith("Ctrl-C") for line in process.stdout)  # the banner's last line: it started
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "deployment missing-requirement version v1: its requirements.txt was not installed" in stderr
