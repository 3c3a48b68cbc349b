"""Fault injection for the readers: crafted sample files of every format, the damage done to them (byte
flips, overwrites, insertions, deletions, member splices, truncation), which records the damage left intact,
and the check that a read of the damaged file kept them. Used by the bounded Hypothesis suite in
tests/corpus/test_fuzz_damage.py and by the longer run in bench/fuzz_readers.py.

A *unit* is the smallest stretch of bytes damage is confined to: a gzip member, bz2 stream or zstd frame in
a compressed file (the decompressor resynchronises at the next one), a record, line or page in a plain file.
A record is intact when no byte of its unit was touched (and, in a plain file, none of the unit before it,
whose damaged length field may run into it).
"""

from __future__ import annotations

import bz2
import gzip
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import zstandard

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from tests import crafted

RECORDS = 24
PER_MEMBER = 4  # lines or pages per member in compressed JSONL and XML
OPTIONS = ReadOptions(batch_size=16)
# What reading the intact samples counts; any other counter (say "skipped_respomse") reports damage.
EXPECTED_COUNTERS = {"skipped_warcinfo", "charset_from_http", "charset_from_meta", "charset_from_detected"}


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    ids: frozenset[str]


@dataclass(frozen=True)
class Sample:
    name: str  # file name, which gives the format
    data: bytes
    units: tuple[Unit, ...]
    checksummed: bool  # every unit carries a check: a record kept must be the original, byte for byte
    texts: dict[str, str] = field(hash=False)  # id -> text, as the reader gives them for the intact file


def _units(parts: list[bytes], ids: list[frozenset[str]]) -> tuple[Unit, ...]:
    units, at = [], 0
    for part, part_ids in zip(parts, ids, strict=True):
        units.append(Unit(at, at + len(part), part_ids))
        at += len(part)
    return tuple(units)


def _compress(name: str, data: bytes) -> bytes:
    if name.endswith(".gz"):
        return gzip.compress(data, mtime=0)
    if name.endswith(".bz2"):
        return bz2.compress(data)
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)


def _grouped(
    name: str, records: list[bytes], ids: list[str], header: bytes = b"", footer: bytes = b""
) -> Sample:
    """`records` (with `header` before the first and `footer` after the last) compressed PER_MEMBER a member."""
    groups = [records[i : i + PER_MEMBER] for i in range(0, len(records), PER_MEMBER)]
    group_ids = [frozenset(ids[i : i + PER_MEMBER]) for i in range(0, len(records), PER_MEMBER)]
    plain = [b"".join(group) for group in groups]
    plain[0], plain[-1] = header + plain[0], plain[-1] + footer
    parts = [_compress(name, part) for part in plain]
    return Sample(name, b"".join(parts), _units(parts, group_ids), True, {})


def _plain(
    name: str, records: list[bytes], ids: list[str], header: bytes = b"", footer: bytes = b""
) -> Sample:
    parts = [header, *records, footer]
    units = _units(parts, [frozenset(), *[frozenset([i]) for i in ids], frozenset()])
    return Sample(name, b"".join(parts), units, False, {})


def _build() -> dict[str, Sample]:
    warc = [crafted.response(i) for i in range(1, RECORDS + 1)]
    warc_ids = [crafted.record_id(i) for i in range(1, RECORDS + 1)]
    wet = [crafted.conversion(i) for i in range(1, RECORDS + 1)]
    lines = [crafted.jsonl_line(i) for i in range(RECORDS)]
    line_ids = [f"doc-{i}" for i in range(RECORDS)]
    pages = [
        crafted.mediawiki_page(i, f"Text of page {i}, &amp; more.").encode() for i in range(1, RECORDS + 1)
    ]
    page_ids = [f"mediawiki:{i}:{10 * i}" for i in range(1, RECORDS + 1)]
    head, foot = crafted.mediawiki("").encode().split(b"</mediawiki>")
    foot = b"</mediawiki>" + foot
    members = [gzip.compress(r, mtime=0) for r in [crafted.warcinfo(), *warc]]
    samples = [
        Sample(
            "s.warc.gz",
            b"".join(members),
            _units(members, [frozenset(), *map(frozenset, [[i] for i in warc_ids])]),
            True,
            {},
        ),
        _plain("s.warc", warc, warc_ids),
        Sample(
            "s.warc.wet.gz",
            b"".join(m := [gzip.compress(r, mtime=0) for r in wet]),
            _units(m, [frozenset([i]) for i in warc_ids]),
            True,
            {},
        ),
        _plain("s.jsonl", lines, line_ids),
        _grouped("s.jsonl.gz", lines, line_ids),
        _grouped("s.jsonl.bz2", lines, line_ids),
        _grouped("s.jsonl.zst", lines, line_ids),
        _plain("s.xml", pages, page_ids, head, foot),
        _grouped("s.xml.gz", pages, page_ids, head, foot),
    ]
    return {s.name: _with_texts(s) for s in samples}


