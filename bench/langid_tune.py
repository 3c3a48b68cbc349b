"""Choose the close-group tie-break (detector weights, per-language biases) on the even lines only.

For every close group (mixers/langid_groups.py), the even lines of each labelled language of the group, from
lingua's sentences and from eld's test file (and their Serbian transliterated to Latin script), are put to every detector restricted to the group once; then a
grid of weights and biases is scored in NumPy. The objective is the mean accuracy over (set, language), less
10x every point by which a labelled language (not the derived `sr-Latn`) falls under the best single detector on it (each detector alone, over all
its languages, on the same even lines): the issue's bar, applied where choosing is allowed. The odd lines are
never read here; bench/langid_eval.py reports them.

Then, per group, whether the bar can be met at all by a tie-break of this form: `--draws` random points of the
whole family (every detector's weight in [0, 2], a fifth of them 0; the group's bias in [-2, 4]) are scored on
the same even lines, and the best *worst margin* (the least, over the group's labelled languages, of the
tie-break's accuracy less the best single detector's) is printed. For two members the family is every
linear rule on the detectors' log-probability differences, so a negative best margin says that no weighing of
these detectors meets the bar on every language even on the lines it was chosen on.

    python bench/langid_tune.py [--sentences DIR] [--eld FILE] [--draws 20000]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mixers.langid import default_model_path, load_fasttext, normalise_prefix, predict_top_k  # noqa: E402
from mixers.langid_evaluate import (  # noqa: E402
    ACCEPTED,
    BASELINES,
    Labelled,
    accuracy,
    eld_test_file,
    half,
    is_right,
    read_eld,
    read_sentence_folder,
    with_serbian_latin,
)
from mixers.langid_groups import (  # noqa: E402
    CLOSE_GROUPS,
    FASTTEXT,
    SECOND_OPINIONS,
    CloseGroup,
    cyrillic_share,
    group_votes,
)

SHARED = ROOT.parent / "shared" / "data" / "langid" / "sentences"
DETECTORS = (FASTTEXT, *SECOND_OPINIONS)
WEIGHT_GRID = (
    (0.0, 0.25, 0.5, 1.0),  # fasttext
    (0.0, 0.5, 1.0),  # lingua
    (0.0, 0.25, 0.5, 1.0),  # cld2
    (0.0, 0.25, 0.5, 1.0),  # py3langid
)
# One bias per group, for the language that the detectors under-call there (none for the rest).
BIASED: dict[str, tuple[str, ...]] = {
    "malay": ("ms",),
    "south-slavic-latin": ("bs",),
    "scandinavian": ("nb",),
    "slavic-cyrillic": ("sr",),
}
BIAS_GRID = tuple(np.arange(-1.0, 3.01, 0.25))
PENALTY = 10.0  # objective points lost per point of accuracy under the best single detector
# Derived sets (Serbian transliterated to Latin) count in the mean only: no labelled text backs a bar there.
DERIVED = ("sr-Latn",)
EPS = 1e-3

Case = tuple[str, str, np.ndarray]  # (set, language, log votes [detector, sentence, member])


def log_votes(lines: list[str], members: tuple[str, ...]) -> np.ndarray:
    """[detector, sentence, member] log(p + ε); 0 where the detector abstained."""
    model = load_fasttext(default_model_path())
    cleaned = [normalise_prefix(t, 1000) for t in lines]
    votes = group_votes(cleaned, predict_top_k(model, cleaned, 10), members)
    out = np.zeros((len(DETECTORS), len(lines), len(members)))
    for i, row in enumerate(votes):
        for d, name in enumerate(DETECTORS):
            probs = row[name]
            if probs is not None:
                out[d, i] = [np.log(probs.get(c, 0.0) + EPS) for c in members]
    return out


def group_cases(group: CloseGroup, sets: dict[str, Labelled]) -> list[Case]:
    """The group's labelled languages in each set, only the sentences in the group's script (the others
    never reach this group)."""
    cases = []
    for name, data in sets.items():
        for lang, lines in data.items():
            if lang in group.members or ACCEPTED.get(lang, frozenset()) & set(group.members):
                scripted = [t for t in lines if (cyrillic_share(t) >= 0.5) == (group.script == "Cyrl")]
                if scripted:
                    cases.append((name, lang, log_votes(scripted, group.members)))
    return cases


def accuracies(
    cases: list[Case], members: tuple[str, ...], weights: np.ndarray, bias: np.ndarray
) -> list[float]:
    out = []
    for _, lang, logp in cases:
        winners = (np.tensordot(weights, logp, axes=1) + bias).argmax(axis=1)
        out.append(float(np.array([is_right(lang, c) for c in members])[winners].mean()))
    return out


def tune(group: CloseGroup, cases: list[Case], best_single: dict[tuple[str, str], float]) -> tuple:
    """The (objective, weights, biases) that scores best; ties go to the first in grid order."""
    biased = BIASED.get(group.name, ())
    best = None
    for weights in itertools.product(*WEIGHT_GRID):
        if weights[1] == 0 and weights[2] == 0 and weights[3] == 0:
            continue  # fastText alone is no tie-break
        for values in itertools.product(BIAS_GRID, repeat=len(biased)):
            chosen = dict(zip(biased, values, strict=True))
            bias = np.array([chosen.get(c, 0.0) for c in group.members])
            accs = accuracies(cases, group.members, np.array(weights), bias)
            short = sum(
                max(0.0, best_single[(s, lang)] - a)
                for (s, lang, _), a in zip(cases, accs, strict=True)
                if lang not in DERIVED
            )
            objective = float(np.mean(accs)) - PENALTY * short
            if best is None or objective > best[0] + 1e-12:
                best = (objective, weights, {c: float(v) for c, v in chosen.items()})
    assert best is not None
    return best


def best_worst_margin(
    group: CloseGroup, cases: list[Case], best_single: dict[tuple[str, str], float], draws: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """The largest worst margin (accuracy less the best single detector's, least over the group's labelled
    languages) over `draws` random tie-breaks of the family (module doc), with its weights and biases."""
    rng = np.random.default_rng(0)
    labelled = [case for case in cases if case[1] not in DERIVED]
    biased = BIASED.get(group.name, ())
    best = (-np.inf, np.zeros(len(DETECTORS)), np.zeros(len(group.members)))
    for _ in range(draws):
        weights = rng.uniform(0.0, 2.0, len(DETECTORS)) * (rng.random(len(DETECTORS)) >= 0.2)
        if not weights[1:].any():
            continue
        bias = np.array([rng.uniform(-2.0, 4.0) if c in biased else 0.0 for c in group.members])
        accs = accuracies(labelled, group.members, weights, bias)
        margin = min(a - best_single[(s, lang)] for (s, lang, _), a in zip(labelled, accs, strict=True))
        if margin > best[0]:
            best = (margin, weights, bias)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=Path, default=SHARED)
    parser.add_argument("--eld", type=Path, default=eld_test_file())
    parser.add_argument("--draws", type=int, default=20_000, help="random tie-breaks per group for the bound")
    args = parser.parse_args()
    if not args.sentences.is_dir():
        sys.exit(
            f"langid_tune: {args.sentences} is absent (lingua's labelled sentences; see ../shared/data/README.md)"
        )
    if args.eld is None:
        sys.exit("eld's test file not found: pip install 'eld>=1.0.6,<2' or pass --eld")
    sets = {
        "lingua": half(with_serbian_latin(read_sentence_folder(args.sentences)), 0),
        "eld": half(with_serbian_latin(read_eld(args.eld)), 0),
    }
    best_single: dict[tuple[str, str], float] = {}
    for name, data in sets.items():
        subset = {
            lang: data[lang]
            for lang in data
            if any(lang in g.members or lang in ACCEPTED for g in CLOSE_GROUPS)
        }
        for detector in BASELINES.values():
            for lang, acc in accuracy(subset, {k: detector(v) for k, v in subset.items()}).items():
                best_single[(name, lang)] = max(best_single.get((name, lang), 0.0), acc)
    print(f"even lines only; best single detector per language from {', '.join(BASELINES)} alone")
    print(f"{'group':20s} {'set':7s} {'lang':5s} {'tie-break':>9s} {'best single':>11s}")
    for group in CLOSE_GROUPS:
        cases = group_cases(group, sets)
        objective, weights, chosen = tune(group, cases, best_single)
        bias = np.array([chosen.get(c, 0.0) for c in group.members])
        for (name, lang, _), acc in zip(
            cases, accuracies(cases, group.members, np.array(weights), bias), strict=True
        ):
            print(f"{group.name:20s} {name:7s} {lang:5s} {acc:9.1%} {best_single[(name, lang)]:11.1%}")
        named = ", ".join(f"{d}: {w}" for d, w in zip(DETECTORS, weights, strict=True))
        print(f"  -> {group.name}: weights {{{named}}}, bias {chosen}, objective {objective:.4f}")
        margin, weights, bias = best_worst_margin(group, cases, best_single, args.draws)
        named = ", ".join(f"{d}: {w:.2f}" for d, w in zip(DETECTORS, weights, strict=True))
        biases = {c: round(float(b), 2) for c, b in zip(group.members, bias, strict=True) if b}
        verdict = "the bar can be met" if margin >= 0 else "no tie-break of the family meets the bar"
        print(
            f"  -> best worst margin over {args.draws} random tie-breaks: {100 * margin:+.1f} points"
            f" ({verdict}; weights {{{named}}}, bias {biases})"
        )


if __name__ == "__main__":
    main()
