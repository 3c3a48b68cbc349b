"""JSON Lines (Dolma or plain `{"text": ...}`, or Wikimedia's content history) to document rows.

A Dolma line is `{"id", "text", "source", "added", "created", "metadata": {...}}`. Any key, at the top level
or inside `metadata`, that names a record column (url, dump, crawl_date, lang, ...) or one of the reader's
extra columns becomes that column again (top-level keys win over metadata keys); every other key is kept, as a
JSON object, in the `metadata_json` column, which the Dolma writer nests back under `metadata` (so a written
file reads back to the same records); `metadata` itself must be an object ("bad_type" otherwise). A
`metadata_json` key that holds a JSON object (a record read back) gives its keys, not one more level.
`options.column_map` (column -> input key) renames input keys first, all at once; an input key that a renamed
key takes the name of is kept in `metadata_json` under "column_map_displaced" (`{"id": ...}`; a record that
has that key itself is then a "bad_value" reject).

A line with `revision_content_slots` and `revision_dt` is a row of Wikimedia's content history
(`mediawiki_content_history_v1`, one revision a line) and is read as the XML export reader reads that
revision (corpus/mediawiki_history.py).

Timestamps are ISO 8601 strings ("...Z" or an offset; a bare date is midnight UTC). A line's own `added` is
kept (it records when the document was first ingested); lines without one get `options.added`. A time
column whose value is no time (`2023-02-30`, an epoch integer, `yesterday`) is null, its value kept as given
in `metadata_json` under "times_not_read", and counted (`time_not_read:<column>`): the document stays. A
Dolma `metadata` key that a top-level key outranks with another value is kept under "metadata_outranked".

Rejects, each with the line number: "bad_json" (not JSON, or not an object), "empty_text" (no text),
"bad_type" (a field of the wrong type), "bad_value" (an integer out of its column's range), "too_large" (a
line over twice `max_doc_bytes`, skipped without reading it whole), and a line cut by damage to the compressed stream ("truncated_gzip" where the file ends inside it,
"corrupt_gzip" where a bad member cuts it; likewise bz2 and zstd). A file whose content is compressed again
(a .gz inside a .gz) is one skipped span, "compressed_twice", not a reject for each line of its bytes.

Damage (corpus.decompress): the lines before it are kept, the line it cuts is one reject, and reading goes on
at the next good member. Line numbers after damage count the lines read, not those the file had. A resumed
stream may start inside a line whose beginning was lost: such a fragment (the first line after the damage,
when it is not a JSON object) is not a record, and is reported as a skipped span ("resync_fragment", at its
offset in the decompressed stream). A member whose damage zlib notices only some bytes after it hands on
what it decoded up to there, garbage included: each garbage line is a reject (usually "bad_json"), so such a
file can count more rejects than it held lines.
"""

from __future__ import annotations

import json
import math
from collections.abc import Generator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from corpus.decompress import Damage, RecoveringStream, open_recovering
from corpus.mediawiki_history import ContentHistory, RejectedRevision, is_content_history
from corpus.member_codecs import CODECS
from corpus.reader_base import (
    READER_EXTRA_COLUMNS,
    TIMES_NOT_READ,
    DocumentChecks,
    ReadContext,
    base_source,
    parse_iso_timestamp,
    utc,
)
from corpus.schema import COLUMN_NAMES, field_type
from corpus.stats import REJECT_SAMPLE_BYTES

# Columns a reader fills from the input; the later stages' columns (dating, dedup, mixers) are accepted too,
# so that a file written after those stages reads back whole.
_COLUMNS = frozenset(COLUMN_NAMES) | (frozenset(READER_EXTRA_COLUMNS) - {"metadata_json"}) | {"html"}
# The metadata_json key holding input keys that `column_map` gave a renamed key's name; kept under their own
# names they would collide with the record column (the Dolma writer would put them back as that column).
DISPLACED_KEY = "column_map_displaced"
# metadata_json keys holding, by column, a Dolma metadata value a top-level key outranks (metadata.id beside
# the record's id) and a time value that does not read as a time.
OUTRANKED_KEY = "metadata_outranked"
NOT_READ_KEY = "times_not_read"
_TIME_COLUMNS = frozenset(
    c for c in _COLUMNS if (t := field_type(c)) is not None and pa.types.is_timestamp(t)
)
# A file that is one JSON document (an array of records) is read whole, up to this size.
MAX_JSON_DOCUMENT_BYTES = 512 << 20
PEEK_BYTES = 1 << 16


