"""Test documents for dedup: the Wikipedia version chains of ../shared/data as document-record rows, and made-up
sites (template pages, wrapped copies of them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

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


def template_pages(pages: int = 60, seed: int = 0, template_words: int = 70, site: str = "shop") -> pa.Table:
    """A made-up site whose pages share a template (navigation, a sidebar and a footer, `template_words`
    words) around a main text of their own (90-160 invented words): distinct resources at Jaccard ~0.15-0.25
    with the default template, as shop, forum and listing pages are, and ~0.6-0.7 with a template of 400
    words, as on a shop whose pages are mostly its template. Page 0 also has two later, lightly edited captures
    under its URL, and a scraper's copy of its first version on another host, crawled last but dated to the
    version it copies (as dating against a reference does). Hosts and ids start with `site` where it is not
    "shop". Columns: the document record plus `resource` (the page's own key)."""
    import numpy as np

    from world.entities import invented_words

    rng = np.random.default_rng(seed)
    vocabulary = [w.lower() for w in invented_words(rng, 3000)]
    template = invented_words(np.random.default_rng(seed + 1), template_words)
    header, footer = " ".join(template[:30]), " ".join(template[30:])
    prefix = "" if site == "shop" else f"{site}/"

    def row(doc_id: str, words: list[str], url: str, crawled: datetime, created: datetime, page: int) -> dict:
        return {
            "id": prefix + doc_id,
            "text": "\n\n".join((header, " ".join(words), footer)),
            "source": "template_pages",
            "added": ADDED,
            "url": url,
            "crawl_date": crawled,
            "created": created,
            "resource": f"{prefix}page{page:03d}",
        }

    rows = []
    for page in range(pages):
        words = [vocabulary[i] for i in rng.integers(0, len(vocabulary), int(rng.integers(90, 161)))]
        url = f"https://{site}.example/item/{page}"
        rows.append(row(f"page{page:03d}/0", words, url, FIRST_CRAWL, FIRST_CRAWL, page))
        if page == 0:
            first, edited = list(words), list(words)
            for k in (1, 2):  # each version changes ~8% of the words of the one before
                for i in rng.choice(len(edited), len(edited) // 12, replace=False):
                    edited[i] = vocabulary[int(rng.integers(0, len(vocabulary)))]
                when = FIRST_CRAWL + k * CRAWL_STEP
                rows.append(row(f"page000/{k}", list(edited), url, when, when, 0))
            copied = FIRST_CRAWL + 3 * CRAWL_STEP
            rows.append(
                row("mirror/0", first, f"https://scraper.example/{prefix}copy/0", copied, FIRST_CRAWL, 0)
            )
    table = pa.Table.from_pylist(rows)
    return pa.Table.from_batches([conform(b) for b in table.to_batches()])


def wrapped_copies(pages: pa.Table, ids: list[str], host: str, banner_words: int = 20) -> pa.Table:
    """Copies of the documents `ids` of `pages` that another site serves wrapped in its own markup, as a
    mirror or a cache does: a banner of `banner_words` invented words before the text and a line after it,
    under https://<host>/view/<k>, crawled a step after the original. Their ids are "<host>/<original id>"."""
    import numpy as np

    from world.entities import invented_words

    banner = " ".join(invented_words(np.random.default_rng(99), banner_words))
    rows = []
    for k, doc_id in enumerate(ids):
        row = pages.filter(pc.equal(pages.column("id"), doc_id)).to_pylist()[0]
        row.update(
            id=f"{host}/{doc_id}",
            text=f"{banner}\n\n{row['text']}\n\n{host} keeps this copy",
            url=f"https://{host}/view/{k}",
            crawl_date=row["crawl_date"] + CRAWL_STEP,
        )
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=pages.schema)
