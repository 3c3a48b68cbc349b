"""A WARC record's extent when its header lies: a Content-Length too long, headers damaged side by side, a
missing WARC-Type, and payloads that decode to far more than the cap. Every record is kept or counted once."""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from pathlib import Path

import brotli
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from corpus.warc_extent import swallowed_from
from tests import crafted


def read_ids(path: Path, options: ReadOptions | None = None) -> tuple[list[str], Counter[str], Counter[str]]:
    """(ids kept in order, reject counts, counters)."""
    rejects, counters = RejectLog(), Counter[str]()
    ids = [
        i
        for batch in read_documents(str(path), options or ReadOptions(), rejects, counters)
        for i in batch.column("id").to_pylist()
    ]
    return ids, rejects.counts, counters


def write(tmp_path: Path, records: list[bytes], gz: bool) -> Path:
    path = tmp_path / ("in.warc.gz" if gz else "in.warc")
    path.write_bytes(b"".join(crafted.members(records) if gz else records))
    return path


def overshooting(extra: int) -> bytes:
    """Record 1 with a Content-Length `extra` bytes too long."""
    block = crafted.http_response(crafted.page_html(1))
    return crafted.warc_record("response", 1, block, extra={"Content-Length": str(len(block) + extra)})


IDS = [crafted.record_id(i) for i in range(1, 5)]
WHOLE_2 = len(crafted.response(2))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(
    ("extra", "kept", "rejected"),
    [
        (WHOLE_2, [1, 2, 3, 4], {}),  # record 2 taken whole: read after record 1
        (WHOLE_2 + len(crafted.response(3)), [1, 2, 3, 4], {}),  # two records taken whole
        # Record 3 cut in its payload, or its header: FastWARC restarts at record 2, and reads 3 whole.
        (WHOLE_2 + 600, [1, 2, 3, 4], {}),
        (WHOLE_2 + 100, [1, 2, 3, 4], {}),
        # Record 2 cut in its header, or in its version line: the block ends in it; the bytes after go on.
        (100, [1, 2, 3, 4], {}),
        (6, [1, 2, 3, 4], {}),
        (10**6, [1, 2, 3, 4], {}),  # past the end of the file: everything after record 1 taken
    ],
    ids=[
        "one-whole",
        "two-whole",
        "cut-in-payload",
        "cut-in-header",
        "next-header",
        "next-version",
        "to-eof",
    ],
)
def test_content_length_too_long_loses_no_record(
    tmp_path: Path, gz: bool, extra: int, kept: list[int], rejected: dict[str, int]
) -> None:
    records = [overshooting(extra), crafted.response(2), crafted.response(3), crafted.response(4)]
    ids, rejects, counters = read_ids(write(tmp_path, records, gz))
    assert ids == [crafted.record_id(i) for i in kept]
    assert rejects == Counter(rejected)
    assert counters["content_length_overshoot"] == 1
    assert len(ids) + sum(rejects.values()) == 4  # every record kept or counted, once


@pytest.mark.parametrize("extra", [WHOLE_2, 100], ids=["record-2-whole", "record-2-cut-in-header"])
def test_record_one_keeps_its_own_text_only(tmp_path: Path, extra: int) -> None:
    records = [overshooting(extra), crafted.response(2)]
    rejects, counters = RejectLog(), Counter[str]()
    rows = [
        r
        for b in read_documents(str(write(tmp_path, records, False)), ReadOptions(), rejects, counters)
        for r in b.to_pylist()
    ]
    assert "Page 2" not in rows[0]["text"] and "Document number 1." in rows[0]["text"]
    assert "WARC" not in rows[0]["text"]
    assert "Document number 2." in rows[1]["text"]


@pytest.mark.parametrize("last", [False, True], ids=["before-a-record", "last-record"])
def test_a_page_ending_in_a_quoted_header_start_is_one_document(tmp_path: Path, last: bool) -> None:
    """A page whose honest block ends in the first bytes of a WARC header ("WARC/1.0"): the bytes after it
    start the next record, or are the end of the file (the record's own CRLF CRLF was once taken for the
    rest of that header: a phantom reject), so nothing is cut."""
    block = crafted.http_response(crafted.page_html(1), "text/plain") + b"\r\n\r\nWARC/1.0\r\nWARC-Type: res"
    records = [crafted.warc_record("response", 1, block), crafted.response(2)]
    for gz in (False, True):
        ids, rejects, counters = read_ids(write(tmp_path, records[::-1] if last else records, gz))
        assert sorted(ids) == IDS[:2] and not rejects and "content_length_overshoot" not in counters