def _with_texts(sample: Sample) -> Sample:
    got, rejects, _ = read_bytes(sample.name, sample.data)
    expected = {i for unit in sample.units for i in unit.ids}
    assert set(got) == expected and len(rejects) == 0 and not rejects.skipped, sample.name
    return Sample(sample.name, sample.data, sample.units, sample.checksummed, got)


@cache
def samples() -> dict[str, Sample]:
    """The intact samples, by file name (built once per process)."""
    return _build()


def read_bytes(name: str, data: bytes) -> tuple[dict[str, str], RejectLog, Counter[str]]:
    """id -> text of the documents read from `data` as a file called `name`, the rejects and the counters."""
    rejects = RejectLog()
    counters: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        got: dict[str, str] = {}
        for batch in read_documents(str(path), OPTIONS, rejects, counters):
            for doc_id, text in zip(
                batch.column("id").to_pylist(), batch.column("text").to_pylist(), strict=True
            ):
                assert doc_id not in got, f"{doc_id} yielded twice"
                got[doc_id] = text
    return got, rejects, counters


def damage(sample: Sample, ops: list[tuple], cut: float | None) -> tuple[bytes, bytearray, int, set[str]]:
    """Cut the file (at a fraction of it), then apply `ops` (positions as fractions of what is left). Returns
    the damaged bytes, a mask of the original's bytes the damage touched (a byte either side of an insertion
    or deletion counts) and how many records the ops may add (a splice copies records, a flip may split a
    line), and the ids a splice copied (the first copy of an id in the file wins, and it may be the damaged one)."""
    data = sample.data
    copied_ids: set[str] = set()
    touched = bytearray(len(data))
    if cut is not None:
        keep = int(cut * len(data))
        touched[keep:] = b"\x01" * (len(data) - keep)
        data = data[:keep]
    out = bytearray(data)
    origin = list(range(len(data)))  # the original offset of each byte of `out`; -1 for inserted bytes

    def touch(*positions: int) -> None:
        for position in positions:
            if position >= 0:
                touched[position] = 1

    extra = 0
    for kind, where, arg in ops:
        at = int(where * max(0, len(out) - 1))
        extra += 2
        if kind == "flip" and at < len(out):
            out[at] ^= arg
            touch(origin[at])
        elif kind == "overwrite":
            touch(*origin[at : at + len(arg)])
            out[at : at + len(arg)] = arg
            origin[at : at + len(arg)] = [-1] * len(arg)
        elif kind == "delete":
            touch(*origin[max(0, at - 1) : at + arg + 1])
            del out[at : at + arg]
            del origin[at : at + arg]
        elif kind in ("insert", "splice"):
            start = int(arg[0] * len(data)) if kind == "splice" else 0
            blob = data[start : start + arg[1]] if kind == "splice" else arg
            touch(*origin[max(0, at - 1) : at + 1])
            out[at:at] = blob
            origin[at:at] = [-1] * len(blob)
            copied = [u for u in sample.units if u.start < start + len(blob) and start < u.end]
            if kind == "splice":
                extra += sum(len(u.ids) for u in copied)
                copied_ids.update(i for u in copied for i in u.ids)
            extra += blob.count(b"\n")
    return bytes(out), touched, extra, copied_ids


@dataclass
class Outcome:
    """What one damaged read did against what the damage left intact."""

    intact: set[str]
    kept: set[str]
    lost: set[str]  # intact records that were not kept
    altered: set[str]  # records of intact units kept with a text other than the original's
    unverified: set[str]  # records of damaged units kept altered (decoded before the error was found)
    counted: int  # documents + rejects
    limit: int  # the most records the damaged file can hold
    reported: bool  # rejects, skipped spans or skipped record types say something happened
    silent_possible: bool  # no checksum, or a deletion or cut that can remove whole units exactly


def check(sample: Sample, ops: list[tuple], cut: float | None) -> Outcome:
    """Damage `sample`, read it (a reader exception propagates: it is a failure), and compare."""
    data, touched, extra, copied = damage(sample, ops, cut)
    got, rejects, counters = read_bytes(sample.name, data)
    intact: set[str] = set()
    chained = not sample.checksummed
    previous_hit = False
    for unit in sample.units:
        hit = any(touched[unit.start : unit.end])
        if not hit and not (chained and previous_hit):
            intact |= unit.ids
        previous_hit = hit
    changed = {i for i, text in got.items() if sample.texts.get(i, text) != text}
    return Outcome(
        intact=intact,
        kept=set(got),
        lost=intact - set(got),
        altered=(changed & intact) - copied,
        unverified=changed - intact,
        counted=len(got) + len(rejects),
        limit=len(sample.texts) + extra,
        reported=bool(len(rejects) or rejects.skipped or set(counters) - EXPECTED_COUNTERS),
        silent_possible=not sample.checksummed or cut is not None or any(op[0] == "delete" for op in ops),
    )
