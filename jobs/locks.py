"""One writer per place: an exclusive lock on every output folder and cross-dump index a command writes.

Two chronomix processes writing one place at once lost work without a word: two dedups through one
`--index` both exited 0 and the index kept one run's documents only; two `chronomix run` on one folder
with different settings both reported success, and the folder held the last one's result. A command now
takes the lock of each place it writes once its checks (which only read) pass and before its work, and
holds it until it is done; a pipeline stage's, before its marker is read. A second process asking for a
held place stops at once with one line naming the holder.

The lock is `flock` on a hidden file beside the place (`.<name>.lock`), so a holder that dies, even by
`kill -9`, releases it. It guards local and shared POSIX file systems (NFS gives `flock` as a POSIX lock);
an object store (s3://, gs://) or HDFS offers no lock here, and its places are not locked: do not run two
writers of one such place at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow.fs as pafs

from corpus.remote import redact
from jobs.contract import UsageError
from jobs.fs import locate, names_a_uri

# the places this process holds, by lock file, with how many times it took each (a pipeline's run lock is
# taken again by no stage, but an experiment's stages run inside the experiment's own)
_HELD: dict[str, tuple[int, int]] = {}


def lock_file(place: str) -> Path | None:
    """The lock file of `place` (a local path or file: URI), beside it; None for a place on a file system
    that has no lock (an object store, HDFS)."""
    if names_a_uri(place) and not place.startswith("file:"):
        return None  # asking an object store for its file system costs a request, and it has no lock
    location = locate(place)
    if not isinstance(location.fs, pafs.LocalFileSystem):
        return None
    # resolved: a folder reached through a link is one place with one lock, whichever way it is named
    path = Path(os.path.realpath(location.path.rstrip("/") or "/"))
    return path.parent / f".{path.name}.lock"


@contextlib.contextmanager
def holding(places: Iterable[str], command: str | None = None) -> Iterator[None]:
    """Hold the lock of every place in `places` (outputs, indexes) while the block runs. Raises UsageError
    naming the process that holds one of them (its pid, host, start and command line)."""
    # a URL's user, password and query stay out of a file others can read, and of their error lines
    command = command or " ".join([Path(sys.argv[0]).name, *(redact(a) for a in sys.argv[1:])])
    files = {str(f): f for f in (lock_file(p) for p in places if p) if f is not None}
    with contextlib.ExitStack() as stack:
        for key in sorted(files):
            stack.enter_context(_holding_one(files[key], command))
        yield


@contextlib.contextmanager
def _holding_one(path: Path, command: str) -> Iterator[None]:
    key = str(path)
    if key in _HELD:  # this process holds it already: an inner stage of the same command
        fd, count = _HELD[key]
        _HELD[key] = (fd, count + 1)
        try:
            yield
        finally:
            fd, count = _HELD[key]
            _HELD[key] = (fd, count - 1)
        return
    made = _missing_folders(path.parent)
    fd = _acquire(path, command)
    _HELD[key] = (fd, 1)
    try:
        yield
    finally:
        del _HELD[key]
        if fd != _NO_LOCK:
            # unlinked while still held: whoever opened this file meanwhile sees, once it gets the lock,
            # that the file is no longer the one at the path, and tries again with a new one (_acquire)
            with contextlib.suppress(OSError):
                os.unlink(path)
            os.close(fd)
        for folder in made:  # those made for the lock alone (a command refused before it wrote)
            with contextlib.suppress(OSError):
                folder.rmdir()


_NO_LOCK = -1


def _missing_folders(folder: Path) -> list[Path]:
    """The folders of `folder`'s path that do not exist yet, deepest first."""
    missing = []
    while folder != folder.parent:
        try:
            if folder.exists():
                break
        except OSError:  # not ours to look into: _open finds out what it may do there
            break
        missing.append(folder)
        folder = folder.parent
    return missing


def _open(path: Path) -> int:
    """A descriptor of the lock file, made where missing; read-only where another user's file is there
    (flock needs no write access); _NO_LOCK where the folder takes no file (read-only, no permission): the
    command's own write then reports that place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:
        try:
            return os.open(path, os.O_RDONLY)
        except OSError:
            return _NO_LOCK
    except OSError:
        return _NO_LOCK


def _acquire(path: Path, command: str) -> int:
    """Open and lock `path`, write who holds it (where the file is writable), return the descriptor, or
    _NO_LOCK (see _open)."""
    while True:
        fd = _open(path)
        if fd == _NO_LOCK:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _read_holder(fd)
            os.close(fd)
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return _NO_LOCK  # a file system without flock: as an object store
            raise UsageError(f"{_place_of(path)}: {holder}; wait for it to finish") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # its holder finished and removed it while this process waited on it
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now(), "command": command}
    with contextlib.suppress(OSError):  # a read-only descriptor: the lock holds, unsigned
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(holder) + "\n").encode())
    return fd


def _read_holder(fd: int) -> str:
    """Who holds the lock, in words, from what it wrote into the file."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder.get("pid"):
        return "another chronomix process is writing it now"
    return (
        f"another chronomix is writing it now (pid {holder['pid']} on {holder.get('host', '?')}, since "
        f"{holder.get('since', '?')}: {holder.get('command', '?')})"
    )


def _place_of(path: Path) -> str:
    return str(path.parent / path.name[1 : -len(".lock")])


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
