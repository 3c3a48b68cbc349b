"""htmldate's extensive search on the page's one lexbor parse: each shortcut against the slow way it replaces,
and the whole against htmldate's own find_date, on every real sample page; hand-made pages for each stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from htmldate import find_date as htmldate_find_date
from htmldate.core import ALWAYS_TAGS, is_date_candidate
from htmldate.extractors import FAST_TAGS, extract_url_date, try_date_expr
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
    EXTENSIVE_STAGES,
    PRUNED,
    _Candidates,
    _Element,
    _free_text_segments,
    extensive_search_date,
    page_string,
)
from tests.dating.helpers import EXTENSIVE, SAMPLE_CRAWL, day, sample_pages


def find_date(html: str, **kwargs: Any) -> str | None:
    """htmldate's own search, its cache of parsed strings emptied first: the cache holds the answers of
    whichever parser read a string first, and the search under test asks dateparser its own way."""
    try_date_expr.cache_clear()
    return htmldate_find_date(html, **kwargs)


def _searched(data_dir: Path) -> list[tuple[str, str]]:
    """(page, canonical URL) of the real pages whose date markup holds no publication date."""
    pages = []
    for html in sample_pages(data_dir):
        markup, canonical = _markup(parse_html(html))
        if not (
            extract_url_date(canonical, _options(True, SAMPLE_CRAWL))
            or _first_stages(markup, _options(True, SAMPLE_CRAWL))
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
            if 6 < len(text) < 52 and sum(map(str.isdigit, text)) >= 4:
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
        ours = extensive_search_date(parse_html(html), EXTENSIVE, MAX_HTML_CHARS)
        bounds = {"min_date": HTMLDATE_MIN_DATE, "max_date": SAMPLE_CRAWL}
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
        assert set(_free_text_segments(tree, string)) == _walked_free_text(tree)


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


def test_the_stages_run_are_those_named_in_htmldates_order() -> None:
    # a byline date (the first stage), an ISO timestamp in a script (the string's first stage) and a
    # date only search_page reads
    html = (
        '<html><body><div class="byline">By A. Writer, 2019-03-04</div>'
        '<script>var t = "2018-01-02T03:04:05";</script><script>showDate("2017/04/17 01:43:09")</script>'
        "</body></html>"
    )
    tree = parse_html(html)

    def search(*stages: str) -> str | None:
        return extensive_search_date(tree, EXTENSIVE, MAX_HTML_CHARS, stages)

    assert extensive_search_date(tree, EXTENSIVE, MAX_HTML_CHARS) == search(*EXTENSIVE_STAGES) == "2019-03-04"
    assert search("page", "candidates") == "2019-03-04"  # htmldate's order, whatever the order given
    assert search("timestamp", "page") == "2018-01-02"
    assert search("page") == "2017-04-17"
    assert search("headings", "og_image") is None and search() is None
    with pytest.raises(ValueError, match="'search_page'"):
        search("candidates", "search_page")


def test_pruned_elements_are_not_read() -> None:
    # htmldate prunes labels, iframes and svg before it searches: their dates never count
    html = (
        '<html><body><div class="meta"><label>2001-01-01</label> 2019-03-04</div>'
        '<iframe src="x">2002-02-02</iframe><svg><text>2003-03-03</text></svg></body></html>'
    )
    tree = parse_html(html)
    assert extensive_search_date(tree, EXTENSIVE, MAX_HTML_CHARS) == "2019-03-04"
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
        ours = extensive_search_date(tree, EXTENSIVE, MAX_HTML_CHARS)
        theirs = find_date(
            html, extensive_search=True, original_date=True, min_date=HTMLDATE_MIN_DATE, max_date=SAMPLE_CRAWL
        )
        assert ours == theirs == ("2019-03-04" if count == 900 else "2016-02-03")


# A date search's fallback for the pages below: a dated link that search_page reads last.
_LINK = '<a href="/2016/01/02/x">l</a>'


def test_markup_that_could_mislead_the_shortcuts_reads_as_htmldate_reads_it() -> None:
    bodies = [
        # a pruned element's text also earlier in the candidate's own text
        '<div class="date">2018-03-04 <video>2018</video>-07-09</div>',
        # pruned elements inside pruned elements, and a pruned element's markup copied into a script
        '<div class="date">2019-05-01 <label>05 <audio>05</audio></label></div>',
        '<script>var s="2019-0<video>x</video>5-07";</script><p>a<video>x</video>b</p>',
        # digits that are not ASCII, which try_date_expr counts
        f"<p>12.3.２０１８ xx</p>{_LINK}",
        # raw text that is not a script: markup inside it is text
        "<xmp><p>Filed 12.03.2012 x</xmp><p>Filed 15.06.2019 y</p>",
        "<noembed><p>Filed 12.03.2012 x</noembed><p>Filed 15.06.2019 y</p>",
        # a script that writes a script tag, and tags whose names start with "script"
        f'<p><script>document.write("<script src=x></scr"+"ipt>")</script> Filed 12.03.2018 x</p>{_LINK}',
        f"<scripts>x</scripts><p>Filed 12.03.2018 x</p><script></script>{_LINK}",
        # a segment after more sibling tags than the backward read takes
        "<table><tr><td>"
        + "<i>x</i>" * 201
        + "Filed 12.03.2012 x</td></tr></table><p>Filed 15.06.2019 y</p>",
        # an og:image meta in the body
        '<p>Intro</p><meta property="og:image" content="https://x.com/2015/03/04/a.jpg"><p>Filed 12.03.2018 x</p>',
    ]
    bounds = {"min_date": HTMLDATE_MIN_DATE, "max_date": SAMPLE_CRAWL}
    for body in bodies:
        html = f"<html><head><title>t</title></head><body>{body}</body></html>"
        ours = extensive_search_date(parse_html(html), EXTENSIVE, MAX_HTML_CHARS)
        assert ours == find_date(html, extensive_search=True, original_date=True, **bounds), html
        assert ours is not None


def test_page_string_reads_a_page_full_of_pruned_elements_once() -> None:
    # one forward pass: 3,000 inline svg icons in a 1 MB page, each removed where lexbor wrote it
    html = "<html><body>" + '<p>x 2019-03-04</p><svg><path d="M0 0"/></svg>' * 3000 + "</body></html>"
    string = page_string(parse_html(html), MAX_HTML_CHARS)
    assert "<svg" not in string and string.count("2019-03-04") == 3000
