"""Real test documents for dedup: the Wikipedia version chains of ../shared/data, as document-record rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from corpus.schema import conform

ADDED = datetime(2026, 1, 1, tzinfo=UTC)
FIRST_CRAWL = datetime(2015, 1, 5, tzinfo=UTC)
CRAWL_STEP = timedelta(days=180)


def version_pages(data_dir: Path) -> list[tuple[str, list[Path]]]:
    """(article title, its version files oldest first) for every article in wikipedia_versions."""
    pages = data_dir / "versions" / "wikipedia_versions" / "pages"
    return [
        (article.name, sorted(article.glob("*.txt"), key=lambda p: int(p.stem)))
        for article in sorted(pages.iterdir())
        if article.is_dir()
    ]


def version_documents(data_dir: Path, articles: int | None = None, url: bool = True) -> pa.Table:
    """One document per version: id `<title>/<k>`, version k crawled 180*k days after 2015-01-05 (so crawl
    order is version order), the article's Wikipedia URL when `url`, and a `resource` column (the title)."""
    rows = []
    for title, files in version_pages(data_dir)[:articles]:
        for k, file in enumerate(files):
            rows.append(
                {
                    "id": f"{title}/{k}",
                    "text": file.read_text(encoding="utf-8"),
                    "source": "wikipedia_versions",
                    "added": ADDED,
                    "url": f"https://en.wikipedia.org/wiki/{title.replace(' ', '_')}" if url else None,
                    "crawl_date": FIRST_CRAWL + k * CRAWL_STEP,
                    "resource": title,
                }
            )
    table = pa.Table.from_pylist(rows)
    return pa.Table.from_batches([conform(b) for b in table.to_batches()])
