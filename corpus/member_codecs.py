"""Decoders that read one compressed member at a time (a gzip member, a bz2 stream, a zstd frame), built on
the codecs' own incremental decompressors, and where in a file a member can start. corpus.decompress drives
them to read a file member by member and to resynchronise after damage.

Each decoder has `feed(data) -> bytes`, `eof` (the member ended and passed its check), `unused` (input
after the member's end) and `pending` (output is left from input already fed: feed b"" for it), and raises
MemberError when the member stops decoding. One feed's output is bounded, whatever the input claims: bz2
hands out at most MAX_FEED_OUTPUT bytes a call (a bz2 file of 873 bytes held a 1 GiB line, and one 16 KiB
feed gave it at once), and zstd is fed `Codec.input_chunk` bytes at a time (its blocks expand at most about
32,768 times); deflate cannot expand more than about 1,032 times.
"""

from __future__ import annotations

import bz2
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zstandard

GZIP_MAGIC = b"\x1f\x8b"
MAX_FEED_OUTPUT = 4 << 20
BZ2_MAGIC = b"BZh"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class MemberError(Exception):
    """A member stopped decoding. `partial` is its output before the bad byte, `consumed` the input bytes of
    the failing feed used before it, `check` whether only the member's check (CRC, checksum) failed."""

    def __init__(self, message: str, partial: bytes, consumed: int, check: bool) -> None:
        super().__init__(message)
        self.partial = partial
        self.consumed = consumed
        self.check = check


class _GzipDecoder:
    def __init__(self) -> None:
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    @property
    def eof(self) -> bool:
        return self._z.eof

    @property
    def unused(self) -> bytes:
        return self._z.unused_data

    pending = False

    def feed(self, data: bytes) -> bytes:
        before = self._z.copy()
        try:
            return self._z.decompress(data)
        except zlib.error as exc:
            # zlib drops the output of a failing call: replay it byte by byte on the state from before it.
            partial, consumed = [], 0
            for consumed in range(len(data)):
                try:
                    partial.append(before.decompress(data[consumed : consumed + 1]))
                except zlib.error:
                    break
            check = "incorrect data check" in str(exc) or "incorrect length check" in str(exc)
            raise MemberError(str(exc), b"".join(partial), consumed, check) from exc


class _Bz2Decoder:
    def __init__(self) -> None:
        self._d = bz2.BZ2Decompressor()

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused(self) -> bytes:
        return self._d.unused_data

    @property
    def pending(self) -> bool:
        return not self._d.eof and not self._d.needs_input

    def feed(self, data: bytes) -> bytes:
        try:
            return self._d.decompress(data, MAX_FEED_OUTPUT)
        except (OSError, EOFError, ValueError) as exc:
            raise MemberError(str(exc) or type(exc).__name__, b"", 0, False) from exc


MAX_ZSTD_WINDOW = 1 << 31


class _ZstdDecoder:
    def __init__(self) -> None:
        # One decompressor per frame: a ZstdDecompressor must not serve two decompressobjs at once. Frames
        # written with `zstd --long` need windows past the library's default limit (128 MiB): up to zstd's
        # own maximum is allowed, the window is what the file needs to be read at all.
        self._d = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW).decompressobj()

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused(self) -> bytes:
        return self._d.unused_data

    pending = False

    def feed(self, data: bytes) -> bytes:
        try:
            return self._d.decompress(data)
        except zstandard.ZstdError as exc:
            raise MemberError(str(exc), b"", 0, "checksum" in str(exc).lower()) from exc


@dataclass(frozen=True)
class Codec:
    name: str
    header: re.Pattern[bytes]  # where a member can start
    decoder: Callable[[], Any]
    magic: bytes  # the bytes every member starts with
    header_bytes: int  # the bytes `header` reads
    input_chunk: int = 16 << 10  # the input bytes of one feed

    def cut_in_header(self, rest: bytes) -> bool:
        """True where `rest`, the last bytes of a file, are too few to hold a member's header and begin as
        one does (or are the start of its magic bytes): a member cut short, not bytes that are no member."""
        return len(rest) < self.header_bytes and (self.magic.startswith(rest) or rest.startswith(self.magic))


CODECS = {
    # magic, deflate, flags with the reserved bits clear
    "gzip": Codec("gzip", re.compile(rb"\x1f\x8b\x08[\x00-\x1f]"), _GzipDecoder, GZIP_MAGIC + b"\x08", 4),
    # stream magic and block size, then a block or the end-of-stream marker
    "bz2": Codec("bz2", re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"), _Bz2Decoder, BZ2_MAGIC, 10),
    "zstd": Codec(
        "zstd", re.compile(rb"\x28\xb5\x2f\xfd|[\x50-\x5f]\x2a\x4d\x18"), _ZstdDecoder, ZSTD_MAGIC, 4, 1 << 10
    ),
}
ZSTD_SKIPPABLE = re.compile(rb"[\x50-\x5f]\x2a\x4d\x18")


def compression_of(path: str) -> str | None:
    """ "gzip" | "bz2" | "zstd" by the file's magic bytes, or None for an uncompressed file."""
    with open(path, "rb") as raw:
        return compression_from_magic(raw.read(4))


def compression_from_magic(magic: bytes) -> str | None:
    """ "gzip" | "bz2" | "zstd" by a file's first 4 bytes, or None for an uncompressed file."""
    if magic.startswith(GZIP_MAGIC):
        return "gzip"
    if magic.startswith(BZ2_MAGIC):
        return "bz2"
    if magic == ZSTD_MAGIC:
        return "zstd"
    return None
