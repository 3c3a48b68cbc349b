"""What every format reader shares: read options, the per-read context (rejects, skipped spans, counters), the
checks every document goes through, and turning rows into Arrow batches.

The format readers (corpus.warc, corpus.jsonl, corpus.mediawiki, corpus.parquet_reader) import this module;
corpus.readers dispatches to them. Nothing here imports a format reader, so there is no import circle.

Values are made safe before they reach Arrow (the policy, applied in `DocumentChecks.accept`):
- a lone surrogate (valid in JSON as `"\\udfff"`, not valid Unicode; Arrow refuses it) becomes U+FFFD, in
  every string field, counted per record as "replaced_lone_surrogate";
- a NUL character (valid Unicode, but it ends C strings in the tools that read corpora) becomes U+FFFD in
  every string field, counted per record as "replaced_nul";
- `text` over `max_doc_bytes` UTF-8 bytes rejects the record as "too_large" (a WARC payload is capped before
  it is decoded, which bounds `html`), `metadata_json` over it and any other string field over MAX_FIELD_BYTES
  as "field_too_large" (an identifier cannot be cut without changing what it identifies);
- an integer outside its column's range rejects the record as "bad_value".
Replacing rather than rejecting keeps a document whose text is good but for one bad escape; an id changed by
the replacement can collide with another one, and the duplicate is then rejected as "duplicate_id".

As a last resort, a record whose processing raises anything unexpected is rejected as "reader_error" (each
reader guards its per-record work), and a batch that Arrow still refuses is rebuilt row by row, rejecting the
rows Arrow refuses as "invalid_value". No input can fail a task.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, Protocol

import pyarrow as pa

from corpus.decompress import SkippedSpan
from corpus.remote import (
    Channel,
    InputReadError,
    RemoteFile,
    RetryPolicy,
    channel_for,
    is_remote,
    redact,
    uri_name,
)
from corpus.schema import COLUMN_NAMES, DOCUMENT_SCHEMA, EXTRA_COLUMNS, conform, field_type
from corpus.stats import REJECT_SAMPLE_BYTES, RejectLog

FORMATS = ("warc", "wet", "jsonl", "parquet", "mediawiki")

# Extra columns every reader emits (null where a format has no value), after the record's columns.
READER_EXTRA_COLUMNS = (
    "cc_lang",
    "declared_lang",
    "resource",
    "revision_id",
    "revision_ts",
    "html_meta_modified",
    "metadata_json",
)

CC_DUMP_RE = re.compile(r"CC-MAIN-\d{4}-\d{2}(?!\d)")  # not the yearly CC-MAIN-2008-2009

# String fields other than text, html and metadata_json (ids, URLs, labels) longer than this are refused.
MAX_FIELD_BYTES = 64 << 10
# A batch is cut when its text and html reach this many characters, far below Arrow's 2 GiB per string array.
MAX_BATCH_CHARS = 256 << 20
_LONG_FIELDS = frozenset({"text", "html", "metadata_json"})
_BAD_CHARS = re.compile("[\ud800-\udfff\x00]")

# Name suffixes in the order they are tried (longest first); the compression suffix is optional.
NAME_RULES: tuple[tuple[str, str], ...] = (
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
COMPRESSION_SUFFIXES = ("", ".gz", ".bz2", ".zst", ".zstd")


class PageHook(Protocol):
    """Reads more from an HTML page's one parsed tree: called by the WARC reader as
    `hook(tree, html, row)` after the text is extracted, it sets the record or extra columns named in
    `columns` in `row` (dating's markup dates, jobs.ingest wires it). It must not raise for bad markup; if
    it does, the page keeps its text and the failure is counted (`page_hook_error`)."""

    columns: tuple[str, ...]

    def __call__(self, tree: Any, html: str, row: dict[str, Any]) -> None: ...


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
    retry: RetryPolicy = field(
        default_factory=RetryPolicy
    )  # remote inputs: tries and back-off of a read (corpus.remote)
    # Called on every HTML page with its parsed tree while it is at hand (see PageHook).
    page_hook: PageHook | None = field(default=None, hash=False)

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
    if options.page_hook is not None:
        names = {f.name for f in fields}
        fields.extend(pa.field(c, EXTRA_COLUMNS[c]) for c in options.page_hook.columns if c not in names)
    return pa.schema(fields)


def format_from_name(path: str) -> str | None:
    """The format implied by the file name's suffixes (a URL's path, without its query), or None."""
    name = os.path.basename(uri_name(path)).lower()
    for suffix, fmt in NAME_RULES:
        for compression in COMPRESSION_SUFFIXES:
            if name.endswith(suffix + compression):
                return fmt
    return None


def dump_from_path(path: str) -> str | None:
    """The Common Crawl crawl id (CC-MAIN-YYYY-WW) named anywhere in `path`, or None."""
    found = CC_DUMP_RE.findall(uri_name(path))
    return found[-1] if found else None


def base_source(path: str) -> str:
    """A dataset name from the file name: the base name without format and compression suffixes."""
    name = os.path.basename(uri_name(path))
    lowered = name.lower()
    for suffix, _ in NAME_RULES:
        for compression in COMPRESSION_SUFFIXES:
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
    except (ValueError, OverflowError):
        return None


def one_line(text: str, limit: int = 300) -> str:
    """`text` on one line, cut to `limit` characters (reject details are single lines)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class ReadContext:
    """What a format reader needs besides the file: options, reject log, counters, per-read constants, and
    the file itself (`open`, `size`), local or remote (corpus.remote)."""

    def __init__(self, path: str, options: ReadOptions, rejects: RejectLog, counters: Counter[str]) -> None:
        self.path = path
        self.options = options
        self.rejects = rejects
        self.counters = counters
        self.added = utc(options.added) if options.added is not None else datetime.now(UTC)
        self.location = redact(path)  # what rejects and spans name: a URI without credentials
        self.file_name = uri_name(path)  # what names the file (suffixes, dataset name): no query string
        self.size = 0  # bytes, set by `stat`
        self._channel: Channel | None = None

    @property
    def remote(self) -> bool:
        return is_remote(self.path)

    def stat(self) -> int:
        """The file's size in bytes (remote: asked with retries). Raises FileNotFoundError, IsADirectoryError,
        PermissionError or OSError."""
        if self.remote:
            with self._open_remote(None) as raw:
                self.size = raw.size
        else:
            if not os.path.exists(self.path):
                raise FileNotFoundError("no such file")
            if not os.path.isfile(self.path) or not os.access(self.path, os.R_OK):
                raise PermissionError("not a readable regular file")
            self.size = os.path.getsize(self.path)
        return self.size

    def open(self) -> BinaryIO:
        """The file's bytes, seekable: a local file, or a RemoteFile that streams, retries and resumes."""
        if self.remote:
            return self._open_remote(self.size)  # type: ignore[return-value]  # a RawIOBase
        return open(self.path, "rb")

    def _open_remote(self, size: int | None) -> RemoteFile:
        def count_retry(detail: str) -> None:
            self.counters["remote_retries"] += 1

        if self._channel is None:
            self._channel = channel_for(self.path, self.options.retry)
        return RemoteFile(self._channel, self.options.retry, count_retry, size)

    def reject(self, reason: str, detail: str, where: str | None = None, sample: bytes | str = b"") -> None:
        """Record one rejected input record with a one-line detail and its location."""
        location = self.location if where is None else f"{self.location}:{where}"
        self.rejects.add(reason, one_line(detail), location, sample)

    def reader_error(self, exc: BaseException, where: str, sample: bytes | str = b"") -> None:
        """The last-resort reject of a record whose processing raised something no check foresaw."""
        self.reject("reader_error", f"{type(exc).__name__}: {exc}", where, sample)

    def skip(
        self, reason: str, detail: str, offset: int, length: int, space: str = "file", sample: bytes = b""
    ) -> None:
        """Record one skipped span of this input (bytes no record came from; not a record)."""
        self.rejects.skip(reason, one_line(detail), self.location, offset, length, space, sample)

    def unreadable(self, exc: OSError) -> None:
        """The skipped span of a file that could not be read to its end: "read_failed" from the byte where a
        remote read stopped for good part way, else "unreadable_file" (the whole file; length 0 if unknown)."""
        if isinstance(exc, InputReadError) and exc.offset > 0:
            self.skip("read_failed", str(exc), exc.offset, max(0, self.size - exc.offset))
        else:
            self.skip("unreadable_file", f"{type(exc).__name__}: {exc}", 0, self.size)

    def skip_span(self, span: SkippedSpan) -> None:
        """`skip` for a span reported by corpus.decompress."""
        self.skip(span.reason, span.detail, span.offset, span.length, span.space, span.sample)


