"""Read any supported input file into document batches: format dispatch and the helpers all readers share.

`read_documents(path, options, rejects)` is the one entry point the ingest job calls. It streams: memory is
bounded by `options.batch_size` documents (plus one decompression buffer), never by the file. It does not
raise for bad *data*: a bad record, and a missing, unreadable, empty, truncated or corrupt file, becomes a
reject in `rejects` with a reason, and reading goes on. Non-drop events (a malformed WARC-Date kept as a
record, a Last-Modified header that does not parse, ...) go to the optional `counters`.

Accounting: every input record is either yielded or rejected exactly once, so for a caller
`docs_in = yielded rows + len(rejects)`. Records that are not documents at all (WARC request, metadata and
warcinfo records, MediaWiki siteinfo) are neither; they are counted in `counters` under `skipped_*`.

Every yielded batch has the schema `read_schema(options)`: the document record (corpus.schema) followed by the
extra columns this module fills (`html` only with `keep_html`), the same for every format, so batches of
different files can be unioned.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import urlparse
from urllib.request import url2pathname

import pyarrow as pa
import zstandard

from corpus.schema import COLUMN_NAMES, DOCUMENT_SCHEMA, EXTRA_COLUMNS, conform
from corpus.stats import RejectLog

FORMATS = ("warc", "wet", "jsonl", "parquet", "mediawiki")

# Extra columns every reader emits (null where a format has no value), after the record's columns.
READER_EXTRA_COLUMNS = ("cc_lang", "resource", "revision_id", "revision_ts", "metadata_json")

GZIP_MAGIC = b"\x1f\x8b"
BZ2_MAGIC = b"BZh"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CC_DUMP_RE = re.compile(r"CC-MAIN-\d{4}-\d{2}")

# Name suffixes in the order they are tried (longest first); the compression suffix is optional.
_NAME_RULES: tuple[tuple[str, str], ...] = (
    (".warc.wet", "wet"),
    (".wet", "wet"),
    (".warc", "warc"),
    (".arc", "warc"),
    (".jsonl", "jsonl"),
    (".json", "jsonl"),
    (".ndjson", "jsonl"),
    (".parquet", "parquet"),
    (".xml", "mediawiki"),
)
_COMPRESSION_SUFFIXES = ("", ".gz", ".bz2", ".zst", ".zstd")


@dataclass(frozen=True)
class ReadOptions:
    """How to read one input file. Sizes are in bytes, `batch_size` in documents."""

    batch_size: int = 1000  # documents per yielded batch; memory is bounded by this, not the file
    keep_html: bool = False  # keep the raw HTML in an `html` column (dating reads its metadata)
    max_doc_bytes: int = 10_000_000  # larger payloads are rejected as "too_large"
    min_text_chars: int = 1  # shorter (after HTML->text, stripped) rejected as "empty_text"
    added: datetime | None = None  # value of `added` (UTC); None = now, taken once per read
    mediawiki_monthly: bool = False  # MediaWiki: emit monthly snapshots instead of every revision
    # record column -> input column; a plain dict so options pickle into Spark tasks (left out of the hash)
    column_map: Mapping[str, str] = field(default_factory=dict, hash=False)
    source: str | None = None  # override `source`

    def __post_init__(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size: must be a positive integer, got {self.batch_size!r}")
        if not isinstance(self.max_doc_bytes, int) or self.max_doc_bytes < 1:
            raise ValueError(f"max_doc_bytes: must be a positive integer, got {self.max_doc_bytes!r}")
        if not isinstance(self.min_text_chars, int) or self.min_text_chars < 0:
            raise ValueError(f"min_text_chars: must be a non-negative integer, got {self.min_text_chars!r}")
        if self.added is not None and (not isinstance(self.added, datetime) or self.added.tzinfo is None):
            raise ValueError(f"added: must be a timezone-aware datetime, got {self.added!r}")
        if self.source is not None and (not isinstance(self.source, str) or not self.source):
            raise ValueError(f"source: must be a non-empty string, got {self.source!r}")
        for column, name in dict(self.column_map).items():
            if column not in COLUMN_NAMES and column not in EXTRA_COLUMNS:
                raise ValueError(f"column_map: {column!r} is not a record column")
            if not isinstance(name, str) or not name:
                raise ValueError(f"column_map: input column for {column!r} must be a non-empty string")


def read_schema(options: ReadOptions) -> pa.Schema:
    """The schema of every batch `read_documents` yields under `options` (e.g. for Spark's mapInArrow)."""
    fields = list(DOCUMENT_SCHEMA)
    if options.keep_html:
        fields.append(pa.field("html", EXTRA_COLUMNS["html"]))
    fields.extend(pa.field(name, EXTRA_COLUMNS[name]) for name in READER_EXTRA_COLUMNS)
    return pa.schema(fields)


def detect_format(path: str) -> str:
    """The input format of `path`: "warc" | "wet" | "jsonl" | "parquet" | "mediawiki".

    By file name first, then by sniffing the first bytes (through gzip/bz2/zstd). Raises
    ValueError("<path>: unknown input format") when neither tells."""
    by_name = format_from_name(path)
    if by_name is not None:
        return by_name
    try:
        sniffed = _sniff(path)
    except (OSError, EOFError, zstandard.ZstdError):
        sniffed = None
    if sniffed is None:
        raise ValueError(f"{path}: unknown input format")
    return sniffed


def format_from_name(path: str) -> str | None:
    """The format implied by the file name's suffixes, or None."""
    name = os.path.basename(path).lower()
    for suffix, fmt in _NAME_RULES:
        for compression in _COMPRESSION_SUFFIXES:
            if name.endswith(suffix + compression):
                return fmt
    return None


def _sniff(path: str) -> str | None:
    with open(path, "rb") as raw:
        magic = raw.read(4)
        if magic == b"PAR1":
            return "parquet"
    with open_decompressed(path) as stream:
        head = stream.read(65536)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"WARC/"):
        return "wet" if b"WARC-Type: conversion" in head else "warc"
    if text.startswith(b"<mediawiki") or (text.startswith(b"<?xml") and b"<mediawiki" in head[:4096]):
        return "mediawiki"
    if text.startswith(b"{"):
        return "jsonl"
    return None


