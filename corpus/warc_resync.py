"""Where the WARC reader restarts FastWARC: after a record's block that held the next records unread or
read (a block that ends inside the next record's header: `header_begun_after`), and after a record FastWARC
could not parse (corpus.warc reads with these).

- A Content-Length too long on a record whose block the reader does not read (a request or metadata record,
  a revisit, a non-2xx response, a response over the size cap) took the next records in, and FastWARC would
  skip them unseen. The block's bytes are looked at for a record boundary (CRLF CRLF, then a WARC version
  line); where one is found, FastWARC restarts there. A block longer than what FastWARC has read ahead is
  read here a chunk at a time, so memory stays bounded however long the block claims to be.
- FastWARC raises on a record it cannot parse (a header over MAX_HEADER_BYTES, bytes its parser refuses),
  and its iterator is done. That record is one reject and reading restarts at the next line that starts a
  record ("WARC/" and a digit): one bad record costs only itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection

from fastwarc.warc import ArchiveIterator

from corpus.decompress import Damage, RecoveringStream
from corpus.reader_base import ReadContext
from corpus.stats import REJECT_SAMPLE_BYTES
from corpus.warc_extent import header_begun_at_end, header_bytes, looks_like_warc_header, starts_warc_record
from corpus.warc_fields import record_id

# FastWARC's own default (64 KiB) refused real headers with URLs of 70 KB; a header past this is a reject.
MAX_HEADER_BYTES = 1 << 20
SCAN_CHUNK_BYTES = 1 << 20
_BOUNDARY = re.compile(rb"\r\n\r\n(?=WARC/\d\.\d+\r?\n)")
_LINE_START = re.compile(rb"\nWARC/\d")
_TAIL_BYTES = 32  # a boundary and the version line after it fit in this
# How far past a read block the reader looks to tell a record's start from the rest of a cut header.
PEEK_BYTES = 4096


def header_begun_after(stream: RecoveringStream, body: bytes, body_start: int) -> tuple[int, bool] | None:
    """For a payload `body` read to its Content-Length from decompressed offset `body_start`: (where it
    really ends, True) where it ends in the first bytes of a record header (header_begun_at_end) and the
    stream's bytes after it go on with that header rather than start the next record; None otherwise. The
    stream is left where it was."""
    at = header_begun_at_end(body)
    if at is None:
        return None
    claimed_end, position = body_start + len(body), stream.position
    while stream.position < claimed_end + PEEK_BYTES and stream.read(
        claimed_end + PEEK_BYTES - stream.position
    ):
        pass  # read ahead of FastWARC, handed out to it again by the rewind below
    after = stream.recent(claimed_end, stream.position) or b""
    stream.rewind(position)
    joined = body[at + 4 :] + after
    # an honest block is followed by its own CRLF CRLF, then the next record, damage or the end of the file
    if not after.lstrip(b"\r\n") or after.startswith(b"\r\n\r\n") or starts_warc_record(after):
        return None
    if not looks_like_warc_header(joined):
        return None
    return (at, True) if b"\r\n\r\n" in joined or b"\n\n" in joined else None


def reject_withheld(ctx: ReadContext, damage: Damage, skipped_types: Collection[str]) -> None:
    """Reject the records of a member whose output failed its check (each once, by its WARC-Record-ID;
    records of `skipped_types` are no documents). Where FastWARC fails on those distrusted bytes, they are
    one skipped span ("reader_error") and a counter, "withheld_member_unparsed"."""
    try:
        _reject_withheld(ctx, damage, skipped_types)
    except BaseException as exc:  # FastWARC's panics are BaseExceptions
        if isinstance(exc, GeneratorExit | KeyboardInterrupt | SystemExit):
            raise
        detail = f"records of a member failing its check not counted: {type(exc).__name__}: {exc}"
        ctx.counters["withheld_member_unparsed"] += 1
        ctx.skip("reader_error", detail, damage.withheld_at, 0)


def _reject_withheld(ctx: ReadContext, damage: Damage, skipped_types: Collection[str]) -> None:
    found = 0
    for record in ArchiveIterator(
        io.BytesIO(damage.withheld), parse_http=False, quirks_mode=True, auto_decode="none"
    ):
        if str(record.record_type) not in skipped_types:
            found += 1
            where = f"member at byte {damage.withheld_at}, record {record_id(record)}"
            ctx.reject(damage.reason, damage.detail, where, header_bytes(record))
    if not found and looks_like_warc_header(damage.withheld) and starts_warc_record(damage.withheld):
        where = f"member at byte {damage.withheld_at}"
        ctx.reject(damage.reason, damage.detail, where, damage.withheld[:REJECT_SAMPLE_BYTES])


def records_inside_block(
    stream: RecoveringStream, block_start: int, claimed_end: int
) -> tuple[int, bool] | None:
    """For a record whose block [block_start, claimed_end) (decompressed offsets) FastWARC would skip unread:
    (where the next record starts inside it, True) where its Content-Length took the next records in;
    (claimed_end, or the segment's end, False) where the block reached past what FastWARC had read and was
    read here without a boundary in it; None where FastWARC may skip the block itself."""
    seen = stream.recent(block_start, min(claimed_end, stream.position))
    if seen is None:
        return None
    found = _BOUNDARY.search(seen)
    if found is not None:
        return block_start + found.end(), True
    if claimed_end <= stream.position:
        return None
    tail = seen[-_TAIL_BYTES:]
    while stream.position < claimed_end:
        window_start = stream.position - len(tail)
        chunk = stream.read(min(SCAN_CHUNK_BYTES, claimed_end - stream.position))
        if not chunk:
            break
        window = tail + chunk
        found = _BOUNDARY.search(window)
        if found is not None:
            return window_start + found.end(), True
        tail = window[-_TAIL_BYTES:]
    return stream.position, False


def resync_after_failure(
    stream: RecoveringStream, ctx: ReadContext, start: int | None, exc: BaseException
) -> int | None:
    """After FastWARC failed on the record at decompressed offset `start`: that record is one reject
    ("corrupt_record"; a skipped span where the bytes are no WARC header), and the offset of the next line
    that starts a record is returned, the stream rewound to it; None where none follows in this segment (its
    rest is read and counted with the failed record)."""
    detail = f"WARC parser failed: {type(exc).__name__}: {exc}"
    kept = stream.recent(start, stream.position) if start is not None else None
    if start is None or kept is None:  # where the record started is not known: the segment's rest is lost
        at = stream.position
        while stream.read(SCAN_CHUNK_BYTES):
            pass
        ctx.skip("reader_error", detail, at, stream.position - at, "stream")
        return None
    resume = _next_line_start(stream, start, kept)
    end = resume if resume is not None else stream.position
    sample = kept[:REJECT_SAMPLE_BYTES]
    if looks_like_warc_header(sample):
        ctx.reject("corrupt_record", f"{end - start} bytes: {detail}", f"offset {start}", sample)
    else:
        ctx.skip("unparsed_bytes", f"{end - start} bytes: {detail}", start, end - start, "stream", sample)
    if resume is not None:
        stream.rewind(resume)
    return resume


def _next_line_start(stream: RecoveringStream, start: int, kept: bytes) -> int | None:
    """The offset of the first line after `start` that starts a WARC record, reading on as needed."""
    window, window_start = kept, start
    while True:
        found = _LINE_START.search(window)
        if found is not None:
            return window_start + found.start() + 1
        tail = window[-_TAIL_BYTES:]
        window_start = stream.position - len(tail)
        chunk = stream.read(SCAN_CHUNK_BYTES)
        if not chunk:
            return None
        window = tail + chunk
