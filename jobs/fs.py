"""Driver-side file operations on local paths and on remote file systems (s3://, gs://, hdfs://) alike.

Spark reads and writes the data itself; the driver only lists inputs, renames part files, writes `_stats.json`
and moves a finished output into place (AtomicStageOutput). pyarrow.fs gives one API over all of these file
systems.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import posixpath
import re
import socket
import stat
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from corpus.readers import local_path
from corpus.remote import HTTP_SCHEMES, arrow_uri, redact, scheme_of, store_file_system
from jobs.contract import UsageError


@dataclass(frozen=True)
class Location:
    """A path on a file system: `fs` plus the file system's own path (no scheme)."""

    fs: pafs.FileSystem
    path: str
    uri: str  # what Spark is given
    listed_size: int | None = None  # bytes, where a listing gave them (no request per file to ask again)

    def child(self, name: str) -> Location:
        sep = "" if self.uri.endswith("/") else "/"
        return Location(self.fs, posixpath.join(self.path, name), f"{self.uri}{sep}{name}")

    @property
    def name(self) -> str:
        return posixpath.basename(self.path.rstrip("/"))

    @property
    def parent(self) -> Location:
        parent_path = posixpath.dirname(self.path.rstrip("/"))
        parent_uri = self.uri.rstrip("/").rsplit("/", 1)[0]
        return Location(self.fs, parent_path, parent_uri)

    def exists(self) -> bool:
        return self.fs.get_file_info(self.path).type != pafs.FileType.NotFound

    def is_dir(self) -> bool:
        return self.fs.get_file_info(self.path).type == pafs.FileType.Directory

    def write_text(self, text: str) -> None:
        with self.fs.open_output_stream(self.path) as out:
            out.write(text.encode("utf-8"))

    def read_text(self) -> str:
        with self.fs.open_input_stream(self.path) as stream:
            return stream.read().decode("utf-8")


# A URI's scheme and a slash: also a URI that Path() has collapsed ("s3a://b/x" -> "s3a:/b/x").
_URI_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/")


