"""Where the language-id ensemble spends its time, and what fewer fastText candidates would save and cost.

#22 asks the ensemble to run at >= 0.5 of fastText alone inside Spark; on lingua's test sentences it stays
under that (bench/langid_eval.py). This finds where the extra time goes, in one process, one core:
- per part: each named function of mixers/langid.py and mixers/langid_groups.py timed while `identify` runs
  over all the sentences (wrapped, so the parts include their own Python; µs per sentence, best of `--runs`);
- the control, fastText alone (`second_opinion=False`), in the same run;
- fastText's top-k (the candidates lingua is asked about) cut from 10 to 5, 3 and 2: time and accuracy on the
  even lines of both labelled sets (the lines tie-breaks are chosen on; the odd ones stay held out).

    python bench/langid_profile.py [--sentences DIR] [--runs 3]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mixers.langid as langid  # noqa: E402
import mixers.langid_groups as groups  # noqa: E402
from mixers.langid_evaluate import (  # noqa: E402
    accuracy,
    eld_test_file,
    ensemble,
    half,
    predict,
    read_eld,
    read_sentence_folder,
)

SHARED = ROOT.parent / "shared" / "data" / "langid" / "sentences"
PARTS = {
    langid: (
        "predict_top_k",
        "_first_pass",
        "cld2_languages",
        "_lingua_among",
        "_fuse_unsure",
        "decide_group",
    ),
    groups: ("lingua_in_group", "cld2_in_group", "py3langid_in_group", "fuse"),
}


def timed_parts(spent: dict[str, float]) -> list[tuple[object, str, object]]:
    """Wrap every function of PARTS so that its time adds up in `spent` (module globals: the callers look
    them up at call time); returns what to put back."""
    originals = [(module, name, getattr(module, name)) for module, names in PARTS.items() for name in names]
    for module, names in PARTS.items():
        for name in names:
            original = getattr(module, name)

            @functools.wraps(original)
            def wrapper(*args, _f=original, _n=name, **kwargs):
                started = time.perf_counter()
                try:
                    return _f(*args, **kwargs)
                finally:
                    spent[_n] += time.perf_counter() - started

            setattr(module, name, wrapper)
    return originals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=Path, default=SHARED)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not args.sentences.is_dir():
        sys.exit(
            f"langid_profile: {args.sentences} is absent (lingua's sentences; see ../shared/data/README.md)"
        )
    lingua_set = read_sentence_folder(args.sentences)
    texts = [t for lines in lingua_set.values() for t in lines]
    alone = langid.LangIdConfig(second_opinion=False)
    langid.identify(texts)  # lingua loads each language's models on first use
    best_alone = min(_seconds(lambda: langid.identify(texts, alone)) for _ in range(args.runs))
    spent: dict[str, float] = defaultdict(float)
    originals = timed_parts(spent)
    rounds = []
    for _ in range(args.runs):
        spent.clear()
        total = _seconds(lambda: langid.identify(texts))
        rounds.append((total, dict(spent)))
    total, parts = min(rounds, key=lambda r: r[0])
    for module, name, original in originals:  # the top-k runs below are timed without the wrappers
        setattr(module, name, original)
    per = 1e6 / len(texts)
    print(f"lingua's sentences: {len(texts)}; µs per sentence, best of {args.runs} runs, one process")
    print(f"  fastText alone (second_opinion off)  {best_alone * per:7.1f}")
    print(f"  ensemble                             {total * per:7.1f}   (ratio {best_alone / total:.2f})")
    for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"    {name:<34} {seconds * per:7.1f}")
    print(
        "  (parts nest: decide_group holds the four *_in_group and fuse times; fuse is also inside _fuse_unsure)"
    )
    print(
        "\nfastText's top-k, even lines (tie-breaks are chosen on these): seconds, mean accuracy over the set"
    )
    sets = {"lingua": lingua_set}
    if (eld := eld_test_file()) is not None:
        sets["eld"] = read_eld(eld)
    for name, data in sets.items():
        even = half(data, 0)
        for k in (10, 5, 3, 2):
            detector = ensemble(langid.LangIdConfig(top_k=k))
            seconds = min(_seconds(lambda d=detector, e=even: predict(e, d)) for _ in range(args.runs))
            scores = accuracy(even, predict(even, detector))
            mean = sum(scores.values()) / len(scores)
            print(f"  {name:<7} top_k {k:>2}  {seconds:6.2f} s  mean {mean:.4f}")


def _seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
