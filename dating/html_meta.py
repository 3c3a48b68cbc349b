"""The HTML-metadata dates of a page: publication and update dates from its markup, with htmldate, read from
the page's one parse.

The ingest job's WARC reader parses each page once (resiliparse's lexbor tree, corpus.html_text) and hands
the tree to `MarkupDater` (a ReadOptions page hook) after extracting the text. The dates come from that tree:

1. The markup htmldate reads first (meta tags, the canonical link, JSON-LD scripts, abbr elements) is
   taken from the tree by one selector query and given to htmldate's own first stages, the ones its
   `find_date` runs before anything else: the canonical URL's date (publication only),
   `examine_header`, `json_search` and `examine_abbr_elements`, for the publication date and then the
   update date, on the same small tree. Where they decide, the answer is htmldate's fast mode's on the
   whole page (a test checks it on the gold pages); most news and blog pages are decided here, at a
   fraction of a millisecond.
2. Only where that finds no publication date does htmldate's extensive search run, stage by stage on the
   same lexbor tree (dating.html_search), as `find_date(html, extensive_search=True, original_date=True)`
   would run it on its own lxml parse. Fast mode first and an update-date search there as well changed
   nothing: on the 252 real sample pages, 91 reach this step; fast mode then extensive gives the extensive
   search's date on all 91, and fast mode's update date is none (65) or the publication date again (26)
   (tests/dating/test_html_meta.py keeps checking it). The update date is step 1's.

htmldate's reading of a date string is changed in two ways (`whole_reading_custom_parse`, installed for the
process on import): a reading after the bound is refused whole, and bounds are compared in the page's own
wall-clock time. The bound is a day past the crawl, else past `added`, else none: never the clock.

Costs are bounded so one bad page cannot stall a task: lexbor serialises the page in linear time, the
search's string stages read at most MAX_HTML_CHARS of it (dates sit in the head and the top of the body),
and a page nested deeper than corpus.html_text.TOO_DEEP is not searched (its searches grow with the depth
times the candidates: minutes at 20,000 deep).
The page's own URL is not given to htmldate: it is a separate signal (dating.signals.url_signal), and
keeping them apart lets the combination see when they agree.
A page htmldate cannot read yields nulls, never an exception. `html_meta_date_batch` does the same for
inputs that carry an `html` column (the date job on documents ingested with --keep-html), and says in a work
column why a page gave no dates because it was not read (too deep, or lxml or htmldate failed on it), for the
date job to count; the ingest reader counts the same pages itself.
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dateutil.parser
import htmldate.extractors
import lxml.html
import pyarrow as pa
from htmldate.core import (
    ITEMPROP_ATTRS,
    examine_abbr_elements,
    examine_header,
)
from htmldate.extractors import extract_url_date, json_search
from htmldate.utils import Extractor
from htmldate.validators import get_max_date, get_min_date
from resiliparse.parse.html import HTMLTree

from corpus.html_text import nests_deeper_than, parse_html, select_all
from corpus.schema import TIMESTAMP
from dating.html_search import extensive_search_date
from dating.input_columns import HTML_META_MODIFIED, HTML_META_UNREAD, PLAUSIBLE_YEARS, input_values
from dating.signals import TZ_SLACK

MAX_HTML_CHARS = 1_000_000
# htmldate's own floor: dates before it in markup are far more often junk than real.
HTMLDATE_MIN_DATE = datetime(1995, 1, 1)


# The head's elements that htmldate's first stages read: every meta (examine_header; img_search's og:image),
# the canonical link, JSON-LD scripts (json_search) and abbr elements.
HEAD_SELECTOR = (
    'meta, link[rel="canonical"], script[type="application/ld+json"], '
    'script[type="application/settings+json"], abbr'
)
# The body's elements that htmldate's first stages read a date from, where pages put them (the head is taken
# whole): JSON-LD scripts, microdata metas of dates (itemprop values examine_header reads, matched ASCII
# case-insensitively as it lower-cases them) and abbr elements (examine_abbr_elements weighs their number).
BODY_SELECTORS = (
    'script[type="application/ld+json"], script[type="application/settings+json"]',
    ", ".join(f'meta[itemprop="{v}" i]' for v in sorted({*ITEMPROP_ATTRS, "copyrightyear"})),
    "abbr",
)
# A body selector's elements are copied only where there are at most this many: a page with more abbr
# elements than this has no date in them that htmldate would trust either (it skips pages with too many
# candidates), and copying hundreds would cost more than the date is worth.
MAX_BODY_ELEMENTS = 40
_BODY_SELECTOR = ", ".join(BODY_SELECTORS)
# Why a page's markup gave no dates because it was not read (HTML_META_UNREAD's values)
UNREAD_TOO_DEEP = "nested_too_deep"  # nested deeper than corpus.html_text.TOO_DEEP: not searched
UNREAD_ERROR = "markup_error"  # lxml or htmldate raised on it


class NestedTooDeep(ValueError):
    """A page nested deeper than corpus.html_text.TOO_DEEP, whose searches would take minutes."""


# htmldate logs every unparsable page at ERROR; that is expected input here, not an error of ours.
logging.getLogger("htmldate").setLevel(logging.CRITICAL)
# htmldate hands strings without a day ("2023-01", "January 2023 12:30") to dateutil, which fills what they
# lack from today: a page's date then depended on the day the job ran (2023-01-04 on 4 December, 2023-01-28
# on the 28th). Filled from 1 January of year 1 instead, a month gives its first day, and a time without a
# date gives year 1, which htmldate's bounds refuse: the same result on every run.
htmldate.extractors.dateutil_parse = functools.partial(dateutil.parser.parse, default=datetime(1, 1, 1))


def whole_reading_custom_parse(
    string: str, outputformat: str, min_date: datetime, max_date: datetime
) -> str | None:
    """htmldate's custom_parse (its readings of one date string, most precise first; it reads the markup's
    date values), except in two ways. A reading after `max_date` ends the string's search: htmldate went on
    to the same string's month or year, so a meta date of 2021-03-25 on a page crawled 2021-03-10 decided the
    page as 2021-03-01 in the first stages, and no other date on the page was looked for. (htmldate's last
    stage, its scan of the page's text, may still read such a date's year or month: a year is read as one
    downstream, a month's first day as a day.) And a reading is compared with the bounds in the page's own
    wall-clock time: htmldate compared a time with an offset, as an instant, with bounds read in the
    process's time zone, so the same page's date depended on TZ. Installed for the whole process when this
    module is imported (htmldate's find_date included)."""
    for candidate in htmldate.extractors._date_candidates(string):
        if candidate is None:
            continue
        wall = candidate.replace(tzinfo=None)
        if wall > max_date:
            return None
        if wall >= min_date:
            try:
                return candidate.strftime(outputformat)
            except ValueError:  # a year strftime cannot write
                return None
    return None


htmldate.extractors.custom_parse = whole_reading_custom_parse
# With no crawl time and no `added`, the markup's dates are bounded by no clock: htmldate's own default, the
# end of today in the process's time zone, made a page's date depend on the day and the zone a job ran in.
NO_LATEST = datetime(9999, 12, 31)


def _as_day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def _markup(tree: HTMLTree) -> tuple[Any, str]:
    """(an lxml tree of the page's date markup, the canonical link's URL): the head's elements of
    HEAD_SELECTOR, then the body's of BODY_SELECTORS (the head's scripts and styles, often most of it, are
    not copied)."""
    head = [node.html for node in select_all(tree.head, HEAD_SELECTOR)] if tree.head is not None else []
    body = tree.body
    extra: list[str] = []
    if body is not None:
        # One walk of the body for all three selectors; each one's elements are kept together, in its turn.
        found: dict[str, list[Any]] = {"script": [], "meta": [], "abbr": []}  # BODY_SELECTORS' tags, in order
        for node in select_all(body, _BODY_SELECTOR):
            found.setdefault(node.tag, []).append(node)
        for nodes in found.values():
            if len(nodes) <= MAX_BODY_ELEMENTS:
                extra.extend(node.html for node in nodes)
    html = f"<html><head>{''.join(head)}</head><body>{''.join(extra)}</body></html>"
    markup = lxml.html.document_fromstring(html)
    canonical = markup.find('.//link[@rel="canonical"]')
    return markup, (canonical.get("href") or "") if canonical is not None else ""


def _options(original: bool, latest: datetime, extensive: bool = False) -> Extractor:
    return Extractor(extensive, get_max_date(latest), get_min_date(HTMLDATE_MIN_DATE), original, "%Y-%m-%d")


def _first_stages(markup: Any, options: Extractor) -> str | None:
    """htmldate's find_date up to its pruning of the tree: header, JSON-LD, abbr elements."""
    return (
        examine_header(markup, options)
        or json_search(markup, options)
        or examine_abbr_elements(markup, options)
    )


def markup_dates(
    tree: HTMLTree | None,
    html: str | bytes | None,
    crawl_date: datetime | None = None,
    added: datetime | None = None,
) -> tuple[datetime | None, datetime | None]:
    """(original publication date, last update date) of one page, each midnight UTC or None, from its parsed
    `tree` (parsed here when None) and, where the first stages find no publication date, htmldate's full
    search of `html` (see the module doc). Dates more than a day after `crawl_date` (else after `added`, the
    document's added time) are not considered; with neither, none is too late. Never raises: a failure of
    lxml or htmldate on hostile markup gives no dates (`markup_dates_or_raise` lets a caller that counts
    failures see it)."""
    try:
        return markup_dates_or_raise(tree, html, crawl_date, added)
    except Exception:
        return None, None


def markup_dates_or_raise(
    tree: HTMLTree | None,
    html: str | bytes | None,
    crawl_date: datetime | None = None,
    added: datetime | None = None,
) -> tuple[datetime | None, datetime | None]:
    """`markup_dates`, raising what lxml or htmldate raise, and NestedTooDeep for a page given as HTML that
    nests too deep to be searched."""
    if not html:
        return None, None
    with warnings.catch_warnings():
        # dateutil warns on unknown zone names in page dates (e.g. "GST"); the date part is still right.
        warnings.simplefilter("ignore")
        seen = next((t for t in (crawl_date, added) if t is not None and _plausible(t)), None)
        return _markup_dates(tree, html, seen)


def _plausible(time: datetime) -> bool:
    """A time the date stage reads (a WARC-Date of 9999 or 0001 made the page hook fail: page_hook_error)."""
    return PLAUSIBLE_YEARS[0] <= time.year <= PLAUSIBLE_YEARS[1]


def _markup_dates(
    tree: HTMLTree | None, html: str | bytes, seen: datetime | None
) -> tuple[datetime | None, datetime | None]:
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    if tree is None:  # (a tree handed over was checked by the reader that parsed it)
        tree = parse_html(html)
        if nests_deeper_than(tree, html.encode("utf-8", "replace")):
            raise NestedTooDeep("the page nests deeper than corpus.html_text.TOO_DEEP")
    # A day past the crawl (or the added time), as signals.check_date allows: a page east of UTC is dated a
    # day ahead of the crawl's UTC day, and htmldate, refusing it, fell back to an older date on the page.
    latest = (seen.astimezone(UTC) + TZ_SLACK).replace(tzinfo=None) if seen is not None else NO_LATEST
    markup, canonical = _markup(tree)
    published_options, updated_options = _options(True, latest), _options(False, latest)
    published = extract_url_date(canonical, published_options) or _first_stages(markup, published_options)
    updated = _first_stages(markup, updated_options)
    if published is None:
        published = extensive_search_date(tree, _options(True, latest, extensive=True), MAX_HTML_CHARS)
    return _as_day(published), _as_day(updated)


def html_meta_dates(
    html: str | bytes | None, crawl_date: datetime | None = None, added: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """`markup_dates` of a page given as HTML (parsed here). Never raises."""
    return markup_dates(None, html, crawl_date, added)


def _dates_or_why_not(
    html: str | bytes | None, crawl_date: datetime | None, added: datetime | None
) -> tuple[datetime | None, datetime | None, str | None]:
    """(publication date, update date, None), or (None, None, why the page was not read)."""
    try:
        return (*markup_dates_or_raise(None, html, crawl_date, added), None)
    except NestedTooDeep:
        return None, None, UNREAD_TOO_DEEP
    except Exception:
        return None, None, UNREAD_ERROR


@dataclass(frozen=True)
class MarkupDater:
    """The ingest reader's page hook (corpus.reader_base.PageHook): sets `html_meta_date` and
    `html_meta_modified` of a WARC page's row from its one parsed tree. A failure is raised, for the reader
    to count (`page_hook_error`) rather than pass for a page without dates."""

    columns: tuple[str, ...] = ("html_meta_date", HTML_META_MODIFIED)

    def __call__(self, tree: HTMLTree, html: str, row: dict[str, Any]) -> None:
        dates = markup_dates_or_raise(tree, html, row.get("crawl_date"), row.get("added"))
        row["html_meta_date"], row[HTML_META_MODIFIED] = dates


def html_meta_date_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Fill `html_meta_date` (the publication date) and `html_meta_modified` (the last update date) from
    the `html` column; timestamps at midnight UTC. `html_meta_unread` says why a page was not read (UNREAD_*;
    null where it was, whatever it found). Returns `batch` unchanged when it has no `html`. Values already
    present are kept (the kernel is safe to run twice)."""
    names = batch.schema.names
    if "html" not in names:
        return batch
    htmls = input_values(batch, "html")
    crawls = input_values(batch, "crawl_date")
    added = input_values(batch, "added")
    old_published = input_values(batch, "html_meta_date") if "html_meta_date" in names else None
    old_modified = input_values(batch, HTML_META_MODIFIED) if HTML_META_MODIFIED in names else None
    published: list[datetime | None] = []
    modified: list[datetime | None] = []
    unread: list[str | None] = []
    for i, html in enumerate(htmls):
        if old_published is not None and old_published[i] is not None:
            published.append(old_published[i])
            modified.append(old_modified[i] if old_modified is not None else None)
            unread.append(None)
            continue
        original, updated, reason = _dates_or_why_not(html, crawls[i], added[i])
        published.append(original)
        modified.append(updated)
        unread.append(reason)
    out = batch
    columns = (
        ("html_meta_date", pa.array(published, TIMESTAMP)),
        (HTML_META_MODIFIED, pa.array(modified, TIMESTAMP)),
        (HTML_META_UNREAD, pa.array(unread, pa.string())),
    )
    for name, array in columns:
        if name in out.schema.names:
            out = out.set_column(out.schema.get_field_index(name), name, array)
        else:
            out = out.append_column(name, array)
    return out
