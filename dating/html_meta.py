"""The HTML-metadata kernel: publication and update dates from a page's markup, with htmldate.

The ingest job calls `html_meta_date_batch` on every batch that still has its `html` column, before the HTML
is dropped. htmldate reads meta tags, JSON-LD, time/abbr elements, the canonical link's URL and, in its
extensive search, date patterns in the page. Costs are bounded so one bad page cannot stall a task: the HTML
is parsed once (lxml) and the tree shared by both searches, pages are cut at MAX_HTML_CHARS (the metadata
sits in the head and the top of the body), and the update search is htmldate's fast one. The page's own URL
is not given to htmldate: it is a separate signal (dating.signals.url_signal), and keeping them apart lets
the combination see when they agree. A page htmldate cannot read yields nulls, never an exception.
"""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, datetime

import pyarrow as pa
from htmldate import find_date
from htmldate.utils import load_html

from corpus.schema import TIMESTAMP

MAX_HTML_CHARS = 1_000_000
HTML_META_MODIFIED = "html_meta_modified"  # extra column: the HTML's last-update date (corpus.schema)
# htmldate's own floor: dates before it in markup are far more often junk than real.
HTMLDATE_MIN_DATE = datetime(1995, 1, 1)

# htmldate logs every unparsable page at ERROR; that is expected input here, not an error of ours.
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


def _as_day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def html_meta_dates(
    html: str | bytes | None, crawl_date: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """(original publication date, last update date) of one page, each midnight UTC or None. Dates after
    `crawl_date` (when given) are not considered by htmldate. Never raises."""
    if not html:
        return None, None
    with warnings.catch_warnings():
        # dateutil warns on unknown zone names in page dates (e.g. "GST"); the date part is still right.
        warnings.simplefilter("ignore")
        return _html_meta_dates(html, crawl_date)


def _html_meta_dates(
    html: str | bytes, crawl_date: datetime | None
) -> tuple[datetime | None, datetime | None]:
    try:
        tree = load_html(html[:MAX_HTML_CHARS])
        if tree is None:
            return None, None
        canonical = tree.find('.//link[@rel="canonical"]')
        canonical_url = (canonical.get("href") or "") if canonical is not None else ""
        latest = crawl_date.astimezone(UTC).replace(tzinfo=None) if crawl_date is not None else None
        original = find_date(
            tree,
            extensive_search=True,
            original_date=True,
            url=canonical_url,
            min_date=HTMLDATE_MIN_DATE,
            max_date=latest,
        )
        updated = find_date(
            tree,
            extensive_search=False,
            original_date=False,
            url="",  # the URL holds the publication date, never the update
            min_date=HTMLDATE_MIN_DATE,
            max_date=latest,
        )
    except Exception:  # lxml/htmldate failures on hostile markup mean no date, never a crash
        return None, None
    return _as_day(original), _as_day(updated)


def html_meta_date_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Fill `html_meta_date` (htmldate's original publication date) and `html_meta_modified` (its last update
    date) from the `html` column; timestamps at midnight UTC. Returns `batch` unchanged when it has no `html`.
    Values already present are kept (the kernel is safe to run twice)."""
    names = batch.schema.names
    if "html" not in names:
        return batch
    htmls = batch.column("html").to_pylist()
    crawls = batch.column("crawl_date").to_pylist() if "crawl_date" in names else [None] * batch.num_rows
    old_published = batch.column("html_meta_date").to_pylist() if "html_meta_date" in names else None
    old_modified = batch.column(HTML_META_MODIFIED).to_pylist() if HTML_META_MODIFIED in names else None
    published: list[datetime | None] = []
    modified: list[datetime | None] = []
    for i, html in enumerate(htmls):
        if old_published is not None and old_published[i] is not None:
            published.append(old_published[i])
            modified.append(old_modified[i] if old_modified is not None else None)
            continue
        original, updated = html_meta_dates(html, crawls[i])
        published.append(original)
        modified.append(updated)
    out = batch
    for name, values in (("html_meta_date", published), (HTML_META_MODIFIED, modified)):
        array = pa.array(values, TIMESTAMP)
        if name in out.schema.names:
            out = out.set_column(out.schema.get_field_index(name), name, array)
        else:
            out = out.append_column(name, array)
    return out
