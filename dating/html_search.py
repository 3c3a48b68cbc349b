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
extract_url_date, idiosyncrasies_search, search_page), but reads the page from the lexbor tree the reader
already built: lexbor's selector engine finds the few elements each stage reads, and lexbor serialises the
page, so there is no second parse, pruning copy or Python walk of every element. One shortcut reads less
and gives the same answers (the tests compare it with the slow way on every real sample page and on
hand-made markup meant to mislead it): only the free-text segments that could be dated (short, with
try_date_expr's least count of digits) are read, from the page string, and their parent tags read from the
tags before them. The page string's patterns (the timestamp, idiosyncrasies and search_page's) are scanned
by RE2 (dating.page_scans_re2).

Where the answers differ from htmldate's find_date, the two parsers read the page differently: libxml2
drops parts of some pages lexbor keeps (2 of the 91 real pages that reach the search), and htmldate's
pruning stops at the first pruned element that holds another (its clean_html drops elements while it
iterates over them), where this module prunes them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from html import unescape
from typing import Any

from htmldate.core import (
    ALWAYS_TAGS,
    CLASS_CUES,
    compare_reference,
    examine_elements,
    examine_time_elements,
    is_date_candidate,
)
from htmldate.extractors import FAST_TAGS, extract_url_date
from htmldate.settings import CLEANING_LIST, MAX_POSSIBLE_CANDIDATES, MAX_SEGMENT_LEN, MIN_SEGMENT_LEN
from htmldate.utils import Extractor, trim_text
from htmldate.validators import check_extracted_reference
from resiliparse.parse.html import HTMLTree, NodeType

from corpus.html_text import select_all
from dating.hinted_dateparser import hinted_external_parser
from dating.page_scans_re2 import idiosyncrasies_date, search_page, timestamp_date, utf8

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

# a text node between tags, or raw text (the elements lexbor writes unescaped, and comments) passed over whole
_RAW_TEXT_TAGS = ("script", "style", "xmp", "noembed", "noframes", "plaintext")
_TEXT_CHUNK = re.compile(
    rf"<({'|'.join(_RAW_TEXT_TAGS)})[\s>].*?(?:</\1(?=>)|\Z)|<!--.*?--(?=>)|>([^<>]{{7,}})(?=<)", re.S | re.I
)
_RAW_TEXT_START = {name: re.compile(rf"<{name}[\s>]", re.I) for name in _RAW_TEXT_TAGS}
_TAG = re.compile(r"<(/?)([a-zA-Z][^\s/>]*)")
# tags read back from a text node before its parent is left to lexbor's selectors (a bounded cost)
MAX_TAGS_BACK = 400
# the void elements of HTML: no end tag, no children
_VOID = frozenset(
    {"area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img", "input"}
    | {"keygen", "link", "meta", "param", "source", "track", "wbr"}
)
_PRUNED_MARK = "data-chronomix-pruned"
_UNQUOTABLE = re.compile(r'[\s"\\]+')


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
        if self.node.query_selector(PRUNED) is None:
            return self.node.text
        # examine_text reads only the first MAX_SEGMENT_LEN characters of the whitespace-collapsed text:
        # the walk stops once it has them
        parts: list[str] = []
        for text in _text_outside_pruned(self.node):
            parts.append(text)
            if len(trim_text("".join(parts))) > MAX_SEGMENT_LEN:
                break
        return "".join(parts)

    @property
    def text(self) -> str | None:
        """lxml's `text`: the text before the first child element, None when there is none."""
        first = self.node.first_child
        return first.text if first is not None and first.type == NodeType.TEXT and first.text else None


def _text_outside_pruned(node: Any) -> Iterator[str]:
    """The text nodes under `node` in document order, less those inside pruned subtrees (a walk: only for
    the rare candidate element that holds one)."""
    child = node.first_child
    while child is not None:
        if child.type == NodeType.TEXT:
            yield child.text
        elif child.type == NodeType.ELEMENT and not child.matches(PRUNED):
            yield from _text_outside_pruned(child)
        child = child.next


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


