"""Crafted inputs the reader tests build for themselves: WARC/WET records, one gzip member per record (as
Common Crawl writes them), JSON lines and MediaWiki pages, and the damage done to them."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

WARC_DATE = "2024-05-18T01:02:03Z"


def record_id(index: int) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{index:012d}"


def warc_record(
    warc_type: str, index: int, block: bytes, uri: str | None = None, extra: dict[str, str] | None = None
) -> bytes:
    """One uncompressed WARC/1.0 record around `block` (Content-Length computed unless `extra` sets it;
    `extra={"Content-Length": None}` leaves it out)."""
    fields = {
        "WARC-Type": warc_type,
        "WARC-Date": WARC_DATE,
        "WARC-Record-ID": f"<{record_id(index)}>",
        "WARC-Target-URI": uri or f"https://example.org/page/{index}",
        "Content-Type": "application/http; msgtype=response" if warc_type == "response" else "text/plain",
        "Content-Length": str(len(block)),
        **(extra or {}),
    }
    head = "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v is not None)
    return f"WARC/1.0\r\n{head}\r\n".encode() + block + b"\r\n\r\n"


def http_response(body: bytes, content_type: str = "text/html; charset=utf-8", extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{extra}\r\n".encode() + body


def page_html(index: int, words: int = 40) -> bytes:
    text = " ".join(f"word{(index * 7 + i) % 997}" for i in range(words))
    return (
        f"<html><head><title>Page {index}</title></head><body><article><h1>Page {index}</h1>"
        f"<p>Document number {index}. {text}</p></article></body></html>"
    ).encode()


def response(index: int) -> bytes:
    return warc_record("response", index, http_response(page_html(index)))


def warcinfo() -> bytes:
    return warc_record("warcinfo", 0, b"software: chronomix-tests\r\nisPartOf: CC-MAIN-2024-22\r\n")


def conversion(index: int) -> bytes:
    text = f"Plain text of document {index}. " + " ".join(f"token{i}" for i in range(30))
    extra = {"WARC-Identified-Content-Language": "eng"}
    return warc_record("conversion", index, text.encode(), extra=extra)


def members(records: list[bytes]) -> list[bytes]:
    """One gzip member per record (fixed mtime: the same bytes on every run)."""
    return [gzip.compress(r, mtime=0) for r in records]


def corrupt_crc(member: bytes) -> bytes:
    """`member` with its CRC-32 changed: the data decodes whole, the check fails."""
    damaged = bytearray(member)
    damaged[-8] ^= 0xFF
    return bytes(damaged)


def corrupt_data(member: bytes) -> bytes:
    """`member` with a run of its deflate data overwritten (decoding fails, or the check does)."""
    damaged = bytearray(member)
    middle = len(damaged) // 2
    run = min(16, len(damaged) - 8 - middle)
    damaged[middle : middle + run] = bytes(run)
    return bytes(damaged)


def gzip_payload_short_trailer(data: bytes) -> bytes:
    """`data` gzip-compressed with the last 2 bytes of the trailer missing (every data byte still decodes)."""
    return gzip.compress(data, mtime=0)[:-2]


def jsonl_line(index: int, **fields: object) -> bytes:
    record = {"id": f"doc-{index}", "text": f"Line document {index} with some words in it.", **fields}
    return json.dumps(record).encode() + b"\n"


def write_jsonl_gz(path: Path, records: list[dict]) -> Path:
    """`records` as one gzip JSON Lines file (fast compression: a test's corpus, not an archive)."""
    with gzip.open(path, "wt", compresslevel=1) as out:
        out.write("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def mediawiki_page(page_id: int, text: str, revision_id: int | None = None) -> str:
    revision_id = revision_id or page_id * 10
    return (
        f"<page><title>Page {page_id}</title><ns>0</ns><id>{page_id}</id>"
        f"<revision><id>{revision_id}</id><timestamp>2020-01-01T00:00:00Z</timestamp>"
        f'<text bytes="{len(text)}">{text}</text></revision></page>\n'
    )


def mediawiki(pages: str, doctype: str = "") -> str:
    return (
        f'<?xml version="1.0"?>\n{doctype}<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/">\n'
        "<siteinfo><base>https://en.example.org/wiki/Main_Page</base></siteinfo>\n"
        f"{pages}</mediawiki>\n"
    )


def member_with_invalid_block(data: bytes, good: int) -> bytes:
    """A gzip member whose deflate data holds the first `good` bytes of `data`, flushed to a byte boundary,
    then a block of the reserved type 3: decoders fail exactly there, after handing out `good` bytes."""
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    head = packer.compress(data[:good]) + packer.flush(zlib.Z_FULL_FLUSH)
    trailer = zlib.crc32(data).to_bytes(4, "little") + len(data).to_bytes(4, "little")
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head + b"\x07" + bytes(32) + trailer


PROXY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n"
)


def issue18_inputs(folder: Path) -> dict[str, int]:
    """Issue 18's seven broken inputs, written into `folder` (record ids distinct across files). Returns the
    documents each file should give."""
    folder.mkdir(parents=True, exist_ok=True)
    six = members([warcinfo()] + [response(i) for i in range(1, 6)])
    six[3] = corrupt_crc(six[3])  # 1. a member with a bad CRC in the middle
    (folder / "crc.warc.gz").write_bytes(b"".join(six))
    junk = b"".join(members([warcinfo()] + [response(i) for i in range(11, 14)]))
    (folder / "junk.warc.gz").write_bytes(junk + PROXY_PAGE * 3)  # 2. a proxy's page after the last member
    wet = members([warcinfo()] + [conversion(i) for i in range(21, 25)])
    cut = sum(map(len, wet)) - len(wet[-1]) // 2
    (folder / "cut.warc.wet.gz").write_bytes(b"".join(wet)[:cut])  # 3. the last member cut
    (folder / "surrogates.jsonl").write_bytes(  # 4. lone surrogates and a NUL
        jsonl_line(1)
        + b'{"id": "\\udfff-id-d", "text": "surrogate \\ud800 in the text"}\n'
        + b'{"id": "doc-3", "text": "a NUL \\u0000 in the text"}\n'
    )
    doctype = '<!DOCTYPE mediawiki [<!ENTITY local SYSTEM "file:///etc/passwd">]>\n'
    pages = "".join(
        mediawiki_page(p, f"page {p} text &local;" if p == 102 else f"page {p}") for p in range(101, 105)
    )
    (folder / "xxe.xml").write_text(mediawiki(pages, doctype))  # 5. an external entity in page 102
    block = http_response(page_html(32))
    records = [response(31), warc_record("response", 32, block, extra={"Content-Length": None})]
    records += [response(33), warc_record("response", 34, block, extra={"Content-Length": "abc"})]
    (folder / "length.warc").write_bytes(b"".join([*records, response(35), response(36)]))  # 6.
    short = http_response(gzip_payload_short_trailer(page_html(41, 300)), extra="Content-Encoding: gzip\r\n")
    (folder / "trailer.warc").write_bytes(warc_record("response", 41, short))  # 7. gzip trailer 2 bytes short
    return {
        "crc.warc.gz": 4,
        "junk.warc.gz": 3,
        "cut.warc.wet.gz": 3,
        "surrogates.jsonl": 3,
        "xxe.xml": 3,
        "length.warc": 4,
        "trailer.warc": 1,
    }
