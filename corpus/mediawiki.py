"""MediaWiki XML export (schema 0.10/0.11, history dumps) to document rows: per revision or monthly snapshots.

Streaming: `xml.etree.ElementTree.XMLPullParser`, fed 64 KiB at a time, removing each revision and page once
read, so memory holds one revision (two in monthly mode), not the page or the file. The stdlib parser is safe on untrusted dumps here:
expat never fetches external entities or DTDs (no network or file access), and the expat bundled with
Python >= 3.11 refuses exponential entity expansion ("billion laughs"); defusedxml is not installed.

Per revision: `id` = `mediawiki:<page_id>:<revision_id>`, `created` = the revision timestamp, `url` = the
siteinfo `<base>` (the Main Page's URL) with `<Title_with_underscores>`, percent-encoded as MediaWiki does, in
place of the Main Page's title, `source` = "mediawiki", `resource` = the page title, and `revision_id` /
`revision_ts`. The text is the revision's wikitext as stored.

Monthly snapshots (`options.mediawiki_monthly`), the dated reference versions of a resource: the snapshot of
month M is the page as it stood at the start of M, i.e. the newest revision with timestamp < M-01T00:00Z.
Per page, one snapshot for every month from the month after the first revision's month through the last
revision's month (the first month has no revision before its start; a month after the last revision's month
could still have changed after the export was taken). `id` = `mediawiki:<page_id>:<YYYY-MM>`, `created` =
M-01T00:00Z, `revision_id` / `revision_ts` name the revision shown. Revisions are expected in time order, as
dumps write them; one older than the revision before it is not used for snapshots (counted as
"revision_out_of_order").

Rejects: "deleted_text" (suppressed or missing text; such a revision is never a snapshot, the page's previous
visible revision stays in force), "empty_text", "too_large", "bad_revision" (no id or timestamp, or a
timestamp before 2001), "revision_after_added" (more than a day past the read's `added` time), and a page
that cannot be read to its end: "bad_xml" (an XML error inside it, e.g. an undefined or external entity, or the
file ending inside it) or the reason of the compression damage that cut it ("corrupt_gzip", "truncated_bz2",
...). Such a page is one reject, named by its id (or its byte offset where the id was not reached); its
revisions before the error are kept.

Recovery: after an XML error the reader resumes at the next `<page>` with a fresh parser (fed a `<mediawiki>`
start tag in the export's namespace and encoding), so one bad page costs only itself. Pages are found by
scanning the bytes for `<page>` start tags, which only occur as tags in an export (text is escaped). Bytes
between an error outside any page and the next `<page>` are a skipped span ("bad_xml", offsets in the
decompressed stream); so is a file with no page that parses. A comment, CDATA section or processing instruction
that damage leaves open swallows the file to its end, and expat says so only there: a `<page>` tag fed whole
that the parser did not start (once its page's `</page>` is fed too) ends the page before it as a "bad_xml"
reject, and reading resumes at that tag; a `<page>` inside such a construct that closes is text. Where damage
opens one and a later closer of the same kind ends it, the pages between are inside it and lost with the page
it began in (exports hold no comments, so no closer follows in practice). A siteinfo base that is no URL is
counted ("mediawiki_bad_base") and the pages are read without URLs. Entities of the DTD's internal subset are not
declared again for the pages after a resume: a page using one is a "bad_xml" reject.
"""

from __future__ import annotations

import pyexpat
import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from corpus.decompress import Damage, RecoveringStream, open_recovering
from corpus.mediawiki_pages import (
    SOURCE,
    MonthlySnapshots,
    Revision,
    implausible_time,
    page_url,
    revision_row,
    snapshot_row,
)
from corpus.reader_base import DocumentChecks, ReadContext, parse_iso_timestamp
from corpus.stats import REJECT_SAMPLE_BYTES

__all__ = ["SOURCE", "MediaWikiRowReader", "iter_mediawiki_rows"]


def local(tag: str) -> str:
    """Tag name without its `{namespace}`."""
    return tag.rsplit("}", 1)[-1]


READ_CHUNK = 1 << 16
# Bytes of a read kept in front of the next: enough for a `<page>` tag cut in two to be seen whole, with room for
# spaces or attributes in it.
_TAIL = 256
_PAGE_TAG = re.compile(rb"<page[\s>]")
_WHOLE_PAGE_TAG = re.compile(
    rb"""<page(?:[^>"']|"[^"]*"|'[^']*')*>"""
)  # a `>` in a quoted value is not its end
# Whether a `<page>` tag fed whole is started at once: expat >= 2.6 may defer a token until more input comes
# unless the parser can be flushed (Python 3.11.9+, 3.12.3+); where it cannot, the check after each feed is off.
CHECKS_PAGE_STARTS = pyexpat.version_info < (2, 6, 0) or hasattr(ET.XMLPullParser, "flush")
_PAGE_ID = re.compile(rb"<id>\s*(\d+)\s*</id>")
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")


