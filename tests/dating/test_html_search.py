"""htmldate's extensive search on the page's one lexbor parse: each shortcut against the slow way it replaces,
and the whole against htmldate's own find_date, on every real sample page; hand-made pages for each stage."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from htmldate import find_date
from htmldate.core import ALWAYS_TAGS, is_date_candidate, search_page
from htmldate.extractors import FAST_TAGS, extract_url_date
from resiliparse.parse.html import NodeType

from corpus.html_text import parse_html, select_all
from dating.html_meta import (
    HTMLDATE_MIN_DATE,
    MAX_HTML_CHARS,
    _first_stages,
    _markup,
    _options,
    html_meta_dates,
)
from dating.html_search import (
    PRUNED,
    _Candidates,
    _Element,
    _free_text_segments,
    extensive_search_date,
    page_string,
    pattern_string,
)
from tests.dating.helpers import day, sample_pages

CRAWL = datetime(2020, 12, 31, 23, 59, 59)
EXTENSIVE = _options(True, CRAWL, extensive=True)


def _searched(data_dir: Path) -> list[tuple[str, str]]:
    """(page, canonical URL) of the real pages whose date markup holds no publication date."""
    pages = []
    for html in sample_pages(data_dir):
        markup, canonical = _markup(parse_html(html))
        if not (
            extract_url_date(canonical, _options(True, CRAWL)) or _first_stages(markup, _options(True, CRAWL))
        ):
            pages.append((html, canonical))
    return pages


def _walked_candidates(tree) -> list[str]:
    """Every element in document order through is_date_candidate, as htmldate's date_candidates reads."""
    kept = [
        _Element(n) for n in select_all(tree.document, "*") if n.tag != "html" and n.closest(PRUNED) is None
    ]
    return [e.node.html for e in kept if e.tag in ALWAYS_TAGS or is_date_candidate(e)]


def _walked_free_text(tree) -> set[str]:
    """The datable text nodes directly under FAST_TAGS elements, by walking every such element's children."""
    segments = set()
    for node in select_all(tree.document, ", ".join(FAST_TAGS)):
        if node.closest(PRUNED) is not None:
            continue
        child = node.first_child
        while child is not None:
            text = child.text.strip() if child.type == NodeType.TEXT else ""
            if 6 < len(text) < 52 and sum(c in "0123456789" for c in text) >= 4:
                segments.add(text)
            child = child.next
    return segments


def test_the_search_equals_htmldate_on_the_real_pages(data_dir: Path) -> None:
    # The whole search against htmldate's find_date on its own lxml parse, on every real page that reaches
    # it. They differ only where lxml and lexbor read a page's markup differently: on two pages, lexbor
    # keeps head links whose "?v=20201130" cache-busting stamps DATESTRINGS_PATTERN reads as a date.
    searched = differ = 0
    for html, canonical in _searched(data_dir):
        searched += 1
        ours = extensive_search_date(
            parse_html(html), _markup(parse_html(html))[0], EXTENSIVE, MAX_HTML_CHARS
        )
        bounds = {"min_date": HTMLDATE_MIN_DATE, "max_date": CRAWL}
        theirs = find_date(
            html[:MAX_HTML_CHARS], extensive_search=True, original_date=True, url=canonical, **bounds
        )
        differ += ours != theirs
    assert searched >= 80 and differ <= 2


def test_each_shortcut_equals_the_slow_way_on_the_real_pages(data_dir: Path) -> None:
    for html in sample_pages(data_dir):
        tree = parse_html(html)
        string = page_string(tree, MAX_HTML_CHARS)
        # the selector superset then is_date_candidate: the same elements as reading every element
        assert [e.node.html for e in _Candidates(tree)] == _walked_candidates(tree)
        # free text read from the page string: the same segments as walking every FAST_TAGS element
        assert set(_free_text_segments(string)) == _walked_free_text(tree)
        # search_page on the shortened string: the same date as on the whole string
        assert search_page(pattern_string(string), EXTENSIVE) == search_page(string, EXTENSIVE)


