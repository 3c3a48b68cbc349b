"""MediaWiki XML export (schema 0.10/0.11, history dumps) to document rows: per revision or monthly snapshots.

Streaming: `xml.etree.ElementTree.iterparse`, clearing each revision and page once read, so memory holds one
revision (two in monthly mode), not the page or the file. The stdlib parser is safe on untrusted dumps here:
expat never fetches external entities or DTDs (no network or file access), and the expat bundled with
Python >= 3.11 refuses exponential entity expansion ("billion laughs"); defusedxml is not installed.

Per revision: `id` = `mediawiki:<page_id>:<revision_id>`, `created` = the revision timestamp, `url` =
`<site>/wiki/<Title_with_underscores>` from the siteinfo `<base>`, `source` = "mediawiki", `resource` = the
page title, and `revision_id` / `revision_ts`. The text is the revision's wikitext as stored.

Monthly snapshots (`options.mediawiki_monthly`), the dated reference versions of a resource: the snapshot of
month M is the page as it stood at the start of M, i.e. the newest revision with timestamp < M-01T00:00Z.
Per page, one snapshot for every month from the month after the first revision's month through the last
revision's month (the first month has no revision before its start; a month after the last revision's month
could still have changed after the export was taken). `id` = `mediawiki:<page_id>:<YYYY-MM>`, `created` =
M-01T00:00Z, `revision_id` / `revision_ts` name the revision shown. Revisions are expected in time order, as
dumps write them; one older than the revision before it is not used for snapshots (counted as
"revision_out_of_order").

Rejects: "deleted_text" (suppressed or missing text; such a revision is never a snapshot, the page's previous
visible revision stays in force), "empty_text", "too_large", "bad_revision" (no id or timestamp),
"bad_xml" (the parser's error, after the documents before it), "truncated_gzip"/"truncated_bz2".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import zstandard

from corpus.readers import (
    DocumentChecks,
    ReadContext,
    compression_of,
    open_decompressed,
    parse_iso_timestamp,
    stream_error_reason,
)

SOURCE = "mediawiki"
# Characters MediaWiki leaves unescaped in page URLs (wfUrlencode).
_URL_SAFE = ";:@$!*(),/~'"


@dataclass(frozen=True)
class Revision:
    page_id: str
    title: str
    revision_id: int
    timestamp: datetime
    text: str


def local(tag: str) -> str:
    """Tag name without its `{namespace}`."""
    return tag.rsplit("}", 1)[-1]


def page_url(base: str | None, title: str) -> str | None:
    """`https://<site>/wiki/<Title_with_underscores>` from the siteinfo base (the Main Page's URL)."""
    if not base or "/" not in base:
        return None
    prefix = base.rsplit("/", 1)[0]
    return f"{prefix}/{quote(title.replace(' ', '_'), safe=_URL_SAFE)}"


def month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def next_month(value: datetime) -> datetime:
    """The first instant of the month after `value`'s month (UTC)."""
    return month_start(value.year + value.month // 12, value.month % 12 + 1)


class MediaWikiRowReader:
    """Streams the pages of one export; see the module docstring."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.checks = DocumentChecks(ctx, SOURCE)
        self.base: str | None = None
        self.monthly = ctx.options.mediawiki_monthly

    def rows(self) -> Iterator[dict[str, Any]]:
        ctx = self.ctx
        compression = compression_of(ctx.path)
        where = "start of file"
        try:
            with open_decompressed(ctx.path) as stream:
                for rows, location in self._revisions(stream):
                    where = location  # named in a reject if the next read fails
                    yield from rows
        except ET.ParseError as exc:
            ctx.reject("bad_xml", f"XML error: {exc}", where)
        except (EOFError, OSError, zlib.error, zstandard.ZstdError) as exc:
            ctx.reject(stream_error_reason(exc, compression), f"{type(exc).__name__}: {exc}", where)

    def _revisions(self, stream: Any) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """(rows ready to yield, location) after each revision and page end."""
        page: dict[str, Any] = {}
        page_element: ET.Element | None = None
        snapshot = _MonthlySnapshots()
        stack: list[str] = []
        for event, element in ET.iterparse(stream, events=("start", "end")):
            tag = local(element.tag)
            if event == "start":
                if not stack and tag != "mediawiki":
                    raise ET.ParseError(f"root element is <{tag}>, not <mediawiki>")
                stack.append(tag)
                if tag == "page":
                    page, page_element, snapshot = {}, element, _MonthlySnapshots()
                continue
            stack.pop()
            parent = stack[-1] if stack else None
            if tag == "base" and parent == "siteinfo":
                self.base = (element.text or "").strip()
            elif parent == "page" and tag in ("title", "id"):
                page["page_id" if tag == "id" else tag] = (element.text or "").strip()
            elif tag == "revision" and parent == "page":
                where = f"page {page.get('page_id')} revision {_child_text(element, 'id')}"
                revision = self._revision(element, page, where)
                if page_element is not None:
                    page_element.remove(element)  # memory holds one revision, not the page's history
                yield self._rows_of(revision, snapshot, where), where
            elif tag == "page":
                element.clear()
                yield [], f"page {page.get('page_id')}"

    def _rows_of(
        self, revision: Revision | None, snapshot: _MonthlySnapshots, where: str
    ) -> list[dict[str, Any]]:
        if revision is None:
            return []
        if self.monthly:
            rows = [self._snapshot_row(r, month) for r, month in snapshot.add(revision, self.ctx)]
        else:
            rows = [self._revision_row(revision)]
        return [row for row in rows if self.checks.accept(row, where)]

    def _revision(self, element: ET.Element, page: dict[str, Any], where: str) -> Revision | None:
        ctx = self.ctx
        revision_id = _child_text(element, "id")
        timestamp = parse_iso_timestamp(_child_text(element, "timestamp") or "")
        if not revision_id or not revision_id.isdigit() or timestamp is None or not page.get("page_id"):
            ctx.reject("bad_revision", "revision without a numeric id, a timestamp or a page id", where)
            return None
        text_element = next((c for c in element if local(c.tag) == "text"), None)
        if text_element is None or "deleted" in text_element.attrib or text_element.text is None:
            if (
                text_element is not None
                and not text_element.attrib.get("deleted")
                and _declared_empty(text_element)
            ):
                ctx.reject("empty_text", "revision text is empty", where)
            else:
                ctx.reject("deleted_text", "revision text is suppressed or missing", where)
            return None
        text = text_element.text
        if len(text.encode("utf-8", "surrogatepass")) > ctx.options.max_doc_bytes:
            ctx.reject("too_large", f"text over {ctx.options.max_doc_bytes} bytes", where, text[:4096])
            return None
        if len(text.strip()) < ctx.options.min_text_chars:
            ctx.reject("empty_text", f"text shorter than {ctx.options.min_text_chars} chars", where, text)
            return None
        return Revision(page["page_id"], page.get("title") or "", int(revision_id), timestamp, text)

    def _common(self, revision: Revision) -> dict[str, Any]:
        return {
            "text": revision.text,
            "source": SOURCE,
            "url": page_url(self.base, revision.title),
            "resource": revision.title,
            "revision_id": revision.revision_id,
            "revision_ts": revision.timestamp,
        }

    def _revision_row(self, revision: Revision) -> dict[str, Any]:
        row = self._common(revision)
        row["id"] = f"mediawiki:{revision.page_id}:{revision.revision_id}"
        row["created"] = revision.timestamp
        return row

    def _snapshot_row(self, revision: Revision, month: datetime) -> dict[str, Any]:
        row = self._common(revision)
        row["id"] = f"mediawiki:{revision.page_id}:{month:%Y-%m}"
        row["created"] = month
        return row


class _MonthlySnapshots:
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


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if local(child.tag) == name:
            return (child.text or "").strip()
    return None


def _declared_empty(text_element: ET.Element) -> bool:
    return text_element.attrib.get("bytes") == "0"


def iter_mediawiki_rows(ctx: ReadContext) -> Iterator[dict[str, Any]]:
    """Document rows (revisions or monthly snapshots) of a MediaWiki XML export (rejects go to `ctx`)."""
    return MediaWikiRowReader(ctx).rows()
