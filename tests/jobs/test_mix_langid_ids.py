"""Documents without an id, and inputs that are not the document record, in the stages that read documents
through jobs.langid.read_documents_frame (langid, mix, label)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.reader_base import DUPLICATE_ID_RENAMED, stable_id
from corpus.stats import StageStats
from jobs import langid as langid_job
from jobs import mix as mix_job
from jobs.cli import main
from jobs.langid import MISSING_ID_ASSIGNED, assign_missing_ids, run_langid
from jobs.mix import run_mix
from jobs.stage import UsageError
from mixers.langid import LangIdConfig
from mixers.spec import parse_spec

ADDED = datetime(2021, 5, 1, tzinfo=UTC)
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
]


def texts(n: int) -> list[str]:
    """`n` distinct English-looking texts of 8 words."""
    return [f"the {WORDS[i % 12]} and the {WORDS[(i // 12) % 12]} went home number {i}" for i in range(n)]


def write_documents(path: Path, ids: list[str | None], body: list[str], **columns: list) -> Path:
    """Document Parquet with the given ids (nulls allowed, as a careless dataset writes them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(ids)
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "text": body,
            "source": ["x"] * n,
            "added": pa.array([ADDED] * n, pa.timestamp("us", tz="UTC")),
            "created": pa.array([ADDED] * n, pa.timestamp("us", tz="UTC")),
            **columns,
        }
    )
    pq.write_table(table, path)
    return path.parent


def test_an_assigned_id_is_the_reader_s_stable_id(spark) -> None:
    rows = [
        (None, "Grüße aus Köln — 東京", "news", "https://example.org/a?b=1"),
        ("", "plain text", "news", None),
        (None, "a text with no source", None, "http://x/"),
        ("kept", "given ids stay", "news", None),
    ]
    df = spark.createDataFrame(rows, "id string, text string, source string, url string")
    assigned, n = assign_missing_ids(df)
    got = [r["id"] for r in assigned.collect()]
    assert n == 3
    assert got == [
        stable_id("news", "https://example.org/a?b=1", "Grüße aus Köln — 東京"),
        stable_id("news", None, "plain text"),
        stable_id("", "http://x/", "a text with no source"),
        "kept",
    ]
    # without a url column the url hashes as "", as the reader's null url does
    no_url = spark.createDataFrame([(None, "t", "s")], "id string, text string, source string")
    assert assign_missing_ids(no_url)[0].first()["id"] == stable_id("s", None, "t")
    given = spark.createDataFrame([("a", "t")], "id string, text string")
    assert assign_missing_ids(given) == (given, 0)


def test_mix_gives_null_ids_their_stable_id_and_draws_them_apart(spark, tmp_path: Path) -> None:
    """Ten rows with a null id: mix counted 9 as `duplicate_id_renamed`, wrote all ten with a null id and
    one shared mix_order, and drew them all or none (seed 2 took all ten, seeds 1, 3 and 4 none)."""
    body = texts(60)
    ids = [None] * 10 + [f"e{i}" for i in range(10, 60)]
    source = write_documents(tmp_path / "in" / "d.parquet", ids, body, lang=["en"] * 60)
    expected = {stable_id("x", None, t): t for t in body[:10]}
    taken = []
    for seed in (1, 2, 3, 4):
        spec = parse_spec({"budget_tokens": 400, "max_repeats": 1, "seed": seed})
        out = tmp_path / f"out{seed}"
        run_mix(spark, [str(source)], spec, str(out))
        stats = StageStats.read(out)
        assert stats.counters[MISSING_ID_ASSIGNED] == 10 and DUPLICATE_ID_RENAMED not in stats.counters
        rows = pq.read_table(out).to_pylist()
        assert all(r["id"] for r in rows)
        assigned = [r for r in rows if r["id"] in expected]
        assert all(expected[r["id"]] == r["text"] for r in assigned)
        assert len({r["mix_order"] for r in rows}) == len(rows)
        taken.append(len(assigned))
    # about 400 of 600 tokens: each seed takes some of the ten, not all or none
    assert all(0 < k < 10 for k in taken), taken


def test_mix_renames_an_assigned_id_that_another_row_has(spark, tmp_path: Path) -> None:
    """Two exact copies without an id get one stable id: one keeps it, the other is renamed `~2` (as a
    reader renames them), each counted once under its counter."""
    body = texts(6)
    ids = [None, None, "a", "b", "c", "d"]
    copy = [body[0], body[0], *body[2:]]
    source = write_documents(tmp_path / "in" / "d.parquet", ids, copy, lang=["en"] * 6)
    run_mix(spark, [str(source)], parse_spec({"budget_tokens": 1000, "seed": 1}), str(tmp_path / "out"))
    stats = StageStats.read(tmp_path / "out")
    assert stats.counters[MISSING_ID_ASSIGNED] == 2 and stats.counters[DUPLICATE_ID_RENAMED] == 1
    sid = stable_id("x", None, body[0])
    assert sorted(pq.read_table(tmp_path / "out").column("id").to_pylist()) == sorted(
        [sid, f"{sid}~2", "a", "b", "c", "d"]
    )


