"""Read any supported input file into document batches: format detection and dispatch to the format readers.

`read_documents(path, options, rejects)` is the one entry point the ingest job calls. It streams: memory is
bounded by `options.batch_size` documents (plus one decompression buffer), never by the file. It never
raises for bad *data*, whatever the file holds:

- a record that cannot be a document is a reject in `rejects` with a reason (`rejects.items`);
- bytes from which no record could be read are a skipped span with its offset and length
  (`rejects.skipped`): the rest of a corrupt gzip member, junk after the last member, and a missing,
  unreadable, empty or unrecognisable file (the whole file as one span). Spans are not records;
- non-drop events (a malformed WARC-Date kept as a record, a lone surrogate replaced, ...) go to the optional
  `counters`.

Accounting: every input record is either yielded or rejected exactly once, under one reason, so for a caller
`docs_in = yielded rows + len(rejects)`. Records that are not documents at all (WARC request, metadata and
warcinfo records, MediaWiki siteinfo) are neither; they are counted in `counters` under `skipped_*`.

Every yielded batch has the schema `read_schema(options)`: the document record (corpus.schema) followed by the
extra columns the readers fill (`html` only with `keep_html`), the same for every format, so batches of
different files can be unioned. The shared helpers live in corpus.reader_base, decompression in
corpus.decompress.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import urlparse
from urllib.request import url2pathname

import pyarrow as pa

from corpus.decompress import open_recovering
from corpus.jsonl import iter_jsonl_rows
from corpus.mediawiki import iter_mediawiki_rows
from corpus.parquet_reader import iter_parquet_rows
from corpus.reader_base import (
    FORMATS,
    READER_EXTRA_COLUMNS,
    ReadContext,
    ReadOptions,
    base_source,
    batched,
    dump_from_path,
    format_from_name,
    read_schema,
    stable_id,
)
from corpus.remote import RetryPolicy, is_remote, redact, uri_name
from corpus.stats import RejectLog
from corpus.warc import iter_warc_rows

__all__ = [
    "FORMATS",
    "READER_EXTRA_COLUMNS",
    "ReadOptions",
    "base_source",
    "detect_format",
    "dump_from_path",
    "format_from_name",
    "input_size",
    "local_path",
    "read_documents",
    "read_schema",
    "stable_id",
]

SNIFF_BYTES = 65536


def detect_format(path: str, opener: Callable[[], BinaryIO] | None = None) -> str:
    """The input format of `path`: "warc" | "wet" | "jsonl" | "parquet" | "mediawiki".

    By file name first, then by sniffing the first bytes (through gzip/bz2/zstd; `opener` opens them, default
    the local file). Raises ValueError("<path>: unknown input format") when neither tells, and OSError when
    the bytes cannot be read."""
    by_name = format_from_name(path)
    if by_name is not None:
        return by_name
    sniffed = _sniff(uri_name(path), opener or (lambda: open(path, "rb")))  # noqa: SIM115
    if sniffed is None:
        raise ValueError(f"{redact(path)}: unknown input format")
    return sniffed


def _sniff(name: str, opener: Callable[[], BinaryIO]) -> str | None:
    with opener() as raw:
        if raw.read(4) == b"PAR1":
            return "parquet"
    with open_recovering(name, on_span=lambda span: None, opener=opener) as stream:
        head = b""
        while len(head) < SNIFF_BYTES and (data := stream.read(SNIFF_BYTES - len(head))):
            head += data
        if stream._lost is not None:
            raise stream._lost
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"WARC/"):
        return "wet" if b"WARC-Type: conversion" in head else "warc"
    if text.startswith(b"<mediawiki") or (text.startswith(b"<?xml") and b"<mediawiki" in head[:4096]):
        return "mediawiki"
    if text.startswith(b"{"):
        return "jsonl"
    return None


def read_documents(
    path: str, options: ReadOptions, rejects: RejectLog, counters: Counter[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream the documents of one input file as batches of `read_schema(options)` (see the module docstring).

    `path` is a local path, a `file:` URI, or a remote URI (s3://, s3a://, gs://, hdfs://, http(s)://, read
    through corpus.remote). `counters`, when given, receives non-drop events (e.g. "bad_warc_date",
    "bad_last_modified", "skipped_request", "remote_retries"). Never raises for bad data or a bad file."""
    counters = counters if counters is not None else Counter()
    ctx = ReadContext(path, options, rejects, counters)
    if path.startswith("file:"):
        ctx.path = local_path(path)
    elif "://" in path and not is_remote(path):
        detail = "no reader for this scheme (local paths, file:, s3://, s3a://, gs://, hdfs://, http(s)://)"
        ctx.skip("unreadable_file", detail, 0, 0)
        return
    try:
        size = ctx.stat()
    except FileNotFoundError:
        ctx.skip("missing_file", "no such file", 0, 0)
        return
    except OSError as exc:
        ctx.unreadable(exc)
        return
    if size == 0:
        ctx.skip("empty_file", "zero-length file", 0, 0)
        return
    try:
        fmt = detect_format(ctx.path, ctx.open)
    except OSError as exc:
        ctx.unreadable(exc)
        return
    except ValueError as exc:
        try:
            with ctx.open() as raw:
                sample = raw.read(4096)
        except OSError:
            sample = b""
        ctx.skip("unknown_format", str(exc), 0, size, sample=sample)
        return
    yield from _read_format(fmt, ctx)


def input_size(
    path: str, retry: RetryPolicy | None = None, counters: Counter[str] | None = None
) -> int | None:
    """The size in bytes of an input (local path, file: URI or remote URI), None where it cannot be had after
    `retry`'s tries (reading it then says why, as a skipped span); retries are counted into `counters`."""
    found = Counter[str]() if counters is None else counters
    ctx = ReadContext(local_path(path), ReadOptions(retry=retry or RetryPolicy()), RejectLog(), found)
    try:
        return ctx.stat()
    except OSError:
        return None


def local_path(uri: str) -> str:
    """The local path of a `file:` URI (`file:///a/b`, `file:/a/b`); other strings are returned unchanged."""
    if not uri.startswith("file:"):
        return uri
    return url2pathname(urlparse(uri).path)


def _read_format(fmt: str, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    if fmt in ("warc", "wet"):
        rows = iter_warc_rows(ctx)
    elif fmt == "jsonl":
        rows = iter_jsonl_rows(ctx)
    elif fmt == "mediawiki":
        rows = iter_mediawiki_rows(ctx)
    elif fmt == "parquet":
        rows = iter_parquet_rows(ctx)
    else:  # pragma: no cover - detect_format only returns FORMATS
        raise AssertionError(f"unhandled format {fmt!r}")
    yield from batched(_until_failure(rows, ctx), ctx)


def _until_failure(rows: Iterator[dict[str, Any]], ctx: ReadContext) -> Iterator[dict[str, Any]]:
    """`rows` until a reader fails outright: the rows before stay in the batch being built."""
    try:
        yield from rows
    except BaseException as exc:  # a Rust panic in a parser is a BaseException
        if isinstance(exc, GeneratorExit | KeyboardInterrupt | SystemExit):
            raise
        # The very last resort: every reader guards its records and its stream, so this means a defect in a
        # reader. The rest of the file is lost; say so, and let the job go on with the next file.
        ctx.skip("reader_error", f"reading stopped: {type(exc).__name__}: {exc}", 0, ctx.size)
