"""Environments: the interpreter each deployment package runs in, built from its requirements.txt as UbiOps does.

A package with a requirements.txt runs in a virtual environment of its own, in the user's cache (cache.py) under
envs/<key>/env, where the key is the file's bytes plus the server's Python. It is built once, when the server
starts, and reused while neither changes: other versions, other servers and later starts with the same requirements
share it. A package without one (or with nothing but comments in it) runs in the server's own interpreter.

A build runs `python -m venv` with the server's Python, then pip with the package folder as the working directory
(so `-r other.txt` and `./wheels/x.whl` lines work). The environment is marked ready only after pip succeeded, and
a flock on the entry lets one server build while another waits for it: a build that was killed is never used, it
is wiped and built again. The environment is built where it stays, not renamed into place: pip writes absolute
paths (script shebangs) into it. Everything the build printed is kept in envs/<key>/build.log.
"""

import codecs
import contextlib
import importlib.metadata
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional, Tuple

from ubiops.local import _worker
from ubiops.local.cache import cache_root, content_key
from ubiops.local.config import ServerConfig
from ubiops.local.data_dir import make_private_dir

logger = logging.getLogger("ubiops.local")

REQUIREMENTS = "requirements.txt"
SYSTEM_PACKAGES = "ubiops.yaml"  #: UbiOps installs the apt packages it lists; the local server cannot
TIMEOUT_VARIABLE = "UBIOPS_LOCAL_BUILD_TIMEOUT"
DEFAULT_TIMEOUT = 900.0  #: seconds one build may take (a pip that hangs on a network or a build fails then)
LAYOUT = b"venv-1"  #: part of every key: a change in how environments are built makes new ones
READY = "ubiops-local-ready"  #: written in the environment last, when pip succeeded
LOG_NAME = "build.log"
MAX_ERROR_LINES = 12  #: lines of pip's errors in the exception; the log has them all
MAX_LINE = 500  #: characters of one of those lines
PIP_WITH_PYTHON_OPTION = (22, 3)  #: `pip --python ENV/bin/python install`: no pip in the environment needed
PIP_OPTIONS = ("--no-input", "--disable-pip-version-check", "--progress-bar", "off")
READ_SIZE = 65536  #: bytes per read of the build's output
POLL = 0.25  #: seconds between checks while waiting for pip or for another server's build


Problem = Tuple[str, str, Path, str]  #: (deployment, version, package_dir, error), as DeploymentStartError lists them


class EnvironmentBuildError(RuntimeError):
    """A package's environment could not be built; the message has pip's errors and the build log's path."""

    def __init__(self, deployment: str, version: str, message: str, log_path: Optional[Path]) -> None:
        super().__init__(f"deployment {deployment} version {version}: {message}")
        self.reason = message
        self.deployment = deployment
        self.version = version
        self.log_path = log_path


def prepare(config: ServerConfig, build: bool = True) -> Tuple[Dict[Tuple[str, str], str], List[Problem]]:
    """The interpreter of every (deployment, version), building the missing environments one after another, and
    (deployment, version, package_dir, error) of each version whose environment could not be built (it has no
    interpreter then); build=False runs every package in the server's interpreter."""
    pythons: Dict[Tuple[str, str], str] = {}
    problems: List[Problem] = []
    for deployment in config.deployments:
        for version in deployment.versions:
            try:
                pythons[deployment.name, version.name] = python_for(version.path, deployment.name, version.name, build)
            except EnvironmentBuildError as exc:
                problems.append((deployment.name, version.name, version.path, exc.reason))
    return pythons, problems


def python_for(package_dir: Path, deployment: str, version: str, build: bool = True) -> str:
    """The interpreter that runs the package: its environment's (built if missing) or the server's."""
    package_dir = Path(package_dir).resolve()  # pip runs in it, and reads the requirements from there
    label = f"deployment {deployment} version {version}"
    warn_system_packages(package_dir, label)
    requirements = read_requirements(package_dir / REQUIREMENTS, deployment, version)
    if requirements is None:
        return sys.executable
    if not build:
        logger.info(
            "%s: its %s was not installed (building is off): it runs in the server's Python", label, REQUIREMENTS
        )
        return sys.executable
    return str(_Build(package_dir, deployment, version, requirements).environment())


def read_requirements(path: Path, deployment: str, version: str) -> Optional[bytes]:
    """The file's bytes, or None when there is none or it holds only comments and blank lines."""
    try:
        data = path.read_bytes()
        text = _decode(data)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EnvironmentBuildError(deployment, version, f"cannot read {path}: {exc.strerror or exc}", None) from exc
    except UnicodeDecodeError as exc:  # pip would stop on it with a traceback
        raise EnvironmentBuildError(
            deployment, version, f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8", None
        ) from None
    return data if any(line.split("#", 1)[0].strip() for line in text.splitlines()) else None


