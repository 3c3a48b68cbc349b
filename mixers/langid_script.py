"""Languages that a text's script settles, whatever the detectors say.

Kana (hiragana and katakana) is written by Japanese alone. On the lingua sentences, detectors still named
other languages for kana text: fastText's n-grams of a short sentence read one as Macedonian (`mk`, a
Cyrillic-script language), and another as Chinese at 0.93. A text whose letters are mostly Han and kana,
a quarter or more of them kana, is Japanese: Japanese prose is mostly kana. Less kana is left to the
detectors: a Chinese text may write a Japanese name in katakana (索尼（ソニー）), and a Japanese headline may be
written in kanji with a particle or two.
"""

from __future__ import annotations

import re

from mixers.cjk import HAN, KANA, PROLONGED_SOUND_MARKS

JAPANESE = "ja"
SCRIPT = "script"  # lang_detector where the script decided
_KANA = re.compile(f"[{KANA}]")
_HAN_OR_KANA = re.compile(f"[{HAN}{KANA}{PROLONGED_SOUND_MARKS}]")
MIN_KANA = 2
MIN_KANA_SHARE = 0.25  # of the letters


def japanese_share(text: str) -> float | None:
    """Where `text` is Japanese by its script (at least MIN_KANA kana and MIN_KANA_SHARE of its letters,
    and Han and kana at least half of them): the share of its letters that are Han or kana, its score;
    None elsewhere."""
    kana = 0 if text.isascii() else len(_KANA.findall(text))
    if kana < MIN_KANA:
        return None
    letters = sum(map(str.isalpha, text))
    share = len(_HAN_OR_KANA.findall(text)) / letters
    return share if share >= 0.5 and kana >= MIN_KANA_SHARE * letters else None
