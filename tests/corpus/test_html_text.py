"""Content decoding, charset choice and HTML to text, checked on real pages and against the libraries."""

from __future__ import annotations

import gzip
import re
import tracemalloc
import zlib

import brotli
import pytest
from fastwarc.warc import ArchiveIterator
from resiliparse.extract.html2text import extract_plain_text

from corpus.html_text import (
    ContentDecodingError,
    choose_charset,
    declared_language,
    decode_content_encoding,
    decode_payload,
    html_to_text,
    meta_charset,
    normalise_charset,
    parse_html,
)
from tests.shared_data import SHARED_DATA, needs_shared_data

DATA = SHARED_DATA
PAGES = DATA / "dating" / "pages"
CLUEWEB = DATA / "warc" / "resiliparse_clueweb09-ja-quirk.warc.gz"


@pytest.fixture(scope="module")
def clueweb_body() -> bytes:
    """The first ClueWeb09 payload: EUC-JP HTML, no meta charset in its first 1024 bytes."""
    for record in ArchiveIterator(CLUEWEB.open("rb"), parse_http=True, quirks_mode=True):
        if str(record.record_type) == "response":
            return record.reader.read()
    raise AssertionError("no response record")


def test_content_encodings_round_trip() -> None:
    page = b"<html><body><p>" + b"hello world " * 200 + b"</p></body></html>"
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    cases = {
        "gzip": gzip.compress(page),
        "x-gzip": gzip.compress(page),
        "deflate": zlib.compress(page),
        "br": brotli.compress(page),
        "identity": page,
        "gzip, br": brotli.compress(gzip.compress(page)),
    }
    for coding, body in cases.items():
        assert decode_content_encoding(body, coding) == (page, False, None), coding
    assert decode_content_encoding(raw_deflate.compress(page) + raw_deflate.flush(), "deflate") == (
        page,
        False,
        None,
    )


def test_gzip_label_on_plain_payload_is_a_counted_mismatch() -> None:
    page = b"<html><body>stored decoded</body></html>"
    assert decode_content_encoding(page, "gzip") == (page, True, None)


