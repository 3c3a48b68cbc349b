"""HTTP payload to text: content decoding (gzip/deflate/br), charset choice and decoding, HTML to main text.

Charset order, as browsers do it: a byte-order mark, then the HTTP `Content-Type` charset, then the HTML
`<meta charset>` / `http-equiv` declaration in the first 1024 bytes (the HTML prescan window), then detection
with uchardet (resiliparse); unlike browsers, bytes that are UTF-8 text are read as UTF-8 whatever the
declaration or the guess (choose_charset). Names are mapped to the WHATWG set (e.g. latin-1 -> cp1252, GBK ->
GB18030).
If the chosen charset cannot decode the bytes strictly, the detected one is tried; if that fails too, the
bytes are decoded with U+FFFD replacements, and the number replaced is returned so the caller can count or
reject it.

HTML to text is resiliparse's `extract_plain_text(main_content=True)`; when its main-content heuristic finds
nothing (tiny or unusual pages), the whole page's visible text is used instead and that is reported. A page
nested deeper than TOO_DEEP elements gets its whole visible text at once (`read_page`: the heuristic's time
grows with the square of the depth). The check that finds such pages counts tags as written: end tags that
close nothing, written between the nesting tags, or a page in UTF-16, can hide nesting from it.
"""

from __future__ import annotations

import functools
import re
import zlib
from dataclasses import dataclass
from typing import Any, NamedTuple

import brotli
import numpy as np
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5
from resiliparse.parse.html import HTMLTree

# The HTML standard's encoding prescan looks at the first 1024 bytes.
META_PRESCAN_BYTES = 1024
# uchardet sample: the start and end of the document, enough for any real page.
DETECT_SAMPLE_BYTES = 65536

_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""",
    re.IGNORECASE,
)
# WHATWG decodes both GBK labels with the GB18030 decoder, a superset; Python's gbk codec is stricter.
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030"}
_BINARY_MAGICS = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"%PDF",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"\x00\x00\x01",
)
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


class ContentDecodingError(ValueError):
    """The payload claims a Content-Encoding whose data does not decode."""


class DecodedTooLarge(ContentDecodingError):
    """The payload decodes to more bytes than the caller allows (a compression bomb, or a huge page)."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # Python codec name used
    how: str  # "bom" | "http" | "meta" | "detected" | "default"
    replaced: int  # characters that could not be decoded and became U+FFFD


class ContentDecoding(NamedTuple):
    payload: bytes
    mismatch: bool  # the header names a compression the bytes do not have (kept unchanged)
    defect: str | None = None  # "truncated" | "corrupt": only what decoded before the defect is kept


def decode_content_encoding(body: bytes, coding: str | None, max_bytes: int | None = None) -> ContentDecoding:
    """Undo an HTTP `Content-Encoding` (gzip, x-gzip, deflate, br; a list is undone right to left).

    `mismatch` is True when the header names a compression but the bytes are not compressed (archives such as
    ClueWeb09 store the decoded payload and keep the header); such bytes are returned unchanged. A gzip or
    deflate payload that is cut short (e.g. a gzip trailer missing 2 bytes) or corrupt part way keeps the
    bytes decoded before the defect, named in `defect`. Raises ContentDecodingError when nothing decodes, and
    DecodedTooLarge as soon as a step's output passes `max_bytes` (when given): a few KB of gzip or brotli can
    claim gigabytes, so the output is bounded while it is made, not checked afterwards."""
    if not coding:
        return ContentDecoding(body, False)
    mismatch = False
    defect: str | None = None
    for name in reversed([c.strip().lower() for c in coding.split(",") if c.strip()]):
        if name in ("identity", "none"):
            continue
        if name in ("gzip", "x-gzip"):
            if not body.startswith(b"\x1f\x8b"):
                mismatch = True
                continue
            body, defect = _inflate(body, 16 + zlib.MAX_WBITS, name, max_bytes)
        elif name == "deflate":
            # Many servers send raw deflate without the zlib wrapper; a clean decode wins, else the longer one.
            attempts = []
            for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
                try:
                    attempts.append(_inflate(body, wbits, name, max_bytes))
                except DecodedTooLarge:
                    raise
                except ContentDecodingError as exc:
                    failure = exc
                if attempts and attempts[-1][1] is None:
                    break
            if not attempts:
                if _looks_like_text(body):  # plain text fails both ways
                    mismatch = True
                    continue
                raise failure
            body, defect = max(attempts, key=lambda a: (a[1] is None, len(a[0])))
        elif name == "br":
            try:
                body = _unbrotli(body, max_bytes)
            except brotli.error as exc:
                if _looks_like_text(body):
                    mismatch = True
                    continue
                raise ContentDecodingError(f"br: {exc}") from exc
        else:
            raise ContentDecodingError(f"unsupported Content-Encoding {name!r}")
    return ContentDecoding(body, mismatch, defect)


