"""The audit of Parquet that looks like the document record: read as it is only where its rows are what the
reader would make of them; where Parquet carries what the record's schema does not allow (null or blank
texts, missing ids), the reader's checks are applied and the rejects counted."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jobs.audit import AuditConfig, run_audit

WORDS = "the council met again to discuss the budget for the coming year and the new library "


def _record_table(texts: list[str | None], ids: list[str | None]) -> pa.Table:
    n = len(texts)
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "text": pa.array(texts, pa.string()),
            "source": ["s"] * n,
            "added": pa.array([1_700_000_000_000_000] * n, pa.timestamp("us", tz="UTC")),
            "url": [f"https://example.org/{i}" for i in range(n)],
        }
    )


def test_null_and_blank_texts_of_record_parquet_are_rejected_and_missing_ids_made(
    spark, tmp_path: Path
) -> None:
    """100 record-shaped rows with 5 null texts, 5 blank ones and a null id were audited as 99 documents,
    10 of them `und` with 0 tokens: the record Parquet path skipped the reader's checks. The row without an
    id is audited under the reader's hash id."""
    texts: list[str | None] = [f"{WORDS} number {i}" for i in range(100)]
    for i in range(5):
        texts[i] = None
        texts[5 + i] = [" \n\t ", "", "\x1c\x1d\x1e", "\u3000", ""][i]  # blank as str.strip sees it
    ids: list[str | None] = [f"d{i}" for i in range(100)]
    ids[50] = None
    folder = tmp_path / "records"
    folder.mkdir()
    pq.write_table(_record_table(texts, ids), folder / "part-0.parquet")
    summary = run_audit(
        spark, [str(folder)], str(tmp_path / "report"), AuditConfig(bootstrap=0), print_table=False
    )
    assert summary["headline"]["documents"] == 90
    assert summary["input_rejects"] == {"empty_text": 10}
    assert "und" not in {row["lang"] for row in summary["by_language"]}


def test_clean_record_parquet_is_audited_as_it_is(spark, tmp_path: Path) -> None:
    folder = tmp_path / "clean"
    folder.mkdir()
    pq.write_table(
        _record_table([f"{WORDS} {i}" for i in range(20)], [f"d{i}" for i in range(20)]), folder / "p.parquet"
    )
    summary = run_audit(
        spark, [str(folder)], str(tmp_path / "report"), AuditConfig(bootstrap=0), print_table=False
    )
    assert summary["headline"]["documents"] == 20 and summary["input_rejects"] == {}
    assert summary["stages"]["ingest"] == "input is document Parquet"