def names_a_uri(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a URI, given as typed or after a Path() collapsed its "//"."""
    return bool(_URI_START.match(str(path)))


# Object stores whose URIs name a bucket first: `s3:///key` names none (`hdfs:///path` is the default cluster's).
_BUCKET_SCHEMES = frozenset({"s3", "s3a", "s3n", "gs", "gcs"})


def placeless(path: str) -> str | None:
    """Why `path` names no place at all, whatever it is given for: blank (it would be taken as the current
    folder, which an output's --overwrite would wipe) or an object-store URI with no bucket (pyarrow failed
    on it once Spark had started); None where it names one."""
    if not str(path).strip():
        return "an empty path"
    scheme = scheme_of(str(path))
    if scheme in _BUCKET_SCHEMES and not str(path)[len(scheme) + 3 :].partition("/")[0].rsplit("@", 1)[-1]:
        return "no bucket"
    return None


def location_key(path: str) -> str | None:
    """A path or URI as a name to compare by: local paths (and `file:` URIs) with links and `..` resolved,
    `s3a://` as `s3://`, no query or trailing slash; None for an HTTP URL (no folder's content)."""
    if scheme_of(path) in HTTP_SCHEMES:
        return None
    if path.startswith("file:"):
        path = local_path(path)
    elif "://" in path:
        return arrow_uri(path).split("?", 1)[0].rstrip("/")
    return os.path.realpath(path)


def _below(inner: str, outer: str) -> bool:
    return inner.startswith(outer.rstrip("/") + "/")


def relation(path: str | os.PathLike[str], other: str | os.PathLike[str]) -> str | None:
    """How `path` stands to `other`, by names alone (location_key; a listing of 90,000 objects is not asked
    of the store one by one): "is" it, "holds" it or "lies inside" it; None where none holds or either is an
    HTTP URL."""
    key, other_key = location_key(str(path)), location_key(str(other))
    if key is None or other_key is None:
        return None
    if key == other_key:
        return "is"
    if _below(other_key, key):
        return "holds"
    if _below(key, other_key):
        return "lies inside"
    return None


def contained_in(folder: str) -> Callable[[str], bool]:
    """A test of whether a path or URI is `folder` or lies below it (relation)."""
    return lambda path: relation(path, folder) in ("is", "lies inside")


def refuse_placeless(path: str, named: str) -> None:
    """UsageError naming `path` as `named` (an option such as --output, or "input") where it is placeless."""
    why = placeless(path)
    if why is not None:
        option = named if named.startswith("-") else None
        raise UsageError(f"{named} {redact(str(path))!r}: {why}", option=option)


def output_exists(output: str, overwrite: bool, flag: str = "--output") -> bool:
    """Whether the output folder `output` exists; UsageError where it is placeless, cannot be reached (a
    store with no network or no credentials) or is a file: an output is a folder, and --overwrite, which
    replaces a folder, would have deleted the file."""
    refuse_placeless(output, flag)
    target = locate(output)
    try:
        kind = target.fs.get_file_info(target.path).type
    except OSError as error:
        raise UsageError(
            f"{flag} {redact(output)!r}: cannot be reached ({str(error).splitlines()[0][:300]})", option=flag
        ) from None
    if kind == pafs.FileType.File:
        raise UsageError(file_given_as_folder(output, overwrite, flag), option=flag)
    return kind != pafs.FileType.NotFound


def file_given_as_folder(output: str, overwrite: bool, flag: str = "--output") -> str:
    """The message for a file given as the output folder `output`."""
    also = "; --overwrite replaces only a folder" if overwrite else ""
    return f"{flag} {redact(output)!r} is a file, not a folder{also}"


def locate(path: str) -> Location:
    """Resolve a local path or a URI (s3://, s3a://, gs://, hdfs://, file://) to a Location; `uri` stays as
    given (Spark knows s3a://, pyarrow knows it as s3://), save a local file:// URI with %-escapes: Hadoop
    reads a path unescaped, so Spark is given the local path it names (given `my%20data`, the driver listed
    `my data` and Spark looked for `my%20data`; given `my data`, pyarrow could not parse it). UsageError for
    an object-store URI with no bucket."""
    if path.startswith(("file:///", "file://localhost/")):
        from urllib.parse import unquote

        written = path.removeprefix("file://").removeprefix("localhost")
        local = unquote(written)
        return Location(pafs.LocalFileSystem(), local, path if local == written else local)
    if "://" in path:
        if placeless(path) == "no bucket":  # pyarrow's own error names no URI, and comes only at a listing
            raise UsageError(f"{redact(path)!r}: no bucket")
        try:
            fs, fs_path = store_file_system(path)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:  # ftp://, a typo'd scheme, no bucket
            raise UsageError(f"{redact(path)!r}: {str(error).splitlines()[0]}") from None
        except OSError as error:  # S3's region lookup with no network, HDFS with no libjvm/libhdfs
            raise UsageError(
                f"{redact(path)!r}: cannot be reached ({str(error).splitlines()[0][:300]})"
            ) from None
        return Location(fs, fs_path, path)
    import os

    absolute = os.path.abspath(path)
    return Location(pafs.LocalFileSystem(), absolute, absolute)


def _local_listing(folder: str) -> list[pafs.FileInfo]:
    """The files below a local `folder`, followed into linked folders, each folder walked once (by device
    and inode: a link to `.` or to an ancestor made pyarrow's listing read the files again at every level
    until the system stopped it, 41 times over); a folder's real path is walked before a link to it. A
    dangling link lists as a missing file; a FIFO, socket or device is left out (reading a FIFO waits for
    ever), and so is a folder that cannot be read: what was left out is said on stderr."""
    found: list[pafs.FileInfo] = []
    walked: set[tuple[int, int]] = set()
    left_out: dict[str, list[str]] = {"folders reached again through a link, read once": []}
    left_out |= {"not regular files": [], "folders that cannot be read": []}

    def unreadable(error: OSError) -> None:
        left_out["folders that cannot be read"].append(str(error.filename))

    for root, dirs, names in os.walk(folder, onerror=unreadable, followlinks=True):
        mark = os.stat(root)
        if (mark.st_dev, mark.st_ino) in walked:
            dirs[:] = []
            left_out["folders reached again through a link, read once"].append(root)
            continue
        walked.add((mark.st_dev, mark.st_ino))
        # real folders before links, each in name order: the same paths are kept on every run
        dirs.sort(key=lambda name: (os.path.islink(os.path.join(root, name)), name))
        for name in names:
            path = os.path.join(root, name)
            try:
                status = os.stat(path)
            except OSError:  # a dangling link (or a file gone since the walk listed it)
                found.append(pafs.FileInfo(path, pafs.FileType.NotFound))
                continue
            if not stat.S_ISREG(status.st_mode):
                left_out["not regular files"].append(path)
                continue
            found.append(pafs.FileInfo(path, pafs.FileType.File, size=status.st_size))
    for what, paths in left_out.items():
        if paths:
            print(f"chronomix: {folder!r}: {len(paths)} left out, {what}, e.g. {paths[0]!r}", file=sys.stderr)
    return found


# Names a listing leaves out, as Spark and Hadoop do, at any depth below the folder named: `_` or `.` first
# (a stage output's _stats.json, _rejects/, _clusters/; hidden working folders).
BOOKKEEPING = re.compile(r"(^|/)(_[^/]*|\.[^/]*)(/|$)")
# a folder holding one of these is a stage output, whose bookkeeping is expected
_STAGE_OUTPUT_MARKS = ("/_stats.json", "/_complete.json", "/_SUCCESS")


def data_files(named: str, match: Location, listed: Sequence[Location]) -> list[Location]:
    """The files of `listed` (what `match`, which `named` named, lists) that are data: all but BOOKKEEPING
    (a file named itself always is). Says on stderr how many were left out of a folder that is no stage
    output: a crawl's `_2024-05/` and `_dolma.warc.gz` were skipped without a word."""
    kept, left_out = [], []
    for file in listed:
        relative = file.path[len(match.path) :] if file.path != match.path else file.name
        if not BOOKKEEPING.search(relative.lstrip("/")) or file.path == match.path:
            kept.append(file)
        else:
            left_out.append(relative.lstrip("/"))
    stage_output = any(f.path.endswith(_STAGE_OUTPUT_MARKS) for f in listed)
    if left_out and not stage_output:
        print(
            f"chronomix: input {named!r}: {len(left_out)} file(s) left out, their names or folders starting "
            f"with '_' or '.' (as Spark and Hadoop leave them), e.g. {left_out[0]!r}; name them to read them",
            file=sys.stderr,
        )
    return kept


def list_files(location: Location) -> list[Location]:
    """Every file below a directory (recursive), sorted by path; a file lists as itself. A dangling link
    inside a local folder lists as a file of size 0 (pyarrow's listing leaves it out): the read then counts
    it as a missing file, where it was lost without a word."""
    info = location.fs.get_file_info(location.path)
    if info.type == pafs.FileType.File:
        return [dataclasses.replace(location, listed_size=info.size)]
    if info.type == pafs.FileType.NotFound:
        return []
    if isinstance(location.fs, pafs.LocalFileSystem):
        if info.type != pafs.FileType.Directory:
            raise OSError(f"{location.path!r} is not a regular file or folder (a FIFO, socket or device)")
        found = _local_listing(location.path)
    else:
        selector = pafs.FileSelector(location.path, recursive=True)
        found = [i for i in location.fs.get_file_info(selector) if i.type == pafs.FileType.File]
    base = location.path.rstrip("/")
    files = []
    for item in sorted(found, key=lambda i: i.path):
        relative = item.path[len(base) :].lstrip("/")
        files.append(dataclasses.replace(location.child(relative), listed_size=item.size or 0))
    return files


def file_size(location: Location) -> int:
    """The file's bytes: from its listing where it came from one, else asked of its file system."""
    if location.listed_size is not None:
        return location.listed_size
    return location.fs.get_file_info(location.path).size or 0


def rename_spark_parts(folder: Location, suffix: str) -> int:
    """Spark names parts `part-00003-<uuid>-c000...`; keep the partition number, and the file's number
    within it where a partition has several (`spark.sql.files.maxRecordsPerFile` splits them: all but the
    last were overwritten when every file was named for its partition alone). Returns total bytes."""
    parts: dict[int, list[tuple[int, Location]]] = {}
    for file in list_files(folder):
        match = re.match(r"part-(\d+)(?:-.*-c(\d+)\.)?", file.name)  # the last -cNNN. (a uuid may hold one)
        if not match or file.name.startswith("."):
            if file.name.startswith(".") or file.name.startswith("_"):
                remove(file)
            continue
        parts.setdefault(int(match.group(1)), []).append((int(match.group(2) or 0), file))
    total = 0
    for partition, files in parts.items():
        for number, file in files:
            target = folder.child(
                f"part-{partition:05d}" + (f"-c{number:03d}" if len(files) > 1 else "") + suffix
            )
            move(file, target)
            total += file_size(target)
    return total


def remove(location: Location) -> None:
    """Delete a file or a folder with all it holds."""
    info = location.fs.get_file_info(location.path)
    if info.type == pafs.FileType.Directory:
        location.fs.delete_dir(location.path)
    elif info.type == pafs.FileType.File:
        location.fs.delete_file(location.path)


def move(source: Location, target: Location) -> None:
    """Rename `source` to `target` on their file system (pyarrow's move)."""
    source.fs.move(source.path, target.path)


# A working folder's name says which run made it: `.NAME.KIND-HOST-PID-RANDOM`, so a later run on the same
# host can tell the folders of runs killed outright (SIGKILL, the OOM killer: nothing of theirs cleans up)
# from those of runs still working.
def _host_tag(hostname: str) -> str:
    """`hostname` as a name part with no "-" (the name's separator): separators as "_", so that no two hosts
    share it (stripped, ip-172-31-1-110 and ip-172-31-11-10 did), and a long one cut with a hash of the whole."""
    tag = re.sub(r"[^A-Za-z0-9]", "_", hostname) or "host"
    return tag if len(tag) <= 40 else f"{tag[:31]}_{hashlib.sha1(hostname.encode()).hexdigest()[:8]}"


HOST_TAG = _host_tag(socket.gethostname())
_WORKING_KINDS = ("tmp", "work", "old")


def working_sibling(final: Location, kind: str) -> Location:
    """A hidden sibling of `final` for a run to work in (`kind`: tmp, the output being written; work, an
    audit's working copy; old, the output being replaced; kept, an audit's working copy kept on request,
    which remove_leftovers leaves alone), named for this host and process."""
    return final.parent.child(f".{final.name}.{kind}-{HOST_TAG}-{os.getpid()}-{uuid.uuid4().hex[:12]}")


def process_alive(pid: int) -> bool:
    """Whether a process `pid` runs on this host (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_leftovers(final: Location) -> list[str]:
    """Remove the working siblings of `final` (working_sibling) that runs on this host left when they were
    killed: their process is gone. Those of live processes, and of other hosts, are left alone. Says what it
    removed on stderr; returns their names."""
    pattern = re.compile(
        rf"\.{re.escape(final.name)}\.({'|'.join(_WORKING_KINDS)})-{re.escape(HOST_TAG)}-(\d+)-[0-9a-f]{{12}}"
    )
    try:
        siblings = final.fs.get_file_info(pafs.FileSelector(final.parent.path))
    except (OSError, pa.ArrowException):  # no parent yet, or not listable: nothing to tidy
        return []
    removed = []
    final_there = final.exists()
    for info in siblings:
        name = posixpath.basename(info.path)
        match = pattern.fullmatch(name)
        if match is None or int(match.group(2)) == os.getpid() or process_alive(int(match.group(2))):
            continue
        if match.group(1) == "old" and not final_there:
            # killed between its two renames: the output it was replacing is only there; left for the user
            continue
        remove(final.parent.child(name))
        removed.append(name)
        print(f"chronomix: removed {name}, left beside the output by a run that was killed", file=sys.stderr)
    return removed


_ABANDONED: list[Location] = []  # the working folders of outputs given up (AtomicStageOutput.__exit__)
FINISHED: list[str] = []  # the outputs moved into place in this process, in order (for the CLI to say)


def remove_abandoned() -> None:
    """Remove again the working folders of outputs given up in this process: for when their writers have
    stopped (jobs.spark.LazySession.stop)."""
    while _ABANDONED:
        with contextlib.suppress(OSError):
            remove(_ABANDONED.pop())


class AtomicStageOutput:
    """`with AtomicStageOutput(uri, overwrite) as tmp:` write under `tmp`; moved to `uri` on success only.

    So a killed or failed job leaves no partial output for the next stage to read. `tmp` is a hidden sibling
    of `uri` (created by the writer, not here), so the final move stays on one file system."""

    def __init__(self, uri: str, overwrite: bool) -> None:
        self.uri = uri
        # refuses a blank uri (the current folder) and a file (--overwrite would delete it), not only for stages
        exists = output_exists(uri, overwrite, "output")
        self.final = locate(uri)
        if isinstance(self.final.fs, pafs.LocalFileSystem) and os.path.islink(self.final.path):
            # a link to a folder elsewhere (a bigger disk) is written through: the output goes where it
            # points, made there if need be, and the link stays (--overwrite replaced the link by a folder on
            # the link's own disk, and a link to nowhere was refused)
            self.final = locate(os.path.realpath(self.final.path))
        if isinstance(self.final.fs, pafs.LocalFileSystem) and os.path.ismount(self.final.path):
            # the work is written beside the output, then moved onto it: beside a mount point is another disk
            raise UsageError(f"output {uri!r} is (a link to) a mount point; give a folder inside it")
        self.overwrite = overwrite
        if exists and not overwrite:
            raise UsageError(f"output {redact(uri)!r} exists; pass --overwrite to replace it")
        self.tmp = working_sibling(self.final, "tmp")

    def __enter__(self) -> Location:
        try:
            self.final.fs.create_dir(self.final.parent.path, recursive=True)
            if isinstance(self.final.fs, pafs.LocalFileSystem):
                # tried before any work, and named as the user gave it, not as the hidden folder
                self.final.fs.create_dir(self.tmp.path)
                self.final.fs.delete_dir(self.tmp.path)
        except OSError as error:
            # pyarrow's message names the hidden folder; its errno detail is what the user needs
            detail = re.search(r"\[errno \d+\] ([^\n]+)", str(error))
            why = detail[1] if detail else str(error).splitlines()[0]
            raise UsageError(f"output {redact(self.uri)!r}: cannot be written there ({why})") from None
        remove_leftovers(self.final)
        return self.tmp

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if exc_type is not None:
            remove(self.tmp)
            # Spark's tasks may still be running (an interrupt stops the driver's call, not the job), and one
            # that commits later writes the folder again: removed once more when the session has stopped.
            _ABANDONED.append(self.tmp)
            return
        if not self.final.exists():
            move(self.tmp, self.final)
            FINISHED.append(self.uri)
            return
        if not self.overwrite:
            # Checked again: another run may have written the output while this one worked (a long job).
            remove(self.tmp)
            raise UsageError(
                f"output {redact(self.uri)!r} appeared while this job wrote it; pass --overwrite to replace it"
            )
        trash = working_sibling(self.final, "old")
        move(self.final, trash)
        move(self.tmp, self.final)
        FINISHED.append(self.uri)
        remove(trash)


def refuse_unmakeable(folder: str, flag: str) -> None:
    """UsageError where the local `folder` (an output) could not be made: a file stands where a folder above
    it would be, or its nearest existing folder refuses a new entry (tried by making and removing a hidden
    one, as the permission bits do not tell for root or a read-only mount). Checked before Spark starts and
    named as given: the write found it ~10 s in, naming the hidden folder. Remote folders are not checked."""
    if "://" in folder and not folder.startswith("file:"):
        return
    path = Path(os.path.abspath(local_path(folder)))
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing != path and not existing.is_dir():
        raise UsageError(
            f"{flag} {folder!r}: {str(existing)!r} is a file, so no folder can be made below it", option=flag
        )
    if existing == path:
        return  # it exists: refused or replaced by the existing-output rule
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".chronomix-check-", dir=existing))
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UsageError(
            f"{flag} {folder!r}: cannot be made in {str(existing)!r} ({reason})", option=flag
        ) from None
