"""Document Parquet files whose data does not read: left out of the stage, counted, and the stage run again.

A stage after ingest reads its inputs' footers before Spark starts (jobs.checks.refuse_unreadable_parquet),
but a damaged data page is found only by the task that decodes it, and Spark then fails the whole job
(`FAILED_READ_FILE`). One bad file must not stop a job, nor may its rows vanish: `run_leaving_out` runs the
stage, and where Spark names one of the stage's document inputs as unreadable, it leaves that file out and
runs the stage again, from the start, on the others. The file's rows (its footer's count) are then counted in
the stage's `_stats.json` as documents in and dropped under `unreadable_file`, and the file is listed among
the skipped spans, so docs_in = docs_out + dropped still holds.

Reading the whole input once more before every stage would find such pages up front, at the cost of a full
extra pass over every stage's input; a second run costs only where a file is damaged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar
from urllib.parse import unquote

import pyarrow.parquet as pq

from corpus.readers import local_path
from corpus.remote import redact
from corpus.stats import SKIPPED_SPANS_LISTED, StageStats

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


_scope: _Scope | None = None


@contextmanager
def _stage_scope() -> Iterator[_Scope]:
    global _scope
    outer, _scope = _scope, _Scope()
    try:
        yield _scope
    finally:
        _scope = outer


def readable(files: Sequence[File]) -> list[File]:
    """`files` less those the current stage has left out; the others are noted as its document inputs."""
    if _scope is None:
        return list(files)
    kept = [f for f in files if f.uri not in _scope.left_out]
    _scope.read.update(f.uri for f in kept)
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
    finishes or fails for another reason."""
    with _stage_scope() as scope:
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
    if _scope is None:
        return
    for uri, rows in sorted(_scope.left_out.items()):
        if rows > 0:
            stats.docs_in += rows
            stats.drop(UNREADABLE, rows)
        stats.skip(UNREADABLE)
        if len(stats.skipped_spans) < SKIPPED_SPANS_LISTED:
            detail = f"a data page does not read; {rows if rows >= 0 else 'all'} rows left out"
            span = {"input": redact(uri), "offset": 0, "length": -1, "space": "file", "reason": UNREADABLE}
            stats.skipped_spans.append({**span, "detail": detail})