def _decode(data: bytes) -> str:
    """As pip reads a requirements file: by its byte order mark, else UTF-8."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it starts with the same two bytes
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec)
    return data.decode("utf-8-sig")


def warn_system_packages(package_dir: Path, label: str) -> None:
    """UbiOps installs what ubiops.yaml lists with apt when it builds; here that is the user's job."""
    path = package_dir / SYSTEM_PACKAGES
    if not path.is_file():
        return
    listed = _apt_packages(path)
    what = f"the system packages it lists ({', '.join(listed)})" if listed else "the system packages it lists"
    logger.warning("%s: %s is not applied by the local server: install %s on this machine by hand", label, path, what)


def _apt_packages(path: Path) -> List[str]:
    try:
        import yaml

        packages = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))["apt"]["packages"]
    except Exception:  # the warning is given all the same, without the list
        return []
    return [str(package) for package in packages] if isinstance(packages, list) else []


def build_timeout() -> float:
    """Seconds one build may take: $UBIOPS_LOCAL_BUILD_TIMEOUT, else DEFAULT_TIMEOUT."""
    raw = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 1e9:
        raise ValueError(f"${TIMEOUT_VARIABLE} must be a number of seconds > 0, got {raw!r}")
    return seconds


def environment_key(requirements: bytes) -> str:
    """The cache key: the requirements and the Python the environment is made from (its venv points there)."""
    python = (sys.implementation.name, sys.version, sys.base_prefix)
    return content_key([LAYOUT, requirements, *(part.encode("utf-8", "surrogateescape") for part in python)])


def venv_python(env: Path) -> Path:
    return env / "bin" / "python"


def is_ready(env: Path) -> bool:
    """Built to the end, and its interpreter is still there (the venv links to the server's base Python)."""
    return (env / READY).is_file() and venv_python(env).exists()


