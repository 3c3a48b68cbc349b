"""Looking for a leak in one long-tail run: which relations answer facts the training data never stated above
chance, and whether a rule on the training text alone would.

For every relation, over the run's 0-exposure fact probes (n_train_docs 0 in `probe/longtail_probes.csv`):
the model's calibrated accuracy (as the probe scored it) and its raw accuracy (log-likelihood alone, scored
again here), chance (the mean of 1 / candidates), and three model-free rules that see only the training
mixture: the candidate that co-occurs with the subject in the most documents, the candidate most frequent in
the whole mixture, and the rarest; and `stated`, the probes whose subject and answer share a sentence of the
mixture all the same (a fact the exposure count missed). A rule above chance names a cue the model could use
without the fact; the model above chance with every rule at chance and nothing stated points into the model.

    python bench/longtail_leaks.py RUN_DIR [--world WORLD_DIR] [--mixture MIXTURE_DIR] [--no-model]

RUN_DIR is an experiment run (`runs/<world>/<run>`, holding `probe/` and `run.json`); the fact probes and
the mixture default to what its probe.json and run.json name.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainers.shards import list_shards  # noqa: E402


def _value_pattern(value: str) -> re.Pattern[str]:
    # a value as a whole token: "A" is not inside "AA+" or "Anna"
    return re.compile(r"(?<![\w+\-])" + re.escape(value) + r"(?![\w+\-])")


def _pick(scores: list[float], best: str, rng: np.random.Generator) -> int:
    top = max(scores) if best == "max" else min(scores)
    tied = [i for i, s in enumerate(scores) if s == top]
    return tied[int(rng.integers(len(tied)))]


def rule_accuracies(probes: pd.DataFrame, texts: list[str], seed: int = 0) -> pd.DataFrame:
    """Per relation: n, chance and the accuracy of the three model-free rules (ties broken at random)."""
    rng = np.random.default_rng(seed)
    mixture = "\n".join(texts)
    frequency: dict[str, int] = {}
    by_subject: dict[str, list[str]] = {s: [] for s in set(probes.subject)}
    for text in texts:
        for subject in by_subject:
            if subject in text:
                by_subject[subject].append(text)
    rows = []
    for relation, group in probes.groupby("relation"):
        co, common, rare, chance, stated = [], [], [], [], 0
        for probe in group.itertuples():
            candidates = [probe.answer, *probe.distractors]
            # the subject, then the answer later in the same sentence (every template's order)
            sentence = re.compile(
                re.escape(probe.subject) + r"[^.;\n]*?" + _value_pattern(probe.answer).pattern
            )
            stated += any(sentence.search(t) for t in by_subject[probe.subject])
            for value in candidates:
                if value not in frequency:
                    frequency[value] = len(_value_pattern(value).findall(mixture))
            together = [
                sum(bool(_value_pattern(v).search(t)) for t in by_subject[probe.subject]) for v in candidates
            ]
            overall = [frequency[v] for v in candidates]
            co.append(_pick(together, "max", rng) == 0)
            common.append(_pick(overall, "max", rng) == 0)
            rare.append(_pick(overall, "min", rng) == 0)
            chance.append(1 / len(candidates))
        rows.append(
            {
                "relation": relation,
                "n": len(group),
                "chance": np.mean(chance),
                "co-occurs": np.mean(co),
                "commonest": np.mean(common),
                "rarest": np.mean(rare),
                "model": group.correct.mean(),
                "stated": stated,
            }
        )
    return pd.DataFrame(rows)


def raw_accuracies(run: Path, probes: pd.DataFrame, batch_size: int = 32) -> dict[str, float]:
    """Per relation, the share of probes whose answer has the highest raw log-likelihood (no calibration)."""
    from trainers.longtail import score_choices
    from trainers.scoring import load_lm

    lm = load_lm(run, "cpu")
    choices = [[p.answer, *p.distractors] for p in probes.itertuples()]
    raw = score_choices(lm, list(probes.prompt), choices, batch_size, "none", list(probes.answer_suffix))
    right = pd.Series([s[0] > max(s[1:]) for s in raw], index=probes.index)
    return right.groupby(probes.relation).mean().to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--world", type=Path, default=None)
    parser.add_argument("--mixture", type=Path, default=None)
    parser.add_argument("--no-model", action="store_true", help="skip the raw scoring (loads the model)")
    args = parser.parse_args()
    probe = json.loads((args.run / "probe" / "probe.json").read_text())
    facts_path = Path(probe["longtail"]["facts"])
    if args.world is not None:
        facts_path = args.world / "probes" / "facts.parquet"
    mixture = args.mixture or Path(json.loads((args.run / "run.json").read_text())["mixture"])
    scored = pd.read_csv(args.run / "probe" / "longtail_probes.csv")
    facts = pq.read_table(facts_path).to_pandas()
    probes = scored.merge(facts, on="probe_id", suffixes=("", "_fact"))
    unseen = probes[probes.n_train_docs == 0]
    texts = [
        t
        for shard in list_shards(mixture)
        for t in pq.read_table(shard, columns=["text"])["text"].to_pylist()
    ]
    table = rule_accuracies(unseen, texts)
    if not args.no_model:
        table["raw"] = table.relation.map(raw_accuracies(args.run, unseen))
    table["model z"] = (table.model - table.chance) / np.sqrt(table.chance * (1 - table.chance) / table.n)
    print(f"{args.run}: {len(unseen)} facts at 0 exposure, {len(texts)} mixture documents")
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
