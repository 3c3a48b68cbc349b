"""Combining the signals into `created`, `date_published`, `date_lower`, `date_upper`, `date_source`.

The rules, in the order they are applied (dating.signals defines the signals and their fixed priors):

1. Impossible dates are rejected, each with a counted reason: before 1991 (but a dataset's own date, which
   only a placeholder of "unknown" such as the Unix epoch fails), after the crawl (more than a day after it
   for a date known to the day, for time zones; with no crawl, any date after the document was ingested,
   `after_added`), or not a calendar date. The crawl time itself is
   rejected when it falls outside its dump's crawl window (dating.signals.dump_window_start and
   dump_window_end: the named ISO week widened by six weeks before and one after).
2. Bounds are intersected, strongest signal first. Upper bounds: the fetch time, the dump's window end,
   Last-Modified, the last month of a matched reference text. Lower bounds: the earliest publication claim
   (URL, HTML metadata, text dateline; less a day for time zones), so that the bound holds whichever claim is
   right; the latest year the text mentions; the first month of a matched reference text. A bound
   that would empty the interval is dropped (counted as a conflict); so is a text-year lower bound later than
   a stronger publication date (a year the text names as future, not an update).
3. `date_published` is the URL's day date, else the HTML metadata's original date (when the URL gives only a
   month, only if it falls in that month), else the URL's month, else the first full date in the text.
   A date known only to the year (htmldate writes those as YYYY-01-01) is never a publication date.
4. `created` is the matched reference version's month when there is one (a copy of that version); else the
   latest of the publication date and the trusted update dates (HTML dateModified, Last-Modified not at the
   fetch time and not shared by a host rebuild, a `created` the input carried: one without a `date_source`,
   or one an earlier run kept as `given`), whichever is latest deciding. A page that states its own last
   edit (an HTML update date more than a day after its publication date) dates its content by it: a Last-Modified on a
   later day is when the server rewrote the file, not the content (MediaWiki re-renders a page whenever a
   template it uses changes), and is then an upper bound only;
   else the text's first full date, else the latest year it mentions (the middle of the part of that year
   the bounds leave, as for any date known only to its year); else the fetch time
   (`crawl`), else the dump's window end (`dump`).
5. `created` is clamped into [date_lower, date_upper] (counted: never after the crawl).

`date_source` names the signal that decided `created`; `date_confidence` is its prior (the similarity for a
reference match); `date_notes` lists every rejected, distrusted, conflicting or clamped date, and markup not
read for dates (`unread:html_meta:nested_too_deep`), as "action:signal:reason", which the job counts into
`_stats.json`. Documents are never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from corpus.schema import TIMESTAMP
from dating.html_meta import HTML_META_MODIFIED
from dating.input_columns import HTML_META_UNREAD, PLAUSIBLE_YEARS, input_values
from dating.signals import (
    TZ_SLACK,
    Candidate,
    Evidence,
    crawl_signal,
    given_signal,
    html_meta_signal,
    last_modified_signal,
    reference_signal,
    slack,
    text_signal,
    url_signal,
    utc,
)

# Columns date_batch adds beyond the record's own dating columns.
DATE_CONFIDENCE = "date_confidence"
DATE_NOTES = "date_notes"
EXTRA_FIELDS = [pa.field(DATE_CONFIDENCE, pa.float64()), pa.field(DATE_NOTES, pa.list_(pa.string()))]
CRAWL_ONLY_CONFIDENCE = 0.1
OUTPUT_COLUMNS = ("created", "date_published", "date_lower", "date_upper", "date_source")
# Optional inputs: the job's host shuffle and reference matching add these before date_batch runs.
LM_HOST_PAGES = "lm_host_pages"
REF_COLUMNS = ("ref_created", "ref_last", "ref_similarity")
INPUT_COLUMNS = (
    "crawl_date",
    "dump",
    "last_modified",
    "html_meta_date",
    HTML_META_MODIFIED,
    HTML_META_UNREAD,
    "url",
    "text",
    "created",
    "date_source",
    "added",
    LM_HOST_PAGES,
    *REF_COLUMNS,
)


class DateResult:
    """The dating of one document."""

    __slots__ = ("confidence", "created", "lower", "notes", "published", "source", "upper")

    def __init__(self) -> None:
        self.created: datetime | None = None
        self.published: datetime | None = None
        self.lower: datetime | None = None
        self.upper: datetime | None = None
        self.source: str | None = None
        self.confidence: float | None = None
        self.notes: list[str] = []


Bound = tuple[datetime | None, str | None]


def _intersect(evidence: Evidence, published: Candidate | None) -> tuple[Bound, Bound]:
    """Rule 2: (lower, its signal), (upper, its signal) from the bound candidates, strongest first, dropping
    those that conflict."""
    bounds: list[tuple[float, int, Candidate, datetime]] = []
    for c in evidence.candidates:
        if c.kind == "upper":
            bounds.append((c.confidence, 0, c, c.date))
        elif c.kind == "lower":
            bounds.append((c.confidence, 1, c, c.date - slack(c.precision)))
    # Whichever publication claim is right, the content existed from the earliest of them: that one bounds
    # from below (a late metadata date must not cut off an earlier dateline), at the chosen one's strength.
    claims = [c for c in evidence.candidates if c.kind == "published"]
    if claims:
        earliest = min(claims, key=lambda c: (c.date - slack(c.precision), -c.confidence))
        strength = published.confidence if published is not None else max(c.confidence for c in claims)
        bounds.append((strength, 1, earliest, earliest.date - slack(earliest.precision)))
    # Strongest first; at equal strength upper bounds (fetch facts) before lower ones; then by date.
    bounds.sort(key=lambda b: (-b[0], b[1], b[3]))
    lower: datetime | None = None
    upper: datetime | None = None
    lower_signal: str | None = None
    upper_signal: str | None = None
    for confidence, is_lower, candidate, value in bounds:
        if is_lower:
            if upper is not None and value > upper:
                evidence.note("conflict", candidate.signal, "after_upper_bound")
                continue
            if (
                candidate.kind == "lower"
                and candidate.signal != "reference"
                and published is not None
                and value > published.date
                and published.confidence >= confidence
            ):
                evidence.note("conflict", candidate.signal, "after_published")
                continue
            if lower is None or value > lower:
                lower, lower_signal = value, candidate.signal
        else:
            if lower is not None and value < lower:
                evidence.note("conflict", candidate.signal, "before_lower_bound")
                continue
            if (
                published is not None
                and confidence < published.confidence
                and value < published.date - slack(published.precision)
            ):
                # A weaker bound does not rule out a stronger publication date, whatever a weak earlier claim
                # (a background date in the text) did to the lower bound.
                evidence.note("conflict", candidate.signal, "before_stronger_published")
                continue
            if upper is None or value < upper:
                upper, upper_signal = value, candidate.signal
    return (lower, lower_signal), (upper, upper_signal)


def _choose_published(evidence: Evidence) -> Candidate | None:
    """Rule 3."""
    by_signal: dict[str, Candidate] = {}
    for c in evidence.candidates:
        # A date known only to the year (htmldate's YYYY-01-01) is no publication date: a lower bound only.
        if c.kind == "published" and c.precision != "year":
            by_signal.setdefault(c.signal, c)
    url, meta, text = by_signal.get("url"), by_signal.get("html_meta"), by_signal.get("text_date")
    if url is not None and url.precision == "day":
        return url
    if meta is not None:
        if url is None or (meta.date.year, meta.date.month) == (url.date.year, url.date.month):
            return meta
        evidence.note("conflict", "html_meta", "outside_url_month")
    if url is not None:
        return url
    return text


def _plausible(row: Mapping[str, Any], evidence: Evidence) -> Mapping[str, Any]:
    """`row` with every timestamp outside PLAUSIBLE_YEARS set to None (noted as rejected: out_of_range)."""
    wrong = [
        c
        for c, v in row.items()
        if isinstance(v, datetime) and not PLAUSIBLE_YEARS[0] <= v.year <= PLAUSIBLE_YEARS[1]
    ]
    for column in wrong:
        evidence.note("rejected", column, "out_of_range")
    return {**row, **dict.fromkeys(wrong)} if wrong else row


def _reject_after_added(added: datetime | None, evidence: Evidence) -> None:
    """Without a crawl date no signal is bounded by a fetch: a date after the document was ingested
    (`added`) is in the future and rejected (`after_added`), as given_signal rejects a given `created`. A
    Buddhist-era Last-Modified (2566), a URL's /2099/ or a text's "1 May 2099" were taken as the date."""
    if added is None:
        return
    kept, rejected = [], []
    for candidate in evidence.candidates:
        if candidate.date > added + TZ_SLACK:  # a time zone away, as given_signal allows
            rejected.append(candidate.signal)
        else:
            kept.append(candidate)
    for signal in dict.fromkeys(rejected):  # once a signal: Last-Modified is a bound and an estimate
        evidence.note("rejected", signal, "after_added")
    evidence.candidates[:] = kept


def date_row(row: Mapping[str, Any]) -> DateResult:
    """Date one document from its column values (see the module docstring for the rules)."""
    evidence = Evidence.empty()
    row = _plausible(row, evidence)
    crawl = crawl_signal(row.get("crawl_date"), row.get("dump"), evidence)
    last_modified_signal(row.get("last_modified"), crawl, row.get(LM_HOST_PAGES), evidence)
    # `created` is the input's own date when no dating run set it, or when one kept it (source "given"): reading
    # it again then makes a second run give the same result. Any other source means an earlier run derived it.
    if row.get("date_source") in (None, "given"):
        given_signal(row.get("created"), crawl, evidence, added=row.get("added"))
    url_signal(row.get("url"), crawl, evidence)
    html_meta_signal(row.get("html_meta_date"), row.get(HTML_META_MODIFIED), crawl, evidence)
    if row.get(HTML_META_UNREAD):  # the page's markup gave nothing because it was not read
        evidence.note("unread", "html_meta", row[HTML_META_UNREAD])
    text_signal(row.get("text"), crawl, evidence)
    reference_signal(row.get("ref_created"), row.get("ref_last"), row.get("ref_similarity"), crawl, evidence)
    if crawl is None:
        _reject_after_added(utc(row.get("added")), evidence)

    result = DateResult()
    published = _choose_published(evidence)
    (lower, lower_signal), (upper, upper_signal) = _intersect(evidence, published)
    if published is not None and upper is not None and published.date - slack(published.precision) > upper:
        published = None  # an upper bound stronger than it (rule 2) rules it out
    result.published = published.date if published is not None else None
    result.lower, result.upper = lower, upper

    decided = _choose_created(evidence, published, upper)
    if decided is not None:
        result.created, result.source, result.confidence = decided.date, decided.signal, decided.confidence
        if decided.precision == "year":
            result.created = middle_of_year(decided.date, lower, upper)
    elif upper is not None:
        # Only the fetch is known: the content is at most as new as the fetch (a weak estimate).
        result.created, result.source, result.confidence = upper, upper_signal, CRAWL_ONLY_CONFIDENCE

    if result.created is not None:
        if upper is not None and result.created > upper:
            evidence.note("clamped", "created", "to_crawl" if upper_signal == "crawl" else "to_upper_bound")
            result.created, result.source = upper, upper_signal
        if lower is not None and result.created < lower:
            evidence.note("clamped", "created", "to_lower_bound")
            result.created, result.source = lower, lower_signal
    result.notes = [str(n) for n in evidence.notes]
    return result


def _choose_created(
    evidence: Evidence, published: Candidate | None, upper: datetime | None
) -> Candidate | None:
    """Rule 4 (before clamping)."""
    updates = [c for c in evidence.candidates if c.kind == "updated"]
    references = [c for c in updates if c.signal == "reference"]
    if references:
        return max(references, key=lambda c: (c.confidence, -c.date.timestamp()))
    chosen = published
    claims = [c for c in evidence.candidates if c.kind == "published" and c.signal == "html_meta"]
    page_edit = _stated_page_edit(updates, [*claims, *([published] if published is not None else [])])
    for c in sorted(updates, key=lambda c: (-c.confidence, c.signal)):
        if upper is not None and c.date - slack(c.precision) > upper:
            evidence.note("conflict", c.signal, "after_upper_bound")
            continue
        if page_edit is not None and c.signal == "last_modified" and c.date > page_edit + slack("day"):
            evidence.note("distrusted", c.signal, "after_page_edit")
            continue
        if published is not None and c.date < published.date:
            if c.date < published.date - slack(c.precision) - slack(published.precision):
                evidence.note("conflict", c.signal, "before_published")
            continue
        if chosen is None or c.date > chosen.date:
            chosen = c
    if chosen is not None:
        return chosen
    weak = [c for c in evidence.candidates if c.kind == "published" or c.signal == "text_years"]
    to_the_day = [c for c in weak if c.precision != "year"]
    if to_the_day:
        return max(to_the_day, key=lambda c: (c.confidence, c.date))
    if weak:
        # Dates known only to their year (the text's latest year, a bare year in the markup) each say the
        # content is no older than that year: the latest holds them all.
        return max(weak, key=lambda c: (c.date, c.confidence))
    return None


def middle_of_year(year_start: datetime, lower: datetime | None, upper: datetime | None) -> datetime:
    """The day a date known only to its year stands for (rule 4): the middle of the part of that year the
    bounds leave. The year's first day would date such a page half a year early on average: on the 34 gold
    news pages that their text's years alone date, the median error is 261 days from the first day and 88
    from the middle (bench/dating_eval.py, its last lines). Where the bounds leave none of the year, its first day (rule 5
    then clamps it)."""
    first = max(year_start, lower) if lower is not None else year_start
    last = datetime(year_start.year + 1, 1, 1, tzinfo=year_start.tzinfo) - timedelta(days=1)
    if upper is not None:
        last = min(last, upper)
    if last < first:
        return year_start
    middle = first + (last - first) / 2
    return middle.replace(hour=0, minute=0, second=0, microsecond=0)


def _stated_page_edit(updates: list[Candidate], published: list[Candidate]) -> datetime | None:
    """The last edit the page states in its markup (dateModified, article:modified_time), where it is more
    than a day after every publication claim (`published`: the chosen one and the markup's own, a bare year
    included); None where the page states none, or only a publication date again (htmldate's update search
    falls back to the publication date)."""
    stated = [c.date for c in updates if c.signal == "html_meta_modified"]
    if not stated:
        return None
    edit = max(stated)
    if any(abs(edit - claim.date) <= slack(claim.precision) for claim in published):
        return None
    if any(edit <= claim.date for claim in published):
        return None
    return edit


def date_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The dating stage kernel: `batch` with created, date_published, date_lower, date_upper, date_source,
    date_confidence and date_notes set from its columns (missing inputs read as nulls). Pure and
    deterministic; rows are never dropped."""
    n = batch.num_rows
    columns = {c: input_values(batch, c) for c in INPUT_COLUMNS}
    results = [date_row({c: values[i] for c, values in columns.items()}) for i in range(n)]
    arrays: dict[str, pa.Array] = {
        "created": pa.array([r.created for r in results], TIMESTAMP),
        "date_published": pa.array([r.published for r in results], TIMESTAMP),
        "date_lower": pa.array([r.lower for r in results], TIMESTAMP),
        "date_upper": pa.array([r.upper for r in results], TIMESTAMP),
        "date_source": pa.array([r.source for r in results], pa.string()),
        DATE_CONFIDENCE: pa.array([r.confidence for r in results], pa.float64()),
        DATE_NOTES: pa.array([r.notes for r in results], pa.list_(pa.string())),
    }
    out = batch
    for name, array in arrays.items():
        if name in out.schema.names:
            out = out.set_column(out.schema.get_field_index(name), name, array)
        else:
            out = out.append_column(name, array)
    return out
