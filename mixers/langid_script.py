"""Languages that a text's script settles, whatever the detectors say.

Kana (hiragana and katakana) is written by Japanese alone. On the lingua sentences, detectors still named
other languages for kana text: fastText's n-grams of a short sentence read one as Macedonian (`mk`, a
Cyrillic-script language), and another as Chinese at 0.93. A text whose letters are mostly Han and kana,
with kana among them, is Japanese. Han without kana is left to the detectors: a Japanese headline may be
written in kanji alone.
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
MIN_KANA = 2  # one kana in a Chinese text can be a quoted name


def japanese_share(text: str) -> float | None:
    """Where `text` is Japanese by its script (at least MIN_KANA kana, and Han and kana at least half its
    letters): the share of its letters that are Han or kana, its score; None elsewhere."""
    if text.isascii() or len(_KANA.findall(text)) < MIN_KANA:
        return None
    letters = sum(map(str.isalpha, text))
    share = len(_HAN_OR_KANA.findall(text)) / letters if letters else 0.0
    return share if share >= 0.5 else None
