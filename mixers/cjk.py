"""Han and kana as character-class bodies (for Python's `re` and pyarrow's RE2 alike): one definition for
the token counts (mixers.tokens) and the script rule (mixers.langid_script)."""

# hiragana and katakana letters, small and half-width forms included
KANA = "\u3041-\u3096\u30a1-\u30fa\u31f0-\u31ff\uff66-\uff6f\uff71-\uff9d"
# the kana blocks' marks: voicing and iteration marks, the middle dot, the prolonged sound mark (ー), which
# write no language alone
KANA_MARKS = "\u3040\u3097-\u30a0\u30fb-\u30ff\uff70\uff9e\uff9f"
PROLONGED_SOUND_MARKS = "\u30fc\uff70"
# Han ideographs (the unified blocks, extension A, compatibility ideographs, the supplementary planes) and
# the iteration and number marks 々 and 〇
HAN = "\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# their punctuation (。、「」！ and the other full-width marks)
CJK_PUNCTUATION = "\u3000-\u3004\u3008-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