def clean_strings(row: dict[str, Any], counters: Counter[str]) -> str | None:
    """Make `row`'s values safe for Arrow in place (see the module docstring); returns the reject reason and
    detail ("reason: detail") when the record cannot be kept, else None."""
    surrogates = nuls = False
    for key, value in row.items():
        if isinstance(value, str):
            if _BAD_CHARS.search(value):
                surrogates |= any(ch != "\x00" for ch in _BAD_CHARS.findall(value))
                nuls |= "\x00" in value
                value = row[key] = _BAD_CHARS.sub("\ufffd", value)
            if key not in _LONG_FIELDS and len(value) * 4 > MAX_FIELD_BYTES:
                size = len(value.encode("utf-8"))
                if size > MAX_FIELD_BYTES:
                    return f"field_too_large: {key} has {size} bytes, over {MAX_FIELD_BYTES}"
        elif isinstance(value, int) and not isinstance(value, bool):
            dtype = field_type(key)
            if dtype is not None and pa.types.is_integer(dtype):
                bits = dtype.bit_width - 1
                if not -(1 << bits) <= value < (1 << bits):
                    return f"bad_value: {key} = {value} is outside {dtype}"
    if surrogates:
        counters["replaced_lone_surrogate"] += 1
    if nuls:
        counters["replaced_nul"] += 1
    return None


