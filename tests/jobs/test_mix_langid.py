"""The mix and langid jobs in Spark (the session-wide local[2] fixture) and through the CLI."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog, StageStats
from jobs.cli import main
from jobs.langid import run_langid
from jobs.mix import MANIFEST, run_mix
from jobs.stage import UsageError
from mixers.langid import LangIdConfig
from mixers.spec import parse_spec
from tests.mixers.conftest import document_table, write_parts

LANGS = ["en", "de", "fr", "yo", "bs", "hr", "ms", "id", "so", "zh"]
SPEC = {
    "name": "test",
    "seed": 11,
    "budget_tokens": 12_000,
    "max_repeats": 3,
    "filters": {"drop_stale": True, "drop_exact_dup": True},
    "language": {"strategy": "unimax", "max_epochs": 3},
    "time": {"strategy": "uniform", "granularity": "year"},
}


def read_rows(folder: Path) -> pa.Table:
    """The mixture's rows: its part-*.parquet shards, in shard order (_manifest.json sits beside them)."""
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))])


@pytest.fixture(scope="module")
def mixtures(spark, data_dir, tmp_path_factory):
    """The same spec and seed over the same documents split into 2 and into 7 input files."""
    root = tmp_path_factory.mktemp("mix")
    table = document_table(data_dir, LANGS)
    out = {}
    for parts in (2, 7):
        source = write_parts(table, root / f"in{parts}", parts)
        result = run_mix(spark, [str(source)], parse_spec(SPEC), str(root / f"out{parts}"))
        out[parts] = (root / f"out{parts}", result)
    return table, out


def test_same_seed_gives_byte_identical_shards_for_2_and_7_partitions(mixtures):
    _, out = mixtures
    two, seven = out[2][0], out[7][0]
    shards = sorted(p.name for p in two.glob("part-*.parquet"))
    assert shards and shards == sorted(p.name for p in seven.glob("part-*.parquet"))
    for name in shards:
        assert (two / name).read_bytes() == (seven / name).read_bytes()
    manifests = [json.loads((folder / MANIFEST).read_text()) for folder in (two, seven)]
    assert manifests[0].pop("inputs") != manifests[1].pop("inputs")  # only the input paths differ
    assert manifests[0] == manifests[1]


def test_manifest_targets_and_achieved_tokens(mixtures):
    table, out = mixtures
    folder, _ = out[2]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["seed"] == 11 and manifest["spec"]["language"]["strategy"] == "unimax"
    rows = read_rows(folder)
    longest = max(pc.list_value_length(pc.utf8_split_whitespace(table.column("text"))).to_pylist())
    for cell in manifest["cells"]:
        if cell["short_of_data"]:
            assert cell["achieved_tokens"] == 3 * cell["input_tokens"]
            continue
        # Whole documents: a cell lands within one document of its target (1% once cells are big, see
        # test_sampling); copies never exceed max_repeats.
        assert abs(cell["achieved_tokens"] - cell["target_tokens"]) <= longest, cell
        assert cell["max_repeats_used"] <= 3
    total = manifest["achieved_tokens"]
    assert total == sum(rows.column("n_tokens").to_pylist())
    assert abs(total - manifest["target_tokens"]) <= 0.01 * manifest["target_tokens"]
    assert manifest["target_tokens"] <= SPEC["budget_tokens"]
    # The folder reads as a dataset with pyarrow's own reader: the manifest is not taken for a shard.
    assert pq.read_table(folder).num_rows == manifest["rows"] == rows.num_rows