def test_every_overshoot_up_to_two_records_loses_nothing(tmp_path: Path) -> None:
    """Each excess from 1 byte to two whole records and a bit, around every boundary: a block ending 1-7
    bytes into the next header once left the record before it inside record 1's text, uncounted."""
    whole_3 = len(crafted.response(3))
    extras = [
        *range(1, 40),
        *range(WHOLE_2 - 8, WHOLE_2 + 40),
        *range(WHOLE_2 + whole_3 - 8, WHOLE_2 + whole_3 + 40),
    ]
    lost = []
    for gz in (False, True):
        for extra in extras:
            records = [overshooting(extra), crafted.response(2), crafted.response(3), crafted.response(4)]
            ids, rejects, counters = read_ids(write(tmp_path, records, gz))
            # 1-4 bytes take in only the block's own CRLF CRLF: no record, no overshoot counted
            if ids != IDS or rejects or counters["content_length_overshoot"] != (extra > 4):
                lost.append((gz, extra, ids, dict(rejects)))
    assert lost == []


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_block_larger_than_the_kept_bytes_still_gives_the_records_it_took_in(
    tmp_path: Path, gz: bool
) -> None:
    """Record 1's Content-Length takes in record 2, a 5 MiB page (more than the stream keeps to restart at),
    and the head of record 3: record 2 is read from the block itself; record 3, cut in its header there, is
    the one reject."""
    large = crafted.http_response(b"<p>" + b"words here " * (5 << 17) + b"</p>")
    taken, cut = crafted.warc_record("response", 2, large), crafted.response(3)
    page = crafted.http_response(crafted.page_html(1))
    lying = crafted.warc_record(
        "response", 1, page, extra={"Content-Length": str(len(page) + len(taken) + 60)}
    )
    ids, rejects, counters = read_ids(
        write(tmp_path, [lying, taken, cut, crafted.response(4)], gz), ReadOptions(max_doc_bytes=16 << 20)
    )
    assert ids == IDS[:2] + IDS[3:] and rejects == Counter({"corrupt_record": 1})
    assert counters["content_length_overshoot"] == 1


def test_a_page_quoting_warc_records_is_one_document(tmp_path: Path) -> None:
    quoted = crafted.response(7) + b"That was an example record; the page goes on after it.\n"
    page = b"How a WARC file looks:\r\n\r\n" + quoted
    records = [
        crafted.warc_record("response", 1, crafted.http_response(page, "text/plain")),
        crafted.response(2),
    ]
    ids, rejects, counters = read_ids(write(tmp_path, records, False))
    assert ids == IDS[:2] and not rejects and "content_length_overshoot" not in counters
    assert swallowed_from(page) is None
    assert swallowed_from(b"<p>x</p>\r\n\r\n" + crafted.response(7)) == (len(b"<p>x</p>"), False)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_damaged_headers_side_by_side_are_one_reject_each(tmp_path: Path, gz: bool) -> None:
    def garble(record: bytes) -> bytes:
        return record.replace(b"WARC/1.0\r\n", b"WARZ/1.0\r\n", 1)

    records = [
        crafted.response(1),
        garble(crafted.response(2)),
        garble(crafted.response(3)),
        crafted.response(4),
    ]
    ids, rejects, _ = read_ids(write(tmp_path, records, gz))
    assert ids == [IDS[0], IDS[3]] and rejects == Counter({"corrupt_record": 2})


def test_a_record_without_warc_type_is_a_reject(tmp_path: Path) -> None:
    page = crafted.http_response(crafted.page_html(2))
    records = [
        crafted.response(1),
        crafted.warc_record("response", 2, page, extra={"WARC-Type": None}),
        crafted.warc_record("response", 3, page).replace(b"WARC-Type: response", b"WARC-Type response"),
        crafted.response(4),
    ]
    ids, rejects, _ = read_ids(write(tmp_path, records, True))
    assert ids == [IDS[0], IDS[3]] and rejects == Counter({"bad_warc_header": 2})


