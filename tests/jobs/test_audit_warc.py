"""The whole audit on the real WARC samples and on a Dolma JSONL copy of them, with every checked figure
derived independently (fastwarc record counts, the audited records re-counted with pyarrow and Python, numpy
percentiles), and a deterministic sample of them."""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from analysis.bins import CLUSTER_SIZE_EDGES, CLUSTER_SIZE_LABELS, LAG_EDGES_DAYS, LAG_LABELS, bin_index
from analysis.report import HEADLINE, figure_text, lookup
from analysis.sample import sample_key
from jobs.audit import AuditConfig, run_audit
from mixers.tokens import word_counts

ADDED = datetime(2024, 6, 1, tzinfo=UTC)


def _warc_documents(folder: Path) -> dict[str, list[str]]:
    """Target URIs of the records that are documents (responses in WARC, conversions in WET), per file."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.iterdir()):
        kind = WarcRecordType.conversion if ".wet" in path.name else WarcRecordType.response
        if ".wat" in path.name:
            continue
        with path.open("rb") as stream:
            found[path.name] = [
                r.headers.get("WARC-Target-URI").strip("<>")
                for r in ArchiveIterator(stream, record_types=kind, parse_http=False, strict_mode=False)
            ]
    return found


@pytest.fixture(scope="module")
def warc_audit(spark, data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("audit_warc")
    config = AuditConfig(work=str(root / "work"), keep_work=True, added=ADDED, bootstrap=200)
    summary = run_audit(spark, [str(data_dir / "warc")], str(root / "report"), config, print_table=False)
    records = pq.read_table(root / "work" / "langid").to_pylist()
    return root, summary, records


def test_warc_audit_counts_every_document_per_dump_and_language(warc_audit, data_dir: Path) -> None:
    _, summary, records = warc_audit
    per_file = _warc_documents(data_dir / "warc")
    assert summary["stages"] == {"ingest": "ran", "date": "ran", "dedup": "ran", "langid": "ran"}
    assert summary["input_rejects"] == {}
    total = sum(len(uris) for uris in per_file.values())
    assert summary["headline"]["documents"] == total == len(records) == 53

    by_dump = {row["dump"]: row["documents"] for row in summary["by_dump"]}
    dump_of_url = {r["url"]: r["dump"] or "unknown" for r in records}
    clueweb = {dump_of_url[u] for u in per_file["resiliparse_clueweb09-ja-quirk.warc.gz"]}
    assert len(clueweb) == 1
    assert by_dump == {
        "CC-MAIN-2024-22": len(per_file["cc-whirlwind_whirlwind.warc.gz"])
        + len(per_file["cc-whirlwind_whirlwind.warc.wet.gz"]),
        "unknown": len(per_file["dolma_sample-0000.warc.gz"]),
        clueweb.pop(): len(per_file["resiliparse_clueweb09-ja-quirk.warc.gz"]),
    }
    # The ClueWeb pages are Japanese shop pages; the Dolma sample is English personal and lab pages.
    by_language = {row["lang"]: row["documents"] for row in summary["by_language"]}
    assert by_language["ja"] == 29 and by_language["en"] == 22
    assert sum(by_language.values()) == total
    langs_of = Counter((urlsplit(r["url"]).hostname == "www.uraharajuku.st", r["lang"]) for r in records)
    assert langs_of[(True, "ja")] == 29


def test_warc_audit_dates_and_lag_match_the_records(warc_audit) -> None:
    _, summary, records = warc_audit
    created = [r["created"] for r in records]
    coverage = summary["coverage"]
    assert coverage["with_created"] == sum(c is not None for c in created) == summary["headline"]["documents"]
    assert summary["headline"]["dated_share"] == 1.0
    months = Counter(c.strftime("%Y-%m") for c in created if c is not None)
    assert {row["month"]: row["documents"] for row in summary["by_month"]} == months
    assert summary["headline"]["oldest_month"] == min(months) and summary["headline"]["newest_month"] == max(
        months
    )
    lags = [math.floor((r["crawl_date"] - r["created"]).total_seconds() / 86400) for r in records]
    assert min(lags) >= 0 and coverage["negative_lag"] == 0
    expected = np.percentile(lags, [10, 25, 50, 75, 90])
    got = summary["lag"]["percentiles"]
    assert [got[k] for k in ("p10", "p25", "p50", "p75", "p90")] == pytest.approx(expected, abs=0.051)
    bins = Counter(bin_index(v, LAG_EDGES_DAYS) for v in lags)
    assert [b["documents"] for b in summary["lag"]["bins"]] == [
        bins.get(i, 0) for i in range(len(LAG_LABELS))
    ]
    sources = Counter(r["date_source"] or "none" for r in records)
    assert {row["date_source"]: row["documents"] for row in summary["by_date_source"]} == sources


def test_warc_audit_duplicates_staleness_and_tokens_match_the_records(warc_audit) -> None:
    _, summary, records = warc_audit
    n = len(records)
    # words, each Han or kana character one (the Japanese ClueWeb pages: mixers.tokens.word_counts)
    assert summary["headline"]["tokens"] == sum(
        word_counts(pa.array([r["text"] for r in records])).to_pylist()
    )
    assert summary["headline"]["tokens"] > sum(len(r["text"].split()) for r in records)
    dups = summary["duplicates"]
    assert dups["exact_dup_rate"] == round(sum(bool(r["is_exact_dup"]) for r in records) / n, 4)
    assert dups["near_dup_rate"] == round(sum(r["cluster_size"] > 1 for r in records) / n, 4)
    clusters = {r["cluster_id"]: r["cluster_size"] for r in records}
    assert dups["clusters"] == len(clusters)
    assert dups["removable_share"] == round((n - len(clusters)) / n, 4)
    sizes = Counter(bin_index(s, CLUSTER_SIZE_EDGES) for s in clusters.values())
    assert [b["clusters"] for b in dups["cluster_sizes"]] == [
        sizes.get(i, 0) for i in range(len(CLUSTER_SIZE_LABELS))
    ]
    assert sum(b["documents"] for b in dups["cluster_sizes"]) == n
    assert dups["largest_clusters"][0]["size"] == max(clusters.values())

    stale = [r for r in records if r["is_stale"]]
    assert summary["headline"]["stale_share"] == round(len(stale) / n, 4)
    for row in summary["by_dump"]:
        mine = [r for r in records if (r["dump"] or "unknown") == row["dump"]]
        mine_stale = [r["staleness_days"] for r in mine if r["is_stale"]]
        assert row["stale_share"] == round(len(mine_stale) / len(mine), 4)
        assert row["tokens"] == sum(word_counts(pa.array([r["text"] for r in mine])).to_pylist())
        if mine_stale:
            assert row["staleness_days"]["p50"] == pytest.approx(
                float(np.percentile(mine_stale, 50)), abs=0.051
            )
            assert row["staleness_days_max"] == max(mine_stale)
        else:
            assert row["staleness_days"] is None
    groups = {g["dump"]: g["bins"] for g in summary["staleness"]["by_dump"]}
    for dump, bins in groups.items():
        expected = Counter(
            bin_index(r["staleness_days"], LAG_EDGES_DAYS) for r in stale if (r["dump"] or "unknown") == dump
        )
        assert [b["documents"] for b in bins] == [expected.get(i, 0) for i in range(len(LAG_LABELS))]


def test_warc_audit_writes_the_report_files(warc_audit) -> None:
    import matplotlib.image

    root, summary, _ = warc_audit
    report = root / "report"
    on_disk = json.loads((report / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    pngs = sorted(p.name for p in report.glob("*.png"))
    assert pngs == [
        "by_dump.png",
        "by_language.png",
        "by_month.png",
        "clusters.png",
        "lag.png",
        "staleness.png",
    ]
    for name in pngs:
        height, width, _ = matplotlib.image.imread(report / name).shape
        assert height > 100 and width > 100
    page = (report / "report.html").read_text()
    for key, _, _ in HEADLINE:
        assert f'data-figure="{key}">{figure_text(lookup(summary, key))}<' in page
    assert 'src="http' not in page and "<link" not in page and "<script" not in page
    assert page.count("data:image/png;base64,") == len(pngs)
    assert "deterministic sample" not in page


def test_dolma_jsonl_audit_equals_the_warc_audit(warc_audit, spark, tmp_path: Path) -> None:
    """A Dolma JSONL copy of the audited WARC documents (written by the corpus Dolma writer) audits to the
    same figures; its stage columns ride in Dolma's metadata, so the stages are not rerun."""
    from corpus.writers import write_dolma_jsonl_gz

    root, warc_summary, _ = warc_audit
    dolma = tmp_path / "dolma"
    table = pq.read_table(root / "work" / "langid")
    assert write_dolma_jsonl_gz(table.to_batches(), dolma) == table.num_rows
    files = sorted(dolma.glob("*.jsonl.gz"))
    with gzip.open(files[0], "rt") as lines:
        first = json.loads(lines.readline())
    assert {"id", "text", "source", "added", "metadata"} <= set(first) and "dump" in first["metadata"]
    summary = run_audit(
        spark, [str(dolma)], str(tmp_path / "report"), AuditConfig(bootstrap=0), print_table=False
    )
    assert summary["stages"]["ingest"] == "ran"
    assert {k: v for k, v in summary["stages"].items() if k != "ingest"} == {
        "date": "kept the input's columns",
        "dedup": "kept the input's columns",
        "langid": "kept the input's columns",
    }
    for key in (
        "headline",
        "by_month",
        "by_dump",
        "by_language",
        "by_date_source",
        "lag",
        "duplicates",
        "staleness",
        "coverage",
    ):
        assert summary[key] == warc_summary[key], key


def test_sample_audits_the_documents_below_the_hash_fraction(warc_audit, spark, tmp_path: Path) -> None:
    root, _, records = warc_audit
    summary = run_audit(
        spark,
        [str(root / "work" / "langid")],
        str(tmp_path / "report"),
        AuditConfig(sample=0.5, sample_seed=7, bootstrap=0),
        print_table=False,
    )
    chosen = [r for r in records if sample_key(r["id"], 7) < 0.5]
    assert 0 < len(chosen) < len(records)
    assert summary["headline"]["documents"] == len(chosen)
    assert {row["lang"]: row["documents"] for row in summary["by_language"]} == Counter(
        r["lang"] for r in chosen
    )
    assert summary["sample"]["sampled"] is True and summary["sample"]["fraction"] == 0.5
    page = (tmp_path / "report" / "report.html").read_text()
    assert "deterministic sample" in page and 'data-figure="sample.fraction">0.5<' in page
