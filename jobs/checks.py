"""Checks of the files that options name (a language-id model, a tokenizer, a side table's Parquet), run before
Spark starts: the workers load these files inside their tasks, so without a check here a wrong path or the
wrong kind of file would surface as a failed Spark task (exit 1, a stack of task errors) rather than as a
one-line usage error naming the option (exit 2). Nothing here imports Spark."""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.readers import local_path
from corpus.remote import redact
from corpus.schema import field_type, foreign_column, spark_read_schema
from jobs.contract import UsageError
from jobs.fs import locate

# The first int32 of every fastText model file, .bin and quantised .ftz alike (fastText's args.h).
FASTTEXT_MAGIC = 793712314


def readable_file(path: str, option: str, kind: str) -> bytes:
    """The first 8 bytes of the local file `path`; UsageError naming `option` when it does not exist, is not
    a file (`kind` says what it should be) or cannot be read."""
    if not os.path.exists(path):
        raise UsageError(f"{option} {path!r}: no such file", option=option)
    if not os.path.isfile(path):
        raise UsageError(f"{option} {path!r}: not a file (expected {kind})", option=option)
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except OSError as error:
        raise UsageError(
            f"{option} {path!r}: cannot be read ({error.strerror or error})", option=option
        ) from None


def check_fasttext_model(path: str, option: str = "--lid-model") -> None:
    """UsageError naming `option` unless `path` is a readable fastText model. Only the magic number is read:
    loading a large model (GlotLID, lid.176.bin) in the driver would cost seconds and memory for nothing."""
    head = readable_file(path, option, "a fastText model, .bin or .ftz")
    if len(head) < 4 or struct.unpack("<i", head[:4])[0] != FASTTEXT_MAGIC:
        raise UsageError(f"{option} {path!r}: not a fastText model (.bin or .ftz)", option=option)


def check_tokenizer(path: str, option: str = "--tokenizer") -> None:
    """UsageError naming `option` unless `path` is a `tokenizers` JSON file that loads. It is loaded here, in
    the driver, because a tokenizer is small (loads in milliseconds) and a JSON file of another kind can only
    be told apart by loading it."""
    readable_file(path, option, "a `tokenizers` JSON file")
    try:
        from tokenizers import Tokenizer
    except ModuleNotFoundError:
        raise UsageError(
            f"{option} {path!r}: counting tokens needs an optional dependency: pip install 'chronomix[train]'",
            option=option,
        ) from None
    try:
        Tokenizer.from_file(path)
    except Exception as error:  # tokenizers raises a bare Exception for a file it cannot parse
        raise UsageError(
            f"{option} {path!r}: not a `tokenizers` JSON file ({error})", option=option
        ) from None


def parquet_columns(uri: str, option: str, value: str) -> list[str]:
    """The column names of the Parquet file `uri` (its footer only); UsageError naming `option` (given as
    `value`) when the file cannot be read as Parquet."""
    location = locate(uri)
    try:
        with location.fs.open_input_file(location.path) as handle:
            return list(pq.read_schema(handle).names)
    except (OSError, pa.ArrowException) as error:
        which = "" if uri == value else f"{uri} is "
        raise UsageError(
            f"{option} {value!r}: {which}not readable Parquet ({error})", option=option
        ) from None


def null_columns(uri: str, columns: list[str]) -> set[str]:
    """Those of `columns` that hold only nulls in the Parquet file `uri`, by its footer's statistics (no data
    read); a column whose statistics are missing counts as holding values. Empty for an unreadable file."""
    location = locate(uri)
    try:
        with location.fs.open_input_file(location.path) as handle:
            meta = pq.ParquetFile(handle).metadata
    except (OSError, pa.ArrowException):
        return set()
    if meta.num_rows == 0:
        return set()
    index = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    empty = set()
    for name in columns:
        if name not in index:
            continue
        chunks = [meta.row_group(g).column(index[name]) for g in range(meta.num_row_groups)]
        stats = [c.statistics for c in chunks]
        if (
            all(s is not None and s.has_null_count for s in stats)
            and sum(s.null_count for s in stats) == meta.num_rows
        ):
            empty.add(name)
    return empty


def _local(uri: str) -> bool:
    """Remote Parquet is left to Spark, which reads its footers anyway: asking a store here would cost a
    request (and a bucket lookup) per file."""
    return "://" not in uri or uri.startswith("file:")


def unreadable_parquet(uris: Sequence[str]) -> dict[str, str]:
    """The local Parquet files (`.parquet`) of `uris` whose footer does not read, each with why (one line):
    Spark would fail the whole job on such a file with a Java stack trace."""
    unreadable: dict[str, str] = {}
    for uri in uris:
        if not uri.endswith(".parquet") or not _local(uri):
            continue
        try:
            pq.read_metadata(local_path(uri))
        except (OSError, pa.ArrowException) as error:
            unreadable[uri] = str(error).splitlines()[0][:200]
    return unreadable


def refuse_foreign_parquet(uris: Sequence[str]) -> None:
    """UsageError naming the first local Parquet file with a record column of another kind of type
    (corpus.schema.foreign_column): a date as a string or epoch integer, nanosecond or zone-less
    timestamps. Spark would fail the job on it late, or read epoch seconds as 1970; the ingest job's
    reader converts such files and counts the values it cannot."""
    for uri in uris:
        if not _local(uri):
            continue
        foreign = foreign_column(spark_read_schema(pq.read_metadata(local_path(uri))))
        if foreign is not None:
            name, stored = foreign
            raise UsageError(
                f"input {redact(uri)!r}: column {name!r} is {stored}, where documents hold "
                f"{field_type(name)}; `chronomix ingest` reads it into the record (counting what does not "
                "convert)"
            )
