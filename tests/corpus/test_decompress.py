"""The recovering decompressor against the codecs' own one-shot decoders (the reference on intact input), and
its segments, spans and resynchronisation on damaged input."""

from __future__ import annotations

import bz2
import gzip
import io
import os
import tracemalloc
import zlib

import pytest
import zstandard

from corpus.decompress import HOLD_BYTES, RecoveringStream, SkippedSpan
from corpus.member_codecs import compression_of
from tests import crafted


def segments(
    data: bytes, compression: str | None, start_check=None
) -> tuple[list[tuple[bytes, str | None]], list[SkippedSpan]]:
    """[(bytes of a segment, reason of the damage that ended it)] and the spans reported."""
    found: list[SkippedSpan] = []
    stream = RecoveringStream(io.BytesIO(data), compression, found.append, start_check)
    out = []
    while True:
        out.append((stream.readall(), stream.damage.reason if stream.damage else None))
        if not stream.next_segment():
            return out, found


def frames(parts: list[bytes], compression: str) -> list[bytes]:
    if compression == "gzip":
        return [gzip.compress(p, mtime=0) for p in parts]
    if compression == "bz2":
        return [bz2.compress(p) for p in parts]
    return [zstandard.ZstdCompressor(write_checksum=True).compress(p) for p in parts]


PARTS = [os.urandom(3000).hex().encode() * (i + 1) for i in range(6)]


@pytest.mark.parametrize("compression", ["gzip", "bz2", "zstd"])
def test_intact_members_read_as_the_library_reads_them(compression: str) -> None:
    members = frames(PARTS, compression)
    data = b"".join(members)
    if compression == "zstd":  # zstandard's one-shot decompress takes one frame
        reference = b"".join(zstandard.ZstdDecompressor().decompress(m) for m in members)
    else:
        reference = {"gzip": gzip.decompress, "bz2": bz2.decompress}[compression](data)
    assert reference == b"".join(PARTS)
    assert segments(data, compression) == ([(reference, None)], [])