def test_an_empty_chunked_body_is_empty_not_its_framing(tmp_path: Path) -> None:
    block = crafted.http_response(b"0\r\n\r\n", "text/plain", extra="Transfer-Encoding: chunked\r\n")
    chunked = crafted.http_response(
        b"5\r\nhello\r\n0\r\n\r\n", "text/plain", extra="Transfer-Encoding: chunked\r\n"
    )
    records = [crafted.warc_record("response", 1, block), crafted.warc_record("response", 2, chunked)]
    rejects, counters = RejectLog(), Counter[str]()
    rows = [
        r
        for b in read_documents(str(write(tmp_path, records, False)), ReadOptions(), rejects, counters)
        for r in b.to_pylist()
    ]
    assert [(r["id"], r["text"]) for r in rows] == [(IDS[1], "hello")]
    assert rejects.counts == Counter({"empty_text": 1})


BOMB_BYTES = 50 * 2**20  # 50 MiB of one byte: ~50 KB compressed


@pytest.mark.parametrize(
    ("coding", "packed"),
    [
        ("gzip", lambda data: gzip.compress(data, compresslevel=9)),
        ("deflate", lambda data: zlib.compress(data, 9)),
        ("br", lambda data: brotli.compress(data, quality=5)),
    ],
)
def test_a_compression_bomb_is_too_large_before_it_is_inflated(tmp_path: Path, coding: str, packed) -> None:
    bomb = packed(b"<" + b"a" * (BOMB_BYTES - 1))
    block = crafted.http_response(bomb, extra=f"Content-Encoding: {coding}\r\n")
    records = [crafted.warc_record("response", 1, block), crafted.response(2)]
    rejects, counters = RejectLog(), Counter[str]()
    cap = 1_000_000
    rows = [
        r
        for b in read_documents(
            str(write(tmp_path, records, False)), ReadOptions(max_doc_bytes=cap), rejects, counters
        )
        for r in b.to_pylist()
    ]
    assert [r["id"] for r in rows] == [IDS[1]]
    assert rejects.counts == Counter({"too_large": 1})
    assert f"decodes to over {cap} bytes" in rejects.items[0].detail


def test_stray_crlfs_between_swallowed_records_lose_none(tmp_path: Path) -> None:
    spaced = [crafted.response(2) + b"\r\n", crafted.response(3) + b"\r\n"]
    records = [overshooting(sum(map(len, spaced))), *spaced, crafted.response(4)]
    ids, rejects, counters = read_ids(write(tmp_path, records, False))
    assert ids == IDS and not rejects and counters["content_length_overshoot"] == 1


def test_an_empty_payload_that_overshoots(tmp_path: Path) -> None:
    block = crafted.http_response(b"", "text/plain")
    first = crafted.warc_record("response", 1, block, extra={"Content-Length": str(len(block) + WHOLE_2)})
    ids, rejects, counters = read_ids(
        write(tmp_path, [first, crafted.response(2), crafted.response(3)], False)
    )
    assert ids == IDS[1:3] and rejects == Counter({"empty_text": 1})
    assert counters["content_length_overshoot"] == 1


def test_a_header_cut_at_the_end_of_the_file_is_counted(tmp_path: Path) -> None:
    last = crafted.response(3)[:60]  # the file ends inside record 3's header
    records = [overshooting(WHOLE_2 + len(last)), crafted.response(2), last]
    ids, rejects, _ = read_ids(write(tmp_path, records, False))
    # The same one reject as where no Content-Length lies (the cut header has none)
    assert ids == IDS[:2] and rejects == Counter({"bad_warc_header": 1})
    assert read_ids(write(tmp_path, records[1:], False))[1] == Counter({"bad_warc_header": 1})


