"""Dating scored against a generated world's truth: `created` against each page's content time, where the
world's hosts re-render pages (each page's Last-Modified after its content's) and state their edits in
JSON-LD. In process, as the ingest and date jobs run it: the reader with dating's page hook, the host
rebuild count, the dating kernel."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from dating.combine import DATE_NOTES, LM_HOST_PAGES, date_batch
from dating.evaluate import created_scores
from dating.html_meta import MarkupDater
from dating.signals import host_last_modified_pages
from tests.world.sizes import SMALL_WORLD
from world import generate_world, preset_config

SMALL = {**SMALL_WORLD, "entities": 40}


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    root = tmp_path_factory.mktemp("world")
    generate_world(preset_config("tiny", seed=3, **SMALL, rerender_share=0.5), root)
    batches = [
        batch
        for path in sorted((root / "dumps").glob("*/*.warc.gz"))
        for batch in read_documents(str(path), ReadOptions(page_hook=MarkupDater()), RejectLog())
    ]
    table = pa.Table.from_batches(batches)
    urls, stamps = table.column("url").to_pylist(), table.column("last_modified").to_pylist()
    table = table.append_column(LM_HOST_PAGES, pa.array(host_last_modified_pages(urls, stamps), pa.int64()))
    out = pa.Table.from_batches([date_batch(b) for b in table.to_batches()])
    truth = {r["id"]: r for r in pq.read_table(root / "truth" / "documents.parquet").to_pylist()}
    return [{**row, **truth[row["id"]]} for row in out.to_pylist()]


def test_a_stated_edit_dates_the_page_where_last_modified_is_a_re_render(dated: list[dict]) -> None:
    set_aside = [r for r in dated if "distrusted:last_modified:after_page_edit" in r[DATE_NOTES]]
    assert len(set_aside) > 20
    day = timedelta(days=1)
    # every one is dated within a day of its content, and Last-Modified still bounds it
    assert all(abs(r["created"] - r["content_time"]) <= day for r in set_aside)
    assert all(r["last_modified"] > r["content_time"] for r in set_aside)
    assert all(r["date_upper"] <= r["last_modified"] for r in set_aside)
    assert Counter(r["date_source"] for r in set_aside) == Counter({"html_meta_modified": len(set_aside)})


def test_created_against_content_time_by_kind(dated: list[dict]) -> None:
    def scores(kinds: tuple[str, ...]):
        rows = [r for r in dated if r["kind"] in kinds]
        return created_scores(
            [r["created"] for r in rows],
            [r["date_lower"] for r in rows],
            [r["date_upper"] for r in rows],
            [r["content_time"] for r in rows],
        )

    resource, news = scores(("fresh", "recrawl", "stale")), scores(("mention",))
    # bounds hold the content's time for nearly every page; every page is dated
    assert resource.undated == news.undated == 0
    assert resource.inside_bounds >= 0.95 and news.inside_bounds >= 0.95
    # A re-rendered page whose host states no edit is dated by its Last-Modified, after its content: the
    # one signal there is. A page known only by the years its text names is dated to the middle of the latest
    # one, which is late for content from its first half, but never outside that year. Those are the
    # resource pages dated late.
    late = [
        r
        for r in dated
        if r["kind"] in ("fresh", "recrawl", "stale") and r["created"] > r["content_time"] + timedelta(days=1)
    ]
    by_year = [r for r in late if r["date_source"] == "text_years"]
    assert all(r["created"].year == r["content_time"].year for r in by_year)
    others = [r for r in late if r["date_source"] != "text_years"]
    assert len(others) > 10 and all(r["date_source"] in ("last_modified", "crawl", "dump") for r in others)
