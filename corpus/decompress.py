"""Decompression that survives damage: gzip members, bz2 streams and zstd frames are read one at a time, and a
bad one costs only its own bytes.

Large web archives are made of many compressed *members* (Common Crawl writes one gzip member per WARC record;
pbzip2 and Wikipedia's multistream dumps write many bz2 streams; zstd writes frames). The stdlib's gzip and
bz2 readers raise at the first bad byte and drop what they had decoded but not yet returned, and nothing after
the error is read. `RecoveringStream` reads member by member with the codecs' own incremental decompressors
(`zlib.decompressobj`, `bz2.BZ2Decompressor`, zstandard's `decompressobj`) and hands the decompressed bytes
out in *segments*, runs of bytes with no gap between them:

- A member whose data stops decoding: the bytes it decoded before the error are handed on (gzip's exactly up to
  the bad byte: the failing input is replayed byte by byte on a copy of the zlib state taken before it; bz2's
  and zstd's states cannot be copied: the failing call's output is lost). The segment ends there, and reading
  resynchronises at the next member header (searched from the bad member's start: a damaged member can run on
  through the ones after it) at which decoding succeeds or, where the caller asks (WARC: "WARC/"), whose
  output starts as a record does. No codec resumes inside a damaged member: the rest of it is skipped.
- A member that decodes but fails its check (gzip CRC-32 or length, zstd content checksum): its output is
  withheld and given to the caller as `Damage.withheld`, so the caller can count the records in it as rejects.
  Members are held until verified up to HOLD_BYTES of output (2 MiB: one Common Crawl record is at most ~1
  MiB); a larger member, such as a whole file compressed as one member, is handed on as it decodes, and a
  check failing at its end only ends the segment.
- A file that ends inside a member (or inside its header): what decoded is handed on and the segment ends.
- Bytes at a member boundary that start no member (an HTML error page a proxy appended, junk between members)
  are skipped up to the next member. Zero padding after the last gzip member is allowed (as gzip(1) does), and
  zstd's skippable frames. A remote file whose reading fails for good part way (its retries ran out) ends as
  a truncated file does, with reason "read_failed"; the bytes never read are one "read_failed" span.

No library offers the search and the replay: zlib, bz2 and zstandard stop at the first error. Every skipped or
distrusted byte range is reported once, as a `SkippedSpan` with its offset and length in the file, through
`on_span`; the format readers count the records a damage cut or withheld, each once.
"""

from __future__ import annotations

import collections
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from corpus.member_codecs import (
    CODECS,
    ZSTD_SKIPPABLE,
    MemberError,
    compression_from_magic,
)
from corpus.remote import InputReadError

QUEUE_ITEM_BYTES = 1 << 20  # output is queued in pieces of at most this many bytes
# A member's output is held back until its check passes, up to this many bytes (one Common Crawl record is
# at most ~1 MiB); beyond it the member is handed on as it decodes.
HOLD_BYTES = 2 << 20
# A resynchronisation candidate must decode this much input, or give this much output (a bomb's first bytes
# give gigabytes), or end cleanly, without error to be taken.
VALIDATE_INPUT, VALIDATE_OUTPUT = 64 << 10, 16 << 20
SCAN_BLOCK = 1 << 20
SPAN_SAMPLE_BYTES = 4096

StartCheck = Callable[[bytes], bool]


@dataclass(frozen=True)
class SkippedSpan:
    """Bytes of an input that no record came from. `space` is "file" (offsets in the file as stored) or
    "stream" (offsets in the decompressed stream, for bytes a format reader could not parse)."""

    offset: int
    length: int
    reason: str
    detail: str
    sample: bytes = b""
    space: str = "file"


@dataclass(frozen=True)
class Damage:
    """Why a segment ended: `reason` is the reject reason of a record it cut (e.g. "corrupt_gzip"), `at` the
    decompressed offset where the segment ends, `withheld` the output of a member that failed its check."""

    reason: str
    at: int
    detail: str
    withheld: bytes = b""
    withheld_at: int = 0  # file offset of the member whose output is withheld


