"""The user's cache of the local server: unpacked zip packages and built environments, kept between runs.

`$UBIOPS_LOCAL_CACHE`, else `$XDG_CACHE_HOME/ubiops-local`, else `~/.cache/ubiops-local`. Entries are keyed by the
content they were made from, so a changed input makes a new entry and an unchanged one is reused.
"""

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Iterable, Iterator

try:
    import fcntl
except ImportError:  # Windows: no lock between servers
    fcntl = None  # type: ignore[assignment]

from ubiops.local.data_dir import make_private_dir

CACHE_VARIABLE = "UBIOPS_LOCAL_CACHE"


def cache_root() -> Path:
    explicit = os.environ.get(CACHE_VARIABLE)
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / "ubiops-local"


def cache_dir(*parts: str) -> Path:
    """A private directory under the cache root, made if missing."""
    path = cache_root().joinpath(*parts)
    make_private_dir(path)
    return path


def content_key(chunks: Iterable[bytes], length: int = 16) -> str:
    """A short hex digest of the given bytes, for naming cache entries."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(8, "big"))
        digest.update(chunk)
    return digest.hexdigest()[:length]


@contextlib.contextmanager
def entry_lock(directory: Path, key: str) -> Iterator[None]:
    """Hold the lock of one cache entry (flock on `.KEY.lock` in the directory): the servers that make or check the
    same entry at once take turns, so none sees another's half-made entry or sets aside a whole one."""
    fd = os.open(directory / f".{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
