"""Strings from the data shown with their unprintable characters as escapes."""

from __future__ import annotations

from analysis.visible_text import visible


def test_control_characters_and_bidi_overrides_are_written_as_escapes() -> None:
    assert visible("CC\x1b]0;PWNED\x07") == "CC\\x1b]0;PWNED\\x07"
    assert visible("a\x00b\x7fc\x9fd") == "a\\x00b\\x7fc\\x9fd"
    assert visible("evil\u202etxt.exe\u2066") == "evil\\u202etxt.exe\\u2066"


def test_printable_text_is_unchanged_whatever_its_script() -> None:
    for text in ("CC-MAIN-2024-22", "café 日本 Ελληνικά", "tab\tis\tnot", "[/] $x^{$"):
        expected = text.replace("\t", "\\t")
        assert visible(text) == expected
    assert visible(2024) == "2024"