def test_warc_data_served_over_http_is_one_payload(tmp_path: Path) -> None:
    archive = crafted.response(7) + crafted.response(8)
    served = crafted.http_response(archive, "application/warc")
    records = [crafted.warc_record("response", 1, served), crafted.response(2)]
    ids, rejects, counters = read_ids(write(tmp_path, records, False))
    assert ids == [IDS[1]] and rejects == Counter({"binary_payload": 1})
    assert "content_length_overshoot" not in counters
    assert swallowed_from(archive) is None


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_request_whose_content_length_is_too_long_loses_no_record(tmp_path: Path, gz: bool) -> None:
    """FastWARC skips a request's block unread: the response its Content-Length took in was lost unseen."""
    block = b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n"
    taken = crafted.response(2)
    lying = crafted.warc_record("request", 1, block, extra={"Content-Length": str(len(block) + len(taken))})
    records = [crafted.response(0), lying, taken, crafted.response(3)]
    ids, rejects, counters = read_ids(write(tmp_path, records, gz))
    assert ids == [crafted.record_id(i) for i in (0, 2, 3)] and not rejects
    assert counters["content_length_overshoot"] == 1 and counters["skipped_request"] == 1


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_content_length_over_the_cap_that_lies_loses_only_its_record(tmp_path: Path, gz: bool) -> None:
    """A garbled Content-Length of 99,999,999 on record 1: it is too large, and records 2-4, which it claimed,
    are read (they were dropped without a count)."""
    block = crafted.http_response(crafted.page_html(1))
    lying = crafted.warc_record("response", 1, block, extra={"Content-Length": "99999999"})
    records = [lying, crafted.response(2), crafted.response(3), crafted.response(4)]
    ids, rejects, counters = read_ids(write(tmp_path, records, gz))
    assert ids == IDS[1:] and rejects == Counter({"too_large": 1})
    assert counters["content_length_overshoot"] == 1


def test_a_block_larger_than_the_read_ahead_is_looked_through_in_chunks(tmp_path: Path) -> None:
    """A 5 MiB metadata block whose Content-Length also takes record 2 in: found in the chunked scan (past
    what FastWARC reads ahead); a truly large response after it is too large and costs only itself."""
    filler = b"fetchTimeMs: 1\r\n" * (5 << 16)
    taken = crafted.response(2)
    lying = crafted.warc_record(
        "metadata", 1, filler, extra={"Content-Length": str(len(filler) + len(taken))}
    )
    large = crafted.warc_record("response", 3, crafted.http_response(b"<p>" + b"x" * (3 << 20) + b"</p>"))
    records = [lying, taken, large, crafted.response(4)]
    ids, rejects, counters = read_ids(write(tmp_path, records, False), ReadOptions(max_doc_bytes=1 << 20))
    assert ids == [IDS[1], IDS[3]] and rejects == Counter({"too_large": 1})
    assert counters["content_length_overshoot"] == 1 and counters["skipped_metadata"] == 1


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_header_over_fastwarc_s_default_limit_is_read(tmp_path: Path, gz: bool) -> None:
    """A 70 KB WARC-Target-URI: FastWARC's 64 KiB default refused the header and every record after it was
    lost; the header is read now (the URL itself is over the field cap: one reject), and the rest kept."""
    url = "https://example.org/?q=" + "a" * 70_000
    long_header = crafted.warc_record("response", 2, crafted.http_response(crafted.page_html(2)), uri=url)
    records = [crafted.response(1), long_header, crafted.response(3), crafted.response(4)]
    ids, rejects, _ = read_ids(write(tmp_path, records, gz))
    assert ids == [IDS[0], IDS[2], IDS[3]] and rejects == Counter({"field_too_large": 1})


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_header_fastwarc_refuses_costs_only_its_record(
    tmp_path: Path, gz: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the header limit FastWARC raises and its iterator is done: that record is one reject, and reading
    restarts at the next record (the rest of the file was lost, as one skipped span)."""
    monkeypatch.setattr("corpus.warc.MAX_HEADER_BYTES", 4096)
    url = "https://example.org/?q=" + "a" * 8000
    refused = crafted.warc_record("response", 2, crafted.http_response(crafted.page_html(2)), uri=url)
    records = [crafted.response(1), refused, crafted.response(3), crafted.response(4)]
    rejected = RejectLog()
    ids = [
        i
        for b in read_documents(str(write(tmp_path, records, gz)), ReadOptions(), rejected)
        for i in b.column("id").to_pylist()
    ]
    assert ids == [IDS[0], IDS[2], IDS[3]] and rejected.counts == Counter({"corrupt_record": 1})
    assert "Maximum header length exceeded" in rejected.items[0].detail and not rejected.skipped
    assert rejected.items[0].input.endswith(f":offset {len(crafted.response(1))}")
