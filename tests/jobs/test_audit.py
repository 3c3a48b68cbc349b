"""The audit: the measured cutoff read from a training run, the audit against a dated reference (the
versions of each resource the input holds and the predicted cutoff, on real Wikipedia version chains), and
the command's bad arguments refused with one line. The whole job on the real WARC samples is checked in
test_audit_warc.py."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.months import month_index, month_name, months_between
from jobs.audit import AuditConfig, read_measured_cutoff, run_audit
from jobs.stage import UsageError

ADDED = datetime(2024, 6, 1, tzinfo=UTC)


def test_measured_cutoff_is_read_from_probe_json(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "probe").mkdir(parents=True)
    (run / "probe" / "probe.json").write_text(
        json.dumps(
            {
                "newest_month": "2021-06",
                "cutoff": {"effective_cutoff": "2020-02", "gap_months": 16, "resources": 12},
            }
        )
    )
    measured = read_measured_cutoff(str(run))
    assert measured["measured_effective_cutoff"] == "2020-02"
    assert measured["gap_months"] == 16 and measured["newest_month_in_training"] == "2021-06"
    with pytest.raises(UsageError, match="--run"):
        read_measured_cutoff(str(tmp_path / "nothing"))


# ---------------------------------------------------------------------------------------------- reference
# Real Wikipedia version chains (../shared/data/versions): version k of an article is dated 2016-01 + 6k months.
# The dataset holds copies of chosen versions: {article: [version, ...]}; the newest is "last".
REFERENCE_PLAN: dict[str, list[int | str]] = {
    "Adventures of Huckleberry Finn": [0, 0, 1, "last"],
    "British Aerospace HOTOL": [2, 2],
    "Demographics of India": [0, "last"],
    "Demographics of Iraq": [1],
    "Demographics of Israel": [0, 0, 0, 3],
}
REFERENCE_START = month_index("2016-01")


def _versions(data_dir: Path, article: str) -> list[str]:
    folder = data_dir / "versions" / "wikipedia_versions" / "pages" / article
    return [(folder / f"{k}.txt").read_text() for k in range(len(list(folder.glob("*.txt"))))]


def build_reference_case(data_dir: Path, root: Path) -> tuple[Path, Path, dict[str, list[tuple[str, int]]]]:
    """(documents folder, reference folder, expected {article: [(version month, tokens), ...]}): dated
    versions of every article of REFERENCE_PLAN as the reference, and copies of the planned versions as
    document Parquet that already carries the other stages' columns (so only the matching runs)."""
    from corpus.schema import conform

    month = lambda k: datetime.strptime(month_name(REFERENCE_START + 6 * k), "%Y-%m").replace(tzinfo=UTC)  # noqa: E731
    refs, docs, expected = [], [], {}
    for article, plan in REFERENCE_PLAN.items():
        versions = _versions(data_dir, article)
        for k, text in enumerate(versions):
            refs.append(
                {
                    "id": f"{article}#{k}",
                    "text": text,
                    "source": "wikipedia",
                    "added": ADDED,
                    "resource": article,
                    "created": month(k),
                }
            )
        for n, wanted in enumerate(plan):
            k = len(versions) - 1 if wanted == "last" else int(wanted)
            docs.append(
                {
                    "id": f"copy-{article}-{n}",
                    "text": versions[k],
                    "source": "mirror",
                    "added": ADDED,
                    "url": f"https://mirror.example/{n}/{article.replace(' ', '_')}",
                    "crawl_date": ADDED,
                    "created": ADDED,
                    "date_source": "crawl",
                    "lang": "en",
                    "cluster_id": f"copy-{article}-{n}",
                    "cluster_size": 1,
                    "is_exact_dup": False,
                    "is_stale": False,
                }
            )
            expected.setdefault(article, []).append((month(k).strftime("%Y-%m"), len(versions[k].split())))
    for name, rows in (("reference", refs), ("documents", docs)):
        (root / name).mkdir(parents=True)
        batch = conform(pa.RecordBatch.from_pylist(rows))
        pq.write_table(pa.Table.from_batches([batch]), root / name / "part-00000.parquet")
    return root / "documents", root / "reference", expected


def _bigrams(text: str) -> list[str]:
    words = re.findall(r"\w+", text.casefold())
    return [" ".join(words[i : i + 2]) for i in range(len(words) - 1)] or [" ".join(words)]


def _bigram_scores(documents: pa.Table, reference: pa.Table) -> dict[str, dict[int, float]]:
    """The n-gram predictor's scores written out on strings: resource -> month index -> mean surprisal."""
    counts = Counter(b for text in documents.column("text").to_pylist() for b in _bigrams(text))
    scores: dict[str, dict[int, float]] = {}
    for row in reference.to_pylist():
        grams = _bigrams(row["text"])
        surprisal = float(np.mean([-np.log(counts[g] + 0.5) for g in grams]))
        created = row["created"]
        scores.setdefault(row["resource"], {})[created.year * 12 + created.month - 1] = surprisal
    return scores


