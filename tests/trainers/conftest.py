"""Fixtures for the trainers tests: real Wikipedia version chains from ../shared/data, dated month by month."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.shared_data import SHARED_DATA, shared_data

PAGES = SHARED_DATA / "versions" / "wikipedia_versions" / "pages"
MONTHS = 6  # versions 0..5 of the pages that have at least 6, dated 2020-01 .. 2020-06
TRAIN_MONTH = 3  # the month index the known-answer model is trained on (2020-04)
PREFIX_CHARS = 400  # the beginning of each version: what the probe reads (first K tokens)


def month_of(index: int) -> datetime:
    return datetime(2020, 1 + index, 1, tzinfo=UTC)


def wiki_pages(min_versions: int = MONTHS, chars: int = PREFIX_CHARS) -> list[tuple[str, list[str]]]:
    """(title, [version texts oldest first, cut to `chars`]) for every page with >= min_versions versions."""
    pages = []
    shared_data()  # skips where the real samples are absent
    for page in sorted(PAGES.iterdir()):
        files = sorted(page.glob("*.txt"), key=lambda p: int(p.stem))
        if len(files) >= min_versions:
            pages.append((page.name, [f.read_text(encoding="utf-8")[:chars] for f in files[:min_versions]]))
    return pages


def write_mixture(
    directory: Path, ids: list[str], texts: list[str], created: list[datetime], shards: int = 1
) -> Path:
    """A mixture directory of `shards` part-*.parquet files holding the rows in order."""
    directory.mkdir(parents=True, exist_ok=True)
    per = -(-len(ids) // shards)
    for s in range(shards):
        part = slice(s * per, (s + 1) * per)
        table = pa.table(
            {
                "id": pa.array(ids[part], pa.string()),
                "text": pa.array(texts[part], pa.string()),
                "created": pa.array(created[part], pa.timestamp("us", tz="UTC")),
                "lang": pa.array(["en"] * len(ids[part]), pa.string()),
            }
        )
        pq.write_table(table, directory / f"part-{s:05d}.parquet")
    return directory


@pytest.fixture(scope="session")
def pages() -> list[tuple[str, list[str]]]:
    return wiki_pages()


@pytest.fixture(scope="session")
def versions_file(tmp_path_factory: pytest.TempPathFactory, pages: list[tuple[str, list[str]]]) -> Path:
    """Dated versions (resource, created, text): month j holds version j of every page."""
    rows = [
        {"resource": title, "created": month_of(j), "text": texts[j]}
        for title, texts in pages
        for j in range(MONTHS)
    ]
    path = tmp_path_factory.mktemp("versions") / "versions.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.fixture(scope="session")
def month_run(tmp_path_factory: pytest.TempPathFactory, pages: list[tuple[str, list[str]]]) -> Path:
    """A tiny model trained only on month TRAIN_MONTH's versions of the pages (about 20 epochs of them):
    a model whose effective cutoff is known."""
    from trainers.train import TrainConfig, train

    base = tmp_path_factory.mktemp("month_run")
    mixture = write_mixture(
        base / "mixture",
        [title for title, _ in pages],
        [texts[TRAIN_MONTH] for _, texts in pages],
        [month_of(TRAIN_MONTH)] * len(pages),
    )
    config = TrainConfig(
        preset="tiny", tokens=150_000, seq_len=128, batch_size=8, vocab_size=1024, log_every=50, device="cpu"
    )
    train(mixture, base / "run", config)
    return base / "run"
