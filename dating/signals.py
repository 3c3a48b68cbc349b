"""Date signals: each turns one kind of evidence in a document record into candidate dates.

A candidate says what it estimates (`kind`): `published` (the original publication date), `updated` (when
this version of the content was written), `lower` or `upper` (a bound on `created`); how precisely the
evidence fixes it (`precision`: second, day, month or year) and how much we trust it (`confidence`, a fixed
prior per signal, 0..1). Evidence that names an impossible date (before 1991, after the crawl, or a date
that does not exist such as 2019-02-30) becomes a `Note` ("rejected", signal, reason) instead, so the job
can count it. Signals never raise on bad values.

`signal_batch(batch, name)` runs one signal over an Arrow batch and returns it with a `cand_<name>` column
(a list of candidate structs per row): the kernel form of each signal, for inspection and tests. The
combination (`dating.combine.date_batch`) calls the same row functions directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from dating.input_columns import input_values
from dating.textdates import TextDates, find_text_dates

MIN_DATE = datetime(1991, 1, 1, tzinfo=UTC)  # the web's first page; anything earlier is not a web date
DAY = timedelta(days=1)
# A date known only to the day is a local date in an unknown time zone: the instant lies within a day of
# its midnight UTC (offsets reach +-14 h), so day-precision dates get a day of slack when compared.
TZ_SLACK = DAY
# Last-Modified within this of the fetch is the server stamping "now" (dynamic pages), not a content change.
FETCH_TIME_WINDOW = timedelta(hours=1)
# Last-Modified shared (within REBUILD_WINDOW_S seconds) by at least this many pages of one host: a rebuild.
REBUILD_MIN_PAGES = 3
REBUILD_WINDOW_S = 60

# Fixed priors per signal (not fitted to any evaluation set); they order signals, they are not probabilities.
CONFIDENCE: Mapping[str, float] = {
    "crawl": 1.0,
    "dump": 1.0,
    "url": 0.9,
    "url_month": 0.6,
    "html_meta": 0.85,
    "html_meta_modified": 0.6,
    "html_meta_year": 0.25,
    "last_modified": 0.7,
    "given": 0.5,
    "text_date": 0.4,
    "text_years": 0.3,
}

KINDS = ("published", "updated", "lower", "upper")
PRECISIONS = ("second", "day", "month", "year")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One signal's claim about a document's date (see the module docstring for kind and precision)."""

    signal: str
    kind: str
    date: datetime
    confidence: float
    precision: str = "day"


@dataclass(frozen=True, slots=True)
class Note:
    """Something dating did with a date that the job counts: e.g. ("rejected", "url", "before_1991")."""

    action: str  # rejected | distrusted | conflict | clamped
    signal: str
    reason: str

    def __str__(self) -> str:
        return f"{self.action}:{self.signal}:{self.reason}"


@dataclass(slots=True)
class Evidence:
    """The candidates and notes of one document, filled by the signals in turn."""

    candidates: list[Candidate]
    notes: list[Note]

    @classmethod
    def empty(cls) -> Evidence:
        return cls([], [])

    def add(self, candidate: Candidate) -> None:
        self.candidates.append(candidate)

    def note(self, action: str, signal: str, reason: str) -> None:
        self.notes.append(Note(action, signal, reason))


