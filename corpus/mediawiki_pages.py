"""MediaWiki pages as documents: a revision, its page's URL, and the monthly snapshots of a page's history
(corpus/mediawiki.py reads the export)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from corpus.reader_base import ReadContext

# Characters MediaWiki leaves unescaped in page URLs (wfUrlencode: PHP urlencode, then these restored).
# quote() never escapes letters, digits and "_.-~"; MediaWiki escapes "'" (as %27), so it is not listed.
_URL_SAFE = ";:@$!*(),/~"


SOURCE = "mediawiki"


@dataclass(frozen=True)
class Revision:
    page_id: str
    title: str
    revision_id: int
    timestamp: datetime
    text: str


def revision_row(revision: Revision, url: str | None) -> dict[str, Any]:
    """A revision as a document: `id` mediawiki:<page_id>:<revision_id>, `created` its time."""
    return {
        **_common(revision, url),
        "id": f"mediawiki:{revision.page_id}:{revision.revision_id}",
        "created": revision.timestamp,
    }


def snapshot_row(revision: Revision, month: datetime, url: str | None) -> dict[str, Any]:
    """The page as `revision` left it at the start of `month`: `id` mediawiki:<page_id>:<YYYY-MM>, `created`
    the month's start."""
    return {**_common(revision, url), "id": f"mediawiki:{revision.page_id}:{month:%Y-%m}", "created": month}


def _common(revision: Revision, url: str | None) -> dict[str, Any]:
    return {
        "text": revision.text,
        "source": SOURCE,
        "url": url,
        "resource": revision.title,
        "revision_id": revision.revision_id,
        "revision_ts": revision.timestamp,
    }


def page_url(base: str | None, title: str) -> str | None:
    """The URL of page `title`: the siteinfo base (the Main Page's URL) with the Main Page's title replaced,
    whether it is the `title=` query value (`.../index.php?title=Main_Page`) or the path's last segment
    (`https://<site>/wiki/Main_Page`). None when the base has neither, or is no URL."""
    if not base:
        return None
    encoded = quote(title.replace(" ", "_"), safe=_URL_SAFE)
    try:
        parts = urlsplit(base)
    except ValueError:  # a damaged base: "https://en[x].example.org/..." reads as a bad IPv6 host
        return None
    pairs = parts.query.split("&") if parts.query else []
    for i, pair in enumerate(pairs):
        if pair.startswith("title="):
            pairs[i] = f"title={encoded}"
            return urlunsplit(parts._replace(query="&".join(pairs), fragment=""))
    head, slash, _ = parts.path.rpartition("/")
    if not slash:
        return None
    return urlunsplit(parts._replace(path=f"{head}/{encoded}", query="", fragment=""))


# No MediaWiki revision is older than the first wiki it ran (Wikipedia, January 2001); a timestamp before it
# is a typo (1011 for 2011), and in monthly mode would be ten centuries of snapshots.
FIRST_REVISION = datetime(2001, 1, 1, tzinfo=UTC)


def implausible_time(timestamp: datetime, added: datetime) -> tuple[str, str] | None:
    """(reason, detail) where a revision's `timestamp` cannot be taken, or None: "bad_revision" before 2001,
    "revision_after_added" more than a day after `added` (the time the read gives its documents: the run's
    start unless pinned). Against `added` and not the clock, so a read with `added` pinned keeps the same
    revisions whatever day it runs; a reason of its own, so a pin earlier than the dump is told from typos."""
    if timestamp < FIRST_REVISION:
        return (
            "bad_revision",
            f"revision timestamp {timestamp:%Y-%m-%d} is before 2001 (no wiki ran MediaWiki then)",
        )
    if timestamp > added + timedelta(days=1):
        return (
            "revision_after_added",
            f"revision timestamp {timestamp:%Y-%m-%d} is after the documents' added time {added:%Y-%m-%d}",
        )
    return None


def first_of_month(year: int, month: int) -> datetime:
    """Midnight UTC of the month's first day."""
    return datetime(year, month, 1, tzinfo=UTC)


def next_month(value: datetime) -> datetime:
    """The first instant of the month after `value`'s month (UTC)."""
    return first_of_month(value.year + value.month // 12, value.month % 12 + 1)


class MonthlySnapshots:
    """Per page: turns revisions (in time order) into (revision, month start) snapshot pairs."""

    def __init__(self) -> None:
        self.current: Revision | None = None
        self.next_month: datetime | None = None

    def add(self, revision: Revision, ctx: ReadContext) -> list[tuple[Revision, datetime]]:
        """Snapshots completed by `revision`: every month whose start is after the current revision and not
        after `revision` shows the current revision."""
        out: list[tuple[Revision, datetime]] = []
        if self.current is not None and revision.timestamp < self.current.timestamp:
            ctx.counters["revision_out_of_order"] += 1
            return out
        if self.current is not None and self.next_month is not None:
            while self.next_month <= revision.timestamp:
                out.append((self.current, self.next_month))
                self.next_month = next_month(self.next_month)
        else:
            self.next_month = next_month(revision.timestamp)
        self.current = revision
        return out
