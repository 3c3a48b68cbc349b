"""htmldate's extensive search of a page, read from the page's one lexbor parse.

Where a page's date markup (dating.html_meta's first stages) holds no publication date, htmldate's
`find_date(html, extensive_search=True, original_date=True)` goes on to search the page itself. It parses the
page again with lxml, prunes the tree (CLEANING_LIST's embedded media and forms, the Wayback Machine's banner)
and reads, in this order: the elements whose tag, id, class or itemprop suggests a date, the title and h1
headings, the time elements; then the pruned tree serialised to a string, for a timestamp pattern, the
og:image URL and author-written dates; the short text segments of common block elements; and last the
string's patterns (search_page), the most costly stage, reached by most pages without dates.

`extensive_search_date` runs the same stages in the same order, with htmldate's own functions for every
decision (is_date_candidate, examine_elements, examine_time_elements, compare_reference, pattern_search,
img_search, idiosyncrasies_search, search_page), but reads the page from the lexbor tree the reader already
built: lexbor's selector engine finds the few elements each stage reads, and lexbor serialises the page, so
there is no second parse, pruning copy or Python walk of every element. Two savings keep htmldate's answers
by construction:
- free-text segments: only the text nodes that could be dated (short, with try_date_expr's least count of
  digits) are read, from the page string, and only their parent tags are looked up;
- search_page reads the page string with every long run of non-digits shortened to its first character and
  its last PATTERN_CONTEXT characters (`pattern_string`). Its patterns read a few characters around runs of
  digits, the copyright notice up to 99 characters before its year: runs that long keep their last
  COPYRIGHT_CONTEXT characters.
tests/dating/test_html_search.py checks both against htmldate on every real sample page, and the whole
search against htmldate's find_date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from html import unescape
from typing import Any

from htmldate.core import (
    ALWAYS_TAGS,
    CLASS_CUES,
    TIMESTAMP_PATTERN,
    compare_reference,
    examine_elements,
    examine_time_elements,
    is_date_candidate,
    search_page,
)
from htmldate.extractors import FAST_TAGS, idiosyncrasies_search, img_search, pattern_search
from htmldate.settings import CLEANING_LIST, MAX_POSSIBLE_CANDIDATES, MAX_SEGMENT_LEN, MIN_SEGMENT_LEN
from htmldate.utils import Extractor
from htmldate.validators import check_extracted_reference
from resiliparse.parse.html import HTMLTree, NodeType

from corpus.html_text import select_all

# What htmldate's pruning removes before its search: CLEANING_LIST's elements and the Wayback Machine's
# banner (htmldate.extractors.DISCARD_EXPRESSIONS).
PRUNED = ", ".join([*CLEANING_LIST, "div#wm-ipp-base", "div#wm-ipp"])

# A superset, for lexbor's selector engine, of the elements is_date_candidate accepts: its cues as
# substrings of id, class and itemprop, case-insensitive where it folds case. is_date_candidate then decides
# on each element found, so the superset only has to be wide enough.
_CUE_SELECTORS = [
    *(f"[{attr}*={cue} i]" for attr in ("id", "class", "itemprop") for cue in ("date", "datum")),
    *(f"[{attr}*={cue} i]" for attr in ("id", "class") for cue in ("meta", "time", "publish", "footer")),
    *(f'[class*="{cue}"]' for cue in CLASS_CUES.pattern.split("|")),
]
CANDIDATES = ", ".join([*sorted(ALWAYS_TAGS), *_CUE_SELECTORS])

# search_page's patterns read at most this many non-digits before a run of digits (a month name, "w3.org",
# a separator), and the copyright notice's at most 99 (htmldate.core.COPYRIGHT_PATTERN's \D{0,99}).
PATTERN_CONTEXT = 24
COPYRIGHT_CONTEXT = 128
_COPYRIGHT_MARKS = ("©", "&copy;", "Copyright", "(c)")
_LONG_RUN = re.compile(rf"(?<!\D)\D{{{PATTERN_CONTEXT + 3},}}")  # from a run's start only: one pass
_LONG_RUN_PARTS = re.compile(rf"(?<!\D)(\D)\D{{2,}}(\D{{{PATTERN_CONTEXT}}})")
# a text node between tags, or raw text (scripts, styles, comments) passed over whole
_TEXT_CHUNK = re.compile(
    r"<script.*?</script(?=>)|<style.*?</style(?=>)|<!--.*?--(?=>)|>([^<>]{7,})(?=<)", re.S | re.I
)
_DIGIT = re.compile(r"[0-9]")
_TAG = re.compile(r"<(/?)([a-zA-Z][^\s/>]*)")
MAX_TAGS_BACK = 400  # a text node after more siblings than this is kept unread (a bounded cost)
# the void elements of HTML (no end tag, no children) and where the serialised page holds raw text
_VOID = frozenset(
    {"area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img", "input"}
    | {"keygen", "link", "meta", "param", "source", "track", "wbr"}
)
_JOIN = "\x01"  # no pattern reads it as a digit, letter, space or separator
_SHORTENED = rf"\1{_JOIN}\2"


class _Element:
    """A lexbor element as the few lxml element methods htmldate's examine_* functions call on it."""

    __slots__ = ("attrib", "node", "tag")

    def __init__(self, node: Any) -> None:
        self.node = node
        self.tag = node.tag
        self.attrib = {name: node.getattr(name) or "" for name in node.attrs}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrib.get(name, default)

    def text_content(self) -> str:
        """The element's text without its pruned descendants' text (lxml's drop_tree keeps their tails)."""
        text = self.node.text
        if self.node.query_selector(PRUNED) is not None:
            for pruned in select_all(self.node, PRUNED):
                text = text.replace(pruned.text, "", 1)
        return text

    @property
    def text(self) -> str | None:
        """lxml's `text`: the text before the first child element, None when there is none."""
        first = self.node.first_child
        return first.text if first is not None and first.type == NodeType.TEXT and first.text else None


