"""Languages lingua does not know: what each `lingua_unknown` policy (mixers/langid.py) does to them, and what
it costs on the languages it does know.

lingua, the second opinion for texts fastText is unsure of, knows 75 of lid.176's 176 languages. Asked over an
unsure text's candidates, it can only vote for those it knows, and the policy says what its vote is for the
others (Aragonese, Galician, Kurdish, Javanese, ...). Three measures, per policy, in one run:

1. **Cost**: accuracy on the two labelled sets as they are (mixers/langid_evaluate.py), whose languages lingua
   knows (but for eld's am, kn, ku, lo, ml, no and or), as the mean over all of a set's languages.
2. **Hidden languages**: each Latin-script language of a set that lid.176 knows and no close group holds is
   hidden in turn from lingua and CLD2 (their vocabularies lose it: lingua is never asked about it, CLD2
   never names it), and its sentences are identified: how the ensemble fares on a language only fastText
   knows, measured on real labelled sentences. The mean over those languages. It flatters every policy that
   lets such a language win: a CLD2 that lacked the language would name a neighbour where this one names
   nothing or its second choice.
3. **Written by hand**: 30 sentences in 10 languages lid.176 knows and lingua does not
   (tests/mixers/small_languages.py), right of 30; the same 30 for either half. CLD2 cannot detect two of
   them (Asturian, Aragonese): the honest check of what a neighbour-naming CLD2 does.

`--half 0` scores the even lines (where a policy is chosen), `--half 1` the odd lines (the held-out report).

    python bench/langid_unknown.py [--half 1] [--sentences DIR] [--eld FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mixers.langid as langid  # noqa: E402
from mixers.langcodes import normalise_code  # noqa: E402
from mixers.langid_evaluate import (  # noqa: E402
    Labelled,
    eld_test_file,
    half,
    is_right,
    read_eld,
    read_sentence_folder,
)
from mixers.langid_groups import CLOSE_GROUPS  # noqa: E402
from tests.mixers.small_languages import SMALL_LANGUAGES  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "langid" / "sentences"
GROUPED = frozenset(m for g in CLOSE_GROUPS for m in g.members)


def fasttext_labels() -> frozenset[str]:
    """The record codes of the languages lid.176 can name: every label of a full prediction (k = -1) over
    texts in several scripts (a label whose probability rounds to 0 on one text shows on another)."""
    model = langid.load_fasttext(langid.default_model_path())
    texts = ["hello world", "привет мир", "مرحبا بالعالم", "你好世界", "नमस्ते दुनिया", "γεια σου κόσμε"]
    return frozenset(normalise_code(label) for text in texts for label in model.predict(text, k=-1)[0])


@contextmanager
def hidden(lang: str) -> Iterator[None]:
    """lingua and CLD2 without `lang`: lingua is never asked about it, CLD2 never names it."""
    saved = langid.lingua_codes, langid.cld2_languages, langid.cld2_detectable
    known, named, detectable = langid.lingua_codes(), langid.cld2_languages, langid.cld2_detectable()
    langid.lingua_codes = lambda: known - {lang}
    langid.cld2_languages = lambda text: [c for c in named(text) if c != lang]
    langid.cld2_detectable = lambda: detectable - {lang}
    try:
        yield
    finally:
        langid.lingua_codes, langid.cld2_languages, langid.cld2_detectable = saved


def right(lang: str, lines: list[str], config: langid.LangIdConfig) -> float:
    """The share of `lines` (all in `lang`) identified as `lang`."""
    return sum(is_right(lang, d.lang) for d in langid.identify(lines, config)) / len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", type=int, choices=(0, 1), default=1)
    parser.add_argument("--sentences", type=Path, default=SHARED)
    parser.add_argument("--eld", type=Path, default=eld_test_file())
    parser.add_argument("--cld2-weights", default="0.25,0.5,1", help="cld2_votes rows, one per weight")
    args = parser.parse_args()
    if not args.sentences.is_dir():
        sys.exit(
            f"langid_unknown: {args.sentences} is absent (lingua's labelled sentences; see ../shared/data/README.md)"
        )
    if args.eld is None:
        sys.exit("eld's test file not found: pip install 'eld>=1.0.6,<2' or pass --eld")
    sets: dict[str, Labelled] = {
        "lingua": half(read_sentence_folder(args.sentences), args.half),
        "eld": half(read_eld(args.eld), args.half),
    }
    labels = fasttext_labels()
    hideable = {
        name: sorted(
            lang
            for lang, lines in data.items()
            if lang in langid.lingua_codes()
            and lang in labels
            and lang not in GROUPED
            and sum(map(langid.latin_share, lines)) / len(lines) >= 0.8
        )
        for name, data in sets.items()
    }
    small = [(lang, line) for lang, lines in SMALL_LANGUAGES.items() for line in lines]
    print(
        f"{'even' if args.half == 0 else 'odd'} lines; hidden languages: "
        + "; ".join(f"{name} {len(langs)} ({' '.join(langs)})" for name, langs in hideable.items())
    )
    print("| policy | lingua set, mean | eld set, mean | lingua set, hidden | eld set, hidden | by hand |")
    print("|---|---|---|---|---|---|")
    configs = [langid.LangIdConfig(lingua_unknown=p) for p in langid.UNKNOWN_POLICIES if p != "cld2_votes"]
    configs += [
        langid.LangIdConfig(lingua_unknown="cld2_votes", cld2_weight=float(w))
        for w in args.cld2_weights.split(",")
    ]
    decisions: dict[tuple[str, str, str], list[str]] = {}
    by_hand_undetectable: dict[str, tuple[int, int]] = {}
    for config in configs:
        policy = config.lingua_unknown + (
            f" {config.cld2_weight:g}" if config.lingua_unknown == "cld2_votes" else ""
        )
        cells = []
        for name, data in sets.items():
            scores = []
            for lang, lines in data.items():
                found = [d.lang for d in langid.identify(lines, config)]
                decisions[(policy, name, lang)] = found
                scores.append(sum(is_right(lang, f) for f in found) / len(lines))
            cells.append(sum(scores) / len(scores))
        for name, data in sets.items():
            scores = []
            for lang in hideable[name]:
                with hidden(lang):
                    scores.append(right(lang, data[lang], config))
            cells.append(sum(scores) / len(scores))
        decided = langid.identify([line for _, line in small], config)
        by_hand = sum(is_right(lang, d.lang) for (lang, _), d in zip(small, decided, strict=True))
        undetectable = [
            is_right(lang, d.lang)
            for (lang, _), d in zip(small, decided, strict=True)
            if lang in {"ast", "an"}
        ]
        by_hand_undetectable[policy] = (sum(undetectable), len(undetectable))
        print(
            f"| {policy} | " + " | ".join(f"{100 * c:.1f}%" for c in cells) + f" | {by_hand}/{len(small)} |"
        )
    default = langid.LangIdConfig()
    chosen = f"{default.lingua_unknown} {default.cld2_weight:g}"
    if chosen in by_hand_undetectable:
        right_, total = by_hand_undetectable[chosen]
        print(f"{chosen}, by hand, the languages CLD2 cannot detect (ast, an): {right_} of {total} right")
        for name, data in sets.items():
            print(
                f"{chosen} against rule_out on the {name} set as it is: "
                + lost_and_won(decisions, chosen, name, data)
            )
    print(f"(load average {os.getloadavg()[0]:.1f} at the end)")


def lost_and_won(
    decisions: dict[tuple[str, str, str], list[str]], policy: str, name: str, data: Labelled
) -> str:
    """The sentences `policy` gets wrong where rule_out got them right, by (true -> found) language, and the
    count of the reverse."""
    lost: dict[tuple[str, str], int] = {}
    won = 0
    for lang in data:
        for new, old in zip(
            decisions[(policy, name, lang)], decisions[("rule_out", name, lang)], strict=True
        ):
            if is_right(lang, old) and not is_right(lang, new):
                lost[(lang, new)] = lost.get((lang, new), 0) + 1
            won += is_right(lang, new) and not is_right(lang, old)
    pairs = sorted(lost.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(f"{lang}->{found} {n} (of {len(data[lang])})" for (lang, found), n in pairs)
    return f"{sum(lost.values())} sentences lost ({listed or 'none'}), {won} won"


if __name__ == "__main__":
    main()
