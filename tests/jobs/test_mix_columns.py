"""A mixture's strata read a column by its name as written, a dot in it included."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from jobs.mix import run_mix
from mixers.spec import parse_spec
from tests.jobs.test_mix_langid import document_table_from_rows, read_rows
from tests.mixers.conftest import write_parts


def test_strata_over_a_column_whose_name_holds_a_dot(spark, tmp_path: Path) -> None:
    """Spark reads `page.type` as the field `type` of a struct `page` unless it is quoted: the mix failed."""
    rows = [
        {
            "id": f"{kind}{i}",
            "text": " ".join(["word"] * 10),
            "page.type": kind,
            "lang": "en",
            "lang_score": 1.0,
        }
        for kind, n in (("news", 30), ("blog", 30), ("shop", 10))
        for i in range(n)
    ]
    source = write_parts(document_table_from_rows(rows), tmp_path / "in", 2)
    spec = parse_spec(
        {
            "name": "dotted",
            "seed": 1,
            "budget_tokens": 200,
            "max_repeats": 1,
            "strata": {"column": "page.type", "shares": {"news": 0.5, "blog": 0.5}},
        }
    )
    run_mix(spark, [str(source)], spec, str(tmp_path / "out"))
    out = read_rows(tmp_path / "out")
    kinds = out.column("page.type").to_pylist()
    assert kinds.count("news") == kinds.count("blog") == 10 and "shop" not in kinds
    assert pq.read_schema(next((tmp_path / "out").glob("part-*.parquet"))).names.count("page.type") == 1