class DocumentChecks:
    """The checks every row goes through before it becomes a document: values safe for Arrow, text present
    and not too short, not over the size cap, an id (given or stable hash), a source, `added`, and an id not
    yet seen in this file.

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
        metadata = row.get("metadata_json")
        if isinstance(metadata, str) and len(metadata) > options.max_doc_bytes:
            detail = f"metadata_json over {options.max_doc_bytes} chars"
            self.ctx.reject("field_too_large", detail, where, sample)
            return False
        problem = clean_strings(row, self.ctx.counters)
        if problem is not None:
            reason, _, detail = problem.partition(": ")
            self.ctx.reject(reason, detail, where, sample)
            return False
        text = row["text"]
        if len(text.strip()) < options.min_text_chars:
            self.ctx.reject("empty_text", f"text shorter than {options.min_text_chars} chars", where, sample)
            return False
        if options.source is not None or not row.get("source"):
            row["source"] = self.default_source
        if row.get("added") is None:
            row["added"] = self.ctx.added
        if not row.get("id"):
            row["id"] = stable_id(row["source"], row.get("url"), text)
        key = hashlib.blake2b(row["id"].encode("utf-8"), digest_size=8).digest()
        if key in self._seen:
            self.ctx.reject("duplicate_id", f"id {row['id']!r} seen before in this file", where, sample)
            return False
        self._seen.add(key)
        if row.get("html") is not None and not options.keep_html:  # a dataset's own html field: not kept
            self.ctx.counters["html_dropped"] += 1  # but said (--keep-html keeps it)
        return True


def rows_to_batch(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Build a record batch of `schema` from row dicts (missing keys are nulls)."""
    arrays = [pa.array([row.get(f.name) for row in rows], type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def batched(rows: Iterable[dict[str, Any]], ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    """Group row dicts into conformed batches of `read_schema(ctx.options)`: at most `batch_size` rows, and
    cut earlier when their text and html reach MAX_BATCH_CHARS."""
    schema = read_schema(ctx.options)
    pending: list[dict[str, Any]] = []
    chars = 0
    for row in rows:
        pending.append(row)
        chars += len(row.get("text") or "") + len(row.get("html") or "")
        if len(pending) >= ctx.options.batch_size or chars >= MAX_BATCH_CHARS:
            yield from _conformed(pending, schema, ctx)
            pending, chars = [], 0
    if pending:
        yield from _conformed(pending, schema, ctx)


_ARROW_REFUSALS = (pa.ArrowException, ValueError, TypeError, OverflowError, UnicodeError)


def _conformed(rows: list[dict[str, Any]], schema: pa.Schema, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    try:
        yield _conform_rows(rows, schema)
        return
    except _ARROW_REFUSALS:
        pass
    # Last resort: the checks let through a value Arrow refuses. Keep every row Arrow takes.
    good = []
    for row in rows:
        try:
            _conform_rows([row], schema)
        except _ARROW_REFUSALS as exc:
            sample = str(row.get("text") or "")[:REJECT_SAMPLE_BYTES]
            ctx.reject("invalid_value", f"{type(exc).__name__}: {exc}", f"id {row.get('id')!r}", sample)
            continue
        good.append(row)
    if good:
        yield _conform_rows(good, schema)


def _conform_rows(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    # conform() orders and types the columns; the schema is reapplied for its non-null flags.
    batch = conform(rows_to_batch(rows, schema))
    return pa.RecordBatch.from_arrays(batch.columns, schema=schema)