def utc(value: datetime | None) -> datetime | None:
    """`value` as an aware UTC datetime (naive values are taken as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def day(year: int, month: int = 1, day_: int = 1) -> datetime | None:
    """Midnight UTC of a calendar date, or None when the date does not exist."""
    try:
        return datetime(year, month, day_, tzinfo=UTC)
    except ValueError:
        return None


def slack(precision: str) -> timedelta:
    """How far a date of this precision may sit after the instant it stands for (time zones)."""
    return timedelta(0) if precision == "second" else TZ_SLACK


def check_date(
    value: datetime, precision: str, latest: datetime | None, signal: str, evidence: Evidence
) -> bool:
    """True if `value` is a possible web date: not before 1991, not after `latest` (the crawl) allowing for
    time zones. Otherwise records the rejection and returns False."""
    if value < MIN_DATE:
        evidence.note("rejected", signal, "before_1991")
        return False
    if latest is not None and value > latest + slack(precision):
        evidence.note("rejected", signal, "after_crawl")
        return False
    return True


# ---------------------------------------------------------------------------------------------- crawl
_DUMP_WEEKLY = re.compile(r"^CC-MAIN-(\d{4})-(\d{2})$")
_DUMP_YEARLY = re.compile(r"^CC-MAIN-(?:(\d{4})-)?(\d{4})$")  # CC-MAIN-2008-2009, CC-MAIN-2012
# A weekly dump is labelled with the ISO week in which its crawl ends or right after it; a week's margin
# keeps the bound safe for crawls that ran late.
DUMP_MARGIN = timedelta(days=7)
# The crawl runs before its label: crawls take about two weeks and start 10 to 19 days before the Monday of
# the named week (CC-MAIN-2021-21 fetched from 5 May, that Monday is 24 May). Six weeks leaves room for a
# crawl twice as long and still refuses a fetch time that is wrong by months or years.
DUMP_START_MARGIN = timedelta(weeks=6)


def _dump_span(dump: str | None) -> tuple[datetime, datetime] | None:
    """[first day, day after the last day) that a dump's name covers: its ISO week, or its year(s)."""
    if not dump:
        return None
    weekly = _DUMP_WEEKLY.match(dump)
    if weekly:
        year, week = int(weekly.group(1)), int(weekly.group(2))
        try:
            monday = date.fromisocalendar(year, week, 1)
        except ValueError:
            return None
        start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
        return start, start + timedelta(weeks=1)
    yearly = _DUMP_YEARLY.match(dump)
    if yearly:
        last = int(yearly.group(2))
        first = int(yearly.group(1) or last)
        return datetime(first, 1, 1, tzinfo=UTC), datetime(last + 1, 1, 1, tzinfo=UTC)
    return None


def dump_window_start(dump: str | None) -> datetime | None:
    """The earliest instant a page of Common Crawl dump `dump` can have been fetched (DUMP_START_MARGIN before
    the week or year its name covers), or None for an unknown or malformed dump name."""
    span = _dump_span(dump)
    return span[0] - DUMP_START_MARGIN if span is not None else None


def dump_window_end(dump: str | None) -> datetime | None:
    """The latest instant a page of Common Crawl dump `dump` (e.g. CC-MAIN-2024-22) can have been fetched,
    or None for an unknown or malformed dump name."""
    span = _dump_span(dump)
    return span[1] + DUMP_MARGIN if span is not None else None


def crawl_signal(crawl_date: datetime | None, dump: str | None, evidence: Evidence) -> datetime | None:
    """Upper bounds from the fetch time and the dump's crawl window. A fetch time outside the window (before
    dump_window_start or after dump_window_end) is rejected. Returns the hard upper bound on any content date
    of the document (the earlier of the two), or None when neither is known."""
    window_start, window_end = dump_window_start(dump), dump_window_end(dump)
    if dump and dump.startswith("CC-MAIN-") and window_end is None:
        evidence.note("rejected", "dump", "malformed")
    crawl = utc(crawl_date)
    if crawl is not None:
        if crawl < MIN_DATE:
            evidence.note("rejected", "crawl", "before_1991")
            crawl = None
        elif window_end is not None and crawl > window_end:
            evidence.note("rejected", "crawl", "after_dump_window")
            crawl = None
        elif window_start is not None and crawl < window_start:
            evidence.note("rejected", "crawl", "before_dump_window")
            crawl = None
    if window_end is not None:
        evidence.add(Candidate("dump", "upper", window_end, CONFIDENCE["dump"], "second"))
    if crawl is not None:
        evidence.add(Candidate("crawl", "upper", crawl, CONFIDENCE["crawl"], "second"))
        return crawl
    return window_end


# ---------------------------------------------------------------------------------------------- Last-Modified
def last_modified_signal(
    last_modified: datetime | None,
    crawl: datetime | None,
    host_pages: int | None,
    evidence: Evidence,
    *,
    signal: str = "last_modified",
    earliest: datetime | None = MIN_DATE,
) -> None:
    """HTTP Last-Modified: when this version of the file was written, an `updated` estimate and an upper bound
    on `created`. Distrusted as an estimate on the fetch time (dynamic pages stamp "now") and where at least
    REBUILD_MIN_PAGES pages of the host share it (a site rebuild; it stays an upper bound). `host_pages`
    comes from the job's shuffle (jobs.date_spark; None: unknown); `earliest` None admits any year."""
    value = utc(last_modified)
    if value is None:
        return
    if earliest is not None and value < earliest:
        evidence.note("rejected", signal, "before_1991")
        return
    if crawl is not None:
        if value > crawl + FETCH_TIME_WINDOW:  # a file cannot change after it was fetched
            evidence.note("rejected", signal, "after_crawl")
            return
        if abs(crawl - value) <= FETCH_TIME_WINDOW:
            evidence.note("distrusted", signal, "at_fetch_time")
            return
    evidence.add(Candidate(signal, "upper", value, CONFIDENCE.get(signal, 0.5), "second"))
    if host_pages is not None and host_pages >= REBUILD_MIN_PAGES:
        evidence.note("distrusted", signal, "host_rebuild")
        return
    evidence.add(Candidate(signal, "updated", value, CONFIDENCE.get(signal, 0.5), "second"))


