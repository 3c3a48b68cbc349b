"""Scoring language identification against labelled sentences: the two labelled sets, their halves, each
detector of the ensemble alone, per-language accuracy and the confusion within close groups.

The labelled sets are third-party data and stay where they are installed; nothing here copies them:
- lingua's test sentences (Apache-2.0, from the lingua project's test data; 100 sentences for each of its 75
  languages) in ../shared/data/langid/sentences, one `<code>.txt` per language;
- eld's `big-test.txt` (Apache-2.0, by Nito T.M., shipped inside the `eld` 1.0.x wheel at
  `eld/tests/data/big-test.txt`; 1000 sentences for each of 60 languages, as `<code>\\t<sentence>` lines).
  It labels Norwegian `no` (Bokmål and Nynorsk both occur), so `nb`, `nn` and `no` all count as right there.

Neither set has Serbian in Latin script, so `with_serbian_latin` derives it: the Serbian sentences
transliterated letter by letter (the two Serbian alphabets correspond one to one), labelled `sr-Latn`.

Halves are by line parity within each language: the even lines (half 0) chose every tuned value, the odd lines
(half 1) are the held-out report.
"""

from __future__ import annotations

import importlib.util
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mixers.langcodes import normalise_code
from mixers.langid import LangIdConfig, default_model_path, identify, load_fasttext, predict_top_k
from mixers.langid_groups import CLOSE_GROUPS

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
Labelled = dict[str, list[str]]  # language code -> sentences
Detector = Callable[[list[str]], list[str]]  # sentences -> record codes
# Truth labels that name a macrolanguage, and the predictions that count as right for them.
ACCEPTED: dict[str, frozenset[str]] = {"no": frozenset({"no", "nb", "nn"}), "sr-Latn": frozenset({"sr"})}
_CYRILLIC = "абвгдђежзијклљмнњопрстћуфхцчџш"
_LATIN = [
    "a",
    "b",
    "v",
    "g",
    "d",
    "đ",
    "e",
    "ž",
    "z",
    "i",
    "j",
    "k",
    "l",
    "lj",
    "m",
    "n",
    "nj",
    "o",
    "p",
    "r",
    "s",
    "t",
    "ć",
    "u",
    "f",
    "h",
    "c",
    "č",
    "dž",
    "š",
]
SERBIAN_LATIN: dict[str, str] = {
    **dict(zip(_CYRILLIC, _LATIN, strict=True)),
    **{c.upper(): lat.capitalize() for c, lat in zip(_CYRILLIC, _LATIN, strict=True)},
}


def serbian_latin(text: str) -> str:
    """Serbian Cyrillic `text` in Serbian Latin script (other characters unchanged)."""
    return "".join(SERBIAN_LATIN.get(ch, ch) for ch in text)


def with_serbian_latin(data: Labelled) -> Labelled:
    """`data` plus `sr-Latn`: its Serbian sentences transliterated to Latin script (unchanged without `sr`)."""
    if "sr" not in data:
        return data
    return {**data, "sr-Latn": [serbian_latin(t) for t in data["sr"]]}


def eld_test_file() -> Path | None:
    """eld's big-test.txt inside the installed `eld` wheel, or None where eld (or the file) is absent."""
    spec = importlib.util.find_spec("eld")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "tests" / "data" / "big-test.txt"
    return path if path.is_file() else None


def read_eld(path: Path) -> Labelled:
    """`<code>\\t<sentence>` lines grouped by code. Lines are split on `\\n` only: some sentences hold other
    Unicode line separators. Raises ValueError naming the first line without a tab."""
    data: Labelled = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").strip().split("\n"), start=1):
        code, tab, sentence = line.partition("\t")
        if not tab:
            raise ValueError(f"{path}:{number}: no tab between label and sentence")
        data.setdefault(code, []).append(sentence)
    return data


def read_sentence_folder(folder: Path) -> Labelled:
    """One `<code>.txt` per language, a sentence per line (lingua's test sentences)."""
    data = {p.stem: p.read_text(encoding="utf-8").splitlines() for p in sorted(folder.glob("*.txt"))}
    if not data:
        raise FileNotFoundError(f"{folder}: no <code>.txt sentence files")
    return data


def half(data: Labelled, which: int) -> Labelled:
    """Every language's even (0) or odd (1) lines."""
    return {lang: lines[which::2] for lang, lines in data.items()}


def is_right(truth: str, predicted: str) -> bool:
    return predicted == truth or predicted in ACCEPTED.get(truth, ())