def test_pattern_string_keeps_what_each_pattern_reads() -> None:
    filler = "x" * 300
    pages = [
        f"<p>{filler} © {'y' * 60} 2013 {filler} 2017/05/06 {filler}</p>",  # a copyright 60 characters off
        f"<p>© {filler} 2013 {filler} 2011</p>",  # a copyright mark too far from any year
        f"<p>{filler} Posted on {filler}March 4, 2019 {filler}</p>",  # a month name glued to a long word
        f"<p>{filler}4th of September, 2018{filler}</p>",
        f'<html xmlns="http://www.w3.org/1999/xhtml">{filler} 2016 {filler}</html>',  # w3.org's 1999 is no year
        f"<p>{filler}20190304{filler}, 20190304 2019-03-04 {filler}04.03.19{filler}03/2019 {filler}</p>",
    ]
    for page in pages:
        shortened = pattern_string(page)
        assert len(shortened) < len(page) / 2
        assert search_page(shortened, EXTENSIVE) == search_page(page, EXTENSIVE)
    assert search_page(pattern_string(pages[0]), EXTENSIVE) == "2017-05-06"


def test_each_stage_finds_its_date() -> None:
    pages = {
        # a byline element (is_date_candidate), ahead of a later date in the text
        '<html><body><div class="byline">By A. Writer, 2019-03-04</div><p>Updated 2020-05-06 today</p>'
        "</body></html>": "2019-03-04",
        # free text after an inline element: the segment's parent is the paragraph
        "<html><body><p><b>Filed:</b> 12 March 2018 10:00</p></body></html>": "2018-03-12",
        # only a script holds the date: search_page reads the whole string
        '<html><body><p>Text.</p><script>showDate("2020/04/17 01:43:09")</script></body></html>': "2020-04-17",
        # a time element's datetime attribute
        '<html><body><time datetime="2017-08-09T10:11:12Z">then</time></body></html>': "2017-08-09",
    }
    for html, expected in pages.items():
        assert html_meta_dates(html, day("2020-12-31"))[0] == day(expected), html


def test_pruned_elements_are_not_read() -> None:
    # htmldate prunes labels, iframes and svg before it searches: their dates never count
    html = (
        '<html><body><div class="meta"><label>2001-01-01</label> 2019-03-04</div>'
        '<iframe src="x">2002-02-02</iframe><svg><text>2003-03-03</text></svg></body></html>'
    )
    tree = parse_html(html)
    assert extensive_search_date(tree, _markup(tree)[0], EXTENSIVE, MAX_HTML_CHARS) == "2019-03-04"
    assert "2002-02-02" not in page_string(tree, MAX_HTML_CHARS)


def test_hostile_pages_give_no_date_and_never_raise() -> None:
    for html in ("", "<", "<html>" + "<div>" * 5000, "\x00" * 100, "<p>" + "9" * 10_000 + "</p>", "<!--"):
        assert html_meta_dates(html) == (None, None)


def test_a_page_with_too_many_candidates_reads_as_htmldate_reads_it() -> None:
    # over MAX_POSSIBLE_CANDIDATES candidate elements, htmldate skips them all; the lazy candidates must too
    for count in (900, 1200):
        html = (
            "<html><head><title>Report of 2016-02-03 results</title></head><body>"
            + "<small>2019-03-04 note</small>" * count
            + "</body></html>"
        )
        tree = parse_html(html)
        ours = extensive_search_date(tree, _markup(tree)[0], EXTENSIVE, MAX_HTML_CHARS)
        theirs = find_date(
            html, extensive_search=True, original_date=True, min_date=HTMLDATE_MIN_DATE, max_date=CRAWL
        )
        assert ours == theirs == ("2019-03-04" if count == 900 else "2016-02-03")