def host_last_modified_pages(
    urls: Sequence[str | None], last_modified: Sequence[datetime | None], window_s: int = REBUILD_WINDOW_S
) -> list[int | None]:
    """For each page, how many distinct URLs of its host have a Last-Modified within `window_s` seconds of its
    own (itself included: a URL seen twice with nearby values counts once); None without a URL host or
    Last-Modified. The in-process twin of the job's shuffle (jobs.date_spark.with_host_last_modified_pages),
    for small inputs and as its reference in tests."""
    by_host: dict[str, set[tuple[float, str]]] = {}
    keys: list[tuple[str, float] | None] = []
    for url, value in zip(urls, last_modified, strict=True):
        host, moment = url_host(url), utc(value)
        if host is None or moment is None:
            keys.append(None)
            continue
        keys.append((host, moment.timestamp()))
        by_host.setdefault(host, set()).add((moment.timestamp(), clean_url(url) or ""))
    counts: list[int | None] = []
    for key in keys:
        if key is None:
            counts.append(None)
            continue
        host, moment = key
        counts.append(len({page for t, page in by_host[host] if abs(t - moment) <= window_s}))
    return counts


# ---------------------------------------------------------------------------------------------- URL
# /2019/05/12/, 2019-05-12, 2019_05_12, 2019.05.12 (same separator twice) anywhere in path or query.
_URL_YMD = re.compile(r"(?<!\d)((?:19|20)\d{2})([/_.-])(\d{1,2})\2(\d{1,2})(?!\d)")
# /20190512/ or -20190512. or ?date=20190512: eight digits standing alone.
_URL_COMPACT = re.compile(r"(?<![\dA-Za-z])((?:19|20)\d{2})(\d{2})(\d{2})(?![\dA-Za-z])")
# /2019/05/ as two whole path segments.
_URL_YM = re.compile(r"/((?:19|20)\d{2})/(\d{1,2})(?=/|$)")
# 12-05-2019 day-first (European URLs); only read when the day cannot be a month.
_URL_DMY = re.compile(r"(?<!\d)(\d{1,2})([/_.-])(\d{1,2})\2((?:19|20)\d{2})(?!\d)")


def clean_url(url: str | None) -> str | None:
    """A URL without the angle brackets some WARC writers put around it."""
    if not url:
        return None
    url = url.strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1].strip()
    return url or None


def url_host(url: str | None) -> str | None:
    """Lower-case host of `url`, or None."""
    url = clean_url(url)
    if url is None:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _url_ymd(where: str) -> re.Match[str] | None:
    """The first year-month-day of `where`, where a dotted one needs two-digit month and day: `2020.3.1` in
    `/pycharm/download/2020.3.1/` is a release, not 1 March 2020."""
    for match in _URL_YMD.finditer(where):
        if match.group(2) != "." or (len(match.group(3)) == 2 and len(match.group(4)) == 2):
            return match
    return None