def accuracy(truth: Labelled, predicted: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Share of each language's sentences predicted right, in [0, 1]."""
    return {
        lang: sum(is_right(lang, p) for p in predicted[lang]) / len(lines)
        for lang, lines in truth.items()
        if lines
    }


@dataclass(frozen=True)
class PairedComparison:
    """Two detectors on the same sentences of one language. `difference` is ours minus theirs in accuracy, as
    a fraction of the sentences (0.02 = 2 percentage points), with a 95% interval for a paired difference of
    proportions (Agresti-Min: Wald after adding 1/2 to each of the four right/wrong cells, which keeps it
    honest with few discordant sentences); `p_value` is the exact two-sided McNemar test (a binomial test of
    `only_ours` among the sentences exactly one detector gets right)."""

    n: int
    only_ours: int  # sentences only our detector gets right
    only_theirs: int
    difference: float
    low: float
    high: float
    p_value: float


def paired_comparison(truth: str, ours: Sequence[str], theirs: Sequence[str]) -> PairedComparison:
    """How two detectors' predictions for the same sentences of language `truth` differ, with its spread: on
    50 sentences a language one sentence is 2 points, so a shortfall of a few sentences may be noise."""
    if len(ours) != len(theirs) or not ours:
        raise ValueError(
            f"paired comparison needs the same non-empty sentences: {len(ours)} vs {len(theirs)}"
        )
    n = len(ours)
    right = [(is_right(truth, a), is_right(truth, b)) for a, b in zip(ours, theirs, strict=True)]
    b = sum(1 for a_ok, b_ok in right if a_ok and not b_ok)
    c = sum(1 for a_ok, b_ok in right if b_ok and not a_ok)
    b_adj, c_adj, n_adj = b + 0.5, c + 0.5, n + 2
    centre = (b_adj - c_adj) / n_adj
    half_width = Z95 * math.sqrt((b_adj + c_adj) - (b_adj - c_adj) ** 2 / n_adj) / n_adj
    discordant = b + c
    # exact rather than McNemar's chi-square: the discordant counts are a handful of sentences
    tail = sum(math.comb(discordant, k) for k in range(min(b, c) + 1)) / 2**discordant if discordant else 1.0
    low, high = max(-1.0, centre - half_width), min(1.0, centre + half_width)  # a difference of proportions
    return PairedComparison(n, b, c, (b - c) / n, low, high, min(1.0, 2 * tail))


def group_confusion(predicted: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Counter[str]]]:
    """For each close group, the predictions for each labelled language of the group (a member, or a
    macrolanguage label like eld's `no`) counted by member, `other` for the rest."""
    out: dict[str, dict[str, Counter[str]]] = {}
    for group in CLOSE_GROUPS:
        labelled = [
            lang
            for lang in predicted
            if lang in group.members or ACCEPTED.get(lang, set()) & set(group.members)
        ]
        out[group.name] = {
            lang: Counter(p if p in group.members else "other" for p in predicted[lang]) for lang in labelled
        }
    return {name: rows for name, rows in out.items() if rows}


def predict(data: Labelled, detector: Detector) -> dict[str, list[str]]:
    """`detector` run over every language's sentences."""
    return {lang: detector(lines) for lang, lines in data.items()}


def ensemble(config: LangIdConfig = LangIdConfig()) -> Detector:
    return lambda lines: [d.lang for d in identify(lines, config)]


def _bokmal(code: str) -> str:
    # lid.176, CLD2 and langid.py label Bokmål `no` (each has Nynorsk `nn` apart).
    return "nb" if code == "no" else code


def fasttext_alone(lines: list[str]) -> list[str]:
    model = load_fasttext(default_model_path())
    cleaned = [" ".join(line.split()) for line in lines]
    return [_bokmal(top[0][0]) if top else "und" for top in predict_top_k(model, cleaned, 1)]


def lingua_alone(lines: list[str]) -> list[str]:
    from mixers.langid import lingua_detector

    found = lingua_detector(None).detect_languages_in_parallel_of(lines)
    return [lang.iso_code_639_1.name.lower() if lang else "und" for lang in found]


def cld2_alone(lines: list[str]) -> list[str]:
    import pycld2

    out = []
    for line in lines:
        try:
            code = pycld2.detect(line, bestEffort=True)[2][0][1]
        except pycld2.error:
            code = "un"
        out.append("und" if code == "un" else _bokmal(normalise_code(code)))
    return out


def py3langid_alone(lines: list[str]) -> list[str]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return [_bokmal(identifier.classify(line)[0]) for line in lines]


BASELINES: dict[str, Detector] = {
    "fasttext": fasttext_alone,
    "lingua": lingua_alone,
    "cld2": cld2_alone,
    "py3langid": py3langid_alone,
}