def test_rows_are_examples_with_repeats_in_shuffled_order(mixtures):
    _, out = mixtures
    folder, _ = out[2]
    rows = read_rows(folder)
    assert {"repeat_index", "mix_order", "time_bucket", "lang", "n_tokens"} <= set(rows.column_names)
    assert "mix_key" not in rows.column_names and "repeats" not in rows.column_names
    ids = rows.column("id").to_pylist()
    repeats = rows.column("repeat_index").to_pylist()
    copies = {}
    for doc, index in zip(ids, repeats, strict=True):
        copies.setdefault(doc, []).append(index)
    assert all(sorted(v) == list(range(len(v))) for v in copies.values())
    assert max(len(v) for v in copies.values()) > 1  # unimax with 3 epochs repeats the small languages
    # Filters: no stale or exact-duplicate documents made it in.
    assert not any(rows.column("is_stale").to_pylist()) and not any(rows.column("is_exact_dup").to_pylist())
    for shard in folder.glob("part-*.parquet"):
        order = pq.read_table(shard).column("mix_order").to_pylist()
        assert order == sorted(order)
    stats = StageStats.read(folder)
    assert stats.docs_in == 1000
    assert stats.dropped["stale"] == 200 and stats.dropped["exact_dup"] > 0
    assert stats.docs_in + stats.counters["repeat_copies"] == stats.docs_out + sum(stats.dropped.values())
    assert stats.docs_out == rows.num_rows


def test_plan_writes_nothing_and_matches_the_build(spark, mixtures, tmp_path):
    _, out = mixtures
    source = out[2][0].parent / "in2"
    plan = run_mix(spark, [str(source)], parse_spec({**SPEC, "seed": 12}), None)
    assert plan.stats is None and "achieved_tokens" not in plan.manifest
    # The allocation depends on the data and the spec, not on the seed.
    assert plan.allocation == out[2][1].allocation