def server_pip_version() -> Optional[Tuple[int, ...]]:
    """The version of the pip the server's Python has, None without one."""
    try:
        version = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return None
    numbers = []
    for part in version.split(".")[:3]:
        digits = "".join(char for char in part if char.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def build_commands(env: Path, requirements: Path) -> List[Tuple[str, List[str]]]:
    """(what, command) of each step; the server's pip installs into a venv without pip when it can (seconds faster
    than ensurepip)."""
    install = ["install", *PIP_OPTIONS, "-r", str(requirements)]
    pip = server_pip_version()
    if pip is not None and pip >= PIP_WITH_PYTHON_OPTION:
        return [
            ("creating the virtual environment", [sys.executable, "-m", "venv", "--without-pip", str(env)]),
            (
                f"installing its {REQUIREMENTS}",
                [sys.executable, "-m", "pip", "--python", str(venv_python(env)), *install],
            ),
        ]
    return [
        ("creating the virtual environment", [sys.executable, "-m", "venv", str(env)]),
        (f"installing its {REQUIREMENTS}", [str(venv_python(env)), "-m", "pip", *install]),
    ]


class _Build:
    """Gets one package's environment: the cached one, or a new one built under the entry's lock."""

    def __init__(self, package_dir: Path, deployment: str, version: str, requirements: bytes) -> None:
        self.package_dir = package_dir
        self.deployment = deployment
        self.version = version
        self.label = f"deployment {deployment} version {version}"
        self.entry = cache_root() / "envs" / environment_key(requirements)
        self.env = self.entry / "env"
        self.log_path = self.entry / LOG_NAME
        self.timeout = build_timeout()
        self.lock_fd = -1  # while the lock is held
        self.errors: List[str] = []
        self.tail: List[str] = []  # the last lines, for a failure that printed no ERROR: line

    def environment(self) -> Path:
        """The environment's interpreter, built first if it is not ready."""
        try:
            make_private_dir(self.entry)
            if not is_ready(self.env):
                with self._locked():
                    if not is_ready(self.env):  # else another server built it while this one waited
                        self._build()
                        return venv_python(self.env)
        except OSError as exc:  # a cache that cannot be written, an interpreter that cannot be started
            raise self.fail(f"cannot build its environment: {exc}") from exc
        logger.info("%s: using the environment built for its %s: %s", self.label, REQUIREMENTS, self.env)
        return venv_python(self.env)

    def fail(self, message: str, log_path: Optional[Path] = None) -> EnvironmentBuildError:
        return EnvironmentBuildError(self.deployment, self.version, message, log_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The entry's flock, waiting (within the build timeout) while another server builds the same one. The build's
        processes inherit it: pip left running by a server that was killed keeps it until it ends too."""
        fd = os.open(self.entry / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _try_lock(fd):
                logger.info(
                    "%s: another server (or pip left by one that was killed) is building %s; waiting",
                    self.label,
                    self.env,
                )
                give_up = time.monotonic() + self.timeout
                while not _try_lock(fd):
                    if time.monotonic() > give_up:
                        raise self.fail(f"another build of {self.env} held its lock for over {self.timeout:g} s")
                    time.sleep(POLL)
            self.lock_fd = fd
            yield
        finally:
            os.close(fd)  # ends the lock, unless a build process still holds it

    def _build(self) -> None:
        shutil.rmtree(self.env, ignore_errors=True)  # what a killed build left
        logger.info(
            "%s: building an environment for %s (first start; later starts reuse it) in %s; log: %s",
            *(self.label, REQUIREMENTS, self.env, self.log_path),
        )
        started = time.monotonic()
        deadline = started + self.timeout
        try:
            with open(self.log_path, "w", encoding="utf-8", errors="backslashreplace") as log:
                for what, command in build_commands(self.env, self.package_dir / REQUIREMENTS):
                    self._run(what, command, log, deadline)
            (self.env / READY).write_text(f"{sys.version}\n", encoding="utf-8")
        except BaseException:
            shutil.rmtree(self.env, ignore_errors=True)  # never half an environment in the cache
            raise
        logger.info("%s: environment ready in %.1f s; log: %s", self.label, time.monotonic() - started, self.log_path)

    def _run(self, what: str, command: List[str], log: IO[str], deadline: float) -> None:
        """One step, its output to the log and the logger as it comes; raises on a failure or the deadline."""
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        process = subprocess.Popen(
            command,
            cwd=self.package_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(self.lock_fd,),
        )
        try:
            finished = self._follow(process, log, deadline)
        finally:
            _kill(process)  # a no-op after an exit; else (the deadline, Ctrl-C) pip and what it started
        if not finished:
            raise self.fail(
                f"{what} took over {self.timeout:g} s and was stopped (${TIMEOUT_VARIABLE} sets the limit); "
                f"the whole build log: {self.log_path}",
                self.log_path,
            )
        code = process.returncode
        if code != 0:
            lines = "\n".join(f"  {line}" for line in self.failure_lines())
            raise self.fail(
                f"{what} failed ({_ended(code)}):\n{lines}\nthe whole build log: {self.log_path}", self.log_path
            )

    def failure_lines(self) -> List[str]:
        """pip's ERROR: lines and its last line (an exception's message, after a traceback), or its last lines."""
        if not self.errors:
            return self.tail
        return self.errors if self.tail[-1:] == self.errors[-1:] else [*self.errors, *self.tail[-1:]]

    def _follow(self, process: "subprocess.Popen[bytes]", log: IO[str], deadline: float) -> bool:
        """Pass the output on until the process exits (True) or the deadline passes (False)."""
        assert process.stdout is not None
        fd = process.stdout.fileno()
        pending, eof = b"", False
        while True:
            exited = process.poll() is not None
            if time.monotonic() > deadline:  # also for output that a child left behind keeps writing
                break
            if eof:  # the pipe closed before the exit was seen
                if exited:
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(POLL)
                continue
            if not select.select([fd], [], [], 0 if exited else POLL)[0]:
                if exited:  # only what is there now: a child it left behind may hold the pipe open
                    break
                continue
            chunk = os.read(fd, READ_SIZE)
            eof = not chunk
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > READ_SIZE:  # a line without end is passed on in pieces, not kept whole
                lines.append(pending)
                pending = b""
            for line in lines:
                self._line(line, log)
        if pending:
            self._line(pending, log)
        return exited

    def _line(self, raw: bytes, log: IO[str]) -> None:
        line = raw.decode("utf-8", "replace").rstrip()
        log.write(line + "\n")
        log.flush()
        if not line:
            return
        logger.info("%s: %s", self.label, line)
        short = line if len(line) <= MAX_LINE else line[:MAX_LINE] + "..."
        if line.lstrip().startswith("ERROR:") and len(self.errors) < MAX_ERROR_LINES:
            self.errors.append(short)
        self.tail = [*self.tail[-(MAX_ERROR_LINES - 1) :], short]


def _ended(code: int) -> str:
    if code > 0:
        return f"exit code {code}"
    try:
        return f"killed by signal {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _try_lock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _kill(process: "subprocess.Popen[bytes]") -> None:
    """End the process and everything it started (pip runs build backends), then reap it."""
    if process.poll() is None:
        for pid in [*_worker.descendants(process.pid), process.pid]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
