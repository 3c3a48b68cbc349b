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

JAPANESE = "ja"
SCRIPT = "script"  # lang_detector where the script decided
# hiragana and katakana letters (the prolonged sound mark U+30FC and the middle dot U+30FB are no evidence:
# Chinese text uses neither, but they are not letters that only Japanese writes either)
_KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa\u31f0-\u31ff\uff66-\uff6f\uff71-\uff9d]")
_HAN_OR_KANA = re.compile(
    "[\u3005\u3041-\u3096\u30a1-\u30fa\u30fc\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9d\U00020000-\U0002fa1f]"
)
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
