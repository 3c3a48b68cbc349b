"""The tiny world's probes checked against its truth and WARC files: fact-mention counts and the probe
frequencies filled from them, the temporal, fact and reference probes, and the sentence text after a fact's
value."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime

import numpy as np
import pyarrow.parquet as pq
import pytest
from resiliparse.extract.html2text import extract_plain_text

from corpus.schema import validate
from tests.world.helpers import valid_in
from world import count_fact_mentions, fill_probe_frequencies
from world.entities import staff_transition_probability
from world.probes import SWAP_SUBJECTS


def test_fact_frequencies_follow_popularity_and_span_the_long_tail(world_dir, truth) -> None:
    counts = count_fact_mentions([r["id"] for r in truth], world_dir)
    values = np.array(list(counts.values()))
    assert values.min() == 0 and (values == 1).sum() > 100 and values.max() >= 100
    # The static facts of the most popular entity are stated far more often than those of the least.
    by_subject = defaultdict(int)
    for fact_id, n in counts.items():
        if fact_id.endswith("/founded/0"):
            by_subject[fact_id.split("/")[0]] = n
    ranked = sorted(by_subject.values())
    assert ranked[-1] > 5 * max(1, ranked[len(ranked) // 2])


def test_count_fact_mentions_counts_repeats_and_ignores_foreign_ids(world_dir, truth, facts) -> None:
    sample = [truth[0]["id"], truth[0]["id"], truth[5]["id"], "not-a-world-id"]
    counts = count_fact_mentions(sample, world_dir)
    stated: Counter[tuple[str, str, str]] = Counter()  # exposure is per (subject, relation, value)
    for rid in sample[:3]:
        for fact_id in next(r for r in truth if r["id"] == rid)["fact_ids"]:
            stated[tuple(facts[fact_id][c] for c in ("subject", "relation", "value"))] += 1
    expected = {
        fact_id: stated[(f["subject"], f["relation"], f["value"])]
        for fact_id, f in facts.items()
        if stated[(f["subject"], f["relation"], f["value"])]
    }
    assert {k: v for k, v in counts.items() if v} == expected
    probes = world_dir / "probes" / "facts.parquet"
    filled = fill_probe_frequencies(probes, counts)
    assert filled.column("n_train_docs").null_count == 0
    by_fact = dict(
        zip(filled.column("fact_id").to_pylist(), filled.column("n_train_docs").to_pylist(), strict=True)
    )
    assert all(by_fact[f] == n for f, n in expected.items() if f in by_fact)
    with pytest.raises(ValueError, match="fact-probe table"):
        fill_probe_frequencies(world_dir / "truth" / "facts.parquet", counts)


def test_a_value_held_twice_is_exposure_to_both_facts(world_dir, truth, facts) -> None:
    counts = count_fact_mentions([r["id"] for r in truth], world_dir)
    by_triple = defaultdict(list)
    for fact_id, f in facts.items():
        by_triple[(f["subject"], f["relation"], f["value"])].append(fact_id)
    repeated = [ids for ids in by_triple.values() if len(ids) > 1]
    assert repeated  # leaders come back, staff numbers return to an earlier count
    assert all(len({counts[i] for i in ids}) == 1 for ids in repeated)


def test_temporal_probes_are_a_valid_document_batch(world_dir) -> None:
    table = pq.read_table(world_dir / "probes" / "temporal.parquet")
    validate(table)
    row = table.slice(0, 1).to_pylist()[0]
    assert row["id"] == f"probe:{row['resource']}:{row['month']}" and row["source"] == "world-reference"
    assert row["created"] == datetime(2016, 1, 1, tzinfo=UTC)


def test_fact_probes_prompt_answer_and_distractors(world_dir, facts) -> None:
    probes = pq.read_table(world_dir / "probes" / "facts.parquet").to_pylist()
    # The tiny preset samples 5000 facts; the few whose relation has no value left to offer are not probed,
    # and the world's summary counts them under that reason.
    assert 4900 <= len(probes) <= 5000
    summary = json.loads((world_dir / "summary.json").read_text())
    assert summary["facts_unprobed"] == {
        "sampled_out": summary["facts"] - 5000,
        "no_distractor": 5000 - len(probes),
    }
    held: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in facts.values():
        held[(f["subject"], f["relation"])].add(f["value"])
    subjects = {f["subject"] for f in facts.values()}
    for probe in probes:
        fact = facts[probe["fact_id"]]
        assert probe["answer"] == fact["value"] and probe["subject"] in probe["prompt"]
        tail = probe["prompt"].split(probe["subject"])[-1]
        assert not re.search(rf"(?<!\w){re.escape(probe['answer'])}(?!\w)", tail), (
            probe["prompt"],
            probe["answer"],
        )
        distractors = probe["distractors"]
        assert 1 <= len(distractors) <= 4 and len(set(distractors)) == len(distractors)
        # No distractor is a value the subject ever held: never an earlier or later true answer.
        assert not set(distractors) & held[(probe["subject"], probe["relation"])]
        assert probe["n_train_docs"] is None
        assert valid_in(fact, probe["month"])
        # The same prompt about (up to) SWAP_SUBJECTS other subjects, none of which held any candidate.
        assert (
            2 <= len(probe["swap_prompts"]) <= SWAP_SUBJECTS and probe["prompt"] not in probe["swap_prompts"]
        )
        # The text after the value in the fact's sentence: its punctuation, or the next word with its space.
        assert re.fullmatch(r"[^\s\w]+|\s+\S+|", probe["answer_suffix"]), probe["answer_suffix"]
        candidates = {probe["answer"], *distractors}
        for swapped in probe["swap_prompts"]:
            words = set(re.findall(r"\w+", swapped)) - set(re.findall(r"\w+", probe["prompt"]))
            (other,) = words & subjects
            assert not held[(other, probe["relation"])] & candidates
    assert sum(len(p["distractors"]) == 4 for p in probes) > 0.9 * len(probes)
    assert sum(len(p["swap_prompts"]) == SWAP_SUBJECTS for p in probes) > 0.9 * len(probes)


def test_staff_number_distractors_are_drawn_given_both_neighbouring_values(world_dir, facts) -> None:
    # A later staff count is the earlier one times 0.75-1.3, rounded to tens. Distractors are drawn given the
    # earlier and the later count, so "the candidate closest to a neighbouring count" is no better than
    # chance, for either neighbour, and every candidate could have led to the later count.
    probes = pq.read_table(world_dir / "probes" / "facts.parquet").to_pylist()
    closest_hits: Counter[str] = Counter()
    total = 0
    for probe in probes:
        if probe["relation"] != "employees":
            continue
        base, k = probe["fact_id"].rsplit("/", 1)
        neighbours = {
            side: int(facts[f"{base}/{j}"]["value"])
            for side, j in (("earlier", int(k) - 1), ("later", int(k) + 1))
            if f"{base}/{j}" in facts
        }
        candidates = [probe["answer"], *probe["distractors"]]
        if "earlier" in neighbours:
            for value in candidates:
                assert 0.74 * neighbours["earlier"] - 10 <= int(value) <= 1.31 * neighbours["earlier"] + 10
        if "later" in neighbours:
            for value in candidates:
                assert staff_transition_probability(int(value), neighbours["later"]) > 0, (value, neighbours)
        for side, neighbour in neighbours.items():
            closest = min(candidates, key=lambda v: abs(int(v) - neighbour))
            closest_hits[side] += closest == probe["answer"]
            closest_hits[side + " probes"] += 1
        total += 1
    assert total > 300 and closest_hits["later probes"] > 300 and closest_hits["earlier probes"] > 300
    for side in ("earlier", "later"):
        assert closest_hits[side] / closest_hits[side + " probes"] < 0.3, closest_hits  # chance is 0.2-0.25


def test_prompt_plus_answer_occurs_on_the_resource_page(world_dir, records, truth) -> None:
    probes = {p["fact_id"]: p for p in pq.read_table(world_dir / "probes" / "facts.parquet").to_pylist()}
    checked = 0
    for row in truth:
        if row["kind"] != "fresh":
            continue
        text = extract_plain_text(records[row["id"]]["html"], main_content=True)
        for fact_id in row["fact_ids"]:
            if fact_id not in probes:  # not in the sample of probed facts
                continue
            probe = probes[fact_id]
            assert f"{probe['prompt']} {probe['answer']}" in text, (probe["prompt"], text)
            checked += 1
    assert checked > 1000


def test_the_dating_reference_is_disjoint_from_the_probed_resources(world_dir) -> None:
    probed = set(pq.read_table(world_dir / "probes" / "temporal.parquet").column("resource").to_pylist())
    reference = pq.read_table(world_dir / "probes" / "reference.parquet")
    validate(reference)
    assert len(probed) == 200 and len(set(reference.column("resource").to_pylist())) == 40
    assert not probed & set(reference.column("resource").to_pylist())


def test_fact_suffix_is_the_sentence_after_the_value() -> None:
    from world.entities import Fact
    from world.render import fact_sentence, fact_suffix
    from world.templates import FACT_TEMPLATES

    languages = list(FACT_TEMPLATES)
    for relation, value in (("rating", "AA+"), ("employees", "1200"), ("headquarters", "Velora")):
        for index, lang in itertools.product(range(12), languages):
            fact = Fact(f"Kamito/{relation}/{index}", "Kamito", relation, value, 0, None, 0)
            sentence = fact_sentence(fact, lang, 2019)
            suffix = fact_suffix(fact, lang)
            assert f"{value}{suffix}" in sentence
            after = sentence.split(value, 1)[1]
            assert after.startswith(suffix) and (suffix.strip() or after == suffix == "")
