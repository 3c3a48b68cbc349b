"""How far can any shipped language identifier go on the confusable pairs? An oracle ceiling.

For each language of a confusable group (Malay/Indonesian, Bosnian/Croatian/Serbian, Bokmål/Nynorsk/Danish),
asks four independent identifiers, each restricted to the group where it allows it: fastText lid.176 (the
model chronomix uses), lingua (high accuracy), CLD2 (`pycld2`) and langid.py (`py3langid`). Prints each one's
accuracy, the share of sentences that *all four* give to the same other language, and the oracle ceiling:
the share on which *at least one* is right. No fusion of these identifiers can beat the oracle, so a
language whose oracle is under the issue's 80% cannot reach it without a model trained for that pair.

Then a label audit of the Malay and Indonesian files: how many sentences use words or spellings that are
standard in only one of the two languages (mixers/standard_markers.py: Indonesian karena/uang/bagian/yaitu
against Malaysian kerana/wang/bahagian/iaitu, ...). A file whose sentences carry the other language's markers as often as
that language's own file does holds text of the other language, and no correct identifier can score above
the share of sentences without them.

    python bench/langid_ceiling.py [--sentences DIR]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mixers.langid import default_model_path, load_fasttext, predict_top_k  # noqa: E402
from mixers.standard_markers import INDONESIAN, MALAY, marker_count  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "langid" / "sentences"
GROUPS = (("ms", "id"), ("bs", "hr", "sr"), ("nb", "nn", "da"))
# lid.176, CLD2 and langid.py say `no` for Norwegian Bokmål.
ALIASES = {"no": "nb", "sh": "hr"}

Identifier = Callable[[list[str], tuple[str, ...]], list[str]]


def fasttext_lid176(lines: list[str], group: tuple[str, ...]) -> list[str]:
    model = load_fasttext(default_model_path())
    out = []
    for top in predict_top_k(model, lines, 50):
        in_group = [code for code, _ in top if ALIASES.get(code, code) in group]
        out.append(ALIASES.get(in_group[0], in_group[0]) if in_group else top[0][0])
    return out


def lingua_high_accuracy(lines: list[str], group: tuple[str, ...]) -> list[str]:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in group]
    detector = LanguageDetectorBuilder.from_languages(*languages).build()
    found = detector.detect_languages_in_parallel_of(lines)
    return [lang.iso_code_639_1.name.lower() if lang else "und" for lang in found]


def cld2(lines: list[str], group: tuple[str, ...]) -> list[str]:
    import pycld2

    out = []
    for line in lines:
        try:
            code = pycld2.detect(line, bestEffort=True)[2][0][1]
        except pycld2.error:
            code = "und"
        out.append(ALIASES.get(code, code))
    return out


def langid_py(lines: list[str], group: tuple[str, ...]) -> list[str]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([{"nb": "no"}.get(code, code) for code in group])
    return [ALIASES.get(code, code) for code, _ in map(identifier.classify, lines)]


def available() -> dict[str, Identifier]:
    return {"lid.176": fasttext_lid176, "lingua": lingua_high_accuracy, "CLD2": cld2, "langid.py": langid_py}


def label_audit(folder: Path) -> None:
    """Sentences of the ms and id files with only-Indonesian markers, only-Malay markers, or neither."""
    print("\nlabel audit: sentences with markers of one language only")
    print(f"{'file':5s} {'Indonesian':>10s} {'Malay':>6s} {'both':>5s} {'neither':>8s}")
    for lang in ("ms", "id"):
        lines = (folder / f"{lang}.txt").read_text().splitlines()
        marks = [(marker_count(t, INDONESIAN) > 0, marker_count(t, MALAY) > 0) for t in lines]
        print(
            f"{lang:5s} {sum(i and not m for i, m in marks):>10d} {sum(m and not i for i, m in marks):>6d} "
            f"{sum(i and m for i, m in marks):>5d} {sum(not i and not m for i, m in marks):>8d}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=Path, default=SHARED)
    args = parser.parse_args()
    if not args.sentences.is_dir():
        sys.exit(
            f"langid_ceiling: {args.sentences} is absent (lingua's labelled sentences; see ../shared/data/README.md)"
        )
    identifiers = available()
    names = list(identifiers)
    print(f"{'lang':5s} " + " ".join(f"{n:>9s}" for n in names) + f" {'all wrong alike':>16s} {'oracle':>7s}")
    for group in GROUPS:
        for lang in group:
            lines = (args.sentences / f"{lang}.txt").read_text().splitlines()
            answers = {name: identify(lines, group) for name, identify in identifiers.items()}
            per_line = list(zip(*answers.values(), strict=True))
            accuracy = {name: sum(a == lang for a in answers[name]) / len(lines) for name in names}
            alike = sum(len(set(row)) == 1 and row[0] != lang for row in per_line) / len(lines)
            oracle = sum(lang in row for row in per_line) / len(lines)
            print(
                f"{lang:5s} "
                + " ".join(f"{accuracy[n]:9.0%}" for n in names)
                + f" {alike:16.0%} {oracle:7.0%}"
            )
    label_audit(args.sentences)


if __name__ == "__main__":
    main()
