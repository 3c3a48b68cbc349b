"""The audit's figures against what small datasets made here hold, and what it tells a user about input it
could not audit: documents without a cluster, `und`, a mixture's repeat copies, a text over the reader's
limit in record Parquet, a text kept under another name, files skipped whole. Each was once wrong or silent."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from jobs import report
from jobs.audit import AuditConfig, run_audit

WORDS = "the council met again to discuss the budget for the coming year and the new library"
MICROS = pa.timestamp("us", tz="UTC")


def _records(folder: Path, n: int, **columns: list) -> Path:
    """Record-shaped Parquet of `n` dated English documents with distinct texts, plus `columns`."""
    folder.mkdir(parents=True)
    table = {
        "id": [f"d{i}" for i in range(n)],
        "text": [f"{WORDS} number {i}" for i in range(n)],
        "source": ["s"] * n,
        "added": pa.array([1_700_000_000_000_000] * n, MICROS),
        "created": pa.array([1_600_000_000_000_000] * n, MICROS),
        "lang": ["en"] * n,
        **columns,
    }
    pq.write_table(pa.table(table), folder / "part-0.parquet")
    return folder


def _audit(spark, inputs: list[Path], out: Path) -> dict:
    return run_audit(spark, [str(p) for p in inputs], str(out), AuditConfig(bootstrap=0), print_table=False)


def _printed(summary: dict, monkeypatch: pytest.MonkeyPatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr(report, "console", Console(file=out, width=300, color_system=None))
    report.print_audit_summary(summary, "rep")
    return " ".join(out.getvalue().split())


def test_documents_without_a_cluster_are_clusters_of_one(spark, tmp_path: Path) -> None:
    """100 documents, 20 of them in 10 pairs (one of each an exact duplicate) and 80 without a cluster_id:
    `removable_share` was 0.9 (countDistinct skips nulls, so 80 documents made no cluster) and the size-1 bin
    held 0 clusters. Truth: 90 clusters, 10 removable, 80 singletons. `und` is no language: 1, not 2."""
    pairs, n = 20, 100
    folder = _records(
        tmp_path / "docs",
        n,
        cluster_id=[f"c{i // 2}" for i in range(pairs)] + [None] * (n - pairs),
        cluster_size=pa.array([2] * pairs + [1] * (n - pairs), pa.int32()),
        is_exact_dup=[i % 2 == 1 for i in range(pairs)] + [False] * (n - pairs),
        is_stale=[False] * n,
    )
    table = pq.read_table(folder / "part-0.parquet")
    lang = pa.array(["en"] * 90 + ["und"] * 10)
    pq.write_table(
        table.set_column(table.schema.get_field_index("lang"), "lang", lang), folder / "part-0.parquet"
    )
    summary = _audit(spark, [folder], tmp_path / "report")
    duplicates = summary["duplicates"]
    assert duplicates["clusters"] == 90 and duplicates["removable_share"] == 0.1
    assert duplicates["exact_dup_rate"] == 0.1 and duplicates["near_dup_rate"] == 0.2
    sizes = {row["label"]: (row["clusters"], row["documents"]) for row in duplicates["cluster_sizes"]}
    assert sizes["1"] == (80, 80) and sizes["2"] == (10, 20)
    assert sum(c for c, _ in sizes.values()) == 90 and sum(d for _, d in sizes.values()) == n
    assert summary["headline"]["languages"] == 1  # en; `und` is a text without a letter, no language
    assert duplicates["repeat_copies"] is None  # no repeat_index: not a mixture


def test_a_mixtures_repeat_copies_are_counted_and_said(spark, tmp_path: Path, monkeypatch) -> None:
    """A mixture repeating each of 4 documents twice: the report said 0% exact duplicates and that one
    document per cluster would remove half, without saying half the rows are repeat copies."""
    folder = _records(
        tmp_path / "mix",
        8,
        id=[f"d{i // 2}" for i in range(8)],
        text=[f"{WORDS} number {i // 2}" for i in range(8)],
        cluster_id=[f"c{i // 2}" for i in range(8)],
        cluster_size=pa.array([1] * 8, pa.int32()),
        is_exact_dup=[False] * 8,
        is_stale=[False] * 8,
        repeat_index=pa.array([i % 2 for i in range(8)], pa.int32()),
        mix_order=pa.array(range(8), pa.int64()),
    )
    summary = _audit(spark, [folder], tmp_path / "report")
    assert summary["duplicates"]["repeat_copies"] == 4 and summary["duplicates"]["repeat_copy_share"] == 0.5
    assert any("4 of 8 rows (50.0%) are a mixture's repeat copies" in note for note in summary["notes"])
    assert "repeat copies (repeat_index > 0) │ 4" in _printed(summary, monkeypatch)
    html = (tmp_path / "report" / "report.html").read_text()
    assert "are a mixture&#39;s repeat copies" in html or "are a mixture's repeat copies" in html


def test_record_parquet_over_the_readers_size_limit_is_too_large(spark, tmp_path: Path) -> None:
    """A 12 MB text in record-shaped Parquet, which ingest rejects as too_large, was audited in full: the
    record path checked only id, source and a non-blank text."""
    folder = _records(tmp_path / "big", 3)
    table = pq.read_table(folder / "part-0.parquet")
    texts = [f"{WORDS} a", "word " * 2_400_000, f"{WORDS} c"]
    pq.write_table(table.set_column(1, "text", pa.array(texts)), folder / "part-0.parquet")
    summary = _audit(spark, [folder], tmp_path / "report")
    assert summary["headline"]["documents"] == 2 and summary["input_rejects"] == {"too_large": 1}


def test_no_text_under_the_records_name_gives_the_column_hint(spark, tmp_path: Path, monkeypatch) -> None:
    """Parquet with doc_id/content and no `text`: the audit said documents 0 and `empty_text 2`, without
    the hint `chronomix ingest` gives."""
    folder = tmp_path / "other"
    folder.mkdir()
    pq.write_table(pa.table({"doc_id": ["a", "b"], "content": [WORDS, WORDS + " b"]}), folder / "p.parquet")
    summary = _audit(spark, [folder], tmp_path / "report")
    assert summary["headline"]["documents"] == 0 and summary["input_rejects"] == {"empty_text": 2}
    hint = "no record had a text: where the input keeps it under another name, give --column text=FIELD"
    assert summary["notes"] == [hint]
    assert hint in _printed(summary, monkeypatch)
    assert hint in (tmp_path / "report" / "report.html").read_text()


def test_files_skipped_whole_are_shown_with_their_reasons(spark, tmp_path: Path, monkeypatch) -> None:
    """A file of no known format was counted only in summary.json's stage_stats: the terminal and the
    report showed documents and rejects, and no sign of the file."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_text(json.dumps({"id": "a", "text": WORDS}) + "\n")
    (folder / "junk.bin").write_bytes(bytes(range(256)) * 4)
    summary = _audit(spark, [folder], tmp_path / "report")
    skipped = summary["input_skipped"]
    assert summary["headline"]["documents"] == 1 and skipped["spans"] == 1
    (reason,) = skipped["by_reason"]
    assert skipped["first"][0]["input"].endswith("junk.bin")
    text = _printed(summary, monkeypatch)
    assert "input skipped spans (not records) │ 1" in text and f"skipped: {reason} │ 1" in text
    assert f"skipped {reason}: {skipped['first'][0]['input']} at byte 0" in text
    html = (tmp_path / "report" / "report.html").read_text()
    assert "Input the reader skipped" in html and "junk.bin" in html and reason in html