def test_one_gzip_member_for_a_whole_large_file_reads_whole() -> None:
    big = os.urandom(HOLD_BYTES // 2).hex().encode()  # more output than a member is held back for
    assert segments(gzip.compress(big, mtime=0, compresslevel=1), "gzip") == ([(big, None)], [])


@pytest.mark.parametrize("compression", ["gzip", "bz2", "zstd"])
def test_a_corrupt_member_ends_a_segment_and_reading_resumes(compression: str) -> None:
    members = frames(PARTS, compression)
    damaged = bytearray(members[2])
    damaged[len(damaged) // 2 : len(damaged) // 2 + 8] = b"\xff" * 8
    members[2] = bytes(damaged)
    (first, reason), (second, end) = segments(b"".join(members), compression)[0]
    assert reason == f"corrupt_{compression}" and end is None
    assert first.startswith(PARTS[0] + PARTS[1]) and second == b"".join(PARTS[3:])


def test_gzip_hands_on_the_bytes_decoded_before_the_bad_byte() -> None:
    text = b"".join(b"line %06d of a long member\n" % i for i in range(20000))
    member = crafted.member_with_invalid_block(text, good=len(text) // 2)
    after = crafted.members([b"the next member"])[0]
    [(got, reason), (rest, _)], [span] = segments(member + after, "gzip")
    assert reason == "corrupt_gzip" and got == text[: len(text) // 2] and rest == b"the next member"
    bad_byte = len(member) - 41  # the reserved block type
    assert (span.offset, span.offset + span.length) == (bad_byte, len(member))


def test_a_member_failing_its_crc_is_withheld_for_the_reader_to_count() -> None:
    members = crafted.members([b"one " * 100, b"two " * 100, b"three " * 100])
    members[1] = crafted.corrupt_crc(members[1])
    found: list[SkippedSpan] = []
    stream = RecoveringStream(io.BytesIO(b"".join(members)), "gzip", found.append)
    assert stream.readall() == b"one " * 100
    assert stream.damage is not None and stream.damage.withheld == b"two " * 100
    assert stream.damage.withheld_at == len(members[0])
    assert stream.next_segment() and stream.readall() == b"three " * 100
    assert [(s.offset, s.length, s.reason) for s in found] == [
        (len(members[0]), len(members[1]), "corrupt_gzip")
    ]


def test_resynchronisation_needs_the_start_the_reader_asks_for() -> None:
    """A WARC record whose payload is itself a gzip file, stored uncompressed in its member: after a damaged
    member, the embedded gzip header must not be taken for the next member."""
    inner = gzip.compress(b"<html>an archived .gz download</html>" * 50, mtime=0)
    records = [crafted.response(1), crafted.warc_record("resource", 2, inner), crafted.response(3)]
    members = [gzip.compress(r, compresslevel=0, mtime=0) for r in records]  # stored: the payload verbatim
    members[0] = crafted.corrupt_data(members[0])
    data = b"".join(members)
    assert data.count(b"\x1f\x8b\x08") >= 4
    (_, reason), (rest, _) = segments(data, "gzip", start_check=lambda head: head.startswith(b"WARC/"))[0]
    assert reason == "corrupt_gzip" and rest == records[1] + records[2]


def test_consecutive_bad_members_and_junk_are_a_span_each() -> None:
    members = crafted.members([b"a" * 500, b"b" * 500, b"c" * 500, b"d" * 500])
    members[1] = crafted.member_with_invalid_block(b"b" * 500, 100)
    members[2] = crafted.corrupt_crc(members[2])
    data = b"".join(members) + b"trailing junk"
    got, spans = segments(data, "gzip")
    assert got == [(b"a" * 500 + b"b" * 100, "corrupt_gzip"), (b"", "corrupt_gzip"), (b"d" * 500, None)]
    assert [(s.reason, s.offset + s.length) for s in spans] == [
        ("corrupt_gzip", len(members[0]) + len(members[1])),
        ("corrupt_gzip", len(data) - len(b"trailing junk") - len(members[3])),
        ("not_gzip", len(data)),
    ]


def test_zstd_skippable_frames_hold_no_data_and_are_no_damage() -> None:
    skippable = b"\x50\x2a\x4d\x18" + (5).to_bytes(4, "little") + b"hello"
    data = skippable + b"".join(frames(PARTS[:2], "zstd")) + skippable
    assert segments(data, "zstd") == ([(PARTS[0] + PARTS[1], None)], [])


def test_settle_sees_damage_ahead_without_handing_bytes_out() -> None:
    members = crafted.members([b"x" * 100, b"y" * 100])
    data = b"".join(members)
    stream = RecoveringStream(io.BytesIO(data[:-20]), "gzip", lambda span: None)
    assert stream.read(10) == b"x" * 10
    assert stream.settle(100) is None
    damage = stream.settle(190)
    assert damage is not None and damage.reason == "truncated_gzip" and stream.position == 10
    assert stream.readall() == b"x" * 90 + damage_free_part(data)


def damage_free_part(data: bytes) -> bytes:
    """What zlib decodes of the cut second member (the reference for the bytes before the cut)."""
    second = data[len(gzip.compress(b"x" * 100, mtime=0)) : -20]
    return zlib.decompressobj(31).decompress(second)


def test_rewind_hands_the_kept_bytes_out_again_up_to_the_damage() -> None:
    """A parser that read past where it failed restarts there: the same bytes, the same offsets, and the
    segment still ends at its damage; bytes no longer kept are refused."""
    members = crafted.members([b"a" * 50, b"b" * 50, b"c" * 50])
    members[2] = members[2][:-12]  # the file ends inside the third member
    stream = RecoveringStream(io.BytesIO(b"".join(members)), "gzip", lambda span: None, keep_bytes=60)
    first = stream.readall()
    assert stream.damage is not None and stream.position == len(first) > 100
    stream.rewind(80)
    assert stream.position == 80 and stream.recent(40, 80) == b"a" * 10 + b"b" * 30
    assert stream.read(10) == first[80:90] and stream.recent(80, 90) == b"b" * 10
    assert (
        stream.readall() == first[90:]
        and stream.damage is not None
        and stream.damage.reason == "truncated_gzip"
    )
    stream.rewind(stream.position)  # a no-op
    assert not stream.next_segment()
    parts = crafted.members([b"d" * 5000, b"e" * 5000, b"f" * 5000])
    stream = RecoveringStream(io.BytesIO(b"".join(parts)), "gzip", lambda span: None, keep_bytes=100)
    assert len(stream.readall()) == 15000
    with pytest.raises(ValueError, match="cannot rewind to 10"):
        stream.rewind(10)


def test_readline_stops_at_a_damaged_segment_end() -> None:
    members = crafted.members([b"first line\nsecond li", b"ne\nthird line\n"])
    members[1] = crafted.corrupt_crc(members[1])
    stream = RecoveringStream(io.BytesIO(b"".join(members)), "gzip", lambda span: None)
    assert stream.readline() == b"first line\n"
    assert stream.readline() == b"second li" and stream.damage is not None
    assert stream.readline() == b"" and not stream.next_segment()


def test_compression_is_told_by_magic_bytes(tmp_path) -> None:
    cases = {
        "g": gzip.compress(b"x"),
        "b": bz2.compress(b"x"),
        "z": zstandard.ZstdCompressor().compress(b"x"),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "p").write_bytes(b"plain")
    assert [compression_of(str(tmp_path / n)) for n in "gbzp"] == ["gzip", "bz2", "zstd", None]


def _bomb(compression: str, size: int) -> bytes:
    """A few KB that decompress to `size` bytes of one line, compressed in pieces (never held whole)."""
    piece = b"a" * (1 << 20)
    if compression == "bz2":
        bz = bz2.BZ2Compressor(9)
        return b"".join([*(bz.compress(piece) for _ in range(size >> 20)), bz.flush()])
    zc = zstandard.ZstdCompressor(level=19).compressobj()
    return b"".join([*(zc.compress(piece) for _ in range(size >> 20)), zc.flush()])


@pytest.mark.parametrize(("compression", "peak_mib"), [("bz2", 16), ("zstd", 80)])
def test_a_compression_bomb_is_read_in_bounded_memory(compression: str, peak_mib: int) -> None:
    """A bz2 file of 873 bytes holding a 1 GiB line took 2.1 GB of a worker's memory and 45 s to read:
    one 16 KiB feed gave the whole line at once, and each 20 MB readline copied the rest of it. Read here
    line-piece by line-piece, 512 MiB of output costs memory bounded by one feed's output, not its size."""
    size = 512 << 20
    data = _bomb(compression, size)
    assert len(data) < 100_000
    stream = RecoveringStream(io.BytesIO(data), compression, lambda span: None)
    tracemalloc.start()
    try:
        read = 0
        while piece := stream.readline(1 << 20):
            read += len(piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read == size and stream.damage is None
    assert peak < peak_mib << 20, f"peak {peak >> 20} MiB"