def test_langid_gives_null_and_empty_ids_their_stable_id(spark, tmp_path: Path) -> None:
    """langid wrote null ids unchanged, though `id` is required by the record."""
    body = texts(5)
    source = write_documents(tmp_path / "in" / "d.parquet", [None, "", "a", "b", "c"], body)
    stats = run_langid(spark, [str(source)], str(tmp_path / "out"), LangIdConfig())
    assert stats.counters[MISSING_ID_ASSIGNED] == 2 and DUPLICATE_ID_RENAMED not in stats.counters
    rows = {r["text"]: r["id"] for r in pq.read_table(tmp_path / "out").to_pylist()}
    assert rows == {
        body[0]: stable_id("x", None, body[0]),
        body[1]: stable_id("x", None, body[1]),
        body[2]: "a",
        body[3]: "b",
        body[4]: "c",
    }


def test_mix_selects_the_data_s_language_however_the_spec_spells_it(spark, tmp_path: Path) -> None:
    """Data `lang` EN, en-US, eng, de_DE, ger and a spec `languages: [EN, deu]`: all 60 documents were
    dropped as language_not_selected (the data's codes were normalised, the spec's were not)."""
    spelled = ["EN", "en-US", "eng", "de_DE", "ger"] * 12
    source = write_documents(
        tmp_path / "in" / "d.parquet", [f"d{i}" for i in range(60)], texts(60), lang=spelled
    )
    spec = parse_spec({"budget_tokens": 10_000, "filters": {"languages": ["EN", "deu"]}})
    result = run_mix(spark, [str(source)], spec, str(tmp_path / "out"))
    stats = StageStats.read(tmp_path / "out")
    assert stats.docs_out == 60 and "language_not_selected" not in stats.dropped
    assert {c.lang for c in result.allocation.cells if c.target > 0} == {"en", "de"}


@pytest.mark.parametrize("stage", ["langid", "mix"])
def test_input_without_a_text_column_is_refused_by_the_check(stage: str, tmp_path: Path) -> None:
    """Parquet without `text` started Spark (~20 s) before exiting 2 from `run`; the check refuses it now."""
    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(pa.table({"id": ["a", "b"], "body": ["x", "y"]}), folder / "d.parquet")
    spec = tmp_path / "spec.yaml"
    spec.write_text("budget_tokens: 100\n")
    if stage == "langid":
        params = langid_job.LangIdParams(input=[str(folder)], output=str(tmp_path / "out"))
        check = langid_job.STAGE.check
    else:
        params = mix_job.MixParams(input=[str(folder)], spec=str(spec), output=str(tmp_path / "out"))
        check = mix_job.STAGE.check
    with pytest.raises(UsageError, match=r"d\.parquet'?: not the document record \(no 'text' column\)"):
        check(params)


def test_a_budget_of_a_fraction_of_a_token_exits_2_before_spark(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("budget_tokens: 100\n")
    with pytest.raises(SystemExit) as done:
        main(["mix", str(tmp_path), "--spec", str(spec), "--budget-tokens", "1.0005K", "--plan"])
    err = capsys.readouterr().err.strip()
    assert done.value.code == 2 and "--budget-tokens" in err and "1000.5 tokens, not a whole number" in err
    assert len(err.splitlines()) == 1


def test_footers_spare_the_count_only_where_they_show_every_id(tmp_path: Path) -> None:
    """The count of rows without an id is a pass over the ids; footer statistics that rule such rows out
    spare it, and anything short of that (a null, an empty id, no statistics) does not."""
    from jobs.langid import footers_show_every_id
    from jobs.stage import InputFile

    def written(name: str, ids: list[str | None], **options: object) -> list[InputFile]:
        path = tmp_path / f"{name}.parquet"
        pq.write_table(
            pa.table({"id": pa.array(ids, pa.string()), "text": ["t"] * len(ids)}), path, **options
        )
        return [InputFile(str(path), path.stat().st_size)]

    whole = written("whole", ["a", "b"], row_group_size=1)
    assert footers_show_every_id(whole)
    assert not footers_show_every_id(whole + written("null", ["a", None]))
    assert not footers_show_every_id(written("empty", ["", "b"]))
    assert not footers_show_every_id(written("unknown", ["a", "b"], write_statistics=False))
    assert not footers_show_every_id([InputFile("s3://bucket/part-0.parquet", -1)])
