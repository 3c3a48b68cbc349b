"""search_page with RE2 scans against htmldate's own search_page, the reference: every pattern's matches on
strings drawn to tell the two engines apart, and the date on every real sample page and on hand-made ones."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from htmldate import core, extractors

from corpus.html_text import parse_html
from dating.html_meta import MAX_HTML_CHARS
from dating.html_search import page_string
from dating.page_scans_re2 import (
    MAX_NEAR_MISSES,
    Prefiltered,
    idiosyncrasies_date,
    regex_parse,
    search_page,
    superset,
    timestamp_date,
    translate,
    utf8,
)
from tests.dating.helpers import EXTENSIVE, sample_pages

TRANSLATED = [
    core.COPYRIGHT_PATTERN,
    *core.THREE_COMP_PATTERNS,
    core.SELECT_YMD_PATTERN,
    core.DATESTRINGS_PATTERN,
    core.SLASHES_PATTERN,
    core.YYYYMM_PATTERN,
    core.MMYYYY_PATTERN,
]
# What the patterns read between digit groups, and what Python's Unicode-aware \D sees and RE2's ASCII \D
# would not: Arabic-Indic and full-width digits, letters outside ASCII (a lone surrogate has its own test).
OTHER = ["\n", "٣", "７", "é", "©", "&copy;", "Copyright", "(c)", "x", "March ", "w3.org", "of ", "th"]
# and for the patterns that read month names: words, glued words, case, Turkish and German months, spaces
# that only Python's \s knows, and the long s that folds to "s"
WORDS = [
    "March",
    "MARCH",
    "SmithMarch",
    "mars",
    "Ocak",
    "Mai",
    "März",
    "of",
    "ſt",
    "Th",
    "xyz",
    "_",
    "ı",
    "İ",
]
SPACES = [" ", " ", " ", "\u00a0", "\u2009", "\x1c", "\v", ", ", ". "]


def _digits(rng: random.Random) -> str:
    low, high, width = rng.choice([(1985, 2035, 4), (0, 39, 2), (0, 12, 1), (19891201, 20350131, 8)])
    return f"{rng.randint(low, high):0{width}d}"


def _drawn(rng: random.Random, length: int) -> str:
    """Digit groups (years, days, months, eight-digit dates), each followed by a separator or other text."""
    parts, usual = [], rng.choice("/.-")  # one separator most of the time, as in a written date
    for _ in range(length):
        parts.append(_digits(rng))
        draw = rng.random()
        parts.append(usual if draw < 0.6 else rng.choice("/.- ") if draw < 0.8 else rng.choice(OTHER))
    return "".join(parts)


@pytest.mark.parametrize("pattern", TRANSLATED, ids=lambda p: p.pattern[:32])
def test_each_translated_pattern_finds_pythons_matches(pattern: re.Pattern[str]) -> None:
    rng = random.Random(7)
    translated = translate(pattern)
    matched = 0
    for _ in range(4000):
        text = _drawn(rng, rng.randint(1, 12))
        expected = pattern.findall(text)
        assert [m.decode() for m in translated.findall(text.encode())] == expected, text
        matched += bool(expected)
    assert matched >= 25  # the drawn strings do reach every pattern


def _worded(rng: random.Random, length: int) -> str:
    """Days, years and words (month names among them) with spaces and punctuation between."""
    parts = []
    for _ in range(length):
        draw = rng.random()
        parts.append(_digits(rng) if draw < 0.4 else rng.choice(WORDS) if draw < 0.8 else rng.choice(OTHER))
        parts.append(rng.choice(SPACES))
    return "".join(parts)


@pytest.mark.parametrize(
    "pattern", [core.SIMPLE_PATTERN, extractors.LONG_TEXT_PATTERN], ids=["simple", "long"]
)
def test_prefiltered_patterns_find_pythons_matches(pattern: re.Pattern[str]) -> None:
    rng = random.Random(11)
    prefiltered = Prefiltered(pattern)
    matched = 0
    for _ in range(3000):
        text = _worded(rng, rng.randint(1, 12))
        assert prefiltered.scan(text).findall() == pattern.findall(text), text
        scan, pos = prefiltered.scan(text), 0
        for step in range(3):  # forward, as regex_parse reads, and once back
            pos = rng.randint(pos, len(text)) if step < 2 else rng.randint(0, pos)
            ours, theirs = scan.search(pos), pattern.search(text, pos)
            assert (ours and ours.span()) == (theirs and theirs.span()), (text, pos)
        matched += theirs is not None
    assert matched >= 25  # the drawn strings do reach the pattern


def test_regex_parse_equals_htmldates() -> None:
    rng = random.Random(13)
    found = 0
    for _ in range(3000):
        text = _worded(rng, rng.randint(1, 12))
        assert regex_parse(text) == extractors.regex_parse(text), text
        found += regex_parse(text) is not None
    assert found >= 50


def test_unicode_digits_are_digits_to_both() -> None:
    three = translate(core.THREE_COMP_PATTERNS[1])
    assert three.findall(b"a2020-05-06b") == [b"2020-05-06"]
    assert three.findall("٣2020-05-06b".encode()) == []  # an Arabic-Indic three is \d to Python: no \D
    assert three.findall("é2020-05-06b".encode()) == [b"2020-05-06"]
    eight = translate(core.DATESTRINGS_PATTERN)  # its group holds the \D on each side: é whole, not a byte
    assert eight.findall("é20190304é".encode()) == ["é20190304é".encode()]


def test_digits_and_spaces_are_pythons_on_every_code_point() -> None:
    # RE2's own \\p{Nd} follows its Unicode version: 20 digits (Kawi, Nag Mundari) apart from Python 3.11's
    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    non_digits = translate(re.compile(r"(\D)")).findall(every.encode())
    assert [c.decode() for c in non_digits] == re.findall(r"(\D)", every)
    spaces = superset(re.compile(r"(\s)")).findall(every.encode())
    assert [c.decode() for c in spaces] == re.findall(r"(\s)", every)
    nag_mundari_zero = "\U0001e4f0"
    text = f"<p>{nag_mundari_zero}2019-03-04{nag_mundari_zero}</p>"
    assert search_page(text, EXTENSIVE) == core.search_page(text, EXTENSIVE) == "2019-03-04"


class _CountingSearches:
    """An RE2 pattern's stand-in that counts its searches."""

    def __init__(self, pattern: object) -> None:
        self.pattern, self.searches = pattern, 0

    def search(self, *args: object) -> object:
        self.searches += 1
        return self.pattern.search(*args)  # type: ignore[attr-defined]


