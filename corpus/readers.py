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

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any
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
    "local_path",
    "read_documents",
    "read_schema",
    "stable_id",
]

SNIFF_BYTES = 65536


def detect_format(path: str) -> str:
    """The input format of `path`: "warc" | "wet" | "jsonl" | "parquet" | "mediawiki".

    By file name first, then by sniffing the first bytes (through gzip/bz2/zstd). Raises
    ValueError("<path>: unknown input format") when neither tells."""
    by_name = format_from_name(path)
    if by_name is not None:
        return by_name
    try:
        sniffed = _sniff(path)
    except OSError:
        sniffed = None
    if sniffed is None:
        raise ValueError(f"{path}: unknown input format")
    return sniffed


def _sniff(path: str) -> str | None:
    with open(path, "rb") as raw:
        magic = raw.read(4)
        if magic == b"PAR1":
            return "parquet"
    with open_recovering(path, on_span=lambda span: None) as stream:
        head = b""
        while len(head) < SNIFF_BYTES and (data := stream.read(SNIFF_BYTES - len(head))):
            head += data
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

    `counters`, when given, receives non-drop events (e.g. "bad_warc_date", "bad_last_modified",
    "skipped_request"). Never raises for bad data or a bad file."""
    counters = counters if counters is not None else Counter()
    ctx = ReadContext(path, options, rejects, counters)
    if "://" in path or path.startswith("file:"):
        if not path.startswith("file:"):
            detail = "the in-process reader reads local files only (file: URIs or paths)"
            ctx.skip("unreadable_file", detail, 0, 0)
            return
        path = ctx.path = local_path(path)
    if not os.path.exists(path):
        ctx.skip("missing_file", "no such file", 0, 0)
        return
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        ctx.skip("unreadable_file", "not a readable regular file", 0, 0)
        return
    size = os.path.getsize(path)
    if size == 0:
        ctx.skip("empty_file", "zero-length file", 0, 0)
        return
    try:
        fmt = detect_format(path)
    except ValueError as exc:
        try:
            with open(path, "rb") as raw:
                sample = raw.read(4096)
        except OSError:
            sample = b""
        ctx.skip("unknown_format", str(exc), 0, size, sample=sample)
        return
    yield from _read_format(fmt, ctx)


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
        size = os.path.getsize(ctx.path)
        ctx.skip("reader_error", f"reading stopped: {type(exc).__name__}: {exc}", 0, size)
