"""A mixture's total stays at or under its budget: the carried rounding of the cells' thresholds
(mixers.sampling.thresholds_with_carry) takes whole documents up to each cell's carried need, never past it.
Rounded to the nearest document language by language, a weighted `redistribute: global` mixture of 3,000
tokens came out 3,003."""

from __future__ import annotations

import random

from mixers.sampling import doc_key, key_bin, thresholds_with_carry


def taken_tokens(thresholds, docs) -> dict[tuple[str, str], int]:
    return {c: sum(t for k, t in docs[c] if k < threshold) for c, threshold in thresholds.items()}


def test_two_languages_each_nearer_a_document_above_stay_under_their_sum():
    """Each language wants 5 tokens of 7-token documents: to the nearest document each took one, 14 tokens
    for a target of 10. In one chain the first falls short and the second takes its document: 7."""
    boundaries, docs = {}, {}
    for lang in ("de", "en"):
        key = doc_key(1, lang)
        boundaries[(lang, "2020")] = (key_bin(key), 5.0)
        docs[(lang, "2020")] = [(key, 7)]
    taken = taken_tokens(thresholds_with_carry(boundaries, docs), docs)
    assert taken == {("de", "2020"): 0, ("en", "2020"): 7}


def test_random_cells_stay_at_or_under_their_total_within_a_document():
    """Many languages and buckets of documents of 1..60 tokens: the total is at or under the cells' needs
    and short by less than the longest document; each language and cell within one document of its own."""
    rng = random.Random(5)
    for trial in range(40):
        boundaries, docs, needs = {}, {}, {}
        for lang in [f"l{i}" for i in range(rng.randint(1, 12))]:
            for year in range(2018, 2018 + rng.randint(1, 6)):
                cell = (lang, str(year))
                bin_index = rng.randrange(1024)
                base = bin_index << 53
                keys = sorted(rng.sample(range(base, base + (1 << 53)), rng.randint(1, 25)))
                docs[cell] = [(k, rng.randint(1, 60)) for k in keys]
                needs[cell] = rng.uniform(0, sum(t for _, t in docs[cell]))
                boundaries[cell] = (bin_index, float(round(needs[cell])))
        taken = taken_tokens(thresholds_with_carry(boundaries, docs), docs)
        longest = max(t for cell in docs.values() for _, t in cell)
        need = sum(b for _, b in boundaries.values())
        assert need - longest < sum(taken.values()) <= need, trial
        for lang in {c[0] for c in docs}:
            mine = [c for c in docs if c[0] == lang]
            error = sum(taken[c] for c in mine) - sum(boundaries[c][1] for c in mine)
            assert abs(error) < longest, (trial, lang)
        assert all(abs(taken[c] - boundaries[c][1]) < longest for c in docs), trial
