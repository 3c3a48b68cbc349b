"""Probes: exact arithmetic of the cutoff curve and long-tail buckets, and a model whose answers are known."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.months import months_between
from tests.trainers.conftest import MONTHS, TRAIN_MONTH, month_of, wiki_pages
from trainers import scoring
from trainers.longtail import accuracy_by_bucket, frequency_bucket, head_tail, is_correct, score_choices
from trainers.probes import (
    DropCounts,
    cutoff_curve,
    effective_cutoff,
    find_probe_files,
    load_lm,
    load_versions,
    normalise_per_resource,
    run_probes,
    token_logprobs,
)

# ------------------------------------------------------------------------------------------- arithmetic


def test_normalise_per_resource_exact() -> None:
    resources = ["a", "a", "a", "b", "b", "c", "d", "d"]
    values = [1.0, 2.0, 3.0, 10.0, 14.0, 5.0, 4.0, 4.0]
    z, dropped = normalise_per_resource(resources, values, "zscore")
    s = np.sqrt(2 / 3)  # population std of 1, 2, 3
    assert z[:5].tolist() == pytest.approx([-1 / s, 0.0, 1 / s, -1.0, 1.0])
    assert np.isnan(z[5:]).all()
    assert dropped == {"c": "single_month", "d": "constant"}
    centred, dropped = normalise_per_resource(resources, values, "center")
    assert centred[:5].tolist() == [-1.0, 0.0, 1.0, -2.0, 2.0]
    assert centred[6:].tolist() == [0.0, 0.0]
    assert dropped == {"c": "single_month"}
    with pytest.raises(ValueError, match=r"^normalisation:"):
        normalise_per_resource(resources, values, "minmax")


def test_cutoff_curve_and_argmin() -> None:
    # a and b (on scales 10x apart) fit 2020-02 best, c fits 2020-03 best
    nll = pa.table(
        {
            "resource": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
            "month": ["2020-01", "2020-02", "2020-03"] * 3,
            "nll": [3.0, 1.0, 2.0, 30.0, 10.0, 20.0, 5.0, 6.0, 4.0],
        }
    )
    curve, dropped = cutoff_curve(nll)
    assert dropped == {}
    assert [r["month"] for r in curve] == ["2020-01", "2020-02", "2020-03"]
    k = np.sqrt(2 / 3)
    assert [r["score"] for r in curve] == pytest.approx(
        [(1 + 1 + 0) / 3 / k, (-1 - 1 + 1) / 3 / k, (0 + 0 - 1) / 3 / k]
    )
    assert [r["mean_nll"] for r in curve] == pytest.approx([38 / 3, 17 / 3, 26 / 3])
    assert effective_cutoff(curve) == "2020-02"  # tied with 2020-03: the earliest month wins
    assert effective_cutoff([{"month": "x", "score": 1.0}, {"month": "y", "score": 1.0}]) == "x"
    assert effective_cutoff([]) is None


def test_load_versions_keeps_the_newest_version_of_each_month(tmp_path: Path) -> None:
    path = tmp_path / "v.parquet"
    created = [datetime(2021, 3, d, tzinfo=UTC) for d in (20, 2, 5)]
    created += [datetime(2021, 4, 1, tzinfo=UTC), None]
    pq.write_table(
        pa.table(
            {
                "url": ["u", "u", "u", "u", "u"],
                "id": ["1", "2", "3", "4", "5"],
                "text": ["march 20", "march 2", None, "april", "no date"],
                "created": pa.array(created, pa.timestamp("us", tz="UTC")),
            }
        ),
        path,
    )
    drops = DropCounts()
    table = load_versions(path, drops)
    assert table.to_pylist() == [
        {"resource": "u", "month": "2021-03", "text": "march 20"},
        {"resource": "u", "month": "2021-04", "text": "april"},
    ]
    assert drops.counts == {"no_text": 1, "no_month": 1, "older_in_same_month": 1}
    pq.write_table(pa.table({"resource": ["r"], "text": ["t"]}), path)
    with pytest.raises(ValueError, match=r"^versions: .* neither 'month' nor 'created'"):
        load_versions(path)


def test_load_versions_counts_a_month_in_another_spelling(tmp_path: Path) -> None:
    # as text, "2023-9" sorts after "2023-11": a curve over it would be out of order
    path = tmp_path / "v.parquet"
    pq.write_table(
        pa.table({"resource": ["r"] * 3, "month": ["2023-9", "2023-10", "2023-13"], "text": list("abc")}),
        path,
    )
    drops = DropCounts()
    assert load_versions(path, drops).column("month").to_pylist() == ["2023-10"]
    assert drops.counts == {"bad_month": 2}


def test_frequency_buckets_and_head_tail_exact() -> None:
    assert [frequency_bucket(n) for n in (0, 1, 2, 3, 4, 7, 8, 1000)] == [
        (0, 0),
        (1, 1),
        (2, 3),
        (2, 3),
        (4, 7),
        (4, 7),
        (8, 15),
        (512, 1023),
    ]
    assert frequency_bucket(5, base=10) == (1, 9) and frequency_bucket(10, base=10) == (10, 99)
    counts = [0, 0, 0, 1, 2, 3, 5, 9, 40]
    correct = [False, False, True, True, False, True, True, True, True]
    rows = accuracy_by_bucket(counts, correct)
    assert [(r["bucket"], r["n_probes"], r["accuracy"]) for r in rows] == [
        ("0", 3, pytest.approx(1 / 3)),
        ("1", 1, 1.0),
        ("2-3", 2, 0.5),
        ("4-7", 1, 1.0),
        ("8-15", 1, 1.0),
        ("32-63", 1, 1.0),
    ]
    ht = head_tail(counts, correct)
    assert ht["tail_accuracy"] == pytest.approx(1 / 3) and ht["head_accuracy"] == 1.0
    assert (ht["tail_max_docs"], ht["head_min_docs"]) == (0, 5)
    assert is_correct([-1.0, -2.0, -3.0]) and not is_correct([-1.0, -1.0]) and not is_correct([-2.0, -1.0])
    with pytest.raises(ValueError, match=r"^n_train_docs:"):
        frequency_bucket(-1)


def test_find_probe_files(tmp_path: Path) -> None:
    probes = tmp_path / "world" / "probes"
    probes.mkdir(parents=True)
    for name in ("temporal.parquet", "facts.parquet"):
        pq.write_table(pa.table({"x": [1]}), probes / name)
    expected = (probes / "temporal.parquet", probes / "facts.parquet")
    assert find_probe_files(probes) == expected == find_probe_files(tmp_path / "world")
    assert find_probe_files(probes / "temporal.parquet") == (probes / "temporal.parquet", None)
    with pytest.raises(FileNotFoundError, match=r"^probes:"):
        find_probe_files(tmp_path / "absent")


# ------------------------------------------------------------------------------- a model with known answers


def test_effective_cutoff_of_a_model_trained_on_one_month(
    month_run: Path, versions_file: Path, tmp_path: Path
) -> None:
    result = run_probes(month_run, tmp_path, versions=versions_file, newest_month="2020-04")
    cutoff = result["cutoff"]
    assert cutoff["effective_cutoff"] == f"2020-{TRAIN_MONTH + 1:02d}" == "2020-04"
    assert cutoff["gap_months"] == 0
    # ... inside its bootstrap interval over resources; and resource by resource, the trained version is the
    # best fit far more often than chance (1 in MONTHS), its interval clear of chance (measured 0.42)
    low, high = cutoff["interval"]
    assert low <= "2020-04" <= high and cutoff["gap_interval"][0] >= 0
    # the resampled cutoffs' mean distance from the cutoff: those inside the 95% interval lie within its
    # span, and the at most 5% outside it at most MONTHS - 1 months away (a fresh clone gave 0.002 with a
    # one-month interval)
    assert 0 <= cutoff["abs_deviation_months"] <= months_between(low, high) + 0.05 * (MONTHS - 1)
    share_low, share_high = cutoff["newest_version_share_interval"]
    assert share_low <= cutoff["newest_version_share"] <= share_high and share_low > 1 / MONTHS
    assert cutoff["months"] == MONTHS
    assert cutoff["resources"] + sum(cutoff["dropped"].values()) == len(wiki_pages())
    with (tmp_path / "cutoff_curve.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    scores = {r["month"]: float(r["score"]) for r in rows}
    assert min(scores, key=scores.get) == "2020-04"
    # the month it was trained on also has the lowest plain mean NLL
    assert min(rows, key=lambda r: float(r["mean_nll"]))["month"] == "2020-04"
    assert (tmp_path / "cutoff.png").stat().st_size > 10_000
    # the NLLs written beside it give the same curve again
    saved = pq.read_table(tmp_path / "version_nll.parquet")
    assert "text" not in saved.column_names and saved.num_rows == cutoff["versions_scored"]
    assert effective_cutoff(cutoff_curve(saved)[0]) == "2020-04"
    assert json.loads((tmp_path / "probe.json").read_text())["cutoff"]["effective_cutoff"] == "2020-04"


def test_token_logprobs_batched_equal_one_by_one(
    month_run: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    lm = load_lm(month_run, device="cpu")
    shown = capfd.readouterr()
    assert "Loading weights" not in shown.err + shown.out  # Hugging Face's bar went into every probe's log
    texts = [texts[TRAIN_MONTH][:120] for _, texts in wiki_pages()[:5]]
    sequences = [lm.context + ids for ids in lm.tokenizer(texts, add_special_tokens=False)["input_ids"]]
    batched = token_logprobs(lm, sequences, [1] * 5, batch_size=5)
    # progress is counted in sequences weighted by tokens: the longest two of five come first, more than 2/5
    heard: list[tuple[int, int]] = []
    lm.on_scored = lambda done, total: heard.append((done, total))
    token_logprobs(lm, sequences, [1] * 5, batch_size=2)
    lm.on_scored = None
    assert len(heard) == 3 and heard[-1] == (5, 5) and heard[0][0] >= 2 and heard == sorted(heard)
    for seq, lp in zip(sequences, batched, strict=True):
        alone = token_logprobs(lm, [seq], [1], batch_size=1)[0]
        assert len(lp) == len(seq) - 1
        np.testing.assert_allclose(lp, alone, rtol=1e-4, atol=1e-4)
        assert (lp < 0).all()
    # the log-softmax taken a row at a time, or two rows and then one, gives the same numbers as whole batches
    width, vocab = max(map(len, sequences)), lm.model.get_output_embeddings().weight.shape[0]
    for budget in (1, 2 * (width - 1) * vocab):
        monkeypatch.setattr(scoring, "LOGIT_ELEMENTS", budget)
        for lp, again in zip(batched, token_logprobs(lm, sequences, [1] * 5, batch_size=5), strict=True):
            np.testing.assert_array_equal(lp, again)


def cloze_probes(pages: list[tuple[str, list[str]]], version: int, n_docs: int) -> list[dict]:
    """Cloze probes from real text: the prompt is the first 12 words of a page's version, the answer the
    13th word, the distractors the 13th words of up to three other pages."""
    words = [texts[version].split() for _, texts in pages]
    rows = []
    for i, w in enumerate(words):
        answer = w[12]
        others = [words[(i + d) % len(words)][12] for d in range(1, len(words))]
        distractors = list(dict.fromkeys(o for o in others if o != answer))[:3]
        rows.append(
            {
                "probe_id": f"{version}-{i}",
                "prompt": " ".join(w[:12]),
                "answer": answer,
                "distractors": distractors,
                "n_train_docs": n_docs,
                "lang": "en",
            }
        )
    return rows


@pytest.fixture(scope="module")
def fact_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """A tiny model trained on the 13-word openings of 12 real pages, each 8 times per epoch, and the cloze
    probes of those (n_train_docs 8) and of 12 other pages it never saw (n_train_docs 0)."""
    from tests.trainers.conftest import write_mixture
    from trainers.train import TrainConfig, train

    pages = wiki_pages(min_versions=4, chars=400)
    head, tail = pages[:12], pages[12:24]
    probes = cloze_probes(head, 0, n_docs=8) + cloze_probes(tail, 0, n_docs=0)
    openings = [" ".join(texts[0].split()[:13]) for _, texts in head]
    texts = [openings[i % 12] for i in range(96)]
    base = tmp_path_factory.mktemp("fact_run")
    mixture = write_mixture(base / "mix", [f"d{i}" for i in range(96)], texts, [month_of(0)] * 96)
    config = TrainConfig(tokens=100 * 4 * 64, seq_len=64, batch_size=4, vocab_size=512, device="cpu")
    train(mixture, base / "run", config)
    return base / "run", probes


def test_long_tail_accuracy_of_a_model_that_saw_half_the_facts(fact_run, tmp_path: Path) -> None:
    run, probes = fact_run
    facts = tmp_path / "facts.parquet"
    pq.write_table(pa.Table.from_pylist(probes), facts)
    heard: list[tuple[str, int, int]] = []
    result = run_probes(run, tmp_path, facts=facts, progress=lambda *h: heard.append(h))["longtail"]
    assert heard[-1] == ("fact choices", 24 * 4, 24 * 4) and [h[1] for h in heard] == sorted(
        h[1] for h in heard
    )
    buckets = {b["bucket"]: b for b in result["buckets"]}
    assert [b["bucket"] for b in result["buckets"]] == ["0", "8-15"]
    assert buckets["0"]["n_probes"] == 12 and buckets["8-15"]["n_probes"] == 12
    assert buckets["8-15"]["accuracy"] >= 0.9  # it memorised what it saw 8 times an epoch
    assert buckets["8-15"]["accuracy"] > buckets["0"]["accuracy"] + 0.3
    # the head third (8 probes) are all seen facts, the tail third all unseen ones
    assert (result["head_min_docs"], result["tail_max_docs"]) == (8, 0)
    assert result["head_accuracy"] > result["tail_accuracy"]
    assert result["chance"] == pytest.approx(0.25)
    # facts it never saw are answered at chance: 0.25 lies in the 0 bucket's 95% interval
    assert buckets["0"]["low"] <= buckets["0"]["chance"] <= buckets["0"]["high"]
    assert result["zero_exposure_at_chance"]
    assert result["buckets_in_rank_correlation"] == 0  # 12 probes a bucket: too few to rank
    assert not result["calibrated"]  # cloze probes without swap prompts are scored raw
    assert (tmp_path / "longtail.png").exists()
    with (tmp_path / "longtail.csv").open() as handle:
        assert [r["bucket"] for r in csv.DictReader(handle)] == ["0", "8-15"]
    with (tmp_path / "longtail_probes.csv").open() as handle:
        assert sum(int(r["correct"]) for r in csv.DictReader(handle)) == round(24 * result["accuracy"])


def test_score_choices_sums_the_continuation_log_probs(month_run: Path) -> None:
    lm = load_lm(month_run, device="cpu")
    prompt, options = "the economy of", ["india", "the united states of america"]
    scores = score_choices(lm, [prompt], [options])[0]
    context = lm.context + lm.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    for option, score in zip(options, scores, strict=True):
        cont = lm.tokenizer(" " + option, add_special_tokens=False)["input_ids"]
        expected = token_logprobs(lm, [context + cont], [len(context)])[0].sum()
        assert score == pytest.approx(expected, abs=1e-4)
    per_char = score_choices(lm, [prompt + " "], [options], length_norm="chars")[0]
    assert per_char == pytest.approx([s / len(o) for s, o in zip(scores, options, strict=True)], abs=1e-4)
    with pytest.raises(ValueError, match=r"^length_norm:"):
        score_choices(lm, [prompt], [options], length_norm="tokens")
    # With the sentence's text after the value, each choice is scored together with it, cut as in training:
    # "AA+" then "." is the tokens of " AA+.", not those of " AA+" and "."
    suffixed = score_choices(lm, [prompt], [["AA+", "AA"]], suffixes=["."])[0]
    for option, score in zip(["AA+", "AA"], suffixed, strict=True):
        cont = lm.tokenizer(" " + option + ".", add_special_tokens=False)["input_ids"]
        expected = token_logprobs(lm, [context + cont], [len(context)])[0].sum()
        assert score == pytest.approx(expected, abs=1e-4)
    # per character of what was scored, the suffix too: by the choice's own characters alone, the shared
    # suffix's log-prob weighed more on the shorter choice
    per_char = score_choices(lm, [prompt], [["AA+", "AA"]], length_norm="chars", suffixes=["."])[0]
    assert per_char == pytest.approx([suffixed[0] / 4, suffixed[1] / 3], abs=1e-4)


def test_a_prompt_too_long_for_the_model_keeps_one_context_for_all_its_choices(month_run: Path) -> None:
    lm = load_lm(month_run, device="cpu")
    prompt = " ".join(["the economy of india and the history of the world"] * 40)  # far over max_len tokens
    options = ["a", "the united states of america and the people of the river"]
    scores = score_choices(lm, [prompt], [options])[0]
    ids = [lm.tokenizer(" " + o, add_special_tokens=False)["input_ids"] for o in options]
    room = lm.max_len - len(lm.context) - max(map(len, ids))
    context = lm.context + lm.tokenizer(prompt, add_special_tokens=False)["input_ids"][-room:]
    for cont, score in zip(ids, scores, strict=True):
        expected = token_logprobs(lm, [context + cont], [len(context)])[0].sum()
        assert score == pytest.approx(expected, abs=1e-4)


def test_calibration_subtracts_the_swapped_subjects_and_keeps_the_last_as_baseline(month_run: Path) -> None:
    from trainers.longtail import calibrated_scores

    lm = load_lm(month_run, device="cpu")
    prompts = ["the economy of", "history of the"]
    swaps = [["the music of", "the people of", "the river of"], []]
    choices = [["india", "france", "brazil"], ["world", "city"]]
    calibrated, baseline, raw = calibrated_scores(lm, prompts, swaps, choices)
    plain = score_choices(lm, prompts + swaps[0], [choices[0], choices[1], *[choices[0]] * 3])
    assert raw[0] == pytest.approx(plain[0]) and raw[1] == pytest.approx(plain[1])
    prior = np.mean([plain[2], plain[3]], axis=0)  # all swapped prompts but the last calibrate
    assert calibrated[0] == pytest.approx((np.array(plain[0]) - prior).tolist())
    assert baseline[0] == pytest.approx((np.array(plain[4]) - prior).tolist())
    assert calibrated[1] == pytest.approx(plain[1]) and baseline[1] is None  # no swaps: raw, no baseline


def test_longtail_summary_ranks_only_buckets_with_enough_probes() -> None:
    from trainers.longtail import longtail_summary

    counts = [0] * 60 + [1] * 40 + [2] * 40 + [4] * 5
    correct = [i % 5 == 0 for i in range(60)] + [i % 3 == 0 for i in range(40)] + [True] * 30 + [False] * 10
    correct += [False] * 5
    buckets = accuracy_by_bucket(counts, correct, 2, [0.2] * len(counts))
    summary = longtail_summary(buckets, counts, correct)
    assert summary["buckets_in_rank_correlation"] == 3  # the 5-probe bucket is left out
    assert summary["bucket_rank_correlation"] == pytest.approx(1.0)
    assert summary["zero_exposure_at_chance"] and summary["accuracy"] == pytest.approx(56 / 145)


def test_a_probe_into_an_earlier_probes_folder_leaves_none_of_its_results(
    fact_run, month_run: Path, versions_file: Path, tmp_path: Path
) -> None:
    """--overwrite with the cutoff probe alone left the earlier long-tail files beside the new probe.json."""
    run, probes = fact_run
    facts = tmp_path / "facts.parquet"
    pq.write_table(pa.Table.from_pylist(probes), facts)
    out = tmp_path / "probe"
    run_probes(run, out, facts=facts)
    assert (out / "longtail.csv").exists() and (out / "longtail_probes.csv").exists()
    # what callers put beside the results (a pipeline's marker, the audit's prediction) is theirs: kept
    (out / "_complete.json").write_text('{"fingerprint": "f"}')
    (out / "prediction.json").write_text('{"month": "2020-04"}')
    result = run_probes(month_run, out, versions=versions_file, newest_month="2020-04", k_tokens=10_000)
    cutoff_files = [
        "probe.json",
        "cutoff_curve.csv",
        "cutoff_resources.csv",
        "version_nll.parquet",
        "cutoff.png",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*cutoff_files, "_complete.json", "prediction.json"]
    )
    assert (out / "prediction.json").read_text() == '{"month": "2020-04"}'
    assert json.loads((out / "probe.json").read_text())["cutoff"]["effective_cutoff"] == "2020-04"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["facts.parquet", "probe"]  # no staging folder left
    # the tokens scored at most, as far as the model's context reaches, not the 10,000 asked for
    lm = load_lm(month_run, device="cpu")
    assert result["cutoff"]["k_tokens"] == lm.max_len - len(lm.context) < 10_000


def test_facts_without_exposure_fail_before_any_scoring(
    fact_run, versions_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exposure check came after the whole cutoff probe had been scored, and left its files behind."""
    run, probes = fact_run
    facts = tmp_path / "facts.parquet"
    pq.write_table(pa.Table.from_pylist([{**p, "n_train_docs": None} for p in probes]), facts)
    with pytest.raises(ValueError, match="n_train_docs is not filled in"):
        run_probes(run, tmp_path / "probe", versions=versions_file, facts=facts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["facts.parquet"]  # nor an empty output folder


def test_a_failed_probe_leaves_the_earlier_results_and_no_new_folder(
    fact_run, versions_file: Path, tmp_path: Path
) -> None:
    """`probe --overwrite` with probes that were no fact probes deleted the earlier results before finding
    out, and a failed probe into a new folder left it behind, empty."""
    run, probes = fact_run
    facts = tmp_path / "facts.parquet"
    pq.write_table(pa.Table.from_pylist(probes), facts)
    out = tmp_path / "probe"
    run_probes(run, out, facts=facts)
    (out / "prediction.json").write_text("{}")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(before) == 5  # probe.json, longtail.csv, longtail.png, longtail_probes.csv, prediction.json
    no_facts = tmp_path / "truth.parquet"  # a table of the world's truth, not of its fact probes
    pq.write_table(pa.table({"fact_id": ["f0"], "subject": ["s"], "value": ["v"]}), no_facts)
    no_text = tmp_path / "versions.parquet"  # found wrong only once the model is loaded and output staged
    pq.write_table(pq.read_table(versions_file).drop_columns(["text"]), no_text)
    for versions, facts_path, error in (
        (None, no_facts, "column 'prompt' missing"),
        (no_text, None, "'text'"),
    ):
        with pytest.raises(ValueError, match=error):
            run_probes(run, out, versions=versions, facts=facts_path)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        with pytest.raises(ValueError, match=error):
            run_probes(run, tmp_path / "new" / "deeper" / "probe", versions=versions, facts=facts_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "facts.parquet",
        "probe",
        "truth.parquet",
        "versions.parquet",
    ]
    with pytest.raises(FileNotFoundError, match=r"no config\.json"):  # not a model: nothing touched either
        run_probes(tmp_path, tmp_path / "new", facts=facts)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(("asked", "fact_batch"), [(1, 4), (16, 64), (32, 64), (128, 128)])
def test_the_fact_probes_batch_follows_the_batch_asked_for(
    fact_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asked: int, fact_batch: int
) -> None:
    """--batch-size 1 still scored 64 choices a batch: a smaller batch did not lower the memory used."""
    import trainers.probes

    run, probes = fact_run
    facts = tmp_path / "facts.parquet"
    pq.write_table(pa.Table.from_pylist(probes[:4]), facts)
    seen: list[int] = []
    real = trainers.probes.calibrated_scores

    def recording(*args, **kwargs):
        seen.append(args[4])
        return real(*args, **kwargs)

    monkeypatch.setattr(trainers.probes, "calibrated_scores", recording)
    run_probes(run, tmp_path / "probe", facts=facts, batch_size=asked)
    assert seen == [fact_batch]


def test_probes_outside_a_world_ask_for_the_world(fact_run, tmp_path: Path) -> None:
    """Probes copied out of their world guessed its parent as the world and failed with a bare
    'truth/documents.parquet'."""
    run, probes = fact_run
    facts = tmp_path / "probes" / "facts.parquet"
    facts.parent.mkdir()
    pq.write_table(pa.Table.from_pylist([{**p, "n_train_docs": None} for p in probes]), facts)
    with pytest.raises(ValueError, match=r"is no world to count it from .*pass --world"):
        run_probes(run, tmp_path / "out", facts=facts, mixture_dir=run, world_dir=tmp_path)


def test_an_existing_probe_output_is_staged_inside_itself(tmp_path: Path) -> None:
    """What makes the move safe across file systems, checked wherever the test runs: an existing output's
    results are written inside it (a mount point or a link to another disk takes no rename from its
    parent's), and a new output's beside it, renamed whole."""
    from trainers.probe_output import staged_output

    names = ["probe.json", "cutoff_curve.csv"]
    existing = tmp_path / "probe"
    existing.mkdir()
    (existing / "probe.json").write_text("old")
    with staged_output(existing, names) as staging:
        assert staging.parent == existing and staging.name.startswith(".probe-")
        (staging / "probe.json").write_text("new")
    assert [p.name for p in existing.iterdir()] == ["probe.json"] and (
        existing / "probe.json"
    ).read_text() == "new"
    fresh = tmp_path / "fresh"
    with staged_output(fresh, names) as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".fresh.probe-")
        (staging / "probe.json").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "probe"]


def test_a_probe_output_on_another_file_system_takes_its_results(tmp_path: Path) -> None:
    """An output that is a link to another disk (or a mount point) could not take a rename from its parent's
    disk: the old probe.json was deleted, the new results were stranded in a hidden folder, exit 1."""
    import os
    import tempfile

    from trainers.probe_output import staged_output

    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    with tempfile.TemporaryDirectory(dir=shm) as elsewhere:
        (Path(elsewhere) / "probe.json").write_text("old")
        (Path(elsewhere) / "cutoff_curve.csv").write_text("old")
        (tmp_path / "probe").symlink_to(elsewhere)
        with staged_output(tmp_path / "probe", ["probe.json", "cutoff_curve.csv", "longtail.csv"]) as staging:
            (staging / "probe.json").write_text("new")
            (staging / "cutoff_curve.csv").write_text("new")
        kept = sorted(p.name for p in Path(elsewhere).iterdir())
        assert kept == ["cutoff_curve.csv", "probe.json"], kept  # no hidden folder left either
        assert {(Path(elsewhere) / n).read_text() for n in kept} == {"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe"]
