"""The long-tail probe counts each fact's training documents in the world the probes come from: probes of
another world than the mixture's are refused, a mixture mostly of other rows is warned about, and a plain
Hugging Face model folder (no run.json naming its mixture) is given its mixture with --mixture."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobs.contract import UsageError
from jobs.probe import _docs_read, _run_info, refuse_another_runs_model
from tests.jobs.cli_helpers import _refused
from tests.trainers.conftest import month_of, write_mixture
from tests.world.sizes import SMALL_WORLD
from trainers.longtail import fact_frequencies
from trainers.probes import load_facts, run_probes
from trainers.shards import iter_rows, list_shards
from world import generate_world, preset_config


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Two small worlds, seeds 0 and 1, as `chronomix world` writes them (truth/, probes/)."""
    base = tmp_path_factory.mktemp("worlds")
    for seed in (0, 1):
        generate_world(preset_config("tiny", seed=seed, **SMALL_WORLD), base / f"world-{seed}")
    return {seed: base / f"world-{seed}" for seed in (0, 1)}


def document_ids(world: Path) -> list[str]:
    return pq.read_table(world / "truth" / "documents.parquet", columns=["id"]).column("id").to_pylist()


def mixture_of(directory: Path, ids: list[str]) -> Path:
    """A mixture of rows with these ids (a world's documents keep their WARC record id through ingest);
    exposure is counted from the ids alone."""
    return write_mixture(directory, ids, [f"row {i}" for i in ids], [month_of(0)] * len(ids))


def expected_counts(world: Path, ids: list[str], fact_ids: list[str]) -> list[int]:
    """Training rows stating each fact's (subject, relation, value), counted row by row from the truth."""
    facts = pq.read_table(world / "truth" / "facts.parquet").to_pylist()
    triple = {f["fact_id"]: (f["subject"], f["relation"], f["value"]) for f in facts}
    stated = {
        d["id"]: d["fact_ids"] for d in pq.read_table(world / "truth" / "documents.parquet").to_pylist()
    }
    per_triple: dict[tuple[str, str, str], int] = {}
    for row in ids:
        for fact in stated.get(row, []):
            per_triple[triple[fact]] = per_triple.get(triple[fact], 0) + 1
    return [per_triple.get(triple[f], 0) for f in fact_ids]


def test_probes_of_another_world_are_refused(worlds: dict[int, Path], tmp_path: Path) -> None:
    """A run trained on world 0 probed with world 1's probes counted every fact 0 (150 of 150 probes in
    bucket 0), said nothing and exited 0."""
    ids = document_ids(worlds[0])
    mixture = mixture_of(tmp_path / "mixture", ids)
    refusal = rf"^facts: none of the {len(ids)} rows of the mixture {re.escape(str(mixture))} is a document "
    refusal += rf"of the world {re.escape(str(worlds[1]))} "
    with pytest.raises(ValueError, match=refusal):  # before the model is loaded or the output touched
        run_probes(
            tmp_path / "no-model",
            tmp_path / "out",
            facts=worlds[1] / "probes" / "facts.parquet",
            mixture_dir=mixture,
            world_dir=worlds[1],
        )
    assert not (tmp_path / "out").exists()
    own, other = (load_facts(worlds[seed] / "probes" / "facts.parquet") for seed in (0, 1))
    heard: list[str] = []
    with pytest.raises(ValueError, match=refusal):
        fact_frequencies(other, mixture, worlds[1], heard.append)
    # the world the mixture was made from: counted, silently
    counts = fact_frequencies(own, mixture, worlds[0], heard.append)
    assert counts == expected_counts(worlds[0], ids, own.column("fact_id").to_pylist())
    assert max(counts) > 0 and heard == []


def test_exposure_counts_only_the_rows_the_run_read(worlds: dict[int, Path], tmp_path: Path) -> None:
    """A run whose token budget ended before its mixture did read only its first `docs_read` rows: facts
    stated only in the rest were counted as seen (141 of 383 "exposed" probes of one grid never were)."""
    ids = document_ids(worlds[0])
    mixture = mixture_of(tmp_path / "mixture", ids)
    read_order = [row["id"] for row in iter_rows(list_shards(mixture), columns=("id",))]
    facts = load_facts(worlds[0] / "probes" / "facts.parquet")
    fact_ids = facts.column("fact_id").to_pylist()
    half = len(ids) // 2
    counts = fact_frequencies(facts, mixture, worlds[0], docs_read=half)
    assert counts == expected_counts(worlds[0], read_order[:half], fact_ids)
    assert counts != expected_counts(worlds[0], ids, fact_ids)
    # A run that read every row, or read them twice over (epochs), counts each row once, as without docs_read
    for read in (len(ids), 2 * len(ids) + 3):
        assert fact_frequencies(facts, mixture, worlds[0], docs_read=read) == fact_frequencies(
            facts, mixture, worlds[0]
        )
    with pytest.raises(ValueError, match="docs_read -1"):
        fact_frequencies(facts, mixture, worlds[0], docs_read=-1)


def test_the_probe_job_counts_over_what_its_own_run_read(tmp_path: Path) -> None:
    """docs_read is the run's: it applies to the run's own mixture, not to another given with --mixture."""
    own = tmp_path / "mixture"
    info = {"mixture": str(own), "docs_read": 196}
    assert _docs_read(None, info) == 196 and _docs_read(str(tmp_path / "." / "mixture"), info) == 196
    assert _docs_read(str(tmp_path / "other"), info) is None
    assert _docs_read(None, {"docs_read": 196}) is None  # a plain model folder names no mixture
    assert _docs_read(None, {"mixture": str(own), "docs_read": True}) is None


