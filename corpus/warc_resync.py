"""Where the WARC reader restarts FastWARC: after a record's block that held the next records unread, and
after a record FastWARC could not parse (corpus.warc reads with these).

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

import re

from corpus.decompress import RecoveringStream
from corpus.reader_base import ReadContext
from corpus.stats import REJECT_SAMPLE_BYTES
from corpus.warc_extent import looks_like_warc_header

# FastWARC's own default (64 KiB) refused real headers with URLs of 70 KB; a header past this is a reject.
MAX_HEADER_BYTES = 1 << 20
SCAN_CHUNK_BYTES = 1 << 20
_BOUNDARY = re.compile(rb"\r\n\r\n(?=WARC/\d\.\d+\r?\n)")
_LINE_START = re.compile(rb"\nWARC/\d")
_TAIL_BYTES = 32  # a boundary and the version line after it fit in this


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
