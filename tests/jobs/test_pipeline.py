"""A reduced demo pipeline end to end (world -> ingest -> date -> dedup -> two mixtures, trained and probed ->
audit), with the table's values checked against the data it was computed from; then resume: a rerun skips
every stage, and a changed parameter reruns that stage and the ones after it."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
import yaml

from jobs.experiment import STAGE as EXPERIMENT
from jobs.pipeline import load_pipeline, run_pipeline
from jobs.runner import MARKER, run_command
from jobs.stage import UsageError

MIXTURES = Path(__file__).resolve().parents[2] / "pipelines" / "mixtures"

# A smaller world than the `tiny` preset (fewer entities, dumps and pages) and a token budget that trains in
# seconds: the point here is that every stage runs on real files and the table says what the data says.
REDUCED = {
    "output": "out",
    "spark": {"master": "local[2]", "conf": ["spark.sql.shuffle.partitions=4"]},
    "stages": [
        {
            "name": "world",
            "kind": "world",
            "preset": "tiny",
            "seed": 3,
            "entities": 30,
            "dump_every_months": 12,
            "mention_pages": 15,
            "filler_pages": 8,
            "probe_resources": 15,
            "reference_resources": 10,
            "max_fact_probes": 200,
        },
        {"name": "ingest", "kind": "ingest", "inputs": ["${world}/dumps"], "added": "2024-01-01T00:00:00Z"},
        {
            "name": "dated",
            "kind": "date",
            "input": "${ingest}",
            "reference": "${world}/probes/reference.parquet",
        },
        {"name": "dedup", "kind": "dedup", "input": "${dated}", "keep": "all"},
        {
            "name": "experiment",
            "kind": "experiment",
            "input": "${dedup}",
            "world": "${world}",
            "seeds": [0],
            "mixtures": {
                "raw": str(MIXTURES / "raw.yaml"),
                "keep_newest": str(MIXTURES / "keep_newest.yaml"),
            },
            "train": {"preset": "tiny", "tokens": 40_000, "seq_len": 64, "batch_size": 8},
            "probe": {"k_tokens": 32, "batch_size": 32},
        },
        {
            "name": "audit",
            "kind": "audit",
            "input": "${dedup}",
            "reference": "${world}/probes/temporal.parquet",
            "run": "${experiment}/runs/raw-s0",
        },
    ],
}


def _month(value) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def _months_between(later: str, earlier: str) -> int:
    (ly, lm), (ey, em) = (map(int, later.split("-")), map(int, earlier.split("-")))
    return (ly - ey) * 12 + (lm - em)


@pytest.mark.slow
def test_reduced_demo_pipeline_end_to_end_and_resume(tmp_path, spark):
    path = tmp_path / "reduced.yaml"
    path.write_text(yaml.safe_dump(REDUCED))
    pipeline = load_pipeline(path, output=tmp_path / "out")
    outcomes = run_pipeline(pipeline)
    assert [o.status for o in outcomes] == ["ran"] * 6
    out = pipeline.output

    # Every stage balanced its books and left a completion marker.
    for name in ("ingest", "dated", "dedup"):
        stats = json.loads((out / name / "_stats.json").read_text())
        assert stats["docs_in"] == stats["docs_out"] + stats["dropped_total"]
        assert (out / name / MARKER).is_file()
    world_docs = ds.dataset(out / "world" / "truth" / "documents.parquet").count_rows()
    assert json.loads((out / "ingest" / "_stats.json").read_text())["docs_out"] == world_docs

    # The table's values are what the mixtures and probes say.
    rows = {row["mixture"]: row for row in json.loads((out / "experiment" / "experiments.json").read_text())}
    assert set(rows) == {"raw", "keep_newest"}
    for name, row in rows.items():
        shards = ds.dataset(sorted((out / "experiment" / "mixtures" / f"{name}-s0").glob("part-*.parquet")))
        created = shards.to_table(columns=["created"]).column("created")
        assert row["newest_month"] == _month(pc.max(created).as_py())
        curve = list(
            csv.DictReader((out / "experiment" / "runs" / f"{name}-s0" / "probe" / "cutoff_curve.csv").open())
        )
        best = min(curve, key=lambda r: float(r["score"]))
        assert row["effective_cutoff"] == best["month"]
        assert row["gap_months"] == _months_between(row["newest_month"], row["effective_cutoff"])
        assert row["tokens"] >= 40_000
        assert 0.0 <= row["accuracy"] <= 1.0
    # keep_newest drops stale versions, so it holds fewer documents than raw.
    raw_docs = ds.dataset(sorted((out / "experiment" / "mixtures" / "raw-s0").glob("part-*.parquet")))
    newest_docs = ds.dataset(
        sorted((out / "experiment" / "mixtures" / "keep_newest-s0").glob("part-*.parquet"))
    )
    assert newest_docs.to_table(columns=["is_stale"]).column("is_stale").to_pylist().count(True) == 0
    assert raw_docs.to_table(columns=["is_stale"]).column("is_stale").to_pylist().count(True) > 0

    # --finished-only: the tables of the runs already probed (here with a second seed that never ran), and
    # nothing runs or is written under the runs
    grid = next(spec.params for spec in pipeline.stages if spec.stage.kind == "experiment")
    probed = {p: p.stat().st_mtime_ns for p in (out / "experiment" / "runs").rglob("*") if p.is_file()}
    finished = run_command(EXPERIMENT, dataclasses.replace(grid, seeds=[0, 1], finished_only=True)).value
    assert {r["mixture"]: r["effective_cutoff"] for r in finished} == {
        name: row["effective_cutoff"] for name, row in rows.items()
    }
    assert {
        p: p.stat().st_mtime_ns for p in (out / "experiment" / "runs").rglob("*") if p.is_file()
    } == probed
    assert len(finished) == 2 and not (out / "experiment" / "runs" / "raw-s1").exists()

    summary = json.loads((out / "audit" / "summary.json").read_text())
    assert (out / "audit" / "report.html").is_file()
    assert json.dumps(summary)  # every figure is JSON

    # Resume: nothing changed, nothing reruns.
    again = run_pipeline(load_pipeline(path, output=tmp_path / "out"))
    assert [o.status for o in again] == ["skipped"] * 6

    # A changed dedup parameter reruns dedup and every stage that reads it, not the ones before.
    changed = dict(REDUCED)
    changed["stages"] = [dict(s) for s in REDUCED["stages"]]
    changed["stages"][3]["keep"] = "newest"
    path.write_text(yaml.safe_dump(changed))
    stages = load_pipeline(path, output=tmp_path / "out")
    statuses = [o.status for o in run_pipeline(stages, until="dedup")]
    assert statuses == ["skipped", "skipped", "skipped", "ran"]


def test_bad_pipelines_stop_with_a_message_naming_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    cases = {
        "stages: []": "'stages'",
        "stages: [{kind: nonsense}]": "stages[0].kind",
        "stages: [{kind: ingest, inputs: ['${nowhere}']}]": "${nowhere}",
        "stages: [{kind: world}, {kind: world}]": "duplicate stage name",
        # a name is a folder of the output: ".." reached out of it and replaced what was there
        "stages: [{name: '..', kind: world}]": "'..' is no stage name",
        "stages: [{name: '.', kind: world}]": "'.' is no stage name",
        "stages: [{name: 'a/b', kind: world}]": "'a/b' is no stage name",
        "stages: [{name: '', kind: world}]": "'' is no stage name",
        # spark.conf as one string was split into characters ("--conf 's': expected key=value")
        "spark: {conf: 'spark.sql.shuffle.partitions=4'}\nstages: [{kind: world}]": "'spark.conf': expected a list",
        "spark: {conf: 5}\nstages: [{kind: world}]": "'spark.conf': expected a list",
        "spark: {conf: [foo]}\nstages: [{kind: world}]": "pipeline field 'spark': --conf 'foo'",
        "spark: {master: bogus}\nstages: [{kind: world}]": "pipeline field 'spark': --master 'bogus'",
        "bogus: 1\nstages: [{kind: world}]": "'bogus'",
        # values of the wrong type are named before any stage runs, not found by the stage that reads them
        "stages: [{kind: world}, {kind: dedup, input: '${world}', threshold: high}]": "'threshold': expected a number",
        "stages: [{kind: world, seed: 1.5}]": "'seed': expected a whole number",
        "stages: [{kind: world, seed: true}]": "'seed': expected a whole number",
        "stages: [{kind: [world]}]": "stages[0].kind': expected a stage kind's name",
        "output: 5\nstages: [{kind: world}]": "'output': expected a path",
        "stages: [{kind: world}": "not valid UTF-8 YAML",
        # a late stage's bad setting is named when the file is read, before the stages before it run
        "stages: [{kind: world}, {kind: dedup, input: '${world}', threshold: 5.0}]": "stage 'dedup' (dedup): --threshold",
        "stages: [{kind: world}, {kind: mix, input: '${world}', spec: nowhere.yaml}]": "stage 'mix' (mix): --spec",
        "stages: [{kind: world}, {kind: train, mixture: '${world}', preset: huge}]": "stage 'train' (train): unknown preset",
        # ingest, date and world settings were found only when their stage ran, after the stages before it
        "stages: [{kind: world}, {kind: ingest, inputs: ['${world}'], sample: 5}]": "stage 'ingest' (ingest): --sample 5",
        "stages: [{kind: world}, {kind: ingest, inputs: ['${world}'], format: csv}]": "stage 'ingest' (ingest): --format",
        "stages: [{kind: world}, {kind: date, input: '${world}', rows_per_shard: 0}]": "stage 'date' (date): rows_per_shard 0",
        "stages: [{kind: ingest, inputs: [x]}, {kind: world, preset: huge}]": "stage 'world' (world): ",
        "stages: [{kind: world}, {kind: experiment, mixtures: {raw: nowhere.yaml}, worlds: {w: {preset: tiny}}}]": (
            "stage 'experiment' (experiment): grid mixture 'raw'"
        ),
    }
    # the config file's preset won without a word over the stage's own
    (tmp_path / "small.yaml").write_text("preset: small\n")
    cases["stages: [{kind: world, preset: tiny, config: small.yaml}]"] = "preset tiny and "
    for text, expected in cases.items():
        path.write_text(text)
        with pytest.raises(UsageError, match=None) as error:
            load_pipeline(path)
        assert expected in str(error.value), (text, str(error.value))
    path.write_bytes(b"stages: [{kind: world, preset: \xff}]")
    with pytest.raises(UsageError, match="not valid UTF-8 YAML"):
        load_pipeline(path)
    path.write_text("spark: {conf: {spark.sql.shuffle.partitions: 4}}\nstages: [{kind: world}]")
    assert load_pipeline(path).conf == ["spark.sql.shuffle.partitions=4"]  # a mapping is the natural YAML
    path.write_text("stages: [{kind: world, preset: small, config: small.yaml}]")
    assert load_pipeline(path).stages[0].params.preset == "small"  # the same preset twice is no conflict
    path.write_text("stages: [{kind: world}]")
    with pytest.raises(UsageError, match="--from 'nope'"):
        run_pipeline(load_pipeline(path), start="nope")
    # What the command line gave is named as given: not as the file's field, and a URI not collapsed by
    # Path() ("s3:/b/r3")
    with pytest.raises(UsageError) as error:
        load_pipeline(path, master="foo")
    assert str(error.value).startswith("--master 'foo'"), str(error.value)
    with pytest.raises(UsageError, match="pipeline output 's3://b/r3'"):
        load_pipeline(path, output="s3://b/r3")
    # and the file's own bad value is still the file's when the command line gives another setting
    path.write_text("spark: {conf: [nokey]}\nstages: [{kind: world}]")
    with pytest.raises(UsageError, match=r"^pipeline field 'spark': --conf 'nokey'"):
        load_pipeline(path, master="local[2]")
    path.write_text("stages: [{kind: world}]")
    with pytest.raises(UsageError, match=r"^--conf 'alsonokey'"):
        load_pipeline(path, conf=["alsonokey"])


def test_shipped_pipelines_load(tmp_path):
    pipelines = Path(__file__).resolve().parents[2] / "pipelines"
    demo = load_pipeline(pipelines / "demo.yaml", output=tmp_path / "demo")
    assert [s.kind for s in demo.stages] == ["world", "ingest", "date", "dedup", "experiment", "audit"]
    assert demo.stages[4].needs == ["dedup", "world"]
    assert all(Path(p).is_file() for p in demo.stages[4].params.mixtures.values())
    cluster = load_pipeline(pipelines / "commoncrawl.yaml", output=tmp_path / "cc")
    assert {s.kind for s in cluster.stages} == {"ingest", "date", "dedup", "langid", "mix", "audit"}


def test_bad_settings_of_label_audit_probe_and_langid_stages_stop_the_pipeline_before_it_runs(
    tmp_path, capsys, no_spark
):
    """These kinds had no settings check: a bad value surfaced only when their stage ran, after every
    stage before it. Now the file is refused when it is read: exit 2, one line naming stage and option,
    no output folder."""
    import importlib.util

    from jobs.cli import main

    world = "{kind: world}"
    cases = {
        f"stages: [{world}, {{kind: label, input: '${{world}}', table: t.parquet}}]": (
            "stage 'label' (label): --column: required"
        ),
        f"stages: [{world}, {{kind: langid, input: '${{world}}', lid_model: nowhere.bin}}]": (
            "stage 'langid' (langid): --lid-model"
        ),
        f"stages: [{world}, {{kind: langid, input: '${{world}}', threshold: 2.0}}]": (
            "stage 'langid' (langid): --threshold 2.0"
        ),
        f"stages: [{world}, {{kind: audit, input: '${{world}}', tokenizer: nowhere.json}}]": (
            "stage 'audit' (audit): --tokenizer"
        ),
        f"stages: [{world}, {{kind: audit, input: '${{world}}', statistic: max}}]": (
            "stage 'audit' (audit): --statistic 'max'"
        ),
    }
    if importlib.util.find_spec("torch") is not None:  # the probe kind needs the train extra
        probe = "{kind: probe, run: '${world}', probes: '${world}'"
        cases[f"stages: [{world}, {probe}, device: tpu}}]"] = "stage 'probe' (probe): --device 'tpu'"
        cases[f"stages: [{world}, {probe}, length_norm: words}}]"] = "stage 'probe' (probe): --length-norm"
    path, out = tmp_path / "bad.yaml", tmp_path / "out"
    for text, expected in cases.items():
        path.write_text(text)
        with pytest.raises(UsageError) as error:
            load_pipeline(path, output=out)
        assert expected in str(error.value), (text, str(error.value))
        with pytest.raises(SystemExit) as done:
            main(["run", str(path), "-o", str(out)])
        err = capsys.readouterr().err.strip()
        assert done.value.code == 2 and expected in err and "\n" not in err, err
        assert not out.exists()