def _outermost_pruned(tree: HTMLTree) -> list[Any]:
    """The pruned elements that lie in no other pruned element, in document order."""
    return [node for node in select_all(tree.document, PRUNED) if node.parent.closest(PRUNED) is None]


def page_string(tree: HTMLTree, max_chars: int) -> str:
    """The page serialised by lexbor less its pruned subtrees, at most `max_chars` characters: what
    htmldate's string stages read (its own serialisation of its pruned lxml tree). Each pruned subtree is
    found by a marker attribute set for the serialisation and taken off again, so a copy of its markup in a
    script's text is never cut instead, and the page is read once."""
    pruned = _outermost_pruned(tree)
    for i, node in enumerate(pruned):
        node.setattr(_PRUNED_MARK, str(i))
    try:
        html = tree.document.html
        parts, cursor = [], 0
        for node in pruned:
            markup = node.html
            start = html.find(markup, cursor)
            if start < 0:  # not where lexbor wrote it: keep the rest as it is
                break
            parts.append(html[cursor:start])
            cursor = start + len(markup)
            if cursor > max_chars:
                break
        parts.append(html[cursor:])
    finally:
        for node in pruned:
            node.delattr(_PRUNED_MARK)
    return "".join(parts)[:max_chars]


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
            if end < 0:
                return None
            continue
        opening = html.rfind("<", 0, close)
        tag = _TAG.match(html, opening)
        if tag is None:
            return None
        name = tag[2].lower()
        end = opening
        if tag[1]:  # an end tag: a preceding sibling, skipped whole
            if name in _RAW_TEXT_START:
                # its raw text holds no end tag of its own, so its start tag is the first one after the
                # previous end tag (a "<script" written inside a script's text comes later)
                start_tag = _RAW_TEXT_START[name].search(
                    html, html.rfind("</" + name, 0, opening) + 1, opening
                )
                if start_tag is None:
                    return None
                end = start_tag.start()
            else:
                depth += 1
        elif name not in _VOID:
            if depth == 0:
                return name
            depth -= 1
    return None


def _datable(segment: str) -> bool:
    """Within htmldate's segment bounds and with try_date_expr's least count of digits (any Unicode digit,
    as str.isdigit counts them)."""
    return MIN_SEGMENT_LEN < len(segment) < MAX_SEGMENT_LEN and sum(map(str.isdigit, segment)) >= 4


def _free_text_segments(tree: HTMLTree, html: str) -> list[str]:
    """The stripped text nodes directly under FAST_TAGS elements, outside pruned subtrees, that
    compare_reference could read a date from (htmldate's FREE_TEXT_EXPRESSIONS, less the segments
    try_date_expr would refuse), read from the page string lexbor wrote. A segment whose parent the tags
    before it do not give (past MAX_TAGS_BACK, or markup that reads otherwise) is looked up in the tree by
    lexbor's :lexbor-contains(), which matches the elements with a direct text child holding a string."""
    segments: list[str] = []
    unresolved: set[str] = set()
    for chunk in _TEXT_CHUNK.finditer(html):
        if chunk[2] is None:  # raw text or a comment
            continue
        segment = unescape(chunk[2]).strip()
        if not _datable(segment):
            continue
        parent = _parent_tag(html, chunk.start(2))
        if parent is None:
            unresolved.add(segment)
        elif parent in FAST_TAGS:
            segments.append(segment)
    if unresolved:
        # each segment by its longest piece free of quotes, backslashes and spaces (no escaping needed):
        # a superset of the elements, whose text children are then compared whole
        pieces = sorted({max(_UNQUOTABLE.split(segment), key=len) for segment in unresolved})
        selector = ", ".join(f'{tag}:lexbor-contains("{piece}")' for piece in pieces for tag in FAST_TAGS)
        for node in select_all(tree.document, selector):
            if node.closest(PRUNED) is not None:
                continue
            child = node.first_child
            while child is not None:
                if child.type == NodeType.TEXT and (segment := child.text.strip()) in unresolved:
                    segments.append(segment)
                child = child.next
    return segments