@pytest.mark.parametrize("run", ["x", "<", "中"])
def test_near_misses_in_one_long_run_hand_over_to_pythons_scan(run: str) -> None:
    # every character of the run starts a candidate of RE2's wider pattern that Python's then rejects; RE2
    # would rescan the run for each, so after MAX_NEAR_MISSES Python's own scan goes on
    text = run * 5000 + " 4, 2019 and March 4, 2019"
    prefiltered = Prefiltered(extractors.LONG_TEXT_PATTERN)
    prefiltered.candidates = counting = _CountingSearches(prefiltered.candidates)  # type: ignore[assignment]
    scan = prefiltered.scan(text)
    for pos in (0, 3, 5000):
        found, expected = scan.search(pos), extractors.LONG_TEXT_PATTERN.search(text, pos)
        assert (found and found.span()) == (expected and expected.span())
    assert counting.searches <= 3 * MAX_NEAR_MISSES
    assert regex_parse(text) == extractors.regex_parse(text)


def test_translate_refuses_what_re2_reads_otherwise() -> None:
    for source in [r"(?<!w3.org)\D(20[0-9]{2})", r"\s([0-9]{4})", r"\b[0-9]{4}\b", r"(a)\1", "(?i)date"]:
        with pytest.raises(ValueError, match="RE2 cannot stand in"):
            translate(re.compile(source))
    with pytest.raises(ValueError, match="RE2 cannot stand in"):
        translate(re.compile(r"[0-9]{4}", re.IGNORECASE))
    escaped = translate(re.compile(r"\\D\D"))  # an escaped backslash stays one: a backslash, then "D"
    assert escaped.findall(b"\\D5 \\Dx") == [b"\\Dx"]
    with pytest.raises(ValueError, match="RE2 cannot stand in"):
        superset(re.compile(r"(?=x)\d"))