def url_signal(url: str | None, crawl: datetime | None, evidence: Evidence, *, signal: str = "url") -> None:
    """A publication date written in the URL's path or query: day precision (`/2019/05/12/`, `/20190512/`,
    `?date=2019-05-12`) or month precision (`/2019/05/`). News and blog URLs carry them reliably."""
    url = clean_url(url)
    if url is None:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        evidence.note("rejected", signal, "malformed_url")
        return
    where = parts.path + ("?" + parts.query if parts.query else "")
    for pattern, order, confidence in (
        (_URL_YMD, (1, 3, 4), CONFIDENCE["url"]),
        (_URL_COMPACT, (1, 2, 3), CONFIDENCE["url"]),
    ):
        match = _url_ymd(where) if pattern is _URL_YMD else pattern.search(where)
        if match is None:
            continue
        y, m, d = (int(match.group(i)) for i in order)
        value = day(y, m, d)
        if value is None:
            if pattern is _URL_YMD:  # 2019/13/45 has the shape of a date but is none
                evidence.note("rejected", signal, "malformed")
                return
            continue
        if check_date(value, "day", crawl, signal, evidence):
            evidence.add(Candidate(signal, "published", value, confidence, "day"))
        return
    dmy = _URL_DMY.search(where)
    if dmy is not None and int(dmy.group(1)) > 12:
        value = day(int(dmy.group(4)), int(dmy.group(3)), int(dmy.group(1)))
        if value is None:
            evidence.note("rejected", signal, "malformed")
        elif check_date(value, "day", crawl, signal, evidence):
            evidence.add(Candidate(signal, "published", value, CONFIDENCE["url"], "day"))
        return
    month = _URL_YM.search(parts.path)
    if month is not None:
        value = day(int(month.group(1)), int(month.group(2)))
        if value is None:
            evidence.note("rejected", signal, "malformed")
        elif check_date(value, "month", crawl, signal, evidence):
            evidence.add(Candidate(signal, "published", value, CONFIDENCE["url_month"], "month"))


# ---------------------------------------------------------------------------------------------- HTML metadata
def html_meta_signal(
    published: datetime | None, modified: datetime | None, crawl: datetime | None, evidence: Evidence
) -> None:
    """The HTML's own dates, found by htmldate at ingest (dating.html_meta): the original publication date
    and the last update (day precision)."""
    value = utc(published)
    if value is not None and check_date(value, "day", crawl, "html_meta", evidence):
        if (value.month, value.day) == (1, 1):
            # htmldate writes a date it knows only to the year (a copyright line, a bare year) as YYYY-01-01.
            evidence.add(Candidate("html_meta", "published", value, CONFIDENCE["html_meta_year"], "year"))
        else:
            evidence.add(Candidate("html_meta", "published", value, CONFIDENCE["html_meta"], "day"))
    value = utc(modified)
    if value is not None and check_date(value, "day", crawl, "html_meta_modified", evidence):
        evidence.add(
            Candidate("html_meta_modified", "updated", value, CONFIDENCE["html_meta_modified"], "day")
        )


# "Unknown" where they are written: the Unix epoch, 1900-01-01 (spreadsheets), 1601-01-01 (Windows FILETIME)
PLACEHOLDER_TIMES = frozenset(datetime(year, 1, 1, tzinfo=UTC) for year in (1601, 1900, 1970))


def given_signal(
    created: datetime | None, crawl: datetime | None, evidence: Evidence, added: datetime | None = None
) -> None:
    """A `created` the input already carried (a dataset's own timestamp, a MediaWiki snapshot month): an
    `updated` estimate, distrusted like Last-Modified when it is just the fetch time. Without a crawl date, a
    date after the document was ingested (`added`) is in the future and rejected ("after_added"): a 2035
    `created` made a 2035 cell of a mixture. A date before the web (a book of 1865) stands, where markup's
    is rejected, but for the placeholders of "unknown" (PLACEHOLDER_TIMES: `placeholder`)."""
    value, ingested = utc(created), utc(added)
    if value in PLACEHOLDER_TIMES:
        evidence.note("rejected", "given", "placeholder")
        return
    if crawl is None and value is not None and ingested is not None and value > ingested + TZ_SLACK:
        evidence.note("rejected", "given", "after_added")
        return
    last_modified_signal(created, crawl, None, evidence, signal="given", earliest=None)


# ---------------------------------------------------------------------------------------------- text
def text_signal(text: str | None, crawl: datetime | None, evidence: Evidence) -> TextDates:
    """Dates written in the text, in the corpus's languages (dating.textdates): the first explicit full date
    (a dateline) is a weak publication estimate; the latest year mentioned, copyright lines included, is a
    lower bound on `created` (the text cannot predate a year it names as past). Years after the crawl are
    future mentions and are skipped; without a crawl date no year can be told from a future mention, so
    text years give no bound."""
    # a date in the next year may be the page's own day (New Year east of UTC); a bare year there is future
    limits = (crawl.year, (crawl + TZ_SLACK).year) if crawl is not None else (None, None)
    found = find_text_dates(text or "", *limits)
    for reason in found.rejected:  # once a reason: a text of 18,000 impossible dates made 18,000 notes
        evidence.note("rejected", "text_date", reason)
    for value in found.dates:
        if check_date(value, "day", crawl, "text_date", evidence):
            evidence.add(Candidate("text_date", "published", value, CONFIDENCE["text_date"], "day"))
            break
    if crawl is not None and found.latest_year is not None and found.latest_year >= MIN_DATE.year:
        start = day(found.latest_year)
        assert start is not None
        evidence.add(Candidate("text_years", "lower", start, CONFIDENCE["text_years"], "year"))
    return found


