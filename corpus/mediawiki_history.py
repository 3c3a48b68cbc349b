"""Wikimedia's content history as JSON lines, read as the XML export reader reads the same revisions.

The Wikimedia Data Lake's `mediawiki_content_history_v1` rows are the JSON form of a history dump: one
revision a line, with `wiki_id`, `page_id`, `page_title`, `revision_id`, `revision_dt` and the wikitext under
`revision_content_slots.main.content_body`. The JSON Lines reader (corpus/jsonl.py) hands every line with
`revision_content_slots` and `revision_dt` here. Each revision becomes the row corpus/mediawiki.py makes of
it from an XML export (`id` mediawiki:<page_id>:<revision_id>, `created` and `revision_ts` its time,
`resource` its title in text form, `source` "mediawiki"), so the two forms of one history give the same documents, and
with `mediawiki_monthly` the same monthly snapshots. The page's URL comes from `wiki_id` (enwiki ->
https://en.wikipedia.org/wiki/<Title>, commonswiki -> commons.wikimedia.org, enwiktionary ->
en.wiktionary.org); a wiki id of no known family gives no URL (counted: "mediawiki_unknown_wiki").

Rejects, with the XML reader's reasons: "deleted_text" (content not visible: a suppressed revision, whose
text such rows may still carry; or no content body), "empty_text", "too_large", "bad_revision" (no numeric
revision or page id, no time that parses, or a time before 2001), "revision_after_added" (past the read's `added` time). Snapshots need a page's revisions together and in time
order, as exports write them: an older revision than the one before is counted ("revision_out_of_order")
and left out, and a revision of a page (of a wiki: page ids repeat across wikis) that comes back after
another page's, or after damage cut the file, is rejected ("page_not_contiguous") rather than give that
page's months twice or fill a gap with the revision before it. Ids are the XML reader's, which are unique
within one wiki: a file that mixes wikis may repeat one, and the later row is kept under a new id
(`{id}~2`, counted as "duplicate_id_renamed": corpus.reader_base.DocumentChecks.unique_id).
"""

from __future__ import annotations

import re
from typing import Any

from corpus.mediawiki_pages import (
    MonthlySnapshots,
    Revision,
    implausible_time,
    page_url,
    revision_row,
    snapshot_row,
)
from corpus.reader_base import ReadContext, parse_iso_timestamp

# Wikis outside the language families, by wiki id.
_SPECIAL_HOSTS = {
    "commonswiki": "commons.wikimedia.org",
    "metawiki": "meta.wikimedia.org",
    "specieswiki": "species.wikimedia.org",
    "incubatorwiki": "incubator.wikimedia.org",
    "foundationwiki": "foundation.wikimedia.org",
    "wikidatawiki": "www.wikidata.org",
    "mediawikiwiki": "www.mediawiki.org",
    "wikifunctionswiki": "www.wikifunctions.org",
    "sourceswiki": "wikisource.org",
}
# Language-edition families: <language code><suffix> -> <code>.<domain> ("wiki" last: the others end in it).
_FAMILIES = (
    ("wiktionary", "wiktionary.org"),
    ("wikibooks", "wikibooks.org"),
    ("wikinews", "wikinews.org"),
    ("wikiquote", "wikiquote.org"),
    ("wikisource", "wikisource.org"),
    ("wikiversity", "wikiversity.org"),
    ("wikivoyage", "wikivoyage.org"),
    ("wiki", "wikipedia.org"),
)
_LANGUAGE_CODE = re.compile(r"[a-z][a-z0-9_]*")


def is_content_history(record: dict[str, Any]) -> bool:
    """Whether a JSON line is a content history row (rather than a Dolma or plain document)."""
    return "revision_content_slots" in record and "revision_dt" in record


