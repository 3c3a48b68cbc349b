"""jobs/audit_reference.py: the reference's versions as the audit reads them in Spark."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from analysis.reference import version_spans
from dating.reference import ReferenceIndex
from jobs.audit_reference import reference_version_keys
from trainers.predict import reference_versions as experiment_reference_versions

# One Russian and one Greek resource. Each has a text, another text, then the first again written in other
# case, punctuation and spacing: versions 1 and 3 are one text to the dating matcher.
TEXTS = {
    "ru": ["Привет, мир: город растёт.", "Пока, мир: город пустеет.", "ПРИВЕТ   мир — город растёт!"],
    "el": [
        "Γειά σου κόσμε, η πόλη μεγαλώνει.",
        "Αντίο κόσμε, η πόλη αδειάζει.",
        "γειά σου, ΚΌΣΜΕ η πόλη μεγαλώνει",
    ],
}
MONTHS = ["2020-01", "2020-07", "2021-01"]


def _reference(path: Path) -> Path:
    rows = [
        (resource, month, text)
        for resource, texts in TEXTS.items()
        for month, text in zip(MONTHS, texts, strict=True)
    ]
    created = [datetime.strptime(m, "%Y-%m").replace(tzinfo=UTC) for _, m, _ in rows]
    table = pa.table(
        {
            "resource": [r for r, _, _ in rows],
            "created": pa.array(created, pa.timestamp("us", tz="UTC")),
            "text": [t for _, _, t in rows],
        }
    )
    path.mkdir()
    pq.write_table(table, path / "part-00000.parquet")
    return path


def test_versions_in_other_scripts_are_told_apart_as_the_matcher_tells_them(spark, tmp_path: Path) -> None:
    reference = _reference(tmp_path / "reference")
    rows = reference_version_keys(spark, str(reference)).collect()
    spans = version_spans([(r["resource"], r["month"], r["text_key"]) for r in rows])
    # Spark's \W is ASCII-only: every Cyrillic and Greek version was one text, dated to 2020-01 throughout
    expected = {"2020-01": "2020-01", "2020-07": "2020-07", "2021-01": "2020-01"}
    assert spans == {"ru": expected, "el": expected}
    # the experiment's reading of the same file (plain Python) gives the same spans
    assert experiment_reference_versions(reference / "part-00000.parquet")[1] == spans
    # and so does the dating matcher: three rows of each resource, two versions
    index = ReferenceIndex.from_table(pq.read_table(reference))
    assert sorted((v.key, v.first.strftime("%Y-%m"), v.last.strftime("%Y-%m")) for v in index.versions) == [
        ("el", "2020-01", "2021-01"),
        ("el", "2020-07", "2020-07"),
        ("ru", "2020-01", "2021-01"),
        ("ru", "2020-07", "2020-07"),
    ]


def test_a_reference_with_months_and_no_texts_has_no_spans(spark, tmp_path: Path) -> None:
    path = tmp_path / "months"
    path.mkdir()
    pq.write_table(
        pa.table({"id": ["a", "a", "b"], "month": ["2020-01", "2020-02", "2020-01"]}), path / "p.parquet"
    )
    rows = reference_version_keys(spark, str(path)).collect()
    assert sorted((r["resource"], r["month"], r["text_key"]) for r in rows) == [
        ("a", "2020-01", None),
        ("a", "2020-02", None),
        ("b", "2020-01", None),
    ]
    assert version_spans([(r["resource"], r["month"], r["text_key"]) for r in rows]) is None