def test_a_model_of_another_run_or_an_unreadable_run_record_is_refused(tmp_path: Path) -> None:
    """`probe RUN --model OTHER_RUN` read OTHER_RUN's model with RUN's exposure counts and newest month, and
    exited 0; a run.json that does not parse failed with exit 1 (JSONDecodeError)."""
    run, other, plain = tmp_path / "run", tmp_path / "other", tmp_path / "plain"
    for folder, mixture in ((run, "mix-a"), (other, "mix-b")):
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps({"mixture": str(tmp_path / mixture)}))
    plain.mkdir()
    info = _run_info(run, "RUN")
    with pytest.raises(
        UsageError, match=r"--model '.*other' is a run trained on the mixture '.*mix-b', not on"
    ):
        refuse_another_runs_model(other, info)
    refuse_another_runs_model(plain, info)  # a plain model folder: RUN's mixture is the one to count over
    refuse_another_runs_model(run, info)
    # another run of the same mixture that read less of it
    (other / "run.json").write_text(json.dumps({"mixture": str(tmp_path / "mix-a"), "docs_read": 5}))
    with pytest.raises(
        UsageError, match=r"a run that read its mixture otherwise than RUN \(docs_read differ\)"
    ):
        refuse_another_runs_model(other, info)
    (other / "run.json").write_text("{broken")
    with pytest.raises(UsageError, match=r"run.json: not readable as a run's record \(Expecting"):
        refuse_another_runs_model(other, info)
    (other / "run.json").write_text("[1]")
    with pytest.raises(UsageError, match=r"run.json: not a run's record"):
        _run_info(other, "RUN")


def test_a_mixture_mostly_of_other_rows_is_warned_about(worlds: dict[int, Path], tmp_path: Path) -> None:
    """Where only a few of the mixture's rows are the probes' world's documents, the counts stand (the other
    rows state no fact of it), with a warning naming the share."""
    own = document_ids(worlds[0])[:5]
    mixture = mixture_of(tmp_path / "mixture", own + document_ids(worlds[1])[:95])
    facts = load_facts(worlds[0] / "probes" / "facts.parquet")
    with pytest.warns(UserWarning, match=r"only 5\.0% of the rows"):  # a library caller without `warn`
        counts = fact_frequencies(facts, mixture, worlds[0])
    assert counts == expected_counts(worlds[0], own, facts.column("fact_id").to_pylist())
    heard: list[str] = []
    assert fact_frequencies(facts, mixture, worlds[0], heard.append) == counts
    assert heard == [
        f"facts: only 5.0% of the rows of the mixture {mixture} are documents of the world {worlds[0]} the "
        "probes come from; are they the probes of the world the mixture was made from?"
    ]


@pytest.fixture
def hf_model(month_run: Path, tmp_path: Path) -> Path:
    """A plain Hugging Face model folder: a run's model without its run.json (nor its training log)."""
    folder = tmp_path / "hf-model"
    shutil.copytree(month_run, folder, ignore=shutil.ignore_patterns("run.json", "log.jsonl", "probe*"))
    return folder


def test_a_plain_model_folder_asks_for_its_mixture(
    worlds: dict[int, Path], hf_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Probing a Hugging Face model folder with a world's probes said there was 'no mixture and world to
    count it from' (the world was there; only the mixture was missing, and nothing could give it), and left
    an empty output folder."""
    out = tmp_path / "out"
    err = _refused(["probe", str(hf_model), "--probes", str(worlds[0] / "probes"), "-o", str(out)], capsys)
    assert "no training mixture is known" in err and "--mixture" in err and "temporal.parquet" in err, err
    assert not out.exists()
    err = _refused(
        ["probe", str(hf_model), "--probes", str(worlds[0]), "--mixture", str(tmp_path / "x")], capsys
    )
    assert "--mixture" in err and "no such mixture" in err, err
    # --mixture gives it: the facts' exposure is counted over it (a few probes, for speed)
    own = document_ids(worlds[0])[:5]
    mixture = mixture_of(tmp_path / "mixture", own + document_ids(worlds[1])[:95])
    probes = tmp_path / "some" / "probes"
    probes.mkdir(parents=True)
    pq.write_table(
        pq.read_table(worlds[0] / "probes" / "facts.parquet").slice(0, 12), probes / "facts.parquet"
    )
    from jobs.cli import main

    main(
        [
            "probe",
            str(hf_model),
            "--probes",
            str(probes),
            "--world",
            str(worlds[0]),
            "--mixture",
            str(mixture),
            "-o",
            str(out),
            "--device",
            "cpu",
        ]
    )
    said = capsys.readouterr().out
    assert "warning: facts: only 5.0% of the rows of the mixture" in said, said
    with (out / "longtail_probes.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    fact_ids = pq.read_table(probes / "facts.parquet").column("fact_id").to_pylist()
    assert [int(r["n_train_docs"]) for r in rows] == expected_counts(worlds[0], own, fact_ids)
    assert json.loads((out / "probe.json").read_text())["longtail"]["n_probes"] == 12


def test_probes_of_another_world_are_refused_by_the_command(
    worlds: dict[int, Path], month_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The refusal reaches the command line as one line, exit 2, and nothing is written."""
    run = tmp_path / "run"
    shutil.copytree(month_run, run, ignore=shutil.ignore_patterns("probe*"))
    mixture = mixture_of(tmp_path / "mixture", document_ids(worlds[0]))
    info = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**info, "mixture": str(mixture)}))  # trained on world 0's
    out = tmp_path / "out"
    err = _refused(["probe", str(run), "--probes", str(worlds[1] / "probes"), "-o", str(out)], capsys)
    assert f"of the mixture {mixture} is a document of the world {worlds[1]}" in err, err
    assert not out.exists()