class _PageFailed(Exception):
    """An XML error ended the session: `cause` says why, `offset` where (in the decompressed stream)."""

    def __init__(self, cause: str, offset: int) -> None:
        super().__init__(cause)
        self.cause = cause
        self.offset = offset


class MediaWikiRowReader:
    """Streams the pages of one export; see the module docstring."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.checks = DocumentChecks(ctx, SOURCE)
        self.base: str | None = None
        self.monthly = ctx.options.mediawiki_monthly
        self.namespace = ""
        self.encoding = b"utf-8"
        self._reset_session(resumed=False)

    def _reset_session(self, resumed: bool) -> None:
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.stack: list[str] = []
        self.root: ET.Element | None = None
        self.page: dict[str, Any] | None = None  # the open page: ids, title, start offset
        self.page_element: ET.Element | None = None
        self.snapshot = MonthlySnapshots()
        self.pending: deque[int] = deque()  # offsets of `<page` tags fed but not yet started by the parser
        self.resumed = resumed
        self.started_pages = 0
        self.lines_fed = 0  # newlines fed to this parser before the current feed (expat counts lines)
        self.outside_from: int | None = None  # where the bytes after the last page read began
        self.page_ended = False  # a page ended in the current feed
        # the window of the current feed, its offset, and whether it holds a comment, CDATA or PI opener
        self.fed_window: tuple[bytes, int, bool] = (b"", 0, False)
        if resumed:
            head = b'<?xml version="1.0" encoding="' + self.encoding + b'"?>\n'
            self.parser.feed(head + f'<mediawiki xmlns="{self.namespace}">\n'.encode())
            self.lines_fed = 2

    def rows(self) -> Iterator[dict[str, Any]]:
        ctx = self.ctx
        try:
            stream = open_recovering(ctx.file_name, ctx.skip_span, opener=ctx.open)
        except OSError as exc:
            ctx.unreadable(exc)
            return
        with stream:
            yield from self._read(stream)

    def _read(self, stream: RecoveringStream) -> Iterator[dict[str, Any]]:
        window = b""  # the chunk being fed (after the last bytes of the one before), at offset `window_at`
        window_at = 0
        seek_from: int | None = None  # after a failure: resume at the next `<page` tag from this offset
        span: tuple[str, int] | None = None  # (reason, start) of bytes skipped outside any page
        while True:
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                if stream.damage is not None:
                    self._fail_page(stream.damage.reason, f"cut: {stream.damage.detail}", window, window_at)
                    self._reject_withheld(stream.damage)
                    if seek_from is not None:
                        self._skip_between_pages(span, stream.position, window, window_at)
                    if stream.next_segment():
                        seek_from, span = stream.position, ("resync_fragment", stream.position)
                        window, window_at = b"", stream.position
                        continue
                elif seek_from is None:
                    yield from self._finish()
                if seek_from is not None:
                    self._skip_between_pages(span, stream.position, window, window_at)
                return
            if window_at == 0 and not window:
                found = _ENCODING.match(chunk)
                self.encoding = found.group(1) if found else b"utf-8"
            tail = window[-_TAIL:]
            window_at += len(window) - len(tail)
            window = tail + chunk
            feed_at = window_at + len(tail)
            while True:
                if seek_from is not None:
                    match = _PAGE_TAG.search(window, max(0, seek_from - window_at))
                    if match is None:
                        break
                    feed_at = window_at + match.start()
                    self._skip_between_pages(span, feed_at, window, window_at)
                    seek_from, span = None, None
                    self._reset_session(resumed=True)
                try:
                    yield from self._feed(window[feed_at - window_at :], feed_at, window, window_at)
                    break
                except _PageFailed as failure:
                    skipped_from = self._recover(failure, window, window_at)
                    span = None if skipped_from is None else ("bad_xml", skipped_from)
                    # The next page tag not yet started, else the window's end (less a tag cut in two).
                    seek_from = self.pending[0] if self.pending else window_at + len(window) - 5
                    seek_from = max(seek_from, window_at)

    def _feed(self, data: bytes, at: int, window: bytes, window_at: int) -> Iterator[dict[str, Any]]:
        """Feed `data` (at decompressed offset `at`) to the parser and yield the rows it completes."""
        lookback = max(0, at - window_at - 6)
        quotes = b"<!" in window or b"<?" in window  # exports have none past the XML declaration
        for match in _PAGE_TAG.finditer(window, lookback):
            if window_at + match.end() > at:
                self.pending.append(window_at + match.start())
        self.fed_window = (window, window_at, quotes)
        self.parser.feed(data)
        if hasattr(self.parser, "flush"):  # expat >= 2.6 may hold back tokens it could parse; not here
            self.parser.flush()
        try:
            for event, element in self.parser.read_events():
                yield from self._event(event, element)
        except ET.ParseError as exc:
            raise _PageFailed(f"XML error: {exc}", self._error_offset(exc, data, at)) from exc
        except Exception as exc:  # the last-resort guard: a surprise costs the page, never the task
            raise _PageFailed(f"{type(exc).__name__}: {exc}", at) from exc
        swallowed = self._unstarted_page(window, window_at) if CHECKS_PAGE_STARTS else None
        if swallowed is not None:
            # expat reports a comment, CDATA section or processing instruction left open only at the end of
            # the file; every page after it would be lost with no error until then.
            cause = "XML error: a <page> tag was read as text (a comment, CDATA or <? left open before it)"
            raise _PageFailed(cause, self._last_page_end(window, window_at, swallowed, at))
        if self.page_ended and self.page is None:
            end = window.rfind(b"</page>")
            self.outside_from = window_at + end + len(b"</page>") if end >= 0 else None
        self.page_ended = False
        self.lines_fed += data.count(b"\n")

    def _unstarted_page(self, window: bytes, window_at: int) -> int | None:
        """The offset of the first `<page>` tag fed whole that the parser did not start, if any. expat reports
        a start tag as soon as its `>` is fed, so such a tag sits inside a comment, CDATA section or processing
        instruction: one that closes after it holds text (the tag is dropped), one still open is taken for
        damage once the page's `</page>` is fed too, or before the tag leaves the window."""
        while self.pending:
            first = self.pending[0]
            at = first - window_at
            if at < 0 or not _WHOLE_PAGE_TAG.match(window, at):
                return None
            closes = _closes_around(window, at)
            if closes:
                self.pending.popleft()
                continue
            leaving = at < len(window) - _TAIL
            return first if leaving or window.find(b"</page>", at) >= 0 else None
        return None

    def _last_page_end(self, window: bytes, window_at: int, before: int, fed_at: int) -> int:
        """Where the bytes outside any page begin, for an error found at the page tag at `before`: after the
        last `</page>` of this feed before it, else after the last page an earlier feed ended, else where
        this feed began."""
        end = window.rfind(b"</page>", max(0, fed_at - window_at - 6), max(0, before - window_at))
        if end >= 0 and self.page_ended:
            return window_at + end + len(b"</page>")
        return self.outside_from if self.outside_from is not None else fed_at

    def _error_offset(self, exc: ET.ParseError, data: bytes, at: int) -> int:
        """The decompressed offset of a parse error in `data` (fed at `at`); expat gives a line and a column
        in characters. Where the line began before `data`, the start of `data`."""
        line, column = getattr(exc, "position", (0, 0))
        pos = 0
        for _ in range(line - 1 - self.lines_fed):
            pos = data.find(b"\n", pos) + 1
            if pos == 0:
                return at + len(data)
        if line - 1 < self.lines_fed:
            return at
        prefix = data[pos : pos + 4 * column].decode("utf-8", "replace")[:column]
        return at + pos + len(prefix.encode("utf-8", "replace"))

    def _recover(self, failure: _PageFailed, window: bytes, window_at: int) -> int | None:
        """Count the failed page; returns where skipped bytes outside any page begin (None: inside a page)."""
        if self.page is not None:
            self._fail_page("bad_xml", failure.cause, window, window_at)
            return None
        if self.resumed and self.started_pages == 0 and self.pending:
            # The resumed session failed on its very first tag: that `<page` tag is broken; skip it.
            at = self.pending.popleft()
            self.ctx.reject("bad_xml", failure.cause, f"page at offset {at}", _at(window, window_at, at))
            return None
        return failure.offset  # an error outside any page

    def _fail_page(self, reason: str, cause: str, window: bytes, window_at: int) -> None:
        """One reject for the open page (if any), named by its id, or by its offset before the id was read."""
        if self.page is None:
            return
        page_id = self.page.get("page_id")
        if not page_id:
            found = _PAGE_ID.search(_at(window, window_at, self.page["offset"], 4096))
            page_id = found.group(1).decode() if found else None
        where = f"page {page_id}" if page_id else f"page at offset {self.page['offset']}"
        self.ctx.reject(reason, cause, where, _at(window, window_at, self.page["offset"]))
        self.page = None

    def _reject_withheld(self, damage: Damage) -> None:
        """One reject per page that starts in a member failing its check."""
        for match in _PAGE_TAG.finditer(damage.withheld):
            found = _PAGE_ID.search(damage.withheld, match.end(), match.end() + 4096)
            name = f"page {found.group(1).decode()}" if found else "a page"
            where = f"{name} (member at byte {damage.withheld_at})"
            self.ctx.reject(
                damage.reason, damage.detail, where, damage.withheld[match.start() :][:REJECT_SAMPLE_BYTES]
            )

    def _skip_between_pages(
        self, span: tuple[str, int] | None, end: int, window: bytes, window_at: int
    ) -> None:
        if span is not None and end > span[1]:
            reason, start = span
            detail = (
                "bytes outside any page after an XML error" if reason == "bad_xml" else "rest of a cut page"
            )
            self.ctx.skip(reason, detail, start, end - start, "stream", _at(window, window_at, start))

    def _finish(self) -> Iterator[dict[str, Any]]:
        try:
            self.parser.close()
            for event, element in self.parser.read_events():
                yield from self._event(event, element)
        except ET.ParseError as exc:
            if self.page is not None:
                self._fail_page("bad_xml", f"XML ends inside the page: {exc}", b"", 0)
            elif self.started_pages == 0 and not self.resumed:
                self.ctx.skip("bad_xml", f"no MediaWiki page could be read: {exc}", 0, 0)
            else:
                self.ctx.counters["xml_unclosed_root"] += 1

    def _event(self, event: str, element: ET.Element) -> Iterator[dict[str, Any]]:
        tag = local(element.tag)
        if event == "start":
            if not self.stack:
                if tag != "mediawiki":
                    raise ET.ParseError(f"root element is <{tag}>, not <mediawiki>")
                self.root = element
                if not self.resumed:
                    self.namespace = element.tag[1:].split("}", 1)[0] if element.tag.startswith("{") else ""
            self.stack.append(tag)
            if tag == "page":
                window, window_at, quotes = self.fed_window
                while (
                    quotes and len(self.pending) > 1 and _closes_around(window, self.pending[0] - window_at)
                ):
                    self.pending.popleft()  # a `<page>` inside a comment the parser has read past: text
                offset = self.pending.popleft() if self.pending else -1
                self.page, self.page_element, self.snapshot = {"offset": offset}, element, MonthlySnapshots()
                self.started_pages += 1
            return
        self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        page = self.page if self.page is not None else {}
        if tag == "base" and parent == "siteinfo":
            self.base = (element.text or "").strip()
            try:
                urlsplit(self.base)
            except ValueError:  # damage made it no URL: the pages are read, with no URL
                self.ctx.counters["mediawiki_bad_base"] += 1
                self.base = None
        elif parent == "page" and tag in ("title", "id"):
            page["page_id" if tag == "id" else tag] = (element.text or "").strip()
        elif tag == "revision" and parent == "page":
            where = f"page {page.get('page_id')} revision {_child_text(element, 'id')}"
            try:
                revision = self._revision(element, page, where)
                rows = self._rows_of(revision, self.snapshot, where)
            except Exception as exc:  # the last-resort guard: one revision, never the task
                self.ctx.reader_error(exc, where)
                rows = []
            if self.page_element is not None:
                self.page_element.remove(element)  # memory holds one revision, not the page's history
            yield from rows
        elif tag == "page":
            element.clear()
            if self.root is not None:
                self.root.remove(element)  # nor every page of the file
            self.page, self.page_element = None, None
            self.page_ended = True

    def _rows_of(
        self, revision: Revision | None, snapshot: MonthlySnapshots, where: str
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
        problem = implausible_time(timestamp, self.ctx.added)
        if problem is not None:
            ctx.reject(*problem, where)
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

    def _revision_row(self, revision: Revision) -> dict[str, Any]:
        return revision_row(revision, page_url(self.base, revision.title))

    def _snapshot_row(self, revision: Revision, month: datetime) -> dict[str, Any]:
        return snapshot_row(revision, month, page_url(self.base, revision.title))


def _closes_around(window: bytes, at: int) -> bool:
    """True where a comment, CDATA section or processing instruction opens before `at` in `window` and closes
    after it."""
    if at < 0:
        return False
    for opener, closer in ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>")):
        start = window.rfind(opener, 0, at)
        if start >= 0 and window.find(closer, start + len(opener)) > at:
            return True
    return False


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if local(child.tag) == name:
            return (child.text or "").strip()
    return None


def _at(window: bytes, window_at: int, offset: int, size: int = REJECT_SAMPLE_BYTES) -> bytes:
    """Up to `size` bytes from decompressed offset `offset`, where the current window still holds them."""
    if offset < window_at:
        return b""
    return window[offset - window_at : offset - window_at + size]


def _declared_empty(text_element: ET.Element) -> bool:
    """An empty <text> that says it is empty: bytes="0", or no size at all (older exports write an empty
    revision as <text xml:space="preserve"></text>); one with a size is text left out (a stub dump)."""
    return text_element.attrib.get("bytes", "0") == "0"


def iter_mediawiki_rows(ctx: ReadContext) -> Iterator[dict[str, Any]]:
    """Document rows (revisions or monthly snapshots) of a MediaWiki XML export (rejects go to `ctx`)."""
    return MediaWikiRowReader(ctx).rows()