def _bigram_cutoff(scores: dict[str, dict[int, float]]) -> int:
    """The n-gram predictor's cutoff from `_bigram_scores`: a month index."""
    curve: dict[int, list[float]] = {}
    for per in scores.values():
        values = np.array(list(per.values()))
        for m, z in zip(per, (values - values.mean()) / values.std(), strict=True):
            curve.setdefault(m, []).append(z)
    means = {m: float(np.mean(v)) for m, v in curve.items()}
    return min(means, key=lambda m: (means[m], m))


def _mode_month(rows: list[tuple[str, int]]) -> str:
    tokens = Counter()
    for month, t in rows:
        tokens[month] += t
    return min(tokens, key=lambda m: (-tokens[m], m))


def test_reference_versions_held_and_predicted_cutoff(spark, data_dir: Path, tmp_path: Path) -> None:
    documents, reference, expected = build_reference_case(data_dir, tmp_path / "case")
    run = tmp_path / "run"
    run.mkdir()
    (run / "probe.json").write_text(
        json.dumps({"newest_month": "2019-07", "cutoff": {"effective_cutoff": "2017-01"}})
    )
    summary = run_audit(
        spark,
        [str(documents)],
        str(tmp_path / "report"),
        AuditConfig(reference=str(reference), run=str(run), bootstrap=300),
        print_table=False,
    )
    scores = _bigram_scores(pq.read_table(documents), pq.read_table(reference))
    ref = summary["reference"]
    assert ref["resources_in_reference"] == len(REFERENCE_PLAN) == ref["resources_found"]
    assert ref["documents_matched"] == sum(len(p) for p in REFERENCE_PLAN.values())
    by_resource = {r["resource"]: r for r in ref["resources"]}
    for article, rows in expected.items():
        got = by_resource[article]
        assert got["versions_held"] == sorted({m for m, _ in rows}), article
        assert got["tokens"] == sum(t for _, t in rows)
        assert got["versions_available"] == len(_versions(data_dir, article))
        newest = month_name(REFERENCE_START + 6 * (got["versions_available"] - 1))
        assert got["newest_available"] == newest
        assert got["months_behind"] == months_between(max(m for m, _ in rows), newest)
        assert got["most_held_month"] == _mode_month(rows), article
        # the predictor's own month for the resource: its best n-gram fit, the earliest on a tie
        fits = scores[article]
        assert got["predicted_month"] == month_name(min(fits, key=lambda m: (fits[m], m))), article
    # the fixture is useful only where the two differ for some resource
    assert any(r["predicted_month"] != r["most_held_month"] for r in ref["resources"])
    histogram = Counter()
    for rows in expected.values():
        for month, tokens in rows:
            histogram[month] += tokens
    assert {r["month"]: r["tokens"] for r in ref["version_months"]} == histogram
    # The default prediction mirrors the probe: every reference version here is a distinct text, so the
    # fit of month m is the share of the resource's tokens at m; -fit z-scored per resource over its
    # reference months, the mean over the 5 resources (nothing trimmed), the earliest minimum.
    curve: dict[int, list[float]] = {}
    for article, rows in expected.items():
        available = [REFERENCE_START + 6 * k for k in range(len(_versions(data_dir, article)))]
        tokens = Counter()
        for month, t in rows:
            tokens[month_index(month)] += t
        fit = np.array([-tokens[m] / sum(tokens.values()) for m in available])
        for m, z in zip(available, (fit - fit.mean()) / fit.std(), strict=True):
            curve.setdefault(m, []).append(z)
    means = {m: float(np.mean(v)) for m, v in sorted(curve.items())}
    best = min(means, key=lambda m: (means[m], m))
    shares = ref["token_share_cutoff"]
    assert shares["statistic"] == "curve"
    assert shares["month"] == month_name(best)
    low, high = (month_index(m) for m in shares["interval"])
    assert min(means) <= low <= best <= high <= max(means)
    # The default prediction: each reference version scored by the mean bigram surprisal
    # -log(count in the audited documents + 0.5), z-scored per resource, averaged, the earliest minimum.
    predicted = ref["predicted_cutoff"]
    assert predicted["statistic"] == "ngram"
    assert predicted["month"] == month_name(_bigram_cutoff(scores))
    assert summary["headline"]["predicted_effective_cutoff"] == predicted["month"]
    assert summary["headline"]["measured_effective_cutoff"] == "2017-01"
    assert summary["run"]["predicted_minus_measured_months"] == months_between("2017-01", predicted["month"])
    assert (tmp_path / "report" / "version_months.png").is_file()