def compression_of(path: str) -> str | None:
    """ "gzip" | "bz2" | "zstd" by the file's magic bytes, or None for an uncompressed file."""
    with open(path, "rb") as raw:
        magic = raw.read(4)
    if magic.startswith(GZIP_MAGIC):
        return "gzip"
    if magic.startswith(BZ2_MAGIC):
        return "bz2"
    if magic == ZSTD_MAGIC:
        return "zstd"
    return None


def open_decompressed(path: str) -> BinaryIO:
    """Open `path` for reading, decompressing gzip, bz2 or zstd (chosen by magic bytes, not by name).

    A truncated stream raises EOFError when the reader reaches the cut (the stdlib does this for gzip and bz2;
    `ZstdFrameReader` does it for zstd, whose own stream reader would stop silently); corrupt data raises
    OSError (gzip.BadGzipFile, zlib.error is wrapped by callers) or zstandard.ZstdError."""
    compression = compression_of(path)
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if compression == "zstd":
        return io.BufferedReader(ZstdFrameReader(open(path, "rb")), buffer_size=1 << 20)
    return open(path, "rb")


class ZstdFrameReader(io.RawIOBase):
    """Streaming zstd decompression over concatenated frames that raises EOFError on a truncated last frame.

    zstandard's `stream_reader` returns the bytes before a cut and then reports a clean end, which would lose
    the cut silently; this reader decompresses frame by frame and checks that the last frame ended."""

    _CHUNK = 1 << 20

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._raw.read(self._CHUNK)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd stream ended inside a frame (truncated)")
                return 0
            self._pending = self._feed(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _feed(self, chunk: bytes) -> bytes:
        out = []
        while chunk:
            self._in_frame = True
            out.append(self._frame.decompress(chunk))
            if not self._frame.eof:
                break
            self._in_frame = False
            chunk = self._frame.unused_data
            self._frame = self._decompressor.decompressobj()
        return b"".join(out)

    def close(self) -> None:
        self._raw.close()
        super().close()


def stream_error_reason(exc: BaseException, compression: str | None) -> str:
    """Reject reason for an exception raised while reading a (possibly compressed) stream."""
    if isinstance(exc, EOFError):
        return f"truncated_{compression}" if compression else "truncated_file"
    return f"corrupt_{compression}" if compression else "unreadable_file"


def dump_from_path(path: str) -> str | None:
    """The Common Crawl crawl id (CC-MAIN-YYYY-WW) named anywhere in `path`, or None."""
    found = CC_DUMP_RE.findall(path)
    return found[-1] if found else None


def base_source(path: str) -> str:
    """A dataset name from the file name: the base name without format and compression suffixes."""
    name = os.path.basename(path)
    lowered = name.lower()
    for suffix, _ in _NAME_RULES:
        for compression in _COMPRESSION_SUFFIXES:
            if lowered.endswith(suffix + compression):
                return name[: len(name) - len(suffix + compression)] or name
    return name


def stable_id(source: str, url: str | None, text: str) -> str:
    """Content id for records without one: hex sha1 of `source + "\\x00" + url + "\\x00" + text` (url "" if
    null). Stable across runs and machines; identical documents of one source get the same id."""
    digest = hashlib.sha1()
    digest.update(source.encode("utf-8", "surrogatepass"))
    digest.update(b"\x00")
    digest.update((url or "").encode("utf-8", "surrogatepass"))
    digest.update(b"\x00")
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_iso_timestamp(value: str) -> datetime | None:
    """An ISO 8601 date or date-time string ("Z" or an offset; a bare date is midnight) as UTC, or None."""
    text = value.strip()
    if not text:
        return None
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def one_line(text: str, limit: int = 300) -> str:
    """`text` on one line, cut to `limit` characters (reject details are single lines)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class ReadContext:
    """What a format reader needs besides the file: options, reject log, counters, per-read constants."""

    def __init__(self, path: str, options: ReadOptions, rejects: RejectLog, counters: Counter[str]) -> None:
        self.path = path
        self.options = options
        self.rejects = rejects
        self.counters = counters
        self.added = utc(options.added) if options.added is not None else datetime.now(UTC)

    def reject(self, reason: str, detail: str, where: str | None = None, sample: bytes | str = b"") -> None:
        """Record one rejected input record (or file) with a one-line detail and its location."""
        location = self.path if where is None else f"{self.path}:{where}"
        self.rejects.add(reason, one_line(detail), location, sample)


class DocumentChecks:
    """The checks every row goes through before it becomes a document: text present and not too short, not
    over the size cap, an id (given or stable hash), a source, `added`, and an id not yet seen in this file.

    Seen ids are kept as 8-byte digests, about 80 bytes of memory per document of the file."""

    def __init__(self, ctx: ReadContext, default_source: str) -> None:
        self.ctx = ctx
        self.default_source = ctx.options.source or default_source
        self._seen: set[bytes] = set()

    def accept(self, row: dict[str, Any], where: str, sample: bytes | str = b"") -> bool:
        """Complete `row` in place and return True, or reject it (at `where`, with `sample`): False."""
        options = self.ctx.options
        text = row.get("text")
        if not isinstance(text, str):
            self.ctx.reject("empty_text", "no text", where, sample)
            return False
        if (
            len(text) > options.max_doc_bytes
            or len(text.encode("utf-8", "surrogatepass")) > options.max_doc_bytes
        ):
            self.ctx.reject("too_large", f"text over {options.max_doc_bytes} bytes", where, text[:4096])
            return False
        if len(text.strip()) < options.min_text_chars:
            self.ctx.reject("empty_text", f"text shorter than {options.min_text_chars} chars", where, sample)
            return False
        if options.source is not None or not row.get("source"):
            row["source"] = self.default_source
        if row.get("added") is None:
            row["added"] = self.ctx.added
        if not row.get("id"):
            row["id"] = stable_id(row["source"], row.get("url"), text)
        key = hashlib.blake2b(row["id"].encode("utf-8", "surrogatepass"), digest_size=8).digest()
        if key in self._seen:
            self.ctx.reject("duplicate_id", f"id {row['id']!r} seen before in this file", where, sample)
            return False
        self._seen.add(key)
        return True


def rows_to_batch(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Build a record batch of `schema` from row dicts (missing keys are nulls)."""
    arrays = [pa.array([row.get(f.name) for row in rows], type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def batched(rows: Iterable[dict[str, Any]], options: ReadOptions) -> Iterator[pa.RecordBatch]:
    """Group row dicts into conformed batches of `read_schema(options)`, at most `options.batch_size` rows."""
    schema = read_schema(options)
    pending: list[dict[str, Any]] = []
    for row in rows:
        pending.append(row)
        if len(pending) >= options.batch_size:
            yield _conformed(pending, schema)
            pending = []
    if pending:
        yield _conformed(pending, schema)


def _conformed(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    # conform() orders and types the columns; the schema is reapplied for its non-null flags.
    batch = conform(rows_to_batch(rows, schema))
    return pa.RecordBatch.from_arrays(batch.columns, schema=schema)


def read_documents(
    path: str, options: ReadOptions, rejects: RejectLog, counters: Counter[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream the documents of one input file as batches of `read_schema(options)` (see the module docstring).

    `counters`, when given, receives non-drop events (e.g. "bad_warc_date", "bad_last_modified",
    "skipped_request"). Never raises for bad data or a bad file; raises only for programming errors."""
    counters = counters if counters is not None else Counter()
    ctx = ReadContext(path, options, rejects, counters)
    if "://" in path or path.startswith("file:"):
        if not path.startswith("file:"):
            ctx.reject(
                "unreadable_file", "the in-process reader reads local files only (file: URIs or paths)"
            )
            return
        path = ctx.path = local_path(path)
    if not os.path.exists(path):
        ctx.reject("missing_file", "no such file")
        return
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        ctx.reject("unreadable_file", "not a readable regular file")
        return
    if os.path.getsize(path) == 0:
        ctx.reject("empty_file", "zero-length file")
        return
    try:
        fmt = detect_format(path)
    except ValueError as exc:
        try:
            with open(path, "rb") as raw:
                sample = raw.read(4096)
        except OSError:
            sample = b""
        ctx.reject("unknown_format", str(exc), sample=sample)
        return
    yield from _read_format(fmt, ctx)


def local_path(uri: str) -> str:
    """The local path of a `file:` URI (`file:///a/b`, `file:/a/b`); other strings are returned unchanged."""
    if not uri.startswith("file:"):
        return uri
    return url2pathname(urlparse(uri).path)


def _read_format(fmt: str, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    # Imported here: the format modules import this module's helpers.
    if fmt in ("warc", "wet"):
        from corpus.warc import iter_warc_rows

        yield from batched(iter_warc_rows(ctx), ctx.options)
    elif fmt == "jsonl":
        from corpus.jsonl import iter_jsonl_rows

        yield from batched(iter_jsonl_rows(ctx), ctx.options)
    elif fmt == "mediawiki":
        from corpus.mediawiki import iter_mediawiki_rows

        yield from batched(iter_mediawiki_rows(ctx), ctx.options)
    elif fmt == "parquet":
        from corpus.parquet_reader import iter_parquet_batches

        yield from iter_parquet_batches(ctx)
    else:  # pragma: no cover - detect_format only returns FORMATS
        raise AssertionError(f"unhandled format {fmt!r}")
