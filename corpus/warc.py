"""WARC (response records) and WET (conversion records) to document rows, with FastWARC.

Design choices, each tested in tests/corpus/test_warc.py and test_warc_damage.py:
- Decompression is done here (corpus.decompress), not by FastWARC: FastWARC stops silently at a truncated
  gzip member and cannot go past a bad one. `RecoveringStream` reads member by member and hands the records
  on in segments; a segment ends where a member is bad, and reading resumes at the next member that decodes
  and starts with "WARC/". A record that damage cuts, or that lies in a member failing its CRC, is one reject
  under the damage's reason ("corrupt_gzip", "truncated_gzip", ...); the bytes skipped are a skipped span
  with their file offset; every intact record around it is kept. Record offsets (`stream_pos`, in rejects as
  `path:offset N`) are offsets in the *decompressed* stream.
- FastWARC skips a record whose header is garbled and resynchronises at the next one without telling. We
  notice the skip as a gap between the end of one record (its header length + Content-Length + CRLFCRLF) and
  the start of the next. A gap that holds WARC header fields is a damaged record: one "corrupt_record"
  reject. Any other gap is not a record: a skipped span ("unparsed_bytes", offsets in the decompressed stream).
- A record without a numeric Content-Length has no extent: it is one "bad_warc_header" reject, and the bytes
  up to the next record are its own (not a second reject).
- A Content-Length too long takes the next records into the block: they are found (corpus.warc_extent),
  even where the block ends inside the first one's header, and FastWARC restarts at the first one, so a
  record the block cut short is read whole ("content_length_overshoot"). Only where those records are more
  than the stream keeps (4 MiB) are they read from the block itself, and one it cut is a reject. The block
  of a record not read as a document (a request, a response over the size cap, ...) is looked through for
  records as well (corpus.warc_resync). A gap is one "corrupt_record" per damaged header in it.
- A record FastWARC cannot parse (a header over 1 MiB) is one "corrupt_record"; reading restarts at the next
  line that starts a record.
- HTTP Content-Encoding is undone here (gzip, deflate, br), because ClueWeb09 keeps `Content-Encoding: gzip`
  on payloads it stored decoded; the mismatch is counted ("content_encoding_mismatch") and the bytes kept. A
  compressed payload that is cut short, or corrupt part way, keeps what decodes before the defect (counted as
  "content_encoding_truncated" / "content_encoding_corrupt"). Decoding stops as soon as the output passes the size cap
  ("too_large"): a few KB of gzip can claim gigabytes.
- A malformed WARC-Date (ClueWeb09's `2008-10-294T05:21:46-0700`) keeps the record: `crawl_date` falls back to
  the HTTP `Date` response header (when the server answered, i.e. the fetch time; counted as
  "crawl_date_from_http_date"), else null. Both cases count "bad_warc_date".
- A Last-Modified that does not parse as an RFC 7231 date gives a null `last_modified` ("bad_last_modified").
- request, metadata, resource, warcinfo and continuation records are not documents: they are counted as
  `skipped_<type>` only. revisit records and non-2xx responses are rejects ("revisit", "http_status"), and
  so is a record with no WARC-Type ("bad_warc_header").
- Each record is processed under a last-resort guard: anything it raises is one "reader_error" reject.
"""

from __future__ import annotations

import io
from collections.abc import Generator, Iterator
from datetime import datetime
from typing import Any

from fastwarc.warc import ArchiveIterator, WarcRecord

from corpus.decompress import RecoveringStream, open_recovering
from corpus.html_text import (
    NESTED_TOO_DEEP,
    ContentDecodingError,
    DecodedTooLarge,
    dechunk,
    declared_language,
    decode_content_encoding,
    decode_payload,
    looks_binary,
    read_page,
)
from corpus.reader_base import CC_DUMP_RE, DocumentChecks, ReadContext, base_source, dump_from_path, utc
from corpus.stats import REJECT_SAMPLE_BYTES
from corpus.warc_extent import (
    GAP_TOLERANCE_BYTES,
    content_length,
    damaged_headers,
    header_bytes,
    header_cut,
    looks_like_warc_header,
    starts_warc_record,
    swallowed_from,
)
from corpus.warc_fields import parse_http_date, record_id, unwrap_uri, warcinfo_dump
from corpus.warc_resync import (
    MAX_HEADER_BYTES,
    header_begun_after,
    records_inside_block,
    reject_withheld,
    resync_after_failure,
)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/xml+xhtml"})
PLAIN_TYPES = frozenset({"text/plain"})
# Above this share of undecodable characters the text is not the page's text any more.
MAX_REPLACED_FRACTION = 0.1
# Record types that are not documents (FastWARC's record types are not hashable: compared by name).
_SKIPPED_TYPES = frozenset({"request", "metadata", "resource", "warcinfo", "continuation"})


