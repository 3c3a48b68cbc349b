"""Real-data helpers for the dating tests: WARC samples as document batches, version chains as tables."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pyarrow as pa

from corpus.html_text import decode_payload
from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from dating.html_meta import MarkupDater, html_meta_date_batch

ADDED = datetime(2024, 6, 1, tzinfo=UTC)


def warc_batch(path: Path, with_html_dates: bool = True, one_parse: bool = True) -> pa.RecordBatch:
    """All documents of one WARC file, read by corpus.readers with the HTML kept, as one batch; with the
    markup dates when `with_html_dates`: from the reader's one parse, through dating's page hook, as
    `chronomix ingest` does (`one_parse`), or by the batch kernel over the `html` column."""
    rejects = RejectLog()
    hook = MarkupDater() if with_html_dates and one_parse else None
    options = ReadOptions(keep_html=True, added=ADDED, page_hook=hook)
    batches = list(read_documents(str(path), options, rejects))
    batch = pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
    return html_meta_date_batch(batch) if with_html_dates and not one_parse else batch


def by_url(rows: list[dict]) -> dict[str, dict]:
    return {row["url"]: row for row in rows}


def wikipedia_versions(data_dir: Path) -> list[tuple[str, int, str]]:
    """(article, k, text) for every version of the 100 Wikipedia articles, k = 0 the oldest."""
    root = data_dir / "versions" / "wikipedia_versions" / "pages"
    versions = []
    for article in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(article.glob("*.txt"), key=lambda p: int(p.stem))
        versions.extend((article.name, int(f.stem), f.read_text(encoding="utf-8")) for f in files)
    return versions


def version_month(k: int) -> datetime:
    """The month given to version k of every article: January 2015 plus k months."""
    return datetime(2015 + k // 12, k % 12 + 1, 1, tzinfo=UTC)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@cache
def gold_pages(data_dir: Path, n: int) -> tuple[str, ...]:
    """The first `n` of the 200 news pages with gold dates (../shared/data/dating), decoded as ingest does."""
    gold = json.loads((data_dir / "dating" / "eval_mediacloud_2020.json").read_text())
    return tuple(
        decode_payload(
            gzip.decompress((data_dir / "dating" / "pages" / f"{e['file']}.gz").read_bytes()), None
        ).text
        for e in list(gold.values())[:n]
    )


@cache
def sample_pages(data_dir: Path) -> tuple[str, ...]:
    """Every page of the sample WARCs (as ingest decodes them) and the 200 gold news pages."""
    pages = [
        html
        for path in sorted((data_dir / "warc").glob("*.warc.gz"))
        for html in warc_batch(path, with_html_dates=False).column("html").to_pylist()
        if html
    ]
    return (*pages, *gold_pages(data_dir, 200))
