"""Document Parquet files that do not read: left out of the stage and counted, so one bad file stops no job.

A stage after ingest reads its local inputs' footers before Spark starts (jobs.checks.unreadable_parquet): a
file whose footer does not read (cut short, not Parquet, a dangling link) is left out there, by
`leave_out_unreadable`, whose rows are unknown. A damaged data page is found only by the task that decodes
it, and Spark then fails the whole job (`FAILED_READ_FILE`): `run_leaving_out` runs the stage, and where Spark
names one of the stage's document inputs as unreadable, it leaves that file out and runs the stage again,
from the start, on the others. Either way the file is counted in the stage's `_stats.json` as a file in,
skipped under `unreadable_file` and listed among the skipped spans; its footer's rows, where they are known,
are documents in and dropped under `unreadable_file`, so docs_in = docs_out + dropped still holds. Only where
every input is unreadable, or no stage is running to count it (a library call), is a file refused.

Reading the whole input once more before every stage would find such pages up front, at the cost of a full
extra pass over every stage's input; a second run costs only where a file is damaged.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, TypeVar
from urllib.parse import unquote

import pyarrow.parquet as pq

from corpus.readers import local_path
from corpus.remote import redact
from corpus.stats import SKIPPED_SPANS_LISTED, StageStats
from jobs.contract import UsageError

UNREADABLE = "unreadable_file"
LOG = logging.getLogger("chronomix")
# Spark's error class for a file a task could not decode, with the file's URI (file:///..., s3a://...).
_FAILED_READ = re.compile(r"FAILED_READ_FILE[.\w]*\] Encountered error while reading file (\S+?\.parquet)\b")

Result = TypeVar("Result")
File = TypeVar("File", bound="_Named")


class _Named(Protocol):
    uri: str  # jobs.stage.InputFile


class _Scope:
    """The document inputs the current stage read, and those it left out (URI -> footer rows, -1 unknown)."""

    def __init__(self) -> None:
        self.read: set[str] = set()
        self.left_out: dict[str, int] = {}
        # URI -> (bytes, why) of those taken out of the listing itself, before Spark read them
        self.unlisted: dict[str, tuple[int, str]] = {}


# The running stage's scope: a context variable, so stages run from two threads (a notebook, a service)
# each count their own left-out files.
_SCOPE: ContextVar[_Scope | None] = ContextVar("chronomix_stage_scope", default=None)


@contextmanager
def stage_scope() -> Iterator[_Scope]:
    """One stage's scope, opened around its check and its runs, which share the inputs it leaves out (a
    stage a stage runs has its own)."""
    scope = _Scope()
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def leave_out_unreadable(files: Sequence[File], unreadable: dict[str, str]) -> list[File]:
    """`files` less the `unreadable` ones (URI -> why), which the running stage counts as left out; a
    UsageError naming the first where no stage is running to count it or no file is left to read."""
    bad = [f for f in files if f.uri in unreadable]
    if not bad:
        return list(files)
    scope = _SCOPE.get()
    if scope is None or len(bad) == len(files):
        uri = bad[0].uri
        raise UsageError(f"input {redact(uri)!r}: not readable Parquet ({unreadable[uri]})")
    for file in bad:
        if file.uri in scope.left_out:
            continue
        scope.left_out[file.uri] = -1
        why = f"not readable Parquet ({unreadable[file.uri]})"
        scope.unlisted[file.uri] = (max(getattr(file, "size", 0), 0), why)
        LOG.warning("input %s: %s; left out, counted as %r", redact(file.uri), why, UNREADABLE)
    return [f for f in files if f.uri not in unreadable]


def readable(files: Sequence[File]) -> list[File]:
    """`files` less those the current stage has left out; the others are noted as its document inputs."""
    scope = _SCOPE.get()
    if scope is None:
        return list(files)
    kept = [f for f in files if f.uri not in scope.left_out]
    scope.read.update(f.uri for f in kept)
    return kept


def unreadable_input(error: BaseException, inputs: set[str]) -> str | None:
    """The input of `inputs` that Spark's `error` names as a file it could not read, or None."""
    match = _FAILED_READ.search(str(error))
    if match is None:
        return None
    named = match.group(1)
    for candidate in (named, unquote(named), local_path(named), local_path(unquote(named))):
        if candidate in inputs:
            return candidate
    return None


def _footer_rows(uri: str) -> int:
    """The rows `uri`'s footer promises; -1 where it cannot be read (the file is still listed)."""
    try:
        if "://" in uri:
            import pyarrow.fs

            fs, path = pyarrow.fs.FileSystem.from_uri(uri)
            with fs.open_input_file(path) as stream:
                return pq.ParquetFile(stream).metadata.num_rows
        return pq.read_metadata(local_path(uri)).num_rows
    except Exception:
        return -1


def run_leaving_out(run: Callable[[], Result]) -> Result:
    """`run()` (a stage's run), again without each document input that Spark found unreadable, until it
    finishes or fails for another reason; in the stage's scope where its check opened one."""
    open_scope = _SCOPE.get()
    with contextlib.nullcontext(open_scope) if open_scope is not None else stage_scope() as scope:
        while True:
            scope.read.clear()
            try:
                return run()
            except Exception as error:
                uri = unreadable_input(error, scope.read)
                if uri is None or uri in scope.left_out:
                    raise
                scope.left_out[uri] = rows = _footer_rows(uri)
                known = f"its {rows:,} rows" if rows >= 0 else "its rows (their number unknown)"
                LOG.warning(
                    "input %s: a data page does not read; left out, %s counted as dropped %r; "
                    "running the stage again without it",
                    redact(uri),
                    known,
                    UNREADABLE,
                )


def count_left_out(stats: StageStats) -> None:
    """Count the current stage's left-out inputs in `stats` (once, as its `_stats.json` is written)."""
    scope = _SCOPE.get()
    if scope is None:
        return
    for uri, rows in sorted(scope.left_out.items()):
        size, why = scope.unlisted.get(uri, (0, "a data page does not read"))
        if uri in scope.unlisted:  # the stage's own count of its files never saw it
            stats.files_in += 1
            stats.bytes_in += size
        if rows > 0:
            stats.docs_in += rows
            stats.drop(UNREADABLE, rows)
        stats.skip(UNREADABLE)
        if len(stats.skipped_spans) < SKIPPED_SPANS_LISTED:
            detail = f"{why}; {rows if rows >= 0 else 'all'} rows left out"
            span = {"input": redact(uri), "offset": 0, "length": -1, "space": "file", "reason": UNREADABLE}
            stats.skipped_spans.append({**span, "detail": detail})
