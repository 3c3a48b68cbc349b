"""Where a WARC record starts and ends when its header cannot be trusted: record starts in a stream, damaged
headers in a gap, and a Content-Length too long that took the following records into a record's block
(corpus.warc reads with these)."""

from __future__ import annotations

import io
import re

from fastwarc.warc import ArchiveIterator, WarcRecord

# Bytes that are (the start of) a WARC record header, damaged or not.
_WARC_HEADER = re.compile(rb"^WARC/|^WARC-(?:Type|Record-ID|Date|Target-URI|Block-Digest): ", re.MULTILINE)
# Lines of which every record header has exactly one, whichever of them damage spared.
_ONCE_PER_HEADER = (
    re.compile(rb"^WAR./\d", re.MULTILINE),
    re.compile(rb"^WARC-Record-ID\b", re.MULTILINE),
    re.compile(rb"^WARC-Type\b", re.MULTILINE),
)
# A record's end (CRLF CRLF) followed by the next record's version line.
_RECORD_BOUNDARY = b"\r\n\r\nWARC/"
_VERSION_LINE = re.compile(rb"WARC/\d\.\d+\r?\n")
# The first bytes of a version line, cut before its end.
_VERSION_LINE_START = re.compile(rb"W(?:A(?:R(?:C(?:/(?:\d+(?:\.\d*)?\r?)?)?)?)?)?")
# Bytes between records that may be left over without meaning a record was lost (sloppy trailing CRLFs).
GAP_TOLERANCE_BYTES = 8


def starts_warc_record(data: bytes) -> bool:
    """True where `data` begins a WARC record (a resynchronised stream must start so)."""
    return data.lstrip(b"\r\n").startswith(b"WARC/")


def looks_like_warc_header(data: bytes) -> bool:
    """True where the first 2 KiB of `data` hold WARC header fields: a damaged record, not stray bytes."""
    return _WARC_HEADER.search(data[:2048]) is not None


def damaged_headers(gap: bytes) -> int:
    """How many record headers `gap` (bytes between two parsed records) holds, at least 1: each header has
    one version line, one WARC-Record-ID and one WARC-Type, and damage spares at least one of them."""
    return max(1, *(len(pattern.findall(gap)) for pattern in _ONCE_PER_HEADER))


def header_bytes(record: WarcRecord) -> bytes:
    """The record's WARC header as FastWARC writes it: its length is where the block starts."""
    header = io.BytesIO()
    record.headers.write(header)
    return header.getvalue()


def content_length(record: WarcRecord) -> int | None:
    """The record's Content-Length, or None where it is missing or not a non-negative integer."""
    value = (record.headers.get("Content-Length") or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def swallowed_from(block: bytes) -> tuple[int, bool] | None:
    """Where `block` (a record's payload, read to its Content-Length) really ends, when its Content-Length
    was too long and took the following records in: (the offset of the CRLF CRLF after which whole WARC
    records run on, one after another, to the end of `block`; whether the last of them is cut in its header).
    None for a normal block, and for a payload that merely quotes WARC records (they do not run to its end)."""
    if block.startswith(b"WARC/"):  # the payload is WARC data itself (a .warc served over HTTP)
        return None
    at = block.find(_RECORD_BOUNDARY)
    while at >= 0:  # at 0: the record's own payload is empty
        if _VERSION_LINE.match(block, at + 4):
            header_cut = _records_run_to_end(block[at + 4 :])
            if header_cut is not None:
                return at, header_cut
        at = block.find(_RECORD_BOUNDARY, at + 1)
    return None


def header_begun_at_end(block: bytes) -> int | None:
    """The offset of the CRLF CRLF after which `block` (a payload read to its Content-Length) ends in the
    first bytes of a WARC record's header, with no blank line after them: what a Content-Length too long by
    less than the next record's header leaves. None where the block does not end so. Only a sign (a page
    may end quoting a header): the reader cuts the block there only where the bytes after it go on with
    that header instead of starting the next record."""
    at = block.rfind(b"\r\n\r\n")
    tail = block[at + 4 :] if at >= 0 else b""
    if not tail or not (tail.startswith(b"WARC/") or b"WARC/".startswith(tail)) or b"\n\n" in tail:
        return None
    return at


def header_cut(data: bytes, start: int) -> bool:
    """True where the record header starting at `start` runs to the end of `data` (no blank line ends it)."""
    return b"\r\n\r\n" not in data[start:] and b"\n\n" not in data[start:]


def _records_run_to_end(data: bytes) -> bool | None:
    """Whether `data` is WARC records back to back from its first byte to its last (give or take trailing
    CRLFs; the last record may be cut short): None where it is not, else whether the last one is cut in its
    header."""
    expected = 0
    try:
        for record in ArchiveIterator(
            io.BytesIO(data), parse_http=False, quirks_mode=True, auto_decode="none", stream_detect=False
        ):
            length = content_length(record)
            between = data[expected : record.stream_pos]
            # records may be parted by a few stray CRLFs, as the reader allows between any two records
            if record.stream_pos < expected or len(between) > GAP_TOLERANCE_BYTES or between.strip(b"\r\n"):
                return None
            if length is None:
                return True if expected > 0 and header_cut(data, record.stream_pos) else None
            expected = record.stream_pos + len(header_bytes(record)) + length + 4
    except BaseException as exc:  # FastWARC panics are BaseExceptions: such bytes are not records
        if isinstance(exc, GeneratorExit | KeyboardInterrupt | SystemExit):
            raise
        return None
    rest = data[expected:].lstrip(b"\r\n") if expected > 0 else b"-"
    if not rest:
        return False
    # the next record's header cut in its first bytes, within its version line ("W" ... "WARC/1.0\r")
    return True if _VERSION_LINE_START.fullmatch(rest) else None