class FieldError(ValueError):
    """A field of a record has the wrong type or an unparseable value; `reason` is the reject reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def coerce(column: str, value: Any) -> Any:
    """`value` as the Python value of record column `column`; raises FieldError naming the column."""
    if value is None:
        return None
    dtype = field_type(column)
    if dtype is None:
        return value
    if pa.types.is_timestamp(dtype):
        if isinstance(value, datetime):
            return utc(value)
        if isinstance(value, date):  # a Parquet date32/date64: known to the day, so midnight UTC
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        if not isinstance(value, str):
            raise FieldError("bad_type", f"{column}: expected an ISO 8601 string, got {type(value).__name__}")
        if not value.strip():  # a blank time is no time, as a null: the document stays
            return None
        parsed = parse_iso_timestamp(value)
        if parsed is None:
            raise FieldError("bad_timestamp", f"{column}: {value[:60]!r} is not an ISO 8601 timestamp")
        return parsed
    if pa.types.is_string(dtype):
        if column == "id" and isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # many datasets number their documents
        if isinstance(value, bytes):  # a Parquet string column written without its UTF-8 annotation
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                raise FieldError("bad_type", f"{column}: bytes that are not UTF-8") from None
        if not isinstance(value, str):
            raise FieldError("bad_type", f"{column}: expected a string, got {type(value).__name__}")
        return value
    if pa.types.is_boolean(dtype):
        if not isinstance(value, bool):
            raise FieldError("bad_type", f"{column}: expected a boolean, got {type(value).__name__}")
        return value
    if pa.types.is_integer(dtype):
        if isinstance(value, float) and value.is_integer():
            return int(value)  # pandas writes an integer column with a null as floats (7.0)
        if isinstance(value, float) and math.isnan(value):
            return None  # and the null as NaN
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError("bad_type", f"{column}: expected an integer, got {type(value).__name__}")
        return value
    if pa.types.is_floating(dtype):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FieldError("bad_type", f"{column}: expected a number, got {type(value).__name__}")
        return float(value)
    return value


def record_to_row(
    record: dict[str, Any], column_map: dict[str, str], nested_metadata: bool = True
) -> dict[str, Any]:
    """A parsed Dolma/plain JSON object as a row of record columns plus `metadata_json`. With
    `nested_metadata` the `metadata` key must hold an object, whose keys are read as top-level keys; without
    it `metadata` is an ordinary key (Parquet files whose `metadata` column is not a struct or map)."""
    flat: dict[str, Any] = {}
    outranked: dict[str, Any] = {}
    if nested_metadata:
        metadata = record.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise FieldError("bad_type", f"metadata: expected an object, got {type(metadata).__name__}")
        flat.update(metadata or {})
        # a metadata key a top-level key outranks with another value (Dolma's metadata.id, the source
        # dataset's own id) is no column, but it stays: in metadata_json under OUTRANKED_KEY
        outranked = {
            k: v
            for k, v in (metadata or {}).items()
            if k in _COLUMNS and k in record and k != "metadata" and record[k] != v
        }
    flat.update((k, v) for k, v in record.items() if k != "metadata" or not nested_metadata)
    flat, displaced = _renamed(flat, column_map)
    if "text" not in flat:
        raise FieldError("empty_text", "no `text` field")
    row: dict[str, Any] = {}
    rest = _own_metadata(flat)
    unread: dict[str, Any] = {}
    for key, value in flat.items():
        if key not in _COLUMNS:
            rest[key] = value
            continue
        try:
            row[key] = coerce(key, value)
        except FieldError:
            if key not in _TIME_COLUMNS:
                raise
            unread[key] = value  # the document stays, its value kept as given (DocumentChecks counts it)
    if unread:
        row[TIMES_NOT_READ] = list(unread)
    # kept under keys of their own: under the column's name, the Dolma writer would put them back as the
    # column (a stale metadata.url over the real url)
    _keep_under(rest, OUTRANKED_KEY, outranked)
    _keep_under(rest, NOT_READ_KEY, unread)
    if displaced:
        if DISPLACED_KEY in rest:
            raise FieldError("bad_value", f"{DISPLACED_KEY}: an input key, but column_map displaced keys too")
        rest[DISPLACED_KEY] = displaced
    if rest:
        # NaN and Infinity (which Python's json reads) are no JSON: null, as the writers write such floats
        finite = finite_json(rest)
        row["metadata_json"] = json.dumps(
            finite, ensure_ascii=False, sort_keys=True, default=_json_default, allow_nan=False
        )
    return row


def _keep_under(rest: dict[str, Any], name: str, values: dict[str, Any]) -> None:
    """`values` (column -> value) into `rest[name]`, merged with an object already there (a record read
    back); FieldError `bad_value` where the input holds something else under that name."""
    if not values:
        return
    held = rest.get(name)
    if held is not None and not isinstance(held, dict):
        raise FieldError("bad_value", f"{name}: an input key that is no object, but values are kept under it")
    rest[name] = {**(held or {}), **values}


def _own_metadata(flat: dict[str, Any]) -> dict[str, Any]:
    """The keys of a `metadata_json` that `flat` carries as chronomix writes it (a record read back: a JSON
    object, or null), taken out of `flat`: wrapped as one more key, it nested a level deeper at each ingest.
    Any other value of that name stays an ordinary key."""
    if "metadata_json" not in flat:
        return {}
    own = flat["metadata_json"]
    if own is None:
        del flat["metadata_json"]
        return {}
    if isinstance(own, str):
        try:
            parsed = json.loads(own)
        except ValueError:
            return {}
        if isinstance(parsed, dict):
            del flat["metadata_json"]
            return parsed
    return {}


def finite_json(value: Any) -> Any:
    """`value` with every float that is NaN or infinite, however deeply nested, as None: JSON has neither
    (Python's json writes them as `NaN`, which strict readers refuse)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(item) for item in value]
    return value


def _renamed(flat: dict[str, Any], column_map: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`flat` with `column_map` applied, and the input keys that a renamed key took the name of."""
    # All at once, from the input as it was: {"url": "link", "id": "url"} gives `id` the input's `url`,
    # not the `link` value just renamed to `url`.
    if not column_map:
        return flat, {}
    renamed = {column: flat[key] for column, key in column_map.items() if key in flat}
    sources = set(column_map.values())
    rest = {key: value for key, value in flat.items() if key not in sources}
    displaced = {column: rest.pop(column) for column in renamed if column in rest}
    rest.update(renamed)
    return rest, displaced


def _json_default(value: Any) -> Any:
    """Values JSON has no type for (timestamps of Parquet extra columns, bytes) as strings."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def iter_jsonl_rows(ctx: ReadContext) -> Iterator[dict[str, Any]]:
    """Document rows of a JSON Lines file, plain or gzip/bz2/zstd-compressed (rejects go to `ctx`)."""
    checks = DocumentChecks(ctx, base_source(ctx.path))
    column_map = dict(ctx.options.column_map)
    history = ContentHistory(ctx)
    limit = 2 * ctx.options.max_doc_bytes
    line_no = 0
    resumed = False
    try:
        stream = open_recovering(ctx.file_name, ctx.skip_span, opener=ctx.open)
    except OSError as exc:
        ctx.unreadable(exc)
        return
    with stream:
        head = stream.read(16)
        stream.rewind(0)
        inner = next((name for name, codec in CODECS.items() if codec.header.match(head)), None)
        if inner is not None:  # a .gz inside a .gz: its bytes read as lines gave hundreds of bad_json
            ctx.skip("compressed_twice", f"its content is {inner}-compressed again", 0, ctx.size)
            return
        if _is_json_document(stream) and not (yield from _document_rows(ctx, stream, checks, column_map)):
            return
        while True:
            first, cut = True, False
            # Lines are read as bytes: one line with bad UTF-8 is one reject, not the end of the file.
            while line := stream.readline(limit):
                line_no += 1
                cut = not line.endswith(b"\n")
                where = f"line {line_no}"
                start = stream.position - len(line)
                if len(line) >= limit and not line.endswith(b"\n"):
                    _skip_long_line(stream, limit)
                    ctx.reject("too_large", f"line over {limit} bytes", where, line[:REJECT_SAMPLE_BYTES])
                elif not line.endswith(b"\n") and stream.damage is not None and line.strip():
                    damage = stream.damage
                    ctx.reject(damage.reason, f"line cut: {damage.detail}", where, line[:REJECT_SAMPLE_BYTES])
                elif resumed and first and line.strip() and not _is_object(line):
                    ctx.skip(
                        "resync_fragment", "rest of a line cut by damage", start, len(line), "stream", line
                    )
                    line_no -= 1
                elif line.strip():
                    try:
                        for row in _line_rows(ctx, line, line_no, column_map, history):
                            if checks.accept(row, where, line[:REJECT_SAMPLE_BYTES]):
                                yield row
                    except Exception as exc:  # the last-resort guard: one line, never the task
                        ctx.reader_error(exc, where, line[:REJECT_SAMPLE_BYTES])
                first = False
            if stream.damage is not None and stream.damage.withheld:
                line_no = _reject_withheld(ctx, stream.damage, cut, line_no)
            if not stream.next_segment():
                break
            resumed = True
            history.end_page()


def _is_json_document(stream: RecoveringStream) -> bool:
    """Whether the file is one JSON document (an array, or an object written over several lines), not JSON
    Lines: its first non-blank line is "[..." or a lone "{". The stream is rewound to its start."""
    line = b""
    while (line := stream.readline(PEEK_BYTES)) and not line.strip():
        pass
    stream.rewind(stream.segment_start)
    head = line.strip()
    return head.startswith(b"[") or head == b"{"


def _document_rows(
    ctx: ReadContext, stream: RecoveringStream, checks: DocumentChecks, column_map: dict[str, str]
) -> Generator[dict[str, Any], None, bool]:
    """The rows of a file holding one JSON document: each object of an array (`item N`), or the object
    itself, read whole (up to MAX_JSON_DOCUMENT_BYTES). Returns True where the file is no such document after
    all (it does not parse, damage cut it, or it holds no objects only) and the stream is rewound to be read as
    JSON Lines, a line at a time; a document too large to rewind is one skipped span (its records cannot be
    counted)."""
    data = stream.read(MAX_JSON_DOCUMENT_BYTES + 1)
    while len(data) <= MAX_JSON_DOCUMENT_BYTES and (
        more := stream.read(MAX_JSON_DOCUMENT_BYTES + 1 - len(data))
    ):
        data += more
    problem = None
    if len(data) > MAX_JSON_DOCUMENT_BYTES:
        problem = (
            f"a JSON document over {MAX_JSON_DOCUMENT_BYTES >> 20} MiB (JSON Lines are read a line at a time)"
        )
    elif stream.damage is not None:
        problem = "a JSON document the file's damage cut"
    else:
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as exc:
            problem = f"a JSON document that does not parse: {exc}"
        else:  # records: an object, or an array of objects; `[0, 0]` is a bad line, not two bad records
            items = document if isinstance(document, list) else [document]
            if not items or not all(isinstance(item, dict) for item in items):
                problem = "a JSON document that is no object and no array of objects"
    if problem is not None:
        if stream.recent(stream.segment_start, stream.position) is not None:
            stream.rewind(stream.segment_start)
            return True
        while stream.read(1 << 20) or stream.next_segment():
            pass
        ctx.skip("bad_json_document", problem, 0, stream.position, "stream", data[:REJECT_SAMPLE_BYTES])
        return False
    for i, item in enumerate(items):
        where = f"item {i}" if isinstance(document, list) else "document"
        sample = json.dumps(item, default=str)[:REJECT_SAMPLE_BYTES]
        try:
            row = record_to_row(item, column_map)
        except FieldError as exc:
            ctx.reject(exc.reason, str(exc), where, sample)
            continue
        if checks.accept(row, where, sample):
            yield row
    return False


def _reject_withheld(ctx: ReadContext, damage: Damage, cut: bool, line_no: int) -> int:
    """One reject per line of a member that failed its check (the rest of a line cut just before it was
    counted with that line). Returns the line count so far."""
    pieces = damage.withheld.split(b"\n")
    for piece in pieces[1:] if cut else pieces:
        if piece.strip():
            line_no += 1
            where = f"line {line_no} (member at byte {damage.withheld_at})"
            ctx.reject(damage.reason, damage.detail, where, piece[:REJECT_SAMPLE_BYTES])
    return line_no


def _skip_long_line(stream: RecoveringStream, limit: int) -> None:
    while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
        pass


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _line_rows(
    ctx: ReadContext, line: bytes, line_no: int, column_map: dict[str, str], history: ContentHistory
) -> list[dict[str, Any]]:
    """The rows of one line: one document, the documents of a content history row, or none (rejected)."""
    where = f"line {line_no}"
    sample = line[:REJECT_SAMPLE_BYTES]
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        ctx.reject("bad_json", f"not JSON: {exc}", where, sample)
        return []
    if not isinstance(record, dict):
        ctx.reject("bad_json", f"a JSON {type(record).__name__}, not an object", where, sample)
        return []
    try:
        if is_content_history(record):
            return history.rows(record)
        return [record_to_row(record, column_map)]
    except (FieldError, RejectedRevision) as exc:
        ctx.reject(exc.reason, str(exc), where, sample)
        return []
