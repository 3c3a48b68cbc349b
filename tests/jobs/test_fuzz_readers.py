"""Fuzzing the readers the ingest job runs (`corpus.readers.read_documents`) and hardening checks on parsing.

Property: a reader never raises on bad data, and no good record is lost: every input record is either a
document or a reject (JSONL: every non-blank line; WARC: every response record), and a damaged file that
yields fewer documents than the intact one says so with at least one reject. Examples are bounded so the
module runs in well under a minute.
"""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OPTIONS = ReadOptions(batch_size=7)  # small batches: exercise batch boundaries too


def read_all(path: Path) -> tuple[pa.Table | None, RejectLog]:
    rejects = RejectLog()
    batches = list(read_documents(str(path), OPTIONS, rejects))
    return (pa.Table.from_batches(batches) if batches else None), rejects


def ids_of(table: pa.Table | None) -> list[str]:
    return [] if table is None else table.column("id").to_pylist()


# ---------------------------------------------------------------------------------------------------------
# JSONL

good_text = st.text(min_size=1, max_size=200).filter(lambda t: t.strip())
good_record = st.fixed_dictionaries(
    {"text": good_text},
    optional={
        "url": st.one_of(st.none(), st.text(max_size=30)),
        "created": st.sampled_from(["2020-01-02", "2021-05-06T07:08:09Z", "2019-12-31T23:00:00+02:00"]),
        "metadata": st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=10), max_size=3),
    },
)
# Lines that are not documents: not JSON, not an object, wrong types, no text, bad timestamps.
bad_line = st.one_of(
    st.binary(min_size=1, max_size=60).filter(lambda b: b"\n" not in b and b.strip()),
    st.sampled_from(
        [
            b"[1, 2]",
            b'"text"',
            b"42",
            b"{}",
            b'{"text": 5}',
            b'{"text": "x", "created": "not a date"}',
            b'{"text": "   "}',
            b'{"text": "x", "metadata": [1]}',
            b'{"id": "q", "text": null}',
            b"{" * 50,
        ]
    ),
)
line_kind = st.one_of(st.tuples(st.just("good"), good_record), st.tuples(st.just("bad"), bad_line))


@SETTINGS
@given(
    lines=st.lists(line_kind, max_size=25),
    compression=st.sampled_from(["none", "gzip", "zstd"]),
    ascii_only=st.booleans(),
)
def test_jsonl_reader_loses_no_record(tmp_path_factory, lines, compression: str, ascii_only: bool) -> None:
    folder = tmp_path_factory.mktemp("jsonl")
    raw: list[bytes] = []
    good_ids: list[str] = []
    for index, (kind, value) in enumerate(lines):
        if kind == "good":
            record = {"id": f"good-{index}", **value}
            good_ids.append(record["id"])
            raw.append(json.dumps(record, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))
        else:
            raw.append(value)
    data = b"\n".join(raw) + (b"\n" if raw else b"")
    path = folder / "fuzz.jsonl"
    if compression == "gzip":
        path, data = folder / "fuzz.jsonl.gz", gzip.compress(data)
    elif compression == "zstd":
        path, data = folder / "fuzz.jsonl.zst", zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)

    table, rejects = read_all(path)
    found = ids_of(table)
    nonblank = sum(1 for line in raw if line.strip())
    if not raw:
        # An empty file is one skipped span (no record); a compressed empty stream is a valid empty file.
        assert table is None and len(rejects) == 0
        assert rejects.skipped_counts == ({"empty_file": 1} if compression == "none" else {})
    else:
        assert len(found) + len(rejects) == nonblank, (found, rejects.counts)
    assert set(good_ids) <= set(found)
    assert len(found) == len(set(found))


CUT_LINES = [json.dumps({"id": f"d{i}", "text": f"document number {i} " * 20}) for i in range(200)]
CUT_DATA = gzip.compress(("\n".join(CUT_LINES) + "\n").encode(), mtime=0)