class WarcRowReader:
    """Turns the records of one WARC or WET file into document rows; see the module docstring."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.dump = dump_from_path(ctx.path)
        self.checks = DocumentChecks(ctx, base_source(ctx.path), markup_read=True)
        self.stream: RecoveringStream | None = None
        # (bytes, where) of records that a preceding record's too-long Content-Length took into its block
        self.swallowed: list[tuple[bytes, str]] = []
        # that block ended inside a record's header: the rest of that record is the next gap, one reject
        self.header_cut_by_block = False
        self.block_read = (
            False  # the record's whole block was read (else its bytes are looked at for records)
        )
        # where the records a read block took in start, for FastWARC to restart at (the bytes still kept)
        self.restart_at: int | None = None
        # reading records from a block's own bytes (`_swallowed_rows`): their offsets are not the stream's
        self.reading_swallowed = False

    def rows(self) -> Iterator[dict[str, Any]]:
        ctx = self.ctx
        try:
            stream = open_recovering(
                ctx.file_name, ctx.skip_span, start_check=starts_warc_record, opener=ctx.open
            )
        except OSError as exc:
            ctx.unreadable(exc)
            return
        self.stream = stream
        with stream:
            while True:
                yield from self._segment_rows(stream)
                if stream.damage is not None and stream.damage.withheld:
                    reject_withheld(self.ctx, stream.damage, _SKIPPED_TYPES)
                if not stream.next_segment():
                    break

    def _segment_rows(self, stream: RecoveringStream) -> Iterator[dict[str, Any]]:
        """The rows of one segment (a run of the decompressed stream with no damage inside). FastWARC is
        restarted where a record's block held the next records, and after a record it could not parse."""
        resume: int | None = stream.segment_start
        while resume is not None:
            resume = yield from self._rows_from(stream, resume)

    def _rows_from(
        self, stream: RecoveringStream, expected: int | None
    ) -> Generator[dict[str, Any], None, int | None]:
        """Rows from decompressed offset `expected` on; returns where to restart FastWARC, or None at the
        segment's end."""
        # FastWARC takes the stream's tell() as its start: record offsets count from the file's first byte.
        try:
            records = iter(
                ArchiveIterator(
                    stream,
                    parse_http=False,
                    quirks_mode=True,
                    auto_decode="none",
                    stream_detect=False,
                    max_header_len=MAX_HEADER_BYTES,
                )
            )
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    break
                start = record.stream_pos
                self._check_gap(stream, expected, start)
                header = self._header_sample(record)
                length = content_length(record)
                expected = None if length is None else start + len(header) + length + 4
                self.block_read, self.restart_at = False, None
                row = self._guarded_row(record, start, header, length)
                if row is not None:
                    yield row
                if self.restart_at is not None:  # the records its block took in are read from the stream
                    stream.rewind(self.restart_at)
                    return self.restart_at
                yield from self._swallowed_rows()
                if length is not None and not self.block_read:  # FastWARC would skip the block unseen
                    inside = records_inside_block(stream, start + len(header), start + len(header) + length)
                    if inside is not None:
                        self.ctx.counters["content_length_overshoot"] += inside[1]
                        stream.rewind(inside[0])
                        return inside[0]
            self._check_gap(stream, expected, stream.position, at_end=True)
            return None
        except BaseException as exc:  # FastWARC failed (a Rust panic is a BaseException): that record is lost
            if isinstance(exc, GeneratorExit | KeyboardInterrupt | SystemExit):
                raise
            return resync_after_failure(stream, self.ctx, expected, exc)

    def _guarded_row(
        self, record: WarcRecord, start: int, header: bytes, length: int | None
    ) -> dict[str, Any] | None:
        where = f"offset {start}"
        rtype = str(record.record_type)
        try:
            if length is None:
                self._bad_length(record, rtype, start, header, where)
                return None
            if length <= self.ctx.options.max_doc_bytes:
                assert self.stream is not None
                damage = self.stream.settle(start + len(header) + length)
                if damage is not None:
                    if rtype not in _SKIPPED_TYPES:
                        self.ctx.reject(damage.reason, f"record cut: {damage.detail}", where, header)
                    return None
            return self._row(record, rtype, where)
        except BaseException as exc:  # the last-resort guard: one record, never the task (FastWARC panics
            if isinstance(exc, GeneratorExit | KeyboardInterrupt | SystemExit):  # are BaseExceptions)
                raise
            self.ctx.reader_error(exc, where, header)
            return None

    def _bad_length(self, record: WarcRecord, rtype: str, start: int, header: bytes, where: str) -> None:
        """A record with no numeric Content-Length: one reject (damage's reason if its header was cut)."""
        assert self.stream is not None
        damage = self.stream.settle(start + len(header) + 1)
        if rtype in _SKIPPED_TYPES:
            self.ctx.counters[f"skipped_{rtype}"] += 1
        elif damage is not None:
            self.ctx.reject(damage.reason, f"record header cut: {damage.detail}", where, header)
        else:
            value = record.headers.get("Content-Length")
            detail = (
                "no Content-Length" if value is None else f"Content-Length {value[:40]!r} is not a number"
            )
            self.ctx.reject("bad_warc_header", detail, where, header)

    def _check_gap(self, stream: RecoveringStream, start: int | None, end: int, at_end: bool = False) -> None:
        if self.header_cut_by_block:  # counted here once, whether its rest is a gap or past the end of file
            self.header_cut_by_block = False
            sample = (stream.recent(start, end) if start is not None and end > start else None) or b""
            self.ctx.reject("corrupt_record", "header cut by a Content-Length", f"offset {start}", sample)
            return
        if start is None or end - start <= 0:
            return
        skipped = stream.recent(start, min(end, start + REJECT_SAMPLE_BYTES))
        if skipped is not None and not skipped.strip():
            return
        if skipped is None and end - start <= GAP_TOLERANCE_BYTES:
            return
        if skipped is not None and len(skipped.strip()) <= GAP_TOLERANCE_BYTES and end - start <= 64:
            return
        where = f"offset {start}"
        record_like = skipped is not None and looks_like_warc_header(skipped)
        damage = stream.damage if at_end else None
        if damage is not None:
            # Bytes of the member the damage cut: a record if they start one, else part of the damage's span.
            if record_like:
                self.ctx.reject(damage.reason, f"record cut: {damage.detail}", where, skipped or b"")
            return
        if record_like:
            whole = stream.recent(start, end) or skipped or b""
            headers = damaged_headers(whole)
            detail = f"{end - start} bytes of {headers} WARC record(s) that do not parse"
            for _ in range(headers):  # each lost record counted once
                self.ctx.reject("corrupt_record", detail, where, skipped or b"")
        else:
            what = "trailing bytes that are no WARC record" if at_end else "bytes that are no WARC record"
            self.ctx.skip(
                "unparsed_bytes", f"{end - start} {what}", start, end - start, "stream", skipped or b""
            )

    def _row(self, record: WarcRecord, rtype: str, where: str) -> dict[str, Any] | None:
        ctx = self.ctx
        if rtype == "warcinfo":
            dump = warcinfo_dump(record.reader.read(1 << 20))
            if dump:
                self.dump = dump
        if rtype in _SKIPPED_TYPES:
            ctx.counters[f"skipped_{rtype}"] += 1
            return None
        if rtype == "revisit":
            ctx.reject("revisit", "revisit record (no payload)", where, self._header_sample(record))
            return None
        if rtype == "response":
            return self._response_row(record, where)
        if rtype == "conversion":
            return self._conversion_row(record, where)
        if record.headers.get("WARC-Type") is None:  # a damaged header (the field lost, or its colon)
            ctx.reject("bad_warc_header", "no WARC-Type", where, self._header_sample(record))
            return None
        ctx.counters[f"skipped_{rtype}"] += 1  # a type of a later WARC version: not a document
        return None

    @staticmethod
    def _header_sample(record: WarcRecord) -> bytes:
        return header_bytes(record)

    def _base_row(self, record: WarcRecord) -> dict[str, Any]:
        crawl_date = record.record_date
        if crawl_date is None and record.headers.get("WARC-Date"):
            self.ctx.counters["bad_warc_date"] += 1
        return {
            "id": record_id(record),
            "url": unwrap_uri(record.headers.get("WARC-Target-URI")),
            "dump": self.dump,
            # Only Common Crawl dumps are "cc/..."; other crawls (ClueWeb's isPartOf) take the file's name.
            "source": f"cc/{self.dump}" if self.dump and CC_DUMP_RE.fullmatch(self.dump) else None,
            "crawl_date": utc(crawl_date) if crawl_date is not None else None,
            "added": self.ctx.added,  # known before the page hook (dating bounds a page by it, lacking a crawl)
        }

    def _read_payload(self, record: WarcRecord, where: str, header: bytes) -> bytes | None:
        """The rest of the record's block, or None after rejecting it (too large or truncated); cut where
        records that a too-long Content-Length took in start. Those are read next: from the stream, where it
        still keeps them (FastWARC restarts there, so a record the block cut short is read whole), else
        from the block (`_swallowed_rows`)."""
        limit = self.ctx.options.max_doc_bytes
        promised = record.content_length
        if promised > limit:
            sample = header + record.reader.read(REJECT_SAMPLE_BYTES)
            self.ctx.reject("too_large", f"payload of {promised} bytes over {limit}", where, sample)
            return None
        body = record.reader.read(promised)
        self.block_read = True
        # The payload's first byte in the stream: the block's end less what FastWARC has left of it (the
        # HTTP header, where parsed, came before).
        body_start = record.stream_pos + len(header) + (content_length(record) or 0) - promised
        warc_payload = "warc" in (record.http_content_type or "").lower()  # WARC data served over HTTP
        found = None if warc_payload else swallowed_from(body)
        if found is None and not warc_payload and len(body) == promised and not self.reading_swallowed:
            assert self.stream is not None
            found = header_begun_after(self.stream, body, body_start)
        if found is not None:
            end, cut = found
            self.ctx.counters["content_length_overshoot"] += 1
            assert self.stream is not None
            restart = body_start + end + 4
            if not self.reading_swallowed and self.stream.recent(restart, self.stream.position) is not None:
                self.restart_at = restart
            else:
                self.header_cut_by_block = cut
                self.swallowed.append((body[end + 4 :], where))
            return body[:end]
        if len(body) < promised:
            self.ctx.reject(
                "truncated_record", f"payload has {len(body)} of {promised} bytes", where, header + body
            )
            return None
        return body

    def _swallowed_rows(self) -> Iterator[dict[str, Any]]:
        """Rows of the records a too-long Content-Length took in, under the same guard and checks as any."""
        self.reading_swallowed = bool(self.swallowed)
        try:
            yield from self._rows_of_swallowed()
        finally:
            self.reading_swallowed = False

    def _rows_of_swallowed(self) -> Iterator[dict[str, Any]]:
        while self.swallowed:
            data, outer = self.swallowed.pop(0)
            try:
                for record in ArchiveIterator(
                    io.BytesIO(data),
                    parse_http=False,
                    quirks_mode=True,
                    auto_decode="none",
                    stream_detect=False,
                ):
                    where = f"{outer}, record at byte {record.stream_pos} past its Content-Length"
                    rtype = str(record.record_type)
                    try:
                        if content_length(record) is None:
                            if header_cut(data, record.stream_pos):  # counted with the gap it leaves
                                continue
                            self.ctx.reject(
                                "bad_warc_header", "no Content-Length", where, self._header_sample(record)
                            )
                            continue
                        row = self._row(record, rtype, where)
                    except BaseException as exc:  # the last-resort guard, as in _guarded_row
                        if isinstance(exc, GeneratorExit | KeyboardInterrupt | SystemExit):
                            raise
                        self.ctx.reader_error(exc, where, self._header_sample(record))
                        continue
                    if row is not None:
                        yield row
            except BaseException as exc:
                # FastWARC failed on the bytes (its panics are BaseExceptions): said once, not lost silently
                if isinstance(exc, GeneratorExit | KeyboardInterrupt | SystemExit):
                    raise
                self.ctx.reader_error(exc, outer, data[:REJECT_SAMPLE_BYTES])

    def _response_row(self, record: WarcRecord, where: str) -> dict[str, Any] | None:
        ctx = self.ctx
        header = self._header_sample(record)
        row = self._base_row(record)
        try:
            # quirks_mode: ClueWeb09 and other old crawls end HTTP header lines with a bare LF.
            record.parse_http(auto_decode="none", quirks_mode=True)
        except (OSError, ValueError) as exc:
            ctx.reject("bad_http_header", f"HTTP header does not parse: {exc}", where, header)
            return None
        http = record.http_headers
        status = http.status_code if http is not None else None
        if not status or status < 100:  # none, or a line cut short ("HTTP/1.1 2": a Content-Length too short)
            sample = header + record.reader.read(REJECT_SAMPLE_BYTES)
            ctx.reject("bad_http_header", f"no whole HTTP status line ({status or 'none'})", where, sample)
            return None
        if not 200 <= status < 300:
            ctx.reject("http_status", f"HTTP status {status}", where, header)
            return None
        if row["crawl_date"] is None:
            row["crawl_date"] = parse_http_date(http.get("Date"))
            if row["crawl_date"] is not None:
                ctx.counters["crawl_date_from_http_date"] += 1
        body = self._read_payload(record, where, header)
        if body is None:
            return None
        if "chunked" in (http.get("Transfer-Encoding") or "").lower():
            dechunked = dechunk(body)  # b"" is a valid (empty) body, not a failure
            if dechunked is not None:
                body = dechunked
        try:
            body, mismatch, defect = decode_content_encoding(
                body, http.get("Content-Encoding"), ctx.options.max_doc_bytes
            )
        except DecodedTooLarge as exc:
            ctx.reject("too_large", str(exc), where, header + body[:REJECT_SAMPLE_BYTES])
            return None
        except ContentDecodingError as exc:
            ctx.reject("bad_content_encoding", str(exc), where, header + body[:REJECT_SAMPLE_BYTES])
            return None
        if mismatch:
            ctx.counters["content_encoding_mismatch"] += 1
        if defect is not None:
            ctx.counters[f"content_encoding_{defect}"] += 1
        if len(body) > ctx.options.max_doc_bytes:
            ctx.reject(
                "too_large", f"decoded payload of {len(body)} bytes", where, body[:REJECT_SAMPLE_BYTES]
            )
            return None
        content_type = (record.http_content_type or "").strip().lower()
        if looks_binary(body) or (content_type and content_type not in HTML_TYPES | PLAIN_TYPES):
            ctx.reject("binary_payload", f"content type {content_type or 'unknown'!r}", where, header)
            return None
        is_html = content_type in HTML_TYPES or (not content_type and body.lstrip()[:1] == b"<")
        decoded = decode_payload(body, record.http_charset, is_html=is_html)
        if decoded.replaced:
            if decoded.replaced > MAX_REPLACED_FRACTION * max(1, len(decoded.text)):
                detail = f"{decoded.replaced} of {len(decoded.text)} chars undecodable as {decoded.encoding}"
                ctx.reject("undecodable_text", detail, where, body[:REJECT_SAMPLE_BYTES])
                return None
            ctx.counters["decoded_with_replacement"] += 1
        ctx.counters[f"charset_from_{decoded.how}"] += 1
        if is_html:
            try:
                tree, text, note = read_page(decoded.text, body)
            except Exception as exc:  # resiliparse raises its own parser exceptions for broken markup
                ctx.reject(
                    "html_parse_error", f"{type(exc).__name__}: {exc}", where, body[:REJECT_SAMPLE_BYTES]
                )
                return None
            if note is not None:
                ctx.counters[note] += 1
            row["declared_lang"] = declared_language(tree, http.get("Content-Language"))
            if ctx.options.page_hook is not None and note != NESTED_TOO_DEEP:
                try:  # the one parsed tree serves the hook too (e.g. dating's markup dates)
                    ctx.options.page_hook(tree, decoded.text, row)
                except Exception:  # the page keeps its text; the hook's columns stay null
                    ctx.counters["page_hook_error"] += 1
            if ctx.options.keep_html:
                row["html"] = decoded.text
        else:
            text = decoded.text
        row["text"] = text
        row["last_modified"] = self._last_modified(record)
        if not self.checks.accept(row, where, header + body[:REJECT_SAMPLE_BYTES]):
            return None
        return row

    def _last_modified(self, record: WarcRecord) -> datetime | None:
        raw = record.http_headers.get("Last-Modified") if record.http_headers is not None else None
        if not raw:
            return None
        parsed = parse_http_date(raw)
        if parsed is None:
            self.ctx.counters["bad_last_modified"] += 1
        return parsed

    def _conversion_row(self, record: WarcRecord, where: str) -> dict[str, Any] | None:
        ctx = self.ctx
        header = self._header_sample(record)
        row = self._base_row(record)
        body = self._read_payload(record, where, header)
        if body is None:
            return None
        text = body.decode("utf-8", errors="replace")
        replaced = text.count("\ufffd") - body.count("\ufffd".encode())
        if replaced > MAX_REPLACED_FRACTION * max(1, len(text)):
            ctx.reject("undecodable_text", f"{replaced} of {len(text)} chars not UTF-8", where, header + body)
            return None
        if replaced:
            ctx.counters["decoded_with_replacement"] += 1
        languages = record.headers.get("WARC-Identified-Content-Language")
        row["cc_lang"] = languages.split(",")[0].strip() or None if languages else None
        row["text"] = text
        if not self.checks.accept(row, where, header + body[:REJECT_SAMPLE_BYTES]):
            return None
        return row


def iter_warc_rows(ctx: ReadContext) -> Iterator[dict[str, Any]]:
    """Document rows of a WARC or WET file (rejects and counters go to `ctx`)."""
    return WarcRowReader(ctx).rows()
