"""Document Parquet built from the real sentences in ../shared/data/langid (one document per sentence), with
creation dates, crawl dates and dedup flags assigned from the line number so every cell and filter is hit."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.schema import DOCUMENT_SCHEMA, conform

ADDED = datetime(2025, 1, 1, tzinfo=UTC)


def sentences(data_dir: Path, langs: list[str] | None = None) -> dict[str, list[str]]:
    folder = data_dir / "langid" / "sentences"
    files = sorted(folder.glob("*.txt"))
    return {f.stem: f.read_text().splitlines() for f in files if langs is None or f.stem in langs}


def document_table(data_dir: Path, langs: list[str] | None = None, with_lang: bool = True) -> pa.Table:
    """One row per sentence: created in 2019..2022 by line (every 7th undated but crawled in 2024, every 13th
    with no date at all), is_stale on every 5th line, is_exact_dup on every 11th."""
    rows = []
    for lang, lines in sentences(data_dir, langs).items():
        for i, text in enumerate(lines):
            created = datetime(2019 + i % 4, 1 + i % 12, 1 + i % 28, tzinfo=UTC)
            crawl = datetime(2024, 5, 18, tzinfo=UTC)
            if i % 13 == 0:
                created, crawl = None, None
            elif i % 7 == 0:
                created = None
            rows.append(
                {
                    "id": f"{lang}-{i:03d}",
                    "text": text,
                    "source": "lingua-testdata",
                    "added": ADDED,
                    "crawl_date": crawl,
                    "created": created,
                    "is_stale": i % 5 == 0,
                    "is_exact_dup": i % 11 == 0,
                    **({"lang": lang, "lang_score": 1.0} if with_lang else {}),
                }
            )
    columns = [c for c in DOCUMENT_SCHEMA.names if c in rows[0]]
    table = pa.Table.from_pylist(rows, schema=pa.schema([DOCUMENT_SCHEMA.field(c) for c in columns]))
    return pa.Table.from_batches([conform(b, columns) for b in table.to_batches()])


def write_parts(table: pa.Table, folder: Path, parts: int) -> Path:
    """`table` as `parts` Parquet files, rows dealt round-robin so each file mixes languages."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in range(parts):
        pq.write_table(table.take(list(range(p, table.num_rows, parts))), folder / f"part-{p:05d}.parquet")
    return folder


@pytest.fixture(scope="session")
def all_sentence_docs(data_dir: Path) -> pa.Table:
    return document_table(data_dir)