def test_the_date_equals_htmldates_on_the_real_pages(data_dir: Path) -> None:
    dated, timestamps, authored = 0, 0, 0
    for html in sample_pages(data_dir):
        string = page_string(parse_html(html), MAX_HTML_CHARS)
        data = utf8(string)
        ours = search_page(string, EXTENSIVE, data)
        assert ours == search_page(string, EXTENSIVE) == core.search_page(string, EXTENSIVE)
        dated += ours is not None
        timestamp = timestamp_date(string, EXTENSIVE, data)
        assert timestamp == extractors.pattern_search(string, core.TIMESTAMP_PATTERN, EXTENSIVE)
        timestamps += timestamp is not None
        authored_date = idiosyncrasies_date(string, EXTENSIVE, data)
        assert authored_date == extractors.idiosyncrasies_search(string, EXTENSIVE)
        authored += authored_date is not None
    assert dated > 100 and timestamps > 10 and authored >= 1


# What htmldate's author-written dates (TEXT_PATTERNS, case-insensitive) are made of, with the letters
# Python folds and RE2 does not (the dotless and the dotted I) and text that should stop a match.
AUTHOR_WORDS = [
    "date", "Date: ", "DATE of issue ", "updated ", "last-modified", "LAST-MODİFİED", "published", "publıshed",
    "posted", "on ", "Datum: ", "Stand", "Veröffentlicht am ", "VERÖFFENTLİCHT AM", "güncellenme", "GÜNCELLEME",
    "yayımlanma tarihi: ", "yayinlama TARİHİ", "'de güncellendi", "’ta yayımlandı", " tarihinde yayınlandı",
    '"', "x", "é", "\n",
]  # fmt: skip


def _authored(rng: random.Random, length: int) -> str:
    parts = []
    for _ in range(length):
        draw = rng.random()
        if draw < 0.4:
            sep = rng.choice("./")
            parts.append(sep.join(_digits(rng) for _ in range(3)))
        else:
            parts.append(rng.choice(AUTHOR_WORDS))
        parts.append(rng.choice([" ", "", ":", " : "]))
    return "".join(parts)


def test_author_dates_superset_finds_every_match_of_pythons() -> None:
    rng = random.Random(5)
    candidates = superset(extractors.TEXT_PATTERNS)
    matched = 0
    for _ in range(4000):
        text = _authored(rng, rng.randint(1, 8))
        expected = extractors.TEXT_PATTERNS.search(text)
        if expected is not None:
            assert candidates.search(text.encode()) is not None, text
            matched += 1
        assert idiosyncrasies_date(text, EXTENSIVE) == extractors.idiosyncrasies_search(text, EXTENSIVE), text
    assert matched >= 500  # the drawn strings do reach the pattern


def test_case_folding_of_every_letter_covers_pythons() -> None:
    # Python folds more than RE2's (?i) (i and I also take the dotless and the dotted I): for each letter of
    # the patterns that ignore case, alone and in a class, every code point Python's case-insensitive match
    # takes, the superset takes
    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    folded = [p for p in (extractors.TEXT_PATTERNS, extractors.LONG_TEXT_PATTERN) if p.flags & re.IGNORECASE]
    letters = {c for p in folded for c in p.pattern if c.isalpha()}
    assert len(folded) == 2 and {"i", "ı", "ö", "ü", "t", "h"} <= letters
    for letter in sorted(letters):
        for source in (f"({letter})", f"([{letter}])"):
            pattern = re.compile(source, re.IGNORECASE)
            python = set(pattern.findall(every))
            assert {c.decode() for c in superset(pattern).findall(every.encode())} >= python, source
    assert superset(re.compile("(ı)", re.IGNORECASE)).findall("I i İ ı".encode()) == [
        b"I",
        b"i",
        b"\xc4\xb0",
        b"\xc4\xb1",
    ]


def test_counts_without_a_lower_bound_and_classes_read_as_python_reads_them() -> None:
    # "{,3}" is a count to Python and text to RE2; an i family letter in a class (a range's too, and in
    # Python's "]"-first classes) takes the whole family, as Python's folding does; an escaped bracket
    # starts no class
    assert superset(re.compile("a{,3}b")).search(b"aab") is not None
    for source, text in [
        ("[i]x", "ıx"),
        ("[a-z]x", "İx"),
        ("[]i]x", "ix"),
        ("[]i]x", "]x"),
        (r"\[i]x", "[ı]x"),
    ]:
        pattern = re.compile(source, re.IGNORECASE)
        assert pattern.search(text) is not None and superset(pattern).search(text.encode()) is not None, (
            source
        )
    assert superset(re.compile("[^i]x", re.IGNORECASE)).search(b"ax") is not None