# A file cut inside its 3 magic bytes is test_a_compressed_file_cut_inside_its_magic_bytes_is_reported's.
@SETTINGS
@given(size=st.one_of(st.just(0), st.integers(min_value=4, max_value=len(CUT_DATA))))
def test_truncated_gzip_jsonl_keeps_lines_before_the_cut(tmp_path_factory, size: int) -> None:
    folder = tmp_path_factory.mktemp("cut")
    path = folder / "cut.jsonl.gz"
    path.write_bytes(CUT_DATA[:size])
    table, rejects = read_all(path)
    # What a reference decoder (zlib) gets out of the bytes before the cut: every line it ends is a
    # document, in order, and the line it leaves open (if any) is one counted reject.
    decoded = zlib.decompressobj(wbits=31).decompress(CUT_DATA[:size])
    complete, open_line = decoded.count(b"\n"), decoded.rsplit(b"\n", 1)[-1]
    assert ids_of(table) == [f"d{i}" for i in range(complete)]
    if size == len(CUT_DATA):
        assert complete == 200 and (rejects.counts, rejects.skipped_counts) == ({}, {})
    elif size == 0:
        assert (rejects.counts, rejects.skipped_counts) == ({}, {"empty_file": 1})
    else:  # the cut is reported, never silent: a skipped span, and a reject for a line it cut
        assert rejects.skipped_counts == {"truncated_gzip": 1}
        assert rejects.counts == ({"truncated_gzip": 1} if open_line else {})


# ---------------------------------------------------------------------------------------------------------
# WARC

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10)


