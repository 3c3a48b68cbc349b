"""How far can any shipped language identifier go on the confusable pairs? An oracle ceiling.

For each language of a confusable group (Malay/Indonesian, Bosnian/Croatian/Serbian, Bokmål/Nynorsk/Danish),
asks four independent identifiers, each restricted to the group where it allows it: fastText lid.176 (the
model chronomix uses), lingua (high accuracy), CLD2 (`pycld2`) and langid.py (`langid`). Prints each one's
accuracy, the share of sentences that *all four* give to the same other language, and the oracle ceiling:
the share on which *at least one* is right. No fusion of these identifiers can beat the oracle, so a
language whose oracle is under the issue's 80% cannot reach it without a model trained for that pair.

    pip install pycld2 langid   # optional: the identifiers that are not chronomix dependencies
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

SHARED = ROOT.parent / "shared" / "data" / "langid" / "sentences"
LOCAL = ROOT / "tests" / "data" / "langid" / "sentences"
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
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    identifier.set_languages([{"nb": "no"}.get(code, code) for code in group])
    return [ALIASES.get(code, code) for code, _ in map(identifier.classify, lines)]


def available() -> dict[str, Identifier]:
    identifiers: dict[str, Identifier] = {"lid.176": fasttext_lid176, "lingua": lingua_high_accuracy}
    for name, module, function in (("CLD2", "pycld2", cld2), ("langid.py", "langid", langid_py)):
        try:
            __import__(module)
        except ImportError:
            print(f"({name}: `pip install {module}` to include it)")
            continue
        identifiers[name] = function
    return identifiers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=Path, default=SHARED if SHARED.is_dir() else LOCAL)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
