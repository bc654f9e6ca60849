"""Zipped deployment packages, unpacked once into the user cache (cache.py) under a key of the zip's content.

UbiOps users zip either the package's files or the package folder (`deployment_package/deployment.py`): the package
root is the zip's root when it holds deployment.py, else its single top-level folder that does. Unpacking refuses
members that would land outside the target (absolute paths, `..`), symbolic links and special files, and zips that
unpack to more than MAX_TOTAL_SIZE bytes or hold more than MAX_MEMBERS members. It is atomic: the zip is unpacked into
a temporary directory beside the entry, which is then renamed into place, so a second server never sees half a package.
"""

import itertools
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, BinaryIO, Iterator, List, Tuple

from ubiops.local.cache import cache_dir, cache_root, content_key, entry_lock

MAX_TOTAL_SIZE = 2 * 1024**3  #: bytes all members may unpack to
MAX_MEMBERS = 100_000
#: Part of every key, so that a change to how zips are unpacked makes new entries instead of reusing old ones.
FORMAT = b"ubiops-local zipped package 1"
#: Resource forks that the macOS Archive Utility adds beside the folder: not part of the package.
IGNORED_TOP = "__MACOSX"
_CHUNK = 1024 * 1024
_DRIVE = re.compile(r"[A-Za-z]:")

Member = Tuple[List[str], zipfile.ZipInfo]


class BadZip(ValueError):
    """A zip that cannot be served as a package; the message says what is wrong, the caller names the file."""


def unpack_package(path: Path) -> Path:
    """The package root of the zip unpacked in the cache; unpacks only when this content was not unpacked before."""
    try:
        file = path.open("rb")
    except OSError as exc:
        raise BadZip(f"cannot read it: {exc.strerror or exc}") from None
    with file:
        try:
            key = content_key(itertools.chain([FORMAT], _chunks(file)))  # streamed: a zip may be GiBs
            file.seek(0)
            archive = zipfile.ZipFile(file)
        except zipfile.BadZipFile as exc:
            raise BadZip(f"not a valid zip file ({exc})") from None
        except OSError as exc:
            raise BadZip(f"cannot read it: {exc.strerror or exc}") from None
        with archive:
            members = checked_members(archive)
            root = package_root(members)
            try:
                return _cached(archive, members, key, root)
            except OSError as exc:
                raise BadZip(f"cannot unpack it into the cache {cache_root()}: {exc.strerror or exc}") from None


def _chunks(file: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = file.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def checked_members(archive: zipfile.ZipFile) -> List[Member]:
    """The members to unpack, as path parts; BadZip for any member that must not be unpacked."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise BadZip(f"holds {len(infos)} members, more than the {MAX_MEMBERS} allowed")
    members: List[Member] = []
    seen = set()
    total = 0
    for info in infos:
        name = info.filename.replace("\\", "/")  # zips made on Windows may separate with backslashes
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if name.startswith("/") or _DRIVE.match(name) or ".." in parts:
            raise BadZip(f"member {info.filename!r} would be unpacked outside the package (absolute path or '..')")
        if not parts or parts[0] == IGNORED_TOP:
            continue
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip was not made on Unix
        if kind == stat.S_IFLNK:
            raise BadZip(f"member {info.filename!r} is a symbolic link; a package may hold only files and folders")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise BadZip(f"member {info.filename!r} is a special file; a package may hold only files and folders")
        if info.flag_bits & 0x1:
            raise BadZip(f"member {info.filename!r} is encrypted; zip the package without a password")
        if "/".join(parts) in seen:
            raise BadZip(f"member {info.filename!r} appears twice")
        seen.add("/".join(parts))
        total += info.file_size
        if total > MAX_TOTAL_SIZE:
            raise BadZip(f"unpacks to more than {MAX_TOTAL_SIZE // 1024**3} GiB, the most allowed")
        members.append((parts, info))
    return members


def package_root(members: List[Member]) -> str:
    """ "" when deployment.py is at the root of the zip, else the single top-level folder holding it."""
    files = {"/".join(parts) for parts, info in members if not info.is_dir()}
    if "deployment.py" in files:
        return ""
    tops = sorted({parts[0] for parts, _info in members})
    if len(tops) == 1 and f"{tops[0]}/deployment.py" in files:
        return tops[0]
    deeper = sorted(name for name in files if name.endswith("/deployment.py"))
    hint = f"; it holds {deeper[0]}: zip the folder that holds deployment.py" if deeper else ""
    raise BadZip(f"has no deployment.py at its root, nor in a single top-level folder{hint}")


def _cached(archive: zipfile.ZipFile, members: List[Member], key: str, root: str) -> Path:
    entries = cache_dir("packages")
    target = entries / key
    with entry_lock(entries, key):
        if (target / root / "deployment.py").is_file():
            return target / root
        shutil.rmtree(target, ignore_errors=True)  # an entry damaged by hand (none is half-made: see below)
        temporary = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=entries))
        try:
            _unpack(archive, members, temporary)
            os.rename(temporary, target)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    return target / root


def _unpack(archive: zipfile.ZipFile, members: List[Member], into: Path) -> None:
    for parts, info in members:
        destination = into.joinpath(*parts)
        try:
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, destination.open("xb") as sink:
                _copy(source, sink, info)
            if (info.external_attr >> 16) & 0o100:  # keep scripts and binaries executable
                destination.chmod(0o700)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BadZip(f"member {info.filename!r} is damaged: {exc}") from None
        except NotImplementedError as exc:
            raise BadZip(f"member {info.filename!r}: {exc}") from None
        except OSError as exc:
            raise BadZip(f"cannot unpack member {info.filename!r}: {exc.strerror or exc}") from None


def _copy(source: IO[bytes], sink: IO[bytes], info: zipfile.ZipInfo) -> None:
    """zipfile stops at the declared size and checks the CRC; counting here keeps the cap whatever the reader does."""
    written = 0
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return
        written += len(chunk)
        if written > info.file_size:
            raise BadZip(f"member {info.filename!r} unpacks to more than its declared {info.file_size} bytes")
        sink.write(chunk)