# Payloads are inflated in pieces of this size, so that a corrupt one keeps the output of the pieces before it.
_INFLATE_PIECE = 1024


def _too_large(name: str, max_bytes: int) -> DecodedTooLarge:
    return DecodedTooLarge(f"{name}: decodes to over {max_bytes} bytes")


def _inflate(body: bytes, wbits: int, name: str, max_bytes: int | None = None) -> tuple[bytes, str | None]:
    decompressor = zlib.decompressobj(wbits)
    out: list[bytes] = []
    made = 0
    error: zlib.error | None = None
    for at in range(0, len(body), _INFLATE_PIECE):
        try:
            # deflate expands at most ~1032x: one piece's output is bounded even before the check below
            out.append(decompressor.decompress(body[at : at + _INFLATE_PIECE]))
        except zlib.error as exc:
            error = exc
            break
        made += len(out[-1])
        if max_bytes is not None and made > max_bytes:
            raise _too_large(name, max_bytes)
        if decompressor.eof:
            break
    decoded = b"".join(out)
    if decompressor.eof:
        return decoded, None
    if not decoded:
        detail = str(error) if error is not None else "compressed payload is truncated"
        raise ContentDecodingError(f"{name}: {detail}")
    return decoded, "corrupt" if error is not None else "truncated"


def _unbrotli(body: bytes, max_bytes: int | None) -> bytes:
    """brotli-decoded `body`; raises brotli.error where it does not decode whole, DecodedTooLarge past
    `max_bytes`."""
    if max_bytes is None:
        return brotli.decompress(body)
    decompressor = brotli.Decompressor()
    out = [decompressor.process(body, output_buffer_limit=max_bytes + 1)]
    made = len(out[0])
    while made <= max_bytes and not decompressor.can_accept_more_data():
        out.append(decompressor.process(b"", output_buffer_limit=max_bytes + 1 - made))
        made += len(out[-1])
    if made > max_bytes:
        raise _too_large("br", max_bytes)
    if not decompressor.is_finished():
        raise brotli.error("brotli stream is truncated")
    return b"".join(out)


def _looks_like_text(body: bytes) -> bool:
    head = body[:1024]
    return b"\x00" not in head and head.lstrip().startswith(b"<")


def normalise_charset(name: str | None) -> str | None:
    """A Python codec name for a charset label (WHATWG mapping), or None for an unknown label."""
    if not name:
        return None
    mapped = map_encoding_to_html5(name.strip().strip("\"'"), fallback_utf8=False)
    if mapped is None:
        return None
    return _SUPERSETS.get(mapped.lower(), mapped)


def meta_charset(body: bytes) -> str | None:
    """The charset declared by an HTML meta tag in the first 1024 bytes, normalised, or None."""
    match = _META_CHARSET_RE.search(body[:META_PRESCAN_BYTES])
    if match is None:
        return None
    declared = normalise_charset(match.group(1).decode("ascii", "replace"))
    # The prescan reads ASCII bytes, so a page it can read is not UTF-16 whatever it says; the HTML standard
    # turns a meta UTF-16 label into UTF-8 (a real UTF-16 page is found by its byte-order mark first).
    return "utf-8" if declared is not None and declared.lower().startswith("utf-16") else declared


def detected_charset(body: bytes) -> str:
    """uchardet's guess (WHATWG-mapped; UTF-8 when it cannot tell)."""
    return normalise_charset(detect_encoding(body, max_len=DETECT_SAMPLE_BYTES)) or "utf-8"


def is_utf8_text(body: bytes) -> bool:
    """True where `body` is strictly valid UTF-8 and holds at least one multi-byte sequence. Text in a
    single-byte charset that is not UTF-8 almost never is: its accented letters would have to come in
    exactly the pairs that spell mojibake ("Ã¥")."""
    return _utf8_text(body) is not None