class _Elements:
    """Elements that answer htmldate's `tree.findall(".//time")`."""

    def __init__(self, elements: list[_Element]) -> None:
        self.elements = elements

    def findall(self, _path: str) -> list[_Element]:
        return self.elements


def _kept(tree: HTMLTree, selector: str) -> list[_Element]:
    """The elements matching `selector` in document order, less those inside pruned subtrees."""
    return [_Element(node) for node in select_all(tree.document, selector) if node.closest(PRUNED) is None]


class _Candidates:
    """htmldate's date_candidates, decided lazily: is_date_candidate and the pruned-ancestor check run on
    the elements lexbor finds (CANDIDATES, a superset) only as examine_elements reads them, and it stops
    at the first date. Its guard reads the length: with at most MAX_POSSIBLE_CANDIDATES elements found, the
    superset's length answers it alike (where none is a candidate, reading them finds no date either)."""

    def __init__(self, tree: HTMLTree) -> None:
        self.found = select_all(tree.document, CANDIDATES)
        self.decided: list[_Element] | None = None
        if len(self.found) > MAX_POSSIBLE_CANDIDATES:
            self.decided = list(self._decide())

    def _decide(self) -> Iterator[_Element]:
        for node in self.found:
            element = _Element(node)
            if element.tag == "html" or not (element.tag in ALWAYS_TAGS or is_date_candidate(element)):
                continue
            if node.closest(PRUNED) is None:
                yield element

    def __len__(self) -> int:
        return len(self.decided) if self.decided is not None else len(self.found)

    def __iter__(self) -> Iterator[_Element]:
        return iter(self.decided) if self.decided is not None else self._decide()


def page_string(tree: HTMLTree, max_chars: int) -> str:
    """The page serialised by lexbor less its pruned subtrees, at most `max_chars` characters: what
    htmldate's string stages read (its own serialisation of its pruned lxml tree)."""
    html = tree.document.html
    for node in select_all(tree.document, PRUNED):
        html = html.replace(node.html, "", 1)
    return html[:max_chars]


def _shorten(run: re.Match[str]) -> str:
    text = run[0]
    tail = text[-COPYRIGHT_CONTEXT:]
    # a copyright mark within reach of the next digits keeps the longer context; so does one in the kept
    # first character, which the shorter context would bring within reach
    if text[0] != "©" and not any(mark in tail for mark in _COPYRIGHT_MARKS):
        return text[0] + _JOIN + text[-PATTERN_CONTEXT:]
    return text[0] + _JOIN + tail if len(text) > COPYRIGHT_CONTEXT + 2 else text