@pytest.mark.parametrize(
    "text",
    [
        "<p>no date here 2019-03</p>",
        "<time>2019-03-04T10:00:00+01:00</time>",
        "é" * 50 + " 1990-1-5 2019-03-04T10:00:00Z",
        "中文 2035-03-04T10:00:00Z and 2019-03-04 10:00:00.123+0100",  # the first is past the latest date
        "<p>\ud800 2019-03-04T10:00:00</p>",  # a lone surrogate: htmldate's own scan
    ],
)
def test_timestamp_date_equals_htmldates(text: str) -> None:
    expected = extractors.pattern_search(text, core.TIMESTAMP_PATTERN, EXTENSIVE)
    assert timestamp_date(text, EXTENSIVE) == expected
    assert timestamp_date(text, EXTENSIVE, utf8(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<p>Datum: 04.03.2019</p>", "2019-03-04"),
        ("<p>publİshed 2019/03/04</p>", "2019-03-04"),  # the dotted I: Python's folding, not RE2's
        ("<p>04.03.2019 tarihinde güncellendi</p>", "2019-03-04"),
        ("<p>version 1.2.3 of the code</p>", None),
        ("<p>\ud800 Stand: 4.3.2019</p>", "2019-03-04"),
    ],
)
def test_idiosyncrasies_date_equals_htmldates(text: str, expected: str | None) -> None:
    assert (
        idiosyncrasies_date(text, EXTENSIVE) == extractors.idiosyncrasies_search(text, EXTENSIVE) == expected
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<p>posted /2019/03/04/ here</p>", "2019-03-04"),  # three components, URL style
        ("<p>x 04.03.2019 y</p>", "2019-03-04"),  # day first
        ("<a href='/a?v=20190304&b'>", "2019-03-04"),  # eight digits
        ("<p>x 4/3/19 y</p>", "2019-03-04"),  # slashes, two-digit year
        ("<p>x 2019-03 y</p>", "2019-03-01"),  # year and month
        ("<p>x 03/2019 y</p>", "2019-03-01"),  # month and year
        ("<p>posted March 4th, 2019</p>", "2019-03-04"),  # regex_parse, with Python's engine
        ("<p>© 2015-2017 all rights</p>", "2017-01-01"),  # the copyright year alone
        ("<p>since 2014 here</p>", "2014-01-01"),  # one component, last resort
        ('<html xmlns="http://www.w3.org/1999/xhtml"><p>nothing</p>', None),
        ("<p>٣2019-03-04٣</p>", None),  # Unicode digits around: no date to either
        ("<p>no digits at all</p>", None),
        ("", None),
    ],
)
def test_each_step_finds_htmldates_date(text: str, expected: str | None) -> None:
    assert search_page(text, EXTENSIVE) == core.search_page(text, EXTENSIVE) == expected


FILLER = "x" * 300


@pytest.mark.parametrize(
    "text",
    [
        f"<p>{FILLER} © {'y' * 60} 2013 {FILLER} 2017/05/06 {FILLER}</p>",  # a copyright 60 characters off
        f"<p>© {'y' * 99}2013 {FILLER}</p><p>© {'y' * 100}2014 {FILLER}</p>",  # 99 non-digits reach; 100 do not
        f"<p>{FILLER} Posted on {FILLER}March 4, 2019 {FILLER}</p>",  # a month name glued to a long word
        f"<p>{FILLER}4th of September, 2018{FILLER}</p>",
        "<p>Smith Ocak 4 2019, mars 5 2019 and 5. Mai 2019</p>",  # an unknown month first, then known ones
        "<p>Février 31, 2019 then 4 April 2019</p>",  # an impossible date, then a good one
        f'<html xmlns="http://www.w3.org/1999/xhtml">{FILLER} 2016 {FILLER}</html>',  # w3.org's 1999 is no year
        f"<p>{FILLER}20190304{FILLER}, 20190304 2019-03-04 {FILLER}04.03.19{FILLER}03/2019 {FILLER}</p>",
    ],
)
def test_hand_made_pages_read_as_htmldate_reads_them(text: str) -> None:
    assert search_page(text, EXTENSIVE) == core.search_page(text, EXTENSIVE)


def test_a_string_re2_cannot_read_goes_to_htmldates_search() -> None:
    text = "<p>\ud800 x 2019-03-04 y</p>"  # a lone surrogate: no UTF-8 for RE2
    assert search_page(text, EXTENSIVE) == core.search_page(text, EXTENSIVE) == "2019-03-04"