# ---------------------------------------------------------------------------------------------- reference
def reference_signal(
    ref_created: datetime | None,
    ref_last: datetime | None,
    similarity: float | None,
    crawl: datetime | None,
    evidence: Evidence,
) -> None:
    """The month of the nearest dated reference version (dating.reference): `created` is the earliest month
    the matched text existed (an `updated` estimate and a lower bound) and the last month it was current is
    an upper bound; the similarity is the confidence."""
    first = utc(ref_created)
    if first is None or similarity is None:
        return
    if not check_date(first, "day", crawl, "reference", evidence):
        return
    confidence = float(similarity)
    evidence.add(Candidate("reference", "updated", first, confidence, "month"))
    evidence.add(Candidate("reference", "lower", first, confidence, "month"))
    last = utc(ref_last)
    if last is not None and last >= first:
        evidence.add(Candidate("reference", "upper", last, confidence, "month"))


# ---------------------------------------------------------------------------------------------- batch form
CANDIDATE_TYPE = pa.list_(
    pa.struct(
        [
            ("kind", pa.string()),
            ("date", pa.timestamp("us", tz="UTC")),
            ("confidence", pa.float64()),
            ("precision", pa.string()),
        ]
    )
)


def _crawl_of(row: Mapping[str, Any]) -> datetime | None:
    return crawl_signal(row["crawl_date"], row["dump"], Evidence.empty())


SIGNALS: dict[str, tuple[Sequence[str], Callable[[Mapping[str, Any], Evidence], object]]] = {
    "crawl": (("crawl_date", "dump"), lambda r, e: crawl_signal(r["crawl_date"], r["dump"], e)),
    "last_modified": (
        ("last_modified", "crawl_date", "dump", "lm_host_pages"),
        lambda r, e: last_modified_signal(r["last_modified"], _crawl_of(r), r["lm_host_pages"], e),
    ),
    "url": (("url", "crawl_date", "dump"), lambda r, e: url_signal(r["url"], _crawl_of(r), e)),
    "html_meta": (
        ("html_meta_date", "html_meta_modified", "crawl_date", "dump"),
        lambda r, e: html_meta_signal(r["html_meta_date"], r["html_meta_modified"], _crawl_of(r), e),
    ),
    "text": (("text", "crawl_date", "dump"), lambda r, e: text_signal(r["text"], _crawl_of(r), e)),
    "reference": (
        ("ref_created", "ref_last", "ref_similarity", "crawl_date", "dump"),
        lambda r, e: reference_signal(r["ref_created"], r["ref_last"], r["ref_similarity"], _crawl_of(r), e),
    ),
}


def signal_batch(batch: pa.RecordBatch, name: str) -> pa.RecordBatch:
    """`batch` with `cand_<name>` (list of {kind, date, confidence, precision}) and `notes_<name>` (list of
    "action:signal:reason") added, for one signal of SIGNALS. Missing input columns read as nulls."""
    if name not in SIGNALS:
        raise ValueError(f"signal {name!r}: expected one of {sorted(SIGNALS)}")
    columns, run = SIGNALS[name]
    values = {c: input_values(batch, c) for c in columns}
    candidates: list[list[dict[str, Any]]] = []
    notes: list[list[str]] = []
    for i in range(batch.num_rows):
        evidence = Evidence.empty()
        run({c: values[c][i] for c in columns}, evidence)
        candidates.append(
            [
                {"kind": c.kind, "date": c.date, "confidence": c.confidence, "precision": c.precision}
                for c in evidence.candidates
            ]
        )
        notes.append([str(n) for n in evidence.notes])
    out = batch.append_column(f"cand_{name}", pa.array(candidates, CANDIDATE_TYPE))
    return out.append_column(f"notes_{name}", pa.array(notes, pa.list_(pa.string())))
