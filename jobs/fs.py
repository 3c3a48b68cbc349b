"""Driver-side file operations on local paths and on remote file systems (s3://, gs://, hdfs://) alike.

Spark reads and writes the data itself; the driver only lists inputs, renames part files, writes `_stats.json`
and moves a finished output into place (AtomicStageOutput). pyarrow.fs gives one API over all of these file
systems.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import uuid
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs

from corpus.remote import redact, store_file_system
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


def locate(path: str) -> Location:
    """Resolve a local path or a URI (s3://, s3a://, gs://, hdfs://, file://) to a Location; `uri` stays as
    given (Spark knows s3a://, pyarrow knows it as s3://)."""
    if "://" in path:
        try:
            fs, fs_path = store_file_system(path)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:  # ftp://, a typo'd scheme, no bucket
            raise UsageError(f"{redact(path)!r}: {str(error).splitlines()[0]}") from None
        return Location(fs, fs_path, path)
    import os

    absolute = os.path.abspath(path)
    return Location(pafs.LocalFileSystem(), absolute, absolute)


def list_files(location: Location) -> list[Location]:
    """Every file below a directory (recursive), sorted by path; a file lists as itself."""
    info = location.fs.get_file_info(location.path)
    if info.type == pafs.FileType.File:
        return [dataclasses.replace(location, listed_size=info.size)]
    if info.type == pafs.FileType.NotFound:
        return []
    selector = pafs.FileSelector(location.path, recursive=True)
    found = [i for i in location.fs.get_file_info(selector) if i.type == pafs.FileType.File]
    base = location.path.rstrip("/")
    files = []
    for item in sorted(found, key=lambda i: i.path):
        relative = item.path[len(base) :].lstrip("/")
        files.append(dataclasses.replace(location.child(relative), listed_size=item.size))
    return files


def file_size(location: Location) -> int:
    """The file's bytes: from its listing where it came from one, else asked of its file system."""
    if location.listed_size is not None:
        return location.listed_size
    return location.fs.get_file_info(location.path).size or 0


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


def _dangling(path: str) -> bool:
    return os.path.islink(path) and not os.path.exists(path)


class AtomicStageOutput:
    """`with AtomicStageOutput(uri, overwrite) as tmp:` write under `tmp`; moved to `uri` on success only.

    So a killed or failed job leaves no partial output for the next stage to read. `tmp` is a hidden sibling
    of `uri` (created by the writer, not here), so the final move stays on one file system."""

    def __init__(self, uri: str, overwrite: bool) -> None:
        self.uri = uri
        self.final = locate(uri)
        self.overwrite = overwrite
        if self.final.exists() and not overwrite:
            raise UsageError(f"output {redact(uri)!r} exists; pass --overwrite to replace it")
        if isinstance(self.final.fs, pafs.LocalFileSystem) and _dangling(self.final.path):
            # a link to nowhere: the finished folder could not be moved onto it (NotADirectoryError at the end)
            raise UsageError(
                f"output {uri!r} is a link to a folder that does not exist; remove it or create that folder"
            )
        self.tmp = self.final.parent.child(f".{self.final.name}.tmp-{uuid.uuid4().hex[:12]}")

    def __enter__(self) -> Location:
        self.final.fs.create_dir(self.final.parent.path, recursive=True)
        return self.tmp

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if exc_type is not None:
            remove(self.tmp)
            return
        if not self.final.exists():
            move(self.tmp, self.final)
            return
        if not self.overwrite:
            # Checked again: another run may have written the output while this one worked (a long job).
            remove(self.tmp)
            raise UsageError(
                f"output {redact(self.uri)!r} appeared while this job wrote it; pass --overwrite to replace it"
            )
        trash = self.final.parent.child(f".{self.final.name}.old-{uuid.uuid4().hex[:12]}")
        move(self.final, trash)
        move(self.tmp, self.final)
        remove(trash)