def pattern_string(html: str) -> str:
    """`html` with every run of non-digits longer than its context shortened, for search_page (module
    doc): its first character, a joint no pattern reads through, and its last PATTERN_CONTEXT characters, or
    COPYRIGHT_CONTEXT where those hold a copyright mark. Every match of search_page's patterns lies within
    those characters of its digits, so it finds the same matches in the same order."""
    if any(mark in html for mark in _COPYRIGHT_MARKS):
        return _LONG_RUN.sub(_shorten, html)
    return _LONG_RUN_PARTS.sub(_SHORTENED, html)  # the same, in one call where no run keeps more


def _parent_tag(html: str, start: int) -> str | None:
    """The lower-case name of the element holding the text node that starts at `start` in the page string
    lexbor wrote (every element closed, raw text only in scripts, styles and comments), found by reading
    the tags before it backwards; None where they read otherwise or run past MAX_TAGS_BACK."""
    depth, end = 0, start
    for _ in range(MAX_TAGS_BACK):
        close = html.rfind(">", 0, end)  # the end of the last tag or comment: text holds no raw ">"
        if close < 0:
            return None
        if html.startswith("-->", close - 2):
            end = html.rfind("<!--", 0, close)
            continue
        opening = html.rfind("<", 0, close)
        tag = _TAG.match(html, opening)
        if tag is None:
            return None
        name = tag[2].lower()
        end = opening
        if tag[1]:  # an end tag: a preceding sibling, skipped whole (a script or style by its raw text)
            if name in ("script", "style"):
                end = html.rfind("<" + name, 0, opening)
            else:
                depth += 1
        elif name not in _VOID:
            if depth == 0:
                return name
            depth -= 1
    return None


def _free_text_segments(html: str) -> list[str]:
    """The stripped text nodes directly under FAST_TAGS elements, outside pruned subtrees, that
    compare_reference could read a date from (htmldate's FREE_TEXT_EXPRESSIONS, less segments outside its
    length bounds or with fewer than try_date_expr's 4 digits), read from the page string lexbor wrote. A
    segment whose parent cannot be read there is kept: a superset errs towards htmldate's earliest date
    only where a page's markup defeats the reading, which the tests bound."""
    segments: list[str] = []
    for chunk in _TEXT_CHUNK.finditer(html):
        if chunk[1] is None:  # a script, a style or a comment
            continue
        segment = unescape(chunk[1]).strip()
        if not MIN_SEGMENT_LEN < len(segment) < MAX_SEGMENT_LEN or len(_DIGIT.findall(segment)) < 4:
            continue
        parent = _parent_tag(html, chunk.start(1))
        if parent is None or parent in FAST_TAGS:
            segments.append(segment)
    return segments


def _free_text_date(html: str, options: Extractor) -> str | None:
    """compare_reference over the free-text segments; it keeps the earliest date whatever the order."""
    reference: datetime | None = None
    for segment in _free_text_segments(html):
        reference = compare_reference(reference, segment, options)
    return check_extracted_reference(reference, options)


def extensive_search_date(tree: HTMLTree, markup: Any, options: Extractor, max_chars: int) -> str | None:
    """The publication date htmldate's extensive search finds in the page after its first stages (module
    doc), as YYYY-MM-DD, or None. `tree` is the page's lexbor parse, `markup` the lxml tree of its head that
    dating.html_meta built (img_search reads og:image there), `options` htmldate's Extractor with extensive
    search on, and `max_chars` the most characters of the serialised page the string stages read."""
    result = (
        examine_elements(_Candidates(tree), options)  # type: ignore[arg-type]
        or examine_elements(_kept(tree, "title, h1"), options)
        or examine_time_elements(_Elements(_kept(tree, "time")), options)
    )
    if result is not None:
        return result
    html = page_string(tree, max_chars)
    return (
        pattern_search(html, TIMESTAMP_PATTERN, options)
        or img_search(markup, options)
        or idiosyncrasies_search(html, options)
        or _free_text_date(html, options)
        or search_page(pattern_string(html), options)
    )