class RecoveringStream(io.RawIOBase):
    """The decompressed bytes of one file, in segments (see the module docstring).

    `read` returns b"" at the end of a segment; `damage` then says why it ended (None at the end of the file)
    and `next_segment()` moves on. `position` is the decompressed offset of the next byte handed out, counted
    over all segments. The last `keep_bytes` handed out stay available to `recent` (samples) and `rewind`."""

    def __init__(
        self,
        raw: BinaryIO,
        compression: str | None,
        on_span: Callable[[SkippedSpan], None],
        start_check: StartCheck | None = None,
        keep_bytes: int = 4 << 20,
        owns_raw: bool = True,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._owns_raw = owns_raw  # close `raw` on close (a probe of open_recovering does not)
        self._size = raw.seek(0, io.SEEK_END)
        raw.seek(0)
        self._codec = CODECS.get(compression or "")
        self._on_span = on_span
        self._start_check = start_check
        self._pos, self._member_start = 0, 0  # file offsets: the next input byte, the member's start
        self._decoder: Any = None
        self._held: list[bytes] = []
        self._held_len = 0
        self._released = 0  # output of the current member already handed on unverified
        self._queue: collections.deque[bytes | Damage] = collections.deque()
        self._queued_end = 0  # decompressed offset after the last queued byte
        self._finished = False
        self.damage: Damage | None = None
        self.position, self.segment_start = 0, 0
        self._keep, self._recent_len = keep_bytes, 0
        self._recent: collections.deque[tuple[int, bytes]] = collections.deque()
        self._lost: InputReadError | None = None  # a remote read that failed for good

    # -- the consumer's side ------------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def read(self, size: int | None = -1) -> bytes:
        if self.damage is not None or not self._fill():
            return b""
        item = self._queue[0]
        if isinstance(item, Damage):
            self.damage = self._queue.popleft()  # type: ignore[assignment]
            return b""
        if size is None or size < 0 or size >= len(item):
            self._queue.popleft()
            data = item
        else:
            data, self._queue[0] = item[:size], item[size:]
        self._hand_out(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        """One line (with its b"\\n") of the current segment, at most `size` bytes; b"" at its end."""
        limit = size if size is not None and size >= 0 else 1 << 62
        parts: list[bytes] = []
        got = 0
        while got < limit:
            if self.damage is not None or not self._fill() or isinstance(self._queue[0], Damage):
                self.read(0)  # takes the Damage, if that is what ended the line
                break
            item: bytes = self._queue[0]  # type: ignore[assignment]
            end = item.find(b"\n", 0, limit - got)
            take = len(item) if end < 0 else end + 1
            take = min(take, limit - got)
            part = self.read(take)
            parts.append(part)
            got += len(part)
            if part.endswith(b"\n"):
                break
        return b"".join(parts)

    def next_segment(self) -> bool:
        """Move past a damaged segment end: True when more data may follow, False at the end of the file."""
        if self.damage is None:
            self._fill()
            if self._queue and isinstance(self._queue[0], Damage):
                self.damage = self._queue.popleft()  # type: ignore[assignment]
            else:
                return False
        self.damage = None
        self.segment_start = self.position
        return self._fill()

    def settle(self, end: int) -> Damage | None:
        """The damage that ends the current segment before decompressed offset `end`, or None when the segment
        holds every byte up to `end` (or the file ends first). Decodes ahead as needed without handing out."""
        if self.damage is not None:
            return self.damage if end > self.damage.at else None
        while True:
            offset = self.position
            for item in self._queue:
                if isinstance(item, Damage):
                    return item if end > item.at else None
                offset += len(item)
                if offset >= end:
                    return None
            if not self._pump():
                return None

    def recent(self, start: int, end: int) -> bytes | None:
        """Bytes [start, end) of the decompressed stream if still kept, else None."""
        if not self._recent or start < self._recent[0][0] or end > self.position:
            return None
        parts, first = [], end  # newest first: the bytes asked for are near the end (a record just read)
        for offset, data in reversed(self._recent):
            if offset + len(data) <= start:
                break
            if offset < end:
                parts.append(data)
                first = offset
        return b"".join(reversed(parts))[start - first : end - first]

    def rewind(self, offset: int) -> None:
        """Hand out again the bytes from decompressed `offset` on, still kept (`recent`): a parser that read
        past where it failed restarts there. ValueError where they are not kept any more."""
        again = self.recent(offset, self.position) if offset < self.position else b""
        if again is None:
            raise ValueError(f"cannot rewind to {offset}: those bytes are no longer kept")
        if self.damage is not None:  # the segment's end comes after the bytes handed out again
            self._queue.appendleft(self.damage)
            self.damage = None
        if again:
            self._queue.appendleft(again)
        while self._recent and self._recent[-1][0] + len(self._recent[-1][1]) > offset:
            start, data = self._recent.pop()
            self._recent_len -= len(data) - max(0, offset - start)
            if start < offset:
                self._recent.append((start, data[: offset - start]))
        self.position = offset

    def close(self) -> None:
        if self._owns_raw:
            self._raw.close()
        super().close()

    def _hand_out(self, data: bytes) -> None:
        if not data:
            return
        self._recent.append((self.position, data))
        self._recent_len += len(data)
        self.position += len(data)
        while self._recent_len - len(self._recent[0][1]) >= self._keep:
            self._recent_len -= len(self._recent.popleft()[1])

    def _fill(self) -> bool:
        """Decode until something is queued; False when the file is done and nothing is left."""
        while not self._queue:
            if self._finished or not self._pump():
                return bool(self._queue)
        return True

    # -- the decoding side ---------------------------------------------------------------------------------

    def _pump(self) -> bool:
        """Decode one step (a chunk of input or a member boundary). False when there is nothing left."""
        if self._finished:
            return False
        if self._codec is None:
            chunk = self._read_at(self._pos, SCAN_BLOCK)
            self._pos += len(chunk)
            self._finished = not chunk
            self._queue_bytes(chunk)
            if not chunk and self._lost is not None:
                self._queue.append(Damage("read_failed", self._queued_end, str(self._lost)))
            return bool(chunk)
        if self._decoder is None:
            self._start_member()
            return True
        chunk = b"" if self._decoder.pending else self._read_at(self._pos, self._codec.input_chunk)
        if not chunk and not self._decoder.pending:
            self._truncated()
            return True
        fed_at = self._pos - (0 if chunk else self._codec.input_chunk)  # a drain's came with the last feed
        try:
            out = self._decoder.feed(chunk)
        except MemberError as exc:
            self._member_failed(exc, max(self._member_start, fed_at) + exc.consumed)
            return True
        self._hold(out)
        if self._decoder.eof:
            self._pos += len(chunk) - len(self._decoder.unused)
            self._release()
            self._decoder = None
        else:
            self._pos += len(chunk)
        return True

    def _start_member(self) -> None:
        codec = self._codec
        assert codec is not None
        head = self._read_at(self._pos, 16)
        if not head:
            self._finished = True
            return
        if codec.name == "gzip" and head[0] == 0:
            nonzero = self._skip_zeros(self._pos)
            if nonzero >= self._size:
                self._pos = self._size  # zero padding to the end: allowed
                return
        if codec.name == "zstd" and ZSTD_SKIPPABLE.match(head) and len(head) >= 8:
            self._pos += 8 + int.from_bytes(head[4:8], "little")  # a skippable frame holds no data
            return
        if codec.header.match(head):
            self._member_start = self._pos
            self._decoder = codec.decoder()
            self._released = 0
            return
        if self._pos + len(head) >= self._size and codec.cut_in_header(head):
            self._member_start, self._released = self._pos, 0
            self._truncated()
            return
        found = self._find_member(self._pos + 1)
        self._span(
            self._pos,
            found,
            f"not_{codec.name}",
            f"{found - self._pos} bytes that start no {codec.name} member",
        )
        self._pos = found

    def _member_failed(self, exc: MemberError, error_at: int) -> None:
        codec = self._codec
        assert codec is not None
        reason = f"corrupt_{codec.name}"
        start = self._member_start
        # The next member may begin well before the bad byte: a damaged member can run on through the members
        # after it (its end lost, the decoder reads theirs as its own data) before anything fails to decode.
        found = self._find_member(start + 1)
        if exc.check:
            withheld = b"".join(self._held) + exc.partial
            self._held, self._held_len = [], 0
            unverified = f"; {self._released} bytes were handed on before the check" if self._released else ""
            detail = f"{codec.name} member at byte {start} fails its check ({exc}){unverified}"
            self._queue.append(Damage(reason, self._queued_end, detail, withheld, start))
            self._span(start, max(found, error_at), reason, detail)
        else:
            self._hold(exc.partial)
            self._release()
            kept = self._released
            detail = f"{codec.name} member at byte {start}: {exc} at byte {error_at}, {kept} bytes decoded before it"
            self._queue.append(Damage(reason, self._queued_end, detail))
            self._span(error_at if found > error_at and kept else start, found, reason, detail)
        self._decoder = None
        self._pos = found

    def _truncated(self) -> None:
        """The file ends inside a member: cut short, or a damaged member ran on through the ones after it."""
        codec = self._codec
        assert codec is not None
        found = self._find_member(self._member_start + 1)
        if found < self._size:
            self._member_failed(MemberError("the member runs on into the next one", b"", 0, False), found)
            return
        self._release()
        reason = f"truncated_{codec.name}"
        detail = f"file ends inside the {codec.name} member at byte {self._member_start}"
        if self._lost is not None:
            reason = "read_failed"
            detail = (
                f"reading stopped inside the {codec.name} member at byte {self._member_start}: {self._lost}"
            )
        self._queue.append(Damage(reason, self._queued_end, f"{detail} after {self._released} bytes"))
        self._span(self._member_start, self._size, reason, detail)
        self._decoder = None
        self._finished = True

    def _hold(self, out: bytes) -> None:
        if out:
            self._held.append(out)
            self._held_len += len(out)
        if self._held_len > HOLD_BYTES:
            self._release()

    def _release(self) -> None:
        for out in self._held:
            self._queue_bytes(out)
            self._released += len(out)
        self._held, self._held_len = [], 0

    def _queue_bytes(self, data: bytes) -> None:
        # in pieces: a read of part of an item copies the rest (one of gigabytes was read in quadratic time)
        if len(data) <= QUEUE_ITEM_BYTES:
            self._queue.extend([data] if data else [])
        else:
            self._queue.extend(data[i : i + QUEUE_ITEM_BYTES] for i in range(0, len(data), QUEUE_ITEM_BYTES))
        self._queued_end += len(data)

    def _span(self, start: int, end: int, reason: str, detail: str) -> None:
        if end > start:
            sample = self._read_at(start, min(end - start, SPAN_SAMPLE_BYTES))
            self._on_span(SkippedSpan(start, end - start, reason, detail, sample))

    def _read_at(self, offset: int, size: int) -> bytes:
        try:
            self._raw.seek(offset)
            return self._raw.read(size)
        except InputReadError as exc:
            self._read_failed(exc)
            return b""

    def _read_failed(self, exc: InputReadError) -> None:
        """A remote read failed for good: the file ends where it stopped; the bytes after are one span."""
        if self._lost is not None:
            return
        self._lost = exc
        if exc.offset < self._size:
            detail = f"reading stopped at byte {exc.offset} of {self._size}: {exc}"
            self._on_span(SkippedSpan(exc.offset, self._size - exc.offset, "read_failed", detail))
        self._size = min(self._size, exc.offset)

    def _skip_zeros(self, offset: int) -> int:
        while offset < self._size:
            block = self._read_at(offset, SCAN_BLOCK)
            stripped = len(block) - len(block.lstrip(b"\x00"))
            if stripped < len(block):
                return offset + stripped
            offset += len(block)
        return self._size

    def _find_member(self, offset: int, limit: int | None = None) -> int:
        """File offset of the next member header at or after `offset` (and before `limit`) that decodes (see
        `_decodes`), or the file size when there is none."""
        codec = self._codec
        assert codec is not None
        overlap = 16
        while offset < min(self._size, limit or self._size):
            block = self._read_at(offset, SCAN_BLOCK + overlap)
            for match in codec.header.finditer(block):
                if match.start() >= SCAN_BLOCK and offset + len(block) < self._size:
                    break  # seen again at the start of the next block
                if self._decodes(offset + match.start()):
                    return offset + match.start()
            offset += SCAN_BLOCK
        return self._size

    def _decodes(self, offset: int) -> bool:
        codec = self._codec
        assert codec is not None
        head = self._read_at(offset, 16)
        if codec.name == "zstd" and ZSTD_SKIPPABLE.match(head):
            return self._start_check is None
        decoder = codec.decoder()
        output, produced = b"", 0  # the output's first bytes (what start_check reads), its length
        fed = 0
        while (fed < VALIDATE_INPUT or decoder.pending) and produced < VALIDATE_OUTPUT and not decoder.eof:
            chunk = b"" if decoder.pending else self._read_at(offset + fed, codec.input_chunk)
            if not chunk and not decoder.pending:
                break
            try:
                out = decoder.feed(chunk)
            except MemberError as exc:
                # A damaged member is still a member: one whose data all decoded (only its check failed), or
                # one whose output begins as the reader's records do. Its damage is handled when read.
                begun = output + exc.partial
                if exc.check:
                    return self._start_check is None or self._start_check(begun[:64])
                return self._start_check is not None and len(begun) >= 5 and self._start_check(begun[:64])
            output, produced, fed = (output + out)[:64], produced + len(out), fed + len(chunk)
        if not output and not decoder.eof:
            return False
        return self._start_check is None or self._start_check(output[:64])


_NAMED = ((".gz", "gzip"), (".bz2", "bz2"), (".zst", "zstd"), (".zstd", "zstd"))


def open_recovering(
    path: str,
    on_span: Callable[[SkippedSpan], None],
    start_check: StartCheck | None = None,
    opener: Callable[[], BinaryIO] | None = None,
) -> RecoveringStream:
    """`path` decompressed as a RecoveringStream; `opener` opens its bytes (default: the local file; a remote
    input gives a corpus.remote.RemoteFile), `path` names it. Damage can destroy or fake magic bytes, so where
    the magic bytes and the file name's suffix disagree, the name's codec is taken if one of its members starts
    within the first MiB, else the magic bytes' codec if its first member decodes; else the file is read as
    stored."""
    raw = opener() if opener is not None else open(path, "rb")  # noqa: SIM115 - the stream closes it
    try:
        head = raw.read(4)
        magic = compression_from_magic(head)
        named = next((codec for suffix, codec in _NAMED if path.lower().endswith(suffix)), None)
        compression = magic
        if magic is None and named is not None and head and CODECS[named].cut_in_header(head):
            compression = named  # a file cut inside its magic bytes: a truncated member, not a plain file
        elif named != magic:
            compression = None
            if named is not None:
                probe = RecoveringStream(raw, named, lambda span: None, start_check, owns_raw=False)
                compression = named if probe._find_member(0, limit=SCAN_BLOCK) < probe._size else None
            if compression is None and magic is not None:
                probe = RecoveringStream(raw, magic, lambda span: None, owns_raw=False)
                compression = magic if probe._decodes(0) else None
        raw.seek(0)
    except BaseException:
        raw.close()
        raise
    return RecoveringStream(raw, compression, on_span, start_check)