def site_base(wiki_id: Any) -> str | None:
    """The Main Page URL of the wiki `wiki_id` names (as a siteinfo `<base>` gives it), or None."""
    if not isinstance(wiki_id, str):
        return None
    host = _SPECIAL_HOSTS.get(wiki_id)
    if host is None:
        for suffix, domain in _FAMILIES:
            code = wiki_id.removesuffix(suffix)
            if code != wiki_id and _LANGUAGE_CODE.fullmatch(code):
                host = f"{code.replace('_', '-')}.{domain}"
                break
    return f"https://{host}/wiki/Main_Page" if host else None


class RejectedRevision(ValueError):
    """A content history row that gives no document; `reason` is the reject reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class ContentHistory:
    """The content history rows of one file, in order: each row's documents (one revision, or the monthly
    snapshots it completes)."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.page: tuple[Any, str] | None = None  # monthly: (wiki id, page id) of the page being read
        self.base: str | None = None  # its wiki's base URL
        self.snapshots = MonthlySnapshots()
        # monthly: pages whose rows ended before this one's (page ids repeat across wikis, so with the wiki)
        self.finished_pages: set[tuple[Any, str]] = set()

    def rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The documents of one row; RejectedRevision where it gives none."""
        revision = self._revision(record)
        wiki = record.get("wiki_id")
        base = site_base(wiki)
        if base is None:
            self.ctx.counters["mediawiki_unknown_wiki"] += 1
        if not self.ctx.options.mediawiki_monthly:
            return [revision_row(revision, page_url(base, revision.title))]
        page = (wiki if isinstance(wiki, str) else None, revision.page_id)
        if page != self.page:
            if page in self.finished_pages:
                raise RejectedRevision(
                    "page_not_contiguous", f"page {revision.page_id}: its rows are not together"
                )
            self.end_page()
            self.page, self.base = page, base
        # a snapshot shows an earlier revision: its own title (a page may have been renamed since)
        return [
            snapshot_row(r, month, page_url(self.base, r.title))
            for r, month in self.snapshots.add(revision, self.ctx)
        ]

    def end_page(self) -> None:
        """End the page being read: its later rows are `page_not_contiguous`. Called at a page change, and
        where damage cut the file (a gap's lost revisions must not be filled with the one before it, so the
        page is not resumed, as the XML reader does not resume a page it could not read to its end)."""
        if self.page is not None:
            self.finished_pages.add(self.page)
        self.page, self.base, self.snapshots = None, None, MonthlySnapshots()

    def _revision(self, record: dict[str, Any]) -> Revision:
        options = self.ctx.options
        revision_id, page_id = _numeric_id(record.get("revision_id")), _numeric_id(record.get("page_id"))
        when = record.get("revision_dt")
        timestamp = parse_iso_timestamp(when) if isinstance(when, str) else None
        if revision_id is None or page_id is None or timestamp is None:
            raise RejectedRevision("bad_revision", "revision without a numeric id, a page id or a time")
        problem = implausible_time(timestamp, self.ctx.added)
        if problem is not None:
            raise RejectedRevision(*problem)
        slots = record.get("revision_content_slots")
        main = slots.get("main") if isinstance(slots, dict) else None
        text = main.get("content_body") if isinstance(main, dict) else None
        if record.get("revision_content_is_visible") is False or not isinstance(text, str):
            raise RejectedRevision("deleted_text", "revision content is suppressed or missing")
        if len(text.encode("utf-8", "surrogatepass")) > options.max_doc_bytes:
            raise RejectedRevision("too_large", f"text over {options.max_doc_bytes} bytes")
        if len(text.strip()) < options.min_text_chars:
            raise RejectedRevision("empty_text", f"text shorter than {options.min_text_chars} chars")
        # Rows give a title in its text form (spaces) or its database key form (underscores), even within one
        # page's history; MediaWiki reads both as one title, and XML exports write the text form.
        title = record.get("page_title")
        title = title.replace("_", " ").strip() if isinstance(title, str) else ""
        return Revision(str(page_id), title, revision_id, timestamp, text)


def _numeric_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