def test_cut_or_corrupt_payload_keeps_what_decodes_before_the_defect() -> None:
    page = b"<html><body>" + b"".join(b"<p>paragraph %d</p>" % i for i in range(3000)) + b"</body></html>"
    packed = gzip.compress(page)
    # A trailer short by 2 bytes: every byte of the page decodes, only the length check is missing.
    assert decode_content_encoding(packed[:-2], "gzip") == (page, False, "truncated")
    cut = decode_content_encoding(packed[: len(packed) // 2], "gzip")
    assert cut.defect == "truncated" and 0 < len(cut.payload) < len(page)
    assert page.startswith(cut.payload)
    damaged = bytearray(zlib.compress(page))
    damaged[len(damaged) // 2 : len(damaged) // 2 + 64] = bytes(64)  # an invalid block in the middle
    corrupt = decode_content_encoding(bytes(damaged), "deflate")
    assert corrupt.defect == "corrupt" and len(page) // 4 < len(corrupt.payload) < len(page)
    assert page.startswith(corrupt.payload[: len(page) // 4])


@pytest.mark.parametrize(
    ("body", "coding"),
    [
        (gzip.compress(bytes(range(256)) * 20, mtime=0)[:10], "gzip"),  # the header alone
        (b"\x1f\x8b\x08\x00garbage-garbage", "gzip"),
        (b"\x00\x01\x02 not brotli", "br"),
        (b"abc", "compress"),
    ],
)
def test_bad_content_encoding_raises(body: bytes, coding: str) -> None:
    with pytest.raises(ContentDecodingError):
        decode_content_encoding(body, coding)


@needs_shared_data
def test_charset_order_http_then_meta_then_detection(clueweb_body: bytes) -> None:
    meta = b'<html><head><meta charset="shift_jis"></head><body>x</body></html>'
    assert choose_charset(meta, "utf-8") == ("utf-8", "http")
    assert choose_charset(meta, None) == ("shift_jis", "meta")
    assert choose_charset(meta, "no-such-charset") == ("shift_jis", "meta")
    assert choose_charset(b"\xef\xbb\xbf<p>x</p>", "iso-8859-1") == ("utf-8", "bom")
    assert choose_charset(clueweb_body, None) == ("euc_jp", "meta")
    undeclared = clueweb_body.replace(b"<meta", b"<xmeta").replace(b"<META", b"<xmeta")
    assert choose_charset(undeclared, None) == ("euc_jp", "detected")


@needs_shared_data
def test_detected_euc_jp_decodes_the_japanese_page(clueweb_body: bytes) -> None:
    decoded = decode_payload(clueweb_body.replace(b"<meta", b"<xmeta").replace(b"<META", b"<xmeta"), None)
    assert decoded.replaced == 0
    assert decoded.how == "detected" and "ヘッドポーター" in decoded.text
    assert decoded.text.replace("<xmeta", "<meta") == clueweb_body.decode("euc_jp").replace("<META", "<meta")


def test_meta_http_equiv_and_whatwg_names() -> None:
    equiv = b'<meta http-equiv="Content-Type" content="text/html; charset=GBK">'
    assert meta_charset(equiv) == "gb18030"
    assert normalise_charset("ISO-8859-1") == "cp1252"
    assert normalise_charset("bogus") is None
    text = "中文网页，编码为国标扩展。"
    assert decode_payload(text.encode("gb18030"), "gbk").text == text


def test_mislabelled_charset_falls_back_to_detection() -> None:
    page = "<html><body><p>" + "Un café crème à Paris, s'il vous plaît. " * 20 + "</p></body></html>"
    decoded = decode_payload(page.encode("cp1252"), "utf-8")
    assert decoded.replaced == 0 and "café crème" in decoded.text and decoded.how == "detected"


def test_undecodable_bytes_are_replaced_and_counted() -> None:
    # bytes that neither UTF-8 nor the detected charset decode (the WARC test's junk page)
    junk = (
        b"<html><body><p>" + bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0xFF, 0xC0]) * 300 + b"</p></body></html>"
    )
    decoded = decode_payload(junk, "utf-8")
    assert decoded.replaced > 1000 and decoded.text.count("\ufffd") == decoded.replaced
    assert decoded.text.startswith("<html><body><p>")
    # a U+FFFD the page itself contains is not a decoding failure
    assert decode_payload("<p>a \ufffd b</p>".encode(), "utf-8").replaced == 0


@needs_shared_data
def test_html_to_text_matches_resiliparse_main_content_on_real_pages() -> None:
    pages = sorted(PAGES.glob("*.html.gz"))[:5]
    assert pages
    for page in pages:
        html = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
        text, fell_back = html_to_text(html)
        reference = extract_plain_text(html, preserve_formatting=True, main_content=True)
        assert text == (reference if reference.strip() else text)
        assert fell_back == (not reference.strip())
        assert text.strip() and "<script" not in text


def test_html_to_text_falls_back_to_the_whole_page() -> None:
    html = "<html><body><nav><a href='/'>Home</a> <a href='/about'>About us</a></nav></body></html>"
    assert extract_plain_text(html, main_content=True).strip() == ""
    text, fell_back = html_to_text(html)
    assert fell_back and "Home" in text and "About us" in text


def test_a_meta_utf16_label_on_an_ascii_page_reads_as_utf8() -> None:
    page = b'<html><head><meta charset="utf-16"></head><body><p>Hello world</p></body></html>'
    assert meta_charset(page) == "utf-8"
    assert decode_payload(page, None).text == page.decode()
    # a real UTF-16 page is found by its byte-order mark before any meta label
    assert choose_charset(b"\xff\xfe" + page.decode().encode("utf-16-le"), None) == ("utf-16-le", "bom")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_decoding_stops_at_the_cap(coding: str) -> None:
    from corpus.html_text import DecodedTooLarge

    page = b"<p>" + b"a" * 200_000
    packed = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}[coding](page)
    bomb = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}[coding](b"a" * (64 << 20))
    tracemalloc.start()
    with pytest.raises(DecodedTooLarge):  # 64 MiB claimed; the memory used stays near the cap
        decode_content_encoding(bomb, coding, max_bytes=100_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20, peak
    with pytest.raises(DecodedTooLarge):
        decode_content_encoding(packed, coding, max_bytes=100_000)
    assert decode_content_encoding(packed, coding, max_bytes=len(page)).payload == page


def test_declared_language_is_the_root_lang_else_content_language() -> None:
    def declared(html: str, header: str | None = None) -> str | None:
        return declared_language(parse_html(html), header)

    assert declared('<html lang=" pt-BR "><body><p>Olá</p></body></html>', "en") == "pt-BR"
    assert declared('<html xml:lang="an"><body><p>Ola</p></body></html>') == "an"
    assert declared("<html><body><p>Hej</p></body></html>", "da, en") == "da"
    assert declared("<html><body><p lang='de'>Hallo</p></body></html>") is None  # only the page's own
    assert declared('<html lang=""><body></body></html>', None) is None
    assert declared(f'<html lang="{"x" * 40}"><body></body></html>', "fr") == "fr"  # not a tag: the header


def test_utf8_bytes_are_read_as_utf8_whatever_the_page_declares() -> None:
    danish = "Norwegian-aktien åbner 2020 med et hop op i værdi.".encode()
    meta = b'<html><head><meta charset="iso-8859-1"></head><body><p>' + danish + b"</p></body></html>"
    assert choose_charset(meta, None) == ("utf-8", "valid_utf8")
    assert choose_charset(danish, "ISO-8859-1", is_html=False) == ("utf-8", "valid_utf8")
    assert "værdi" in decode_payload(meta, None).text
    # text that is in the charset it declares keeps it: Latin-1 bytes are no valid UTF-8, nor is EUC-JP
    latin = "Café crème à la française".encode("cp1252")
    assert choose_charset(latin, "ISO-8859-1", is_html=False) == ("cp1252", "http")
    japanese = "日本語のページ".encode("euc_jp")
    assert choose_charset(japanese, "EUC-JP", is_html=False)[1] == "http"
    # ASCII reads the same in all of them: the declaration stands
    assert choose_charset(b"plain ascii", "ISO-8859-1", is_html=False) == ("cp1252", "http")


@needs_shared_data
def test_no_real_news_page_is_mojibake() -> None:
    """The 200 news pages of ../shared/data/dating: 7 are UTF-8 under a Latin meta charset or a Latin guess,
    and read as mojibake ("vÃ¦rdi") before UTF-8 bytes were read as UTF-8."""
    pages = sorted((SHARED_DATA / "dating" / "pages").glob("*.gz"))
    assert len(pages) == 200
    # UTF-8's lead bytes read as Latin letters, followed by its continuation bytes read in cp1252
    mojibake = re.compile("[ÂÃÄÅâ][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")
    read_as_utf8 = 0
    for page in pages:
        body = gzip.decompress(page.read_bytes())
        decoded = decode_payload(body, None)
        if decoded.how != "valid_utf8":
            continue
        read_as_utf8 += 1
        assert not mojibake.search(decoded.text), page.name
        # what the page declared or uchardet guessed: a Latin charset, under which it was mojibake
        latin = "cp1252"  # what 5 of the 7 were read as (the others as ISO-8859-2 and -13)
        assert mojibake.search(body.decode(latin, errors="replace")), page.name
    assert read_as_utf8 == 7


def _nested(depth: int, tag: str = "div", inner: str = "deep text") -> str:
    return f"<html><body><p>Before.</p>{f'<{tag}>' * depth}{inner}{f'</{tag}>' * depth}</body></html>"


def test_the_nesting_depth_is_told_exactly_at_the_limit_and_cheaply_below_it() -> None:
    """resiliparse's main-content extraction grows with the square of the depth (0.3 s at 5,000 deep; a
    page nested 100,000 deep held its ingest task for many minutes): past TOO_DEEP a page is told apart."""
    from corpus.html_text import TOO_DEEP, _has_element_deeper_than, nests_deeper_than

    for depth, deeper in ((TOO_DEEP - 10, False), (TOO_DEEP + 10, True), (100_000, True), (20, False)):
        html = _nested(depth)
        assert nests_deeper_than(parse_html(html), html.encode()) is deeper, depth
        assert _has_element_deeper_than(parse_html(html), TOO_DEEP) is deeper, depth
    # end tags that close nothing, before the nesting, do not hide it; thousands of void elements are no depth
    html = "</i>" * 2000 + _nested(TOO_DEEP + 10)
    assert nests_deeper_than(parse_html(html), html.encode())
    html = "<html><body>" + "<br><img src=x>" * 3000 + "</body></html>"
    assert not nests_deeper_than(parse_html(html), html.encode())


@needs_shared_data
def test_no_real_page_is_near_the_nesting_limit() -> None:
    """The gold pages nest at most a few dozen elements deep, far under TOO_DEEP: none loses its main content."""
    from corpus.html_text import nests_deeper_than

    for path in sorted(PAGES.glob("*.gz")):
        markup = gzip.decompress(path.read_bytes())
        assert not nests_deeper_than(parse_html(markup.decode("utf-8", "replace")), markup), path.name
