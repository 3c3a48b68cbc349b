"""The evaluation helpers, and accuracy floors on the held-out (odd) lines of eld's labelled test file, read
where the eld wheel installs it (never copied here)."""

import math
from collections import Counter
from pathlib import Path

import pytest

from mixers.langid import LangIdConfig, identify
from mixers.langid_evaluate import (
    accuracy,
    eld_test_file,
    group_confusion,
    half,
    is_right,
    paired_comparison,
    read_eld,
    read_sentence_folder,
    serbian_latin,
    with_serbian_latin,
)

ELD = eld_test_file()
needs_eld = pytest.mark.skipif(ELD is None, reason="eld not installed: `pip install -e '.[eval]'`")


def test_read_eld_splits_on_newlines_only(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_text("ms\tSatu\u2028dua.\nhr\tJedan.\nms\tTiga.\n", encoding="utf-8")
    assert read_eld(path) == {"ms": ["Satu\u2028dua.", "Tiga."], "hr": ["Jedan."]}
    path.write_text("ms\tSatu.\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"t.txt:2: no tab"):
        read_eld(path)


def test_serbian_latin_transliterates_letter_by_letter():
    assert serbian_latin("Џеј Љубић из Ниша, ђак 2. разреда.") == "Džej Ljubić iz Niša, đak 2. razreda."
    data = with_serbian_latin({"sr": ["Београд"], "hr": ["Zagreb"]})
    assert data["sr-Latn"] == ["Beograd"] and is_right("sr-Latn", "sr")
    assert with_serbian_latin({"hr": ["Zagreb"]}) == {"hr": ["Zagreb"]}


def test_sentence_folder_halves_and_scoring(tmp_path: Path):
    (tmp_path / "ms.txt").write_text("a\nb\nc\n", encoding="utf-8")
    data = read_sentence_folder(tmp_path)
    assert half(data, 0) == {"ms": ["a", "c"]} and half(data, 1) == {"ms": ["b"]}
    with pytest.raises(FileNotFoundError, match=r"no <code>\.txt"):
        read_sentence_folder(tmp_path / "none")
    # eld's `no` is Norwegian as a whole: Bokmål and Nynorsk both count; elsewhere only the label itself.
    assert is_right("no", "nn") and is_right("no", "nb") and not is_right("no", "da")
    assert not is_right("nb", "no")
    truth = {"ms": ["x"] * 4, "no": ["y"] * 2}
    predicted = {"ms": ["ms", "id", "ms", "en"], "no": ["nn", "nb"]}
    assert accuracy(truth, predicted) == {"ms": 0.5, "no": 1.0}
    confusion = group_confusion(predicted)
    assert confusion["malay"] == {"ms": Counter({"ms": 2, "id": 1, "other": 1})}
    assert confusion["scandinavian"] == {"no": Counter({"nn": 1, "nb": 1})}
    assert "czech-slovak" not in confusion


def test_mean_over_lingua_sentences_does_not_drop(data_dir):
    """Odd lines of lingua's sentences, all 75 languages: the issue's mean (95.8% before the tie-breaks, over
    the languages lid.176 knows) holds, and the ensemble is far above fastText alone."""
    odd = half(read_sentence_folder(data_dir / "langid" / "sentences"), 1)
    ours = accuracy(odd, {lang: [d.lang for d in identify(lines)] for lang, lines in odd.items()})
    assert sum(ours.values()) / len(ours) >= 0.95
    fasttext = {lang: identify(lines, LangIdConfig(second_opinion=False)) for lang, lines in odd.items()}
    alone = accuracy(odd, {lang: [d.lang for d in ds] for lang, ds in fasttext.items()})
    assert sum(ours.values()) / len(ours) >= sum(alone.values()) / len(alone) + 0.1


@needs_eld
def test_eld_held_out_floors():
    """Odd lines of eld's file: Malay >= 85% is the issue's bar (bench/langid_eval.py measures ~95%);
    fastText alone gives most Malay to Indonesian."""
    assert ELD is not None
    odd = half(read_eld(ELD), 1)
    assert all(len(odd[lang]) == 500 for lang in ("ms", "hr", "sr"))
    floors = {"ms": 0.90, "hr": 0.86, "sr": 0.98}
    for lang, floor in floors.items():
        ours = sum(d.lang == lang for d in identify(odd[lang])) / len(odd[lang])
        assert ours >= floor, (lang, ours)
    alone = identify(odd["ms"], LangIdConfig(second_opinion=False))
    assert sum(d.lang == "ms" for d in alone) / 500 < 0.5


def test_paired_comparison_counts_discordant_sentences_and_tests_them_exactly():
    from scipy.stats import binomtest  # the reference for the exact McNemar p-value

    ours = ["id"] * 42 + ["ms"] * 8
    theirs = ["id"] * 38 + ["ms"] * 4 + ["id"] * 6 + ["ms"] * 2  # 4 right only in ours, 6 only in theirs
    compared = paired_comparison("id", ours, theirs)
    assert (compared.n, compared.only_ours, compared.only_theirs) == (50, 4, 6)
    assert compared.difference == -2 / 50
    assert compared.p_value == pytest.approx(binomtest(4, 10, 0.5).pvalue)
    # Agresti-Min: 1/2 added to each cell, n + 2
    centre, variance = (4.5 - 6.5) / 52, (11 - (4.5 - 6.5) ** 2 / 52) / 52**2
    half_width = 1.959964 * math.sqrt(variance)
    assert (compared.low, compared.high) == pytest.approx((centre - half_width, centre + half_width))
    # few discordant sentences: the interval agrees with the exact test (4 vs 0: p = 0.125, 0 inside)
    lopsided = paired_comparison("id", ["id"] * 4 + ["ms"] * 46, ["ms"] * 50)
    assert lopsided.p_value == pytest.approx(0.125) and lopsided.low < 0 < lopsided.high
    same = paired_comparison("hr", ["hr", "bs"], ["hr", "bs"])
    assert same.p_value == 1.0 and same.difference == 0.0 and same.low < 0 < same.high
    assert paired_comparison("hr", ["hr"] * 9, ["bs"] * 9).p_value == pytest.approx(
        binomtest(9, 9, 0.5).pvalue
    )
    # a baseline that knows the language not at all: the interval of a difference of proportions stops at 1
    known = paired_comparison("x", ["x"] * 50, ["y"] * 50)
    assert known.difference == 1.0 and known.high == 1.0 and 0.85 < known.low < 1.0
    with pytest.raises(ValueError, match="same non-empty sentences"):
        paired_comparison("hr", ["hr"], [])