def _free_text_date(tree: HTMLTree, html: str, options: Extractor) -> str | None:
    """compare_reference over the free-text segments; it keeps the earliest date whatever the order."""
    reference: datetime | None = None
    for segment in _free_text_segments(tree, html):
        reference = compare_reference(reference, segment, options)
    return check_extracted_reference(reference, options)


def _og_image_date(tree: HTMLTree, options: Extractor) -> str | None:
    """htmldate's img_search: the date in the URL of the page's first og:image meta, outside pruned
    subtrees."""
    for node in select_all(tree.document, 'meta[property="og:image"][content]'):
        if node.closest(PRUNED) is None:
            return extract_url_date(node.getattr("content"), options)
    return None


# The stages the search runs after htmldate's first ones, in its order (module doc): the date-like elements,
# the title, h1 and time elements, then the page string's timestamp pattern, og:image URL, author-written
# dates, free-text segments and patterns (search_page). Every stage runs by default; fewer only where a
# caller weighs what each one costs against the dates it finds (bench/extensive_stages.py).
EXTENSIVE_STAGES = ("candidates", "headings", "timestamp", "og_image", "idiosyncrasies", "free_text", "page")
_ALL_STAGES = frozenset(EXTENSIVE_STAGES)


def extensive_search_date(
    tree: HTMLTree, options: Extractor, max_chars: int, stages: tuple[str, ...] = EXTENSIVE_STAGES
) -> str | None:
    """The publication date htmldate's extensive search finds in the page after its first stages (module
    doc), as YYYY-MM-DD, or None. `tree` is the page's lexbor parse, `options` htmldate's Extractor with
    extensive search on, and `max_chars` the most characters of the serialised page the string stages read.
    `stages`: those of EXTENSIVE_STAGES to run, in htmldate's order whatever the order given.
    Strings that htmldate hands to dateparser go to it with their languages named (dating.hinted_dateparser)."""
    wanted = _ALL_STAGES if stages is EXTENSIVE_STAGES else frozenset(stages)
    if unknown := sorted(wanted - _ALL_STAGES):
        raise ValueError(f"extensive search stages {unknown}: not among {', '.join(EXTENSIVE_STAGES)}")
    with hinted_external_parser():
        return _search(tree, options, max_chars, wanted)


def _search(tree: HTMLTree, options: Extractor, max_chars: int, stages: frozenset[str]) -> str | None:
    if "candidates" in stages and (result := examine_elements(_Candidates(tree), options)) is not None:  # type: ignore[arg-type]
        return result
    if "headings" in stages:
        headings_and_times = _kept(tree, "title, h1, time")  # one pass over the tree for both stages
        result = examine_elements(
            [e for e in headings_and_times if e.tag != "time"], options
        ) or examine_time_elements(_Elements([e for e in headings_and_times if e.tag == "time"]), options)
        if result is not None:
            return result
    if stages.isdisjoint(_STRING_SEARCHES):
        return None
    html = page_string(tree, max_chars)
    data = utf8(html)  # the string stages' RE2 scans all read these bytes
    for name, search in _STRING_SEARCHES.items():
        if name in stages and (result := search(tree, html, options, data)):
            return result
    return None


# The stages that read the page string (tree, string, options, its UTF-8 bytes), in htmldate's order.
_STRING_SEARCHES: dict[str, Callable[[HTMLTree, str, Extractor, bytes | None], str | None]] = {
    "timestamp": lambda tree, html, options, data: timestamp_date(html, options, data),
    "og_image": lambda tree, html, options, data: _og_image_date(tree, options),
    "idiosyncrasies": lambda tree, html, options, data: idiosyncrasies_date(html, options, data),
    "free_text": lambda tree, html, options, data: _free_text_date(tree, html, options),
    "page": lambda tree, html, options, data: search_page(html, options, data),
}