def warc_record(record_type: str, record_id: str, payload: bytes, headers: dict[str, str]) -> bytes:
    head = [
        "WARC/1.0",
        f"WARC-Type: {record_type}",
        f"WARC-Record-ID: <{record_id}>",
        *[f"{k}: {v}" for k, v in headers.items()],
        f"Content-Length: {len(payload)}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload + b"\r\n\r\n"


def http_response(body: bytes, status: int, content_type: str) -> bytes:
    head = f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


response_spec = st.fixed_dictionaries(
    {
        "words": st.lists(WORDS, min_size=3, max_size=40),
        "status": st.sampled_from([200, 200, 200, 404, 301]),
        "content_type": st.sampled_from(
            ["text/html; charset=utf-8", "text/html", "text/plain", "image/png", "text/html; charset=bogus"]
        ),
        "date": st.sampled_from(["2024-05-18T01:02:03Z", "2008-10-294T05:21:46-0700", ""]),
        "last_modified": st.sampled_from(["", "Sat, 04 May 2024 10:00:00 GMT", "yesterday"]),
        "with_request": st.booleans(),
    }
)


@SETTINGS
@given(specs=st.lists(response_spec, max_size=12), gzip_members=st.booleans())
def test_warc_reader_accounts_for_every_response(tmp_path_factory, specs, gzip_members: bool) -> None:
    folder = tmp_path_factory.mktemp("warc")
    records: list[bytes] = []
    plain_ok: list[str] = []
    for index, spec in enumerate(specs):
        record_id = f"urn:uuid:{uuid.UUID(int=index + 1)}"
        text = " ".join(spec["words"])
        body = (
            f"<html><head><title>t</title></head><body><article><p>{text}</p></article></body></html>"
            if "html" in spec["content_type"]
            else text
        ).encode()
        headers = {
            "WARC-Target-URI": f"https://example.org/{index}",
            "Content-Type": "application/http; msgtype=response",
        }
        if spec["date"]:
            headers["WARC-Date"] = spec["date"]
        http = http_response(body, spec["status"], spec["content_type"])
        if spec["last_modified"]:
            http = http.replace(
                b"\r\n\r\n", f"\r\nLast-Modified: {spec['last_modified']}\r\n\r\n".encode(), 1
            )
        if spec["with_request"]:
            records.append(
                warc_record(
                    "request",
                    f"urn:uuid:{uuid.UUID(int=10_000 + index)}",
                    b"GET / HTTP/1.1\r\n\r\n",
                    {"WARC-Target-URI": headers["WARC-Target-URI"]},
                )
            )
        records.append(warc_record("response", record_id, http, headers))
        if spec["status"] == 200 and spec["content_type"] in ("text/html; charset=utf-8", "text/plain"):
            plain_ok.append(f"<{record_id}>")
    path = folder / "fuzz.warc.gz"
    data = b"".join(gzip.compress(r) for r in records) if gzip_members else gzip.compress(b"".join(records))
    path.write_bytes(data)
    table, rejects = read_all(path)
    found = ids_of(table)
    if specs:
        assert len(found) + len(rejects) == len(specs), (found, rejects.counts)
    found_ids = {i if i.startswith("<") else f"<{i}>" for i in found}
    assert set(plain_ok) <= found_ids, (plain_ok, found, rejects.counts)


def _sample_warc(data_dir: Path) -> bytes:
    return gzip.decompress((data_dir / "warc" / "dolma_sample-0000.warc.gz").read_bytes())


mutation = st.one_of(
    st.tuples(st.just("overwrite"), st.floats(0.0, 1.0), st.binary(min_size=1, max_size=300)),
    st.tuples(st.just("insert"), st.floats(0.0, 1.0), st.binary(min_size=1, max_size=300)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mutations=st.lists(mutation, max_size=3),
    compress=st.booleans(),
    cut=st.one_of(st.none(), st.floats(0.0, 0.999)),
)
def test_damaged_warc_never_crashes_and_never_loses_silently(
    tmp_path_factory,
    data_dir: Path,
    mutations,
    compress: bool,
    cut: float | None,
) -> None:
    """Overwritten or inserted bytes in the records, then optionally the file cut short. (A plain WARC cut at
    a record boundary is a valid shorter WARC, so only a compressed file's cut must be reported.)"""
    original = _sample_warc(data_dir)
    folder = tmp_path_factory.mktemp("damaged")
    intact = folder / "intact.warc"
    intact.write_bytes(original)
    intact_table, intact_rejects = read_all(intact)
    intact_ids = set(ids_of(intact_table))
    data = bytearray(original)
    for kind, where, payload in mutations:
        at = int(len(data) * where)
        if kind == "overwrite":
            data[at : at + len(payload)] = payload
        else:
            data[at:at] = payload
    final = gzip.compress(bytes(data)) if compress else bytes(data)
    if cut is not None:
        final = final[: int(len(final) * cut)]
    damaged = folder / ("damaged.warc.gz" if compress else "damaged.warc")
    damaged.write_bytes(final)
    table, rejects = read_all(damaged)
    found = ids_of(table)
    assert len(found) == len(set(found))
    assert len(found) <= len(intact_ids) + len(mutations)
    if len(found) < len(intact_ids) and (compress or cut is None):
        reported = len(rejects) + len(rejects.skipped)
        assert reported > len(intact_rejects), "records disappeared without a reject or a skipped span"


# ---------------------------------------------------------------------------------------------------------
# Hardening: parsing never reaches outside the input (no external entities, no network, no file reads)


class CountingListener:
    """A TCP listener on a free 127.0.0.1 port that counts connection attempts (none are expected)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:

        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


def test_mediawiki_xml_with_external_entities_reads_nothing_outside(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    listener = CountingListener()
    try:
        xml = f"""<?xml version="1.0"?>
<!DOCTYPE mediawiki [
  <!ENTITY local SYSTEM "file://{secret}">
  <!ENTITY remote SYSTEM "http://127.0.0.1:{listener.port}/entity">
  <!ENTITY % param SYSTEM "http://127.0.0.1:{listener.port}/dtd">
  %param;
]>
<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">
  <page><title>XXE</title><ns>0</ns><id>1</id>
    <revision><id>10</id><timestamp>2020-01-01T00:00:00Z</timestamp>
      <text>before &local; &remote; after</text></revision>
  </page>
</mediawiki>
"""
        path = tmp_path / "xxe.xml"
        path.write_text(xml)
        table, rejects = read_all(path)
    finally:
        listener.close()
    assert listener.connections == 0
    # expat resolves no external entity: the revision's text names an undefined one, so its page is one
    # bad_xml reject (never a document holding the file's content), named by its page id, and counted
    assert table is None and rejects.skipped == []
    [reject] = rejects.items
    assert (reject.reason, reject.input) == ("bad_xml", f"{path}:page 1")
    assert reject.detail.startswith("XML error: undefined entity &local;"), reject.detail
    assert b"TOP-SECRET" not in reject.sample and b"<title>XXE</title>" in reject.sample


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    """Ten levels of ten references each would expand to 3 * 10**9 characters: the parser refuses the
    expansion (expat's amplification limit), and the page is one bad_xml reject, never a document."""
    entities = ['<!ENTITY a0 "lol">'] + [
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE mediawiki [{"".join(entities)}]>'
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/"><page><title>L</title><ns>0</ns><id>1</id>'
        "<revision><id>1</id><timestamp>2020-01-01T00:00:00Z</timestamp><text>&a9;</text></revision>"
        "</page></mediawiki>"
    )
    path = tmp_path / "laughs.xml"
    path.write_text(xml)
    table, rejects = read_all(path)
    assert table is None and rejects.skipped == []
    [reject] = rejects.items
    assert (reject.reason, reject.input) == ("bad_xml", f"{path}:page 1")
    assert "limit on input amplification factor" in reject.detail, reject.detail
    assert b"lol" not in reject.sample and reject.sample.startswith(b"<page><title>L</title>")


def test_html_with_external_references_fetches_nothing(tmp_path: Path) -> None:
    """HTML to text (resiliparse) and the HTML-date kernel (htmldate/lxml) that ingest runs never fetch the
    page's external resources, DTD or entities."""
    from jobs.ingest import read_file_batches

    listener = CountingListener()
    base = f"http://127.0.0.1:{listener.port}"
    html = f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "{base}/dtd">
<html><head><link rel="stylesheet" href="{base}/css"><script src="{base}/js"></script>
<meta http-equiv="refresh" content="0; url={base}/refresh"><base href="{base}/">
<meta property="article:published_time" content="2021-03-04"></head>
<body><img src="{base}/img"><iframe src="{base}/frame"></iframe><object data="{base}/obj"></object>
<svg><image href="{base}/svg"/></svg><article><p>External references must stay unfetched here.</p></article>
<p>&xxe; and more words so the page has text.</p></body></html>"""
    try:
        http = http_response(html.encode(), 200, "text/html; charset=utf-8")
        headers = {
            "WARC-Target-URI": "https://example.org/x",
            "WARC-Date": "2024-05-18T01:02:03Z",
            "Content-Type": "application/http; msgtype=response",
        }
        path = tmp_path / "refs.warc"
        path.write_bytes(
            warc_record("response", "urn:uuid:00000000-0000-0000-0000-000000000001", http, headers)
        )
        from datetime import UTC, datetime

        options = ReadOptions(keep_html=True, added=datetime(2024, 6, 1, tzinfo=UTC))
        from dating.html_meta import html_meta_date_batch

        batches = list(read_file_batches(str(path), options, html_meta_date_batch))
        import time

        time.sleep(0.5)  # a fetch, if one were started asynchronously, would have connected by now
    finally:
        listener.close()
    table = pa.Table.from_batches(batches)
    documents = table.filter(pc.is_null(table.column("reject_reason")))
    assert documents.num_rows == 1
    assert "External references must stay unfetched" in documents.column("text")[0].as_py()
    assert listener.connections == 0
    # htmldate parsed the page (and its DOCTYPE) and found the meta date: article:published_time 2021-03-04
    assert documents.column("html_meta_date")[0].as_py() == datetime(2021, 3, 4, tzinfo=UTC)


def test_no_pickle_or_eval_of_input_in_library_code() -> None:
    """Input is parsed by format parsers only: no pickle, marshal, eval/exec or unsafe YAML anywhere."""
    import re

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(
        r"\bpickle\.loads?\(|\bmarshal\.loads?\(|(?<![\w.])eval\(|(?<![\w.])exec\(|yaml\.load\(|"
        r"yaml\.unsafe_load|shell=True|torch\.load\((?![^)]*weights_only=True)"
    )
    offenders = []
    for package in ("corpus", "dating", "dedup", "mixers", "trainers", "jobs"):
        for file in sorted((root / package).rglob("*.py")):
            for number, line in enumerate(file.read_text().splitlines(), start=1):
                if pattern.search(line.split("#", 1)[0]):
                    offenders.append(f"{file.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize(
    "name, data",
    [
        ("a.warc.gz", b"\x1f"),
        ("b.warc.gz", b"\x1f\x8b"),
        ("c.warc.gz", b"\x1f\x8b\x08"),
        ("d.warc.bz2", b"BZ"),
        ("e.warc.bz2", b"BZh91AY"),
    ],
)
def test_a_compressed_file_cut_inside_its_magic_bytes_is_reported(
    tmp_path: Path, name: str, data: bytes
) -> None:
    # Found by the fuzz test above (a gzip WARC cut to its first byte): it was read as an empty plain file and
    # its records disappeared without a trace. It is a truncated member, as a cut after the header is, where it
    # was once `not_gzip` ("bytes that start no gzip member") for a cut inside the header.
    path = tmp_path / name
    path.write_bytes(data)
    table, rejects = read_all(path)
    codec = {"gz": "gzip", "bz2": "bz2"}[name.rsplit(".", 1)[1]]
    assert table is None and len(rejects) == 0
    assert [(s.reason, s.offset, s.length) for s in rejects.skipped] == [(f"truncated_{codec}", 0, len(data))]


def test_a_member_cut_inside_its_header_after_whole_ones_is_truncated(tmp_path: Path) -> None:
    whole = gzip.compress(b'{"text": "kept", "id": "a"}\n')
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole + b"\x1f\x8b")
    table, rejects = read_all(path)
    assert table is not None and table.column("text").to_pylist() == ["kept"]
    assert [(s.reason, s.offset, s.length) for s in rejects.skipped] == [("truncated_gzip", len(whole), 2)]