def test_bad_spec_and_missing_column_exit_2_naming_the_field(tmp_path, data_dir, capsys):
    source = write_parts(document_table(data_dir, ["en"]).drop_columns(["is_stale"]), tmp_path / "in", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text("budget_tokens: -3\n")
    with pytest.raises(SystemExit) as done:
        main(["mix", str(source), "--spec", str(bad), "--output", str(tmp_path / "o")])
    assert done.value.code == 2
    assert "budget_tokens" in capsys.readouterr().err
    bad.write_text("budget_tokens: 100\nlanguage: {strategy: zipf}\n")
    with pytest.raises(SystemExit):
        main(["mix", str(source), "--spec", str(bad), "--output", str(tmp_path / "o")])
    assert "language.strategy" in capsys.readouterr().err
    bad.write_text("budget_tokens: 100\nfilters: {drop_stale: true}\n")
    with pytest.raises(SystemExit) as done:
        main(["mix", str(source), "--spec", str(bad), "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "filters.drop_stale" in err and "is_stale" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    # An ingest output has the column, all null until dedup sets it: the filter would drop nothing.
    table = document_table(data_dir, ["en"])
    unset = table.set_column(
        table.schema.get_field_index("is_stale"), "is_stale", pa.nulls(len(table), pa.bool_())
    )
    ingested = write_parts(unset, tmp_path / "ingested", 1)
    with pytest.raises(SystemExit) as done:
        main(["mix", str(ingested), "--spec", str(bad), "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "filters.drop_stale: the input's 'is_stale' column holds no values" in err


def test_langid_job_identifies_and_counts_languages(spark, tmp_path, data_dir):
    table = document_table(data_dir, ["en", "yo", "nb"], with_lang=False)
    source = write_parts(table.take(list(range(0, table.num_rows, 10))), tmp_path / "in", 2)  # 30 documents
    stats = run_langid(spark, [str(source)], str(tmp_path / "lid"), LangIdConfig())
    identified = pq.read_table(tmp_path / "lid")
    langs = dict(zip(identified.column("id").to_pylist(), identified.column("lang").to_pylist(), strict=True))
    assert sum(doc.split("-")[0] == lang for doc, lang in langs.items()) >= 27
    # Each document names the detector that decided it: fastText for sure English, lingua for Yoruba (which
    # fastText misses and is unsure of).
    ids, detected_by = identified.column("id").to_pylist(), identified.column("lang_detector").to_pylist()
    detectors = dict(zip(ids, detected_by, strict=True))
    assert set(detectors.values()) <= {"fasttext", "lingua", "cld2", "py3langid"}
    assert any(detectors[doc] == "fasttext" for doc in detectors if doc.startswith("en-"))
    assert any(detectors[doc] == "lingua" for doc in detectors if doc.startswith("yo-"))
    assert stats.docs_in == stats.docs_out == 30
    assert (
        sum(v for k, v in StageStats.read(tmp_path / "lid").counters.items() if k.startswith("lang:")) == 30
    )
    with pytest.raises(UsageError, match="not document Parquet"):
        run_langid(spark, [str(data_dir / "warc")], str(tmp_path / "x"), LangIdConfig())


def test_langid_job_heeds_the_real_aragonese_capture_s_own_tag(spark, tmp_path, data_dir):
    """The page's tag reaches the kernel through Spark: the WARC form of the capture (`<html lang="an">`) is
    Aragonese, decided by its tag; the WET form, without markup, is what the detectors say (Spanish)."""
    batches = []
    for name in ("cc-whirlwind_whirlwind.warc.gz", "cc-whirlwind_whirlwind.warc.wet.gz"):
        batches += read_documents(str(data_dir / "warc" / name), ReadOptions(), RejectLog())
    (tmp_path / "in").mkdir()
    pq.write_table(pa.Table.from_batches(batches), tmp_path / "in" / "part-0.parquet")
    run_langid(spark, [str(tmp_path / "in")], str(tmp_path / "lid"), LangIdConfig())
    rows = pq.read_table(tmp_path / "lid", columns=["declared_lang", "lang", "lang_detector"]).to_pylist()
    assert sorted(rows, key=lambda r: r["declared_lang"] or "") == [
        {"declared_lang": None, "lang": "es", "lang_detector": "fasttext"},
        {"declared_lang": "an", "lang": "an", "lang_detector": "declared"},
    ]


def test_cli_mix_plan_runs_langid_first_and_writes_nothing(tmp_path, data_dir, spark, capsys):
    """The CLI in this process: it finds the tests' session and leaves it running."""
    from jobs.cli import main

    table = document_table(data_dir, ["en", "de"], with_lang=False)
    # Lines 3, 13, 23, ...: none is stale (every 5th line is), so the keep-newest filters leave documents.
    source = write_parts(table.take(list(range(3, table.num_rows, 10))), tmp_path / "in", 2)
    spec = Path(__file__).parents[2] / "pipelines" / "mixtures" / "time_uniform.yaml"
    main(["mix", str(source), "--spec", str(spec), "--plan", "--master", "local[1]"])
    stdout = capsys.readouterr().out
    # The input has no lang column: the plan's cells are the languages langid found.
    assert "budget 400,000 tokens" in stdout
    assert any(line.startswith("en ") for line in stdout.splitlines())
    assert any(line.startswith("de ") for line in stdout.splitlines())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_strata_hold_their_token_shares_and_drop_other_values(spark, tmp_path):
    # Three page kinds in natural proportions 6:3:1 (and an unlisted one); the stratified mixture holds
    # them at 0.2 / 0.3 / 0.5 of its tokens, whatever their natural shares.
    words = [f"w{i}" for i in range(500)]
    rng = __import__("numpy").random.default_rng(0)
    rows = []
    for kind, n in (("resource", 600), ("news", 300), ("filler", 100), ("other", 50)):
        for i in range(n):
            text = " ".join(rng.choice(words, 20))
            rows.append({"id": f"{kind}{i:04d}", "text": text, "kind": kind, "lang": "en", "lang_score": 1.0})
    table = document_table_from_rows(rows)
    source = write_parts(table, tmp_path / "in", 3)
    spec = parse_spec(
        {
            "name": "strata",
            "seed": 3,
            "budget_tokens": 6_000,
            "max_repeats": 8,
            "strata": {"column": "kind", "shares": {"resource": 0.2, "news": 0.3, "filler": 0.5}},
        }
    )
    result = run_mix(spark, [str(source)], spec, str(tmp_path / "out"))
    out = read_rows(tmp_path / "out")
    tokens = {k: 0 for k in ("resource", "news", "filler")}
    for kind, n in zip(out.column("kind").to_pylist(), out.column("n_tokens").to_pylist(), strict=True):
        tokens[kind] += n
    total = sum(tokens.values())
    assert abs(total - 6_000) <= 60
    for kind, share in (("resource", 0.2), ("news", 0.3), ("filler", 0.5)):
        assert abs(tokens[kind] / total - share) < 0.02, tokens
    assert set(out.column("lang").to_pylist()) == {"en"}  # the documents' own language is written
    stats = json.loads((tmp_path / "out" / "_stats.json").read_text())
    assert stats["dropped"]["stratum_not_selected"] == 50
    assert {c.lang for c in result.allocation.cells} == {"resource|en", "news|en", "filler|en"}
    with pytest.raises(UsageError, match=r"strata\.column"):
        run_mix(
            spark, [str(source)], parse_spec({**SPEC, "strata": {"column": "nope", "shares": {"a": 1}}}), None
        )


def document_table_from_rows(rows: list[dict]) -> pa.Table:
    from datetime import UTC, datetime

    from corpus.schema import conform

    added = datetime(2024, 1, 1, tzinfo=UTC)
    table = pa.Table.from_pylist([{**r, "source": "t", "added": added, "created": added} for r in rows])
    return pa.Table.from_batches([conform(b) for b in table.to_batches()])


def test_hundreds_of_cells_without_a_target_are_counted_not_a_stack_overflow(spark, tmp_path):
    """A month-granularity mixture of one language over a two-language corpus: every other-language month is
    a cell with target 0. Their reason was one OR per cell, nested hundreds deep, and the JVM ran out of
    stack converting it."""
    from datetime import UTC, datetime

    from corpus.schema import conform

    rows = []
    for lang in ("en", "de"):
        for m in range(600):  # 50 years of months, one document each
            created = datetime(1970 + m // 12, 1 + m % 12, 1, tzinfo=UTC)
            text = f"{lang} document number {m} with some words"
            rows.append(
                {"id": f"{lang}{m:03d}", "text": text, "lang": lang, "lang_score": 1.0, "source": "t"}
            )
            rows[-1].update(added=created, created=created)
    table = pa.Table.from_pylist(rows)
    source = write_parts(pa.Table.from_batches([conform(b) for b in table.to_batches()]), tmp_path / "in", 2)
    spec = parse_spec(
        {
            "name": "en-by-month",
            "seed": 1,
            "budget_tokens": 2_000,
            "language": {"strategy": "weights", "weights": {"en": 1.0}},
            "time": {"strategy": "natural", "granularity": "month"},
        }
    )
    result = run_mix(spark, [str(source)], spec, str(tmp_path / "out"))
    assert sum(1 for c in result.allocation.cells if c.target <= 0 and c.lang == "de") == 600
    out = read_rows(tmp_path / "out")
    assert set(out.column("lang").to_pylist()) == {"en"}
    # each cell wants about 3 tokens of its one 7-token document: the rounding carries from month to month
    # (rounded cell by cell, none was taken and the mixture was empty)
    target = sum(c.target for c in result.allocation.cells)
    assert abs(sum(out.column("n_tokens").to_pylist()) - target) <= 7
    stats = StageStats.read(tmp_path / "out")
    assert stats.dropped["cell_target_zero"] == 600
    assert stats.docs_in + stats.counters["repeat_copies"] == stats.docs_out + sum(stats.dropped.values())


def test_rows_sharing_an_id_are_renamed_and_not_drawn_together(spark, tmp_path):
    """Three texts under id `d` in two files: sampling keys and the mixture's order are hashes of the id, so
    the three were always drawn together and sat side by side, uncounted. Then all but one were dropped as
    duplicate_id; now the first by content hash keeps `d` and the others are renamed `d~2`, `d~3` (as dedup
    renames them), each drawn on its own, and counted."""
    rows = [
        {
            "id": "d",
            "text": "one two three four five six seven eight nine ten",
            "lang": "en",
            "lang_score": 1.0,
        },
        {"id": "d", "text": "alpha beta gamma delta", "lang": "en", "lang_score": 1.0},
        {"id": "u", "text": "unique document words here now", "lang": "en", "lang_score": 1.0},
        {"id": "d", "text": "uno dos tres cuatro cinco seis", "lang": "en", "lang_score": 1.0},
    ]
    source = write_parts(document_table_from_rows(rows), tmp_path / "in", 2)
    spec = parse_spec({"name": "rep", "seed": 3, "budget_tokens": 50, "max_repeats": 3})
    run_mix(spark, [str(source)], spec, str(tmp_path / "out"))
    out = read_rows(tmp_path / "out")
    ids = out.column("id").to_pylist()
    copies = list(zip(ids, out.column("repeat_index").to_pylist(), strict=True))
    assert len(copies) == len(set(copies))
    texts: dict[str, set[str]] = {}
    for i, t in zip(ids, out.column("text").to_pylist(), strict=True):
        texts.setdefault(i, set()).add(t)
    assert set(texts) <= {"d", "d~2", "d~3", "u"} and all(len(t) == 1 for t in texts.values())
    d_texts = [t for i, (t,) in texts.items() if i != "u"]
    assert len(d_texts) == len(set(d_texts))  # each of d's texts under an id of its own
    stats = StageStats.read(tmp_path / "out")
    assert stats.docs_in == 4 and "duplicate_id" not in stats.dropped
    assert stats.counters["duplicate_id_renamed"] == 2
    assert stats.docs_in + stats.counters["repeat_copies"] == stats.docs_out + sum(stats.dropped.values())


def test_min_lang_score_keeps_a_dataset_s_own_labels_and_und_stays_a_natural_share(spark, tmp_path):
    # 30 rows labelled by the dataset (no score), 30 scored by langid at 0.9 and 0.2, 20 of no language:
    # the filter drops the low scores and the rows without a language only (it dropped all 30 given labels)
    rows = [
        {"id": f"g{i}", "text": f"given words {i} here", "lang": "de", "lang_score": None} for i in range(30)
    ]
    rows += [
        {"id": f"s{i}", "text": f"scored words {i} here", "lang": "en", "lang_score": 0.9} for i in range(30)
    ]
    rows += [
        {"id": f"w{i}", "text": f"weak words {i} here", "lang": "fr", "lang_score": 0.2} for i in range(30)
    ]
    rows += [{"id": f"u{i}", "text": f"{i} {i} 123", "lang": "und", "lang_score": 0.0} for i in range(20)]
    source = write_parts(document_table_from_rows(rows), tmp_path / "in", 2)
    spec = {"name": "m", "seed": 1, "budget_tokens": 2_000, "max_repeats": 4}
    spec["language"] = {"strategy": "unimax", "max_epochs": 4}
    run_mix(
        spark, [str(source)], parse_spec({**spec, "filters": {"min_lang_score": 0.5}}), str(tmp_path / "a")
    )
    stats = json.loads((tmp_path / "a" / "_stats.json").read_text())
    assert stats["dropped"] == {"lang_score_below_min": 50}
    assert set(read_rows(tmp_path / "a").column("lang").to_pylist()) == {"de", "en"}
    # unfiltered, the 20 rows of no language keep their natural share and are never repeated
    result = run_mix(spark, [str(source)], parse_spec(spec), str(tmp_path / "b"))
    und = [c for c in result.allocation.cells if c.lang == "und"]
    assert sum(c.target for c in und) == sum(c.tokens for c in und) == 60  # 3 tokens a row
    langs = read_rows(tmp_path / "b").column("lang").to_pylist()
    assert langs.count("und") == 20 and langs.count("fr") > 30


def test_mix_warns_of_selected_languages_no_document_is_in_and_of_undercounted_ones(spark, tmp_path, caplog):
    import logging

    rows = [
        {"id": f"n{i}", "text": f"ord nummer {i} her", "lang": "nb", "lang_score": 0.9} for i in range(10)
    ]
    rows += [{"id": f"t{i}", "text": f"ภาษาไทย {i}", "lang": "th", "lang_score": 0.9} for i in range(10)]
    source = write_parts(document_table_from_rows(rows), tmp_path / "in", 1)
    # `no` is what langid writes with --no-second-opinion; these documents say nb: 0 tokens planned for it
    spec = {"name": "m", "seed": 1, "budget_tokens": 100, "filters": {"languages": ["no", "th"]}}
    with caplog.at_level(logging.WARNING, logger="chronomix"):
        run_mix(spark, [str(source)], parse_spec(spec), None)
    said = [r.getMessage() for r in caplog.records]
    assert "filters.languages: no document kept is in no (the documents' languages: th)" in said
    assert any(m.startswith("th: written without spaces, counted in whitespace words") for m in said), said