def _utf8_text(body: bytes) -> str | None:
    """`body` decoded where is_utf8_text holds, else None (the decoding is the check, and is kept)."""
    if body.isascii():
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def choose_charset(body: bytes, http_charset: str | None, is_html: bool = True) -> tuple[str, str]:
    """(codec, how) for `body`: BOM, then HTTP charset, then meta charset (HTML only), then detection; but
    UTF-8 where the bytes are UTF-8 text (is_utf8_text) and the declared or detected charset is another
    (how "valid_utf8"): servers send Apache's default ISO-8859-1 for UTF-8 pages, saved pages keep a meta
    charset their bytes no longer have, and uchardet guesses a Latin charset for short UTF-8 pages (7 of the
    200 real news pages in ../shared/data/dating, which were mojibake: "vÃ¦rdi" for "værdi")."""
    codec, how, _ = _choose_charset(body, http_charset, is_html)
    return codec, how


def _choose_charset(body: bytes, http_charset: str | None, is_html: bool) -> tuple[str, str, str | None]:
    """choose_charset's (codec, how) and, for "valid_utf8", the text its check decoded."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, "bom", None
    chosen, how = normalise_charset(http_charset), "http"
    if chosen is None and is_html:
        chosen, how = meta_charset(body), "meta"
    if chosen is None:
        chosen, how = detected_charset(body), "detected"
    if chosen.replace("_", "-").lower() not in ("utf-8", "utf8"):
        text = _utf8_text(body)
        if text is not None:
            return "utf-8", "valid_utf8", text
    return chosen, how, None


def decode_payload(body: bytes, http_charset: str | None, is_html: bool = True) -> DecodedText:
    """Decode an HTTP payload to str (see the module docstring for the order of charsets tried)."""
    codec, how, text = _choose_charset(body, http_charset, is_html)
    if text is not None:
        return DecodedText(text, codec, how, 0)
    data = body
    for bom, bom_codec in _BOMS:
        if codec == bom_codec and body.startswith(bom):
            data = body[len(bom) :]
    try:
        return DecodedText(data.decode(codec), codec, how, 0)
    except (UnicodeDecodeError, LookupError):
        pass
    if how != "detected":
        guess = detected_charset(data)
        if guess != codec:
            try:
                return DecodedText(data.decode(guess), guess, "detected", 0)
            except (UnicodeDecodeError, LookupError):
                pass
    try:
        text = data.decode(codec, errors="replace")
    except LookupError:
        codec, text = "utf-8", data.decode("utf-8", errors="replace")
    return DecodedText(text, codec, how, text.count("\ufffd") - _count_fffd_in_source(data, codec))


def _count_fffd_in_source(data: bytes, codec: str) -> int:
    # U+FFFD that the source itself contains (validly encoded) is not a decoding failure.
    if codec.replace("_", "-").lower() not in ("utf-8", "utf8"):
        return 0
    return data.count("\ufffd".encode())


def parse_html(html: str) -> HTMLTree:
    """The page parsed once (resiliparse's lexbor tree): text extraction and any reader of the markup (the
    ReadOptions page hook, e.g. dating's markup dates) share it."""
    return HTMLTree.parse(html)


def select_all(root: Any, selector: str) -> tuple[Any, ...]:
    """The elements under `root` (a lexbor node) matching the CSS `selector`, in document order. Taken as
    a slice: resiliparse hands out a collection's elements one at a time in time proportional to its size
    (quadratic over a page's hundreds of elements), a slice in one call."""
    found = root.query_selector_all(selector)
    return found[0 : len(found)]


def tree_to_text(tree: HTMLTree, main_content: bool = True) -> tuple[str, bool]:
    """Main text of a parsed page, paragraphs on their own lines. Returns (text, fell_back): `fell_back` is
    True when main-content extraction found nothing and the page's whole visible text was used. With
    `main_content` False the whole visible text is taken at once (a page too deep for it: TOO_DEEP)."""
    text = extract_plain_text(tree, preserve_formatting=True, main_content=main_content)
    if text.strip() or not main_content:
        return text, False
    return extract_plain_text(tree, preserve_formatting=True, main_content=False), True


# Element nesting past which a page's main content is not looked for, nor its markup searched for dates.
# resiliparse's main-content extraction grows with the square of the depth (0.3 s at 5,000, 1.5 s at 10,000;
# a 1 MB page nested 100,000 deep held its task, and so the job, for many minutes), and dating's searches
# with depth times the date candidates. Real pages nest far less: the deepest of the 249 sample and gold
# pages is 49 elements deep. At this depth a page costs at most about 50 ms of extraction (and seconds of
# dating where every level holds a date candidate); a lower limit cost every page more to check.
TOO_DEEP = 2000
NESTED_TOO_DEEP = "page_nested_too_deep"  # the counter of such pages
_LT, _SLASH = ord("<"), ord("/")


def may_nest_deeper_than(markup: bytes, limit: int = TOO_DEEP) -> bool:
    """Whether the page's bytes may nest elements more than `limit` deep, from its tags counted as written,
    vectorised (a start tag one up, an end tag one down): the sum's range bounds the depth where the tags
    close as written, and is more where they do not (void elements, tags left open). About 25 us for a page
    of 130 KB with fewer tags than the limit, 80 us with more; best run while the bytes are still in cache."""
    data = np.frombuffer(markup, np.uint8)
    opening = data[:-1] == _LT
    if np.count_nonzero(opening) <= limit - 8:  # a few more for what the parser adds (html, head, body)
        return False
    following = data[1:][opening]
    level = np.cumsum(
        (following >= ord("A")).view(np.int8) - (following == _SLASH).view(np.int8), dtype=np.int32
    )
    return int(level.max()) - min(0, int(level.min())) > limit - 8


def nests_deeper_than(tree: HTMLTree, markup: bytes, limit: int = TOO_DEEP) -> bool:
    """Whether the parsed page (`tree`, parsed from `markup`, its bytes) nests elements more than `limit`
    deep: `may_nest_deeper_than`, and for the rare page that does not clear it, lexbor's answer."""
    return may_nest_deeper_than(markup, limit) and _has_element_deeper_than(tree, limit)


class ReadPage(NamedTuple):
    """A page parsed once: its tree, its text, and what to count of it: "main_content_fallback",
    NESTED_TOO_DEEP (its tree is then read no further: no main content, no markup dates) or None."""

    tree: HTMLTree
    text: str
    note: str | None


def read_page(html: str, markup: bytes) -> ReadPage:
    """`html` (decoded from `markup`, the page's bytes) parsed once, and its text (see ReadPage)."""
    suspect = may_nest_deeper_than(markup)  # before the parse, while `markup` is in cache
    tree = parse_html(html)
    if suspect and _has_element_deeper_than(tree, TOO_DEEP):
        return ReadPage(tree, tree_to_text(tree, main_content=False)[0], NESTED_TOO_DEEP)
    text, fell_back = tree_to_text(tree)
    return ReadPage(tree, text, "main_content_fallback" if fell_back else None)


def _has_element_deeper_than(tree: HTMLTree, limit: int) -> bool:
    """The exact answer, from lexbor's selector engine: an element under a chain of `limit` elements (0.3 to
    0.5 ms on a large page, 20 times a walk of its nodes in Python)."""
    return tree.document.query_selector(_chain(limit)) is not None


@functools.cache
def _chain(limit: int) -> str:
    return " > ".join(["*"] * (limit + 1))


MAX_LANGUAGE_TAG_CHARS = 35  # BCP 47 tags are short: a longer value is not one


def declared_language(tree: HTMLTree, content_language: str | None) -> str | None:
    """The language a page states for itself: its root element's `lang` (or `xml:lang`), else the HTTP
    Content-Language header's first tag; None where it states none. The tag as written, stripped (what it
    is worth is for language id to judge: mixers/langid_declared.py)."""
    root = tree.document.document_element if tree.document is not None else None  # a tenth of a query's time
    for value in (
        root.getattr("lang") if root is not None else None,
        root.getattr("xml:lang") if root is not None else None,
        content_language.split(",")[0] if content_language else None,
    ):
        tag = (value or "").strip()
        if tag and len(tag) <= MAX_LANGUAGE_TAG_CHARS:
            return tag
    return None


def html_to_text(html: str) -> tuple[str, bool]:
    """`tree_to_text` of the page `html` (see there)."""
    return tree_to_text(parse_html(html))


def looks_binary(body: bytes) -> bool:
    """True for payloads that are not text whatever their declared type (image/PDF/archive magic, NULs)."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text with its byte-order mark: NULs are expected
    return body.startswith(_BINARY_MAGICS) or b"\x00" in body[:1024]


def dechunk(body: bytes) -> bytes | None:
    """Undo HTTP/1.1 chunked transfer coding, or None if `body` is not validly chunked."""
    out = []
    pos = 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            return None
        try:
            size = int(body[pos:end].split(b";")[0].strip(), 16)
        except ValueError:
            return None
        pos = end + 2
        if size == 0:
            return b"".join(out)
        if pos + size > len(body):
            return None
        out.append(body[pos : pos + size])
        pos += size + 2