def test_a_reference_the_input_does_not_hold_predicts_no_cutoff(
    spark, data_dir: Path, tmp_path: Path
) -> None:
    """Audited against a reference none of whose resources it holds, the n-gram fit still gave a month (from
    bigrams shared by chance) as the headline's predicted cutoff; it is kept aside and none is predicted."""
    documents, reference, _ = build_reference_case(data_dir, tmp_path / "case")
    table = pq.read_table(documents)
    pages = data_dir / "versions" / "wikipedia_versions" / "pages"
    others = [p for p in sorted(pages.iterdir()) if p.name not in REFERENCE_PLAN][: table.num_rows]
    texts = pa.array([(page / "0.txt").read_text() for page in others])
    pq.write_table(
        table.set_column(table.schema.get_field_index("text"), "text", texts),
        documents / "part-00000.parquet",
    )
    summary = run_audit(
        spark,
        [str(documents)],
        str(tmp_path / "report"),
        AuditConfig(reference=str(reference), bootstrap=50),
        print_table=False,
    )
    predicted = summary["reference"]["predicted_cutoff"]
    assert summary["reference"]["resources_found"] == 0 and summary["reference"]["documents_matched"] == 0
    assert predicted["month"] is None and predicted["interval"] is None
    assert (
        predicted["unmatched_fit"]["month"] is not None
        and "no document of the input matched" in predicted["note"]
    )
    assert summary["headline"]["predicted_effective_cutoff"] is None


# ---------------------------------------------------------------------------------------------- errors
def test_cli_refuses_bad_arguments_with_one_line(tmp_path: Path, data_dir: Path, capsys) -> None:
    from jobs.cli import main

    existing = tmp_path / "report"
    existing.mkdir()
    cases = [
        (["audit", str(data_dir / "warc"), "--report", str(tmp_path / "r1"), "--sample", "0"], "--sample"),
        (["audit", str(tmp_path / "missing"), "--report", str(tmp_path / "r2")], "missing"),
        (["audit", str(data_dir / "warc"), "--report", str(existing)], "exists"),
        (
            ["audit", str(data_dir / "warc"), "--report", str(tmp_path / "r3"), "--run", str(tmp_path)],
            "--run",
        ),
        (
            ["audit", str(data_dir / "warc"), "--report", str(tmp_path / "r4"), "--statistic", "max"],
            "--statistic",
        ),
        # -o/--output name the report folder too, as they name every other command's output
        (["audit", str(data_dir / "warc"), "-o", str(tmp_path / "r5"), "--sample", "0"], "--sample"),
        (["audit", str(data_dir / "warc"), "--output", str(tmp_path / "r6"), "--sample", "2"], "--sample"),
        # the report's folder is replaced whole when written: work kept inside it would be lost
        (
            [
                "audit",
                str(data_dir / "warc"),
                "-o",
                str(tmp_path / "r7"),
                "--work",
                str(tmp_path / "r7" / "w"),
            ],
            "lies inside the report folder",
        ),
    ]
    for argv, needle in cases:
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2, argv
        err = capsys.readouterr().err.strip()
        assert needle in err and "\n" not in err, err


def test_a_bad_tokenizer_is_refused_before_spark(tmp_path: Path, capsys, no_spark: None) -> None:
    """--tokenizer was first loaded by the Spark tasks counting tokens; it is checked up front: a missing
    file, a folder and a file that is not a `tokenizers` JSON are each exit 2 with one line naming the
    option, and no report folder is made."""
    from jobs.cli import main

    documents = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": ["d0"], "text": ["a page"]}), documents)
    not_a_tokenizer = tmp_path / "tokenizer.json"
    not_a_tokenizer.write_text('{"vocab": {"a": 0}}')
    report = tmp_path / "report"
    for tokenizer, needle in (
        (tmp_path / "nowhere.json", "no such file"),
        (tmp_path, "not a file"),
        (not_a_tokenizer, "not a `tokenizers` JSON file"),
    ):
        with pytest.raises(SystemExit) as done:
            main(["audit", str(documents), "--report", str(report), "--tokenizer", str(tokenizer)])
        err = capsys.readouterr().err.strip()
        assert done.value.code == 2, err
        assert err.startswith("chronomix: error: --tokenizer") and needle in err and "\n" not in err, err
    assert not report.exists()


def test_a_tokenizers_json_file_passes_the_check(tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    from jobs.checks import check_tokenizer

    path = tmp_path / "tokenizer.json"
    tokenizers.Tokenizer(tokenizers.models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]")).save(str(path))
    check_tokenizer(str(path))  # raises nothing
