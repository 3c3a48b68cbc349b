"""htmldate's scans of the page string, run by RE2: search_page, the timestamp pattern and idiosyncrasies.

search_page is the last and most costly stage of htmldate's extensive search: up to ten regular expressions,
each scanned over the whole page string by Python's backtracking engine, tried in turn until one yields a
plausible date. Most of its cost is the scans (a pattern like `\\D([0-9]{4}[/.-]...)\\D` is tried at every
character), which RE2's automata run 5-15 times faster. Here the page is encoded to UTF-8 once and every
pattern scans those bytes; the decisions are htmldate's: `_search` follows `htmldate.core.search_page` step
by step, calling htmldate's select_candidate, _filter_ymd, _finalize_candidate and normalisers, and mirrors
the three small helpers that take the page string (plausible_year_filter, search_pattern, search_normalized)
so they take the matches instead. tests/dating/test_page_scans_re2.py compares the whole with htmldate's
search_page on every real sample page and on hand-made pages, and each pattern's matches with Python's on
strings drawn to tell the engines apart.

Two earlier stages scan the same string once each: the ISO timestamp pattern and the author-written dates
("Datum: 3.4.2019"). Their Python scans find nothing on most pages, so RE2 looks first, on the same bytes,
and htmldate's own function runs only where a match (for idiosyncrasies, of a superset) exists.

Each pattern is translated, not rewritten: Python's `\\D` on a str is "not a Unicode decimal digit", which
becomes the RE2 class of every character Python does not read as a digit, built from Python's own tables
(RE2's `\\p{Nd}` and its own ASCII `\\D` differ). The two patterns that look behind (the one-year pattern and
regex_parse's month names; RE2 has no lookbehind) stay with Python's engine, which RE2 leads (`Prefiltered`):
RE2 finds where a superset of their matches starts and Python tries only there, handing over to Python's
own scan after a few near misses in a row, so no page costs more than a few times Python's scan.
"""

from __future__ import annotations

import functools
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import re2
from htmldate import core, extractors
from htmldate.core import (
    DATESTRINGS_CATCH,
    SELECT_YMD_YEAR,
    SLASHES_YEAR,
    THREE_COMP_REGEX_A,
    THREE_COMP_REGEX_B,
    THREE_LOOSE_CATCH,
    YEAR_PATTERN,
    YMD_PATTERN,
    YYYYMM_CATCH,
    _filter_ymd,
    _finalize_candidate,
    is_valid_date,
    normalize_match,
    normalize_two_comp,
    select_candidate,
)
from htmldate.extractors import MONTH_NUMBERS, _build_dmy, _fold_month_name
from htmldate.utils import Extractor
from htmldate.validators import correct_year

# Room for the DFA of the copyright pattern (its \\D{0,99} unrolled): with RE2's default 8 MiB it runs out
# of memory on long pages and falls back to the much slower NFA.
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 64 << 20
_NON_DIGIT = re.compile(r"(\\\\)|\\D")
_SPACE = re.compile(r"(\\\\)|\\s")
_LETTER = r"[^\W\d_]"
_LOOKBEHIND = re.compile(r"\(\?<[=!][^()]*\)")
# An escape or a character class (Python's syntax: a "]" first is a member), else what follows: a count with
# no lower bound ("{,20}": RE2 reads it as text), or a letter that Python's case-insensitive matching takes
# for more letters than Unicode's simple case folding, which RE2 follows (i, I, the dotless and the dotted I
# all match one another; tests check the letters of htmldate's patterns that ignore case)
_CLASS_OR_ESCAPE = r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]|"
_NO_LOWER_BOUND = re.compile(_CLASS_OR_ESCAPE + r"\{,(\d+)\}")
_PYTHON_I = re.compile(_CLASS_OR_ESCAPE + "([iIıİ])")
_PYTHON_IS = "iIıİ"


def _widen_i(match: re.Match[str]) -> str:
    """A letter of the i family, or a class holding one (Python matches every member there), made to hold
    all four for RE2; anything else as it is."""
    if match[1]:
        return f"[{_PYTHON_IS}]"
    text = match[0]
    if text.startswith("[") and not text.startswith("[^") and re.fullmatch(text, "i", re.IGNORECASE):
        at = 2 if text.startswith("[]") else 1
        return text[:at] + _PYTHON_IS + text[at:]
    return text  # an escape, or a negated class: RE2's is already the wider


# what RE2 reads otherwise or not at all: lookaround, inline flags, backreferences, and the classes and
# boundaries that are Unicode-aware in Python but ASCII in RE2
_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\(\?[aiLmsux]|(?<!\\)\\(?:[1-9]|[dDsSwWbBAZ])")
# A Python pattern that looks behind is tried at no more than this many of RE2's candidates in a row before
# Python's own scan takes over: near misses in one long run (a line of tags or of CJK text before " 4, 2019")
# would each cost RE2 a rescan of the run.
MAX_NEAR_MISSES = 3


@functools.cache
def python_class(kind: str) -> str:
    """The characters Python's `re` reads as `\\d` (kind "digit": str.isdecimal) or `\\s` (kind "space":
    str.isspace) on a str, as the ranges of an RE2 character class body. RE2's own `\\p{Nd}` and `\\p{Z}`
    follow the Unicode version of its build, which is not Python's (20 digits apart for Python 3.11)."""
    test = {"digit": str.isdecimal, "space": str.isspace}[kind]
    runs: list[list[int]] = []  # [first, last] code points of each run of consecutive members
    for point in range(sys.maxunicode + 1):
        if test(chr(point)):
            if runs and runs[-1][1] == point - 1:
                runs[-1][1] = point
            else:
                runs.append([point, point])
    return "".join(rf"\x{{{a:x}}}-\x{{{b:x}}}" if a != b else rf"\x{{{a:x}}}" for a, b in runs)


def translate(pattern: re.Pattern[str]) -> re2._Regexp:
    """`pattern` (a `str` pattern of Python's `re`, without flags) compiled by RE2 to find the same matches
    in the text's UTF-8 bytes: `\\D` becomes the class of every character Python does not read as a digit.
    Raises ValueError for what RE2 would read differently (lookaround, backreferences, flags)."""
    non_digit = f"[^{python_class('digit')}]"
    source = _NON_DIGIT.sub(lambda m: m[1] or non_digit, pattern.pattern)
    if pattern.flags != re.UNICODE or _UNSUPPORTED.search(source):
        raise ValueError(f"RE2 cannot stand in for {pattern.pattern!r} (flags {pattern.flags})")
    return re2.compile(source.encode(), _OPTIONS)


def superset(pattern: re.Pattern[str]) -> re2._Regexp:
    """An RE2 pattern over UTF-8 bytes that matches wherever `pattern` matches, and maybe elsewhere:
    lookbehinds dropped, Python's letters (`[^\\W\\d_]`) widened to anything but ASCII whitespace, Python's
    digits and "_", counts without a lower bound given one, case folded by RE2 where `pattern` ignores case
    (the i family widened to Python's folding, in classes too). For Prefiltered."""
    digits = python_class("digit")
    letters, space, non_digit = rf"[^\s{digits}_]", f"[{python_class('space')}]", f"[^{digits}]"
    source = _LOOKBEHIND.sub("", pattern.pattern)
    if pattern.flags & re.IGNORECASE:
        source = _PYTHON_I.sub(_widen_i, source)
    source = _SPACE.sub(lambda m: m[1] or space, source)
    source = _NON_DIGIT.sub(lambda m: m[1] or non_digit, source.replace(_LETTER, letters))
    source = _NO_LOWER_BOUND.sub(lambda m: f"{{0,{m[1]}}}" if m[1] else m[0], source)
    flags = pattern.flags & ~re.IGNORECASE
    if flags != re.UNICODE or _UNSUPPORTED.search(source.replace(letters, "")):
        raise ValueError(f"RE2 cannot stand in for {pattern.pattern!r} (flags {pattern.flags})")
    return re2.compile((("(?i)" if pattern.flags & re.IGNORECASE else "") + source).encode(), _OPTIONS)


class Prefiltered:
    """A Python pattern whose scan RE2 leads: RE2 finds where a superset of its matches start, and Python's
    engine tries only there. `scan(string).search(pos)` and `.findall()` answer as the pattern's own
    `search(string, pos)` and `findall(string)` do."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern, self.candidates = pattern, superset(pattern)

    def scan(self, string: str, data: bytes | None = None) -> PrefilteredScan:
        """A scan of `string`, whose UTF-8 bytes are `data` where the caller has them."""
        return PrefilteredScan(self, string, string.encode() if data is None else data)


class PrefilteredScan:
    """One string's scan by a Prefiltered pattern. RE2 reads the string's UTF-8 bytes and Python's engine
    the str; the positions of a scan mostly move forward, so each is converted between the two once."""

    def __init__(self, prefiltered: Prefiltered, string: str, data: bytes) -> None:
        self.pattern, self.candidates = prefiltered.pattern, prefiltered.candidates
        self.string, self.data = string, data
        self.ascii = len(data) == len(string)
        self._char = self._byte = 0  # one position in both units, where the last conversion ended

    def _to_byte(self, char: int) -> int:
        if self.ascii:
            return char
        if char < self._char:  # a search that went back: count from the start
            self._char = self._byte = 0
        self._byte += len(self.string[self._char : char].encode())
        self._char = char
        return self._byte

    def _to_char(self, byte: int) -> int:
        if self.ascii:
            return byte
        self._char += len(self.data[self._byte : byte].decode())  # RE2 matches start on a character
        self._byte = byte
        return self._char

    def search(self, pos: int = 0) -> re.Match[str] | None:
        """The first match at or after character `pos`, as `pattern.search(string, pos)` finds it."""
        pos = min(max(pos, 0), len(self.string))
        for _ in range(MAX_NEAR_MISSES):
            candidate = self.candidates.search(self.data, self._to_byte(pos))
            if candidate is None:
                return None
            start = self._to_char(candidate.start())
            if (match := self.pattern.match(self.string, start)) is not None:
                return match
            pos = start + 1
        return self.pattern.search(self.string, pos)

    def findall(self) -> list[Any]:
        """What `pattern.findall(string)` returns."""
        found, pos, groups = [], 0, self.pattern.groups
        while (match := self.search(pos)) is not None:
            found.append(match[0] if groups == 0 else match[1] if groups == 1 else match.groups(""))
            pos = match.end() + (match.end() == match.start())
        return found


@dataclass(frozen=True)
class Compiled:
    """htmldate's patterns of the page string for RE2 (search_page's, the timestamp's, and a superset of the
    author-written dates'): translated, or Python's led by RE2 (`Prefiltered`)."""

    copyright: re2._Regexp
    three_comp: tuple[re2._Regexp, ...]
    select_ymd: re2._Regexp
    datestrings: re2._Regexp
    slashes: re2._Regexp
    yyyymm: re2._Regexp
    mmyyyy: re2._Regexp
    simple: Prefiltered
    long_text: Prefiltered
    timestamp: Prefiltered
    author_dates: re2._Regexp  # a superset of htmldate's TEXT_PATTERNS (idiosyncrasies_search)


@functools.cache
def compiled() -> Compiled:
    """The patterns, compiled on first use (~0.3 s: the character classes read every code point)."""
    return Compiled(
        copyright=translate(core.COPYRIGHT_PATTERN),
        three_comp=tuple(translate(p) for p in core.THREE_COMP_PATTERNS),
        select_ymd=translate(core.SELECT_YMD_PATTERN),
        datestrings=translate(core.DATESTRINGS_PATTERN),
        slashes=translate(core.SLASHES_PATTERN),
        yyyymm=translate(core.YYYYMM_PATTERN),
        mmyyyy=translate(core.MMYYYY_PATTERN),
        simple=Prefiltered(core.SIMPLE_PATTERN),
        long_text=Prefiltered(extractors.LONG_TEXT_PATTERN),
        timestamp=Prefiltered(core.TIMESTAMP_PATTERN),
        author_dates=superset(extractors.TEXT_PATTERNS),
    )


def regex_parse(string: str, data: bytes | None = None) -> datetime | None:
    """htmldate.extractors.regex_parse (the first day-month-year written with a month's name), its month
    pattern led by RE2; `data` is `string` in UTF-8 where the caller has it."""
    pos, scan = 0, compiled().long_text.scan(string, data)
    while match := scan.search(pos):
        word = _fold_month_name(match["month"] or match["month2"])
        if match["month"]:  # glued words ("SmithMarch"): the longest known suffix of the last 12 letters
            word = word[-12:]
            word = next((word[i:] for i in range(len(word) - 2) if word[i:] in MONTH_NUMBERS), word)
        month = MONTH_NUMBERS.get(word)
        if month is None:
            pos = match.start() + 1
            continue
        try:
            return _build_dmy(int(match["day"] or match["day2"]), month, int(match["year"] or match["year2"]))
        except ValueError:
            pos = match.end()
    return None


def utf8(string: str) -> bytes | None:
    """`string` in UTF-8, what RE2 reads; None where it holds a lone surrogate (htmldate's own scans then
    read the str)."""
    try:
        return string.encode()
    except UnicodeEncodeError:
        return None


def search_page(htmlstring: str, options: Extractor, data: bytes | None = None) -> str | None:
    """The date htmldate's search_page finds in `htmlstring` (the page string), formatted by `options`, or
    None: htmldate's steps in htmldate's order, each pattern scanned by RE2 where RE2 can read it. `data` is
    `htmlstring` in UTF-8 where the caller has it."""
    data = data if data is not None else utf8(htmlstring)
    if data is None:
        return core.search_page(htmlstring, options)
    return _search(htmlstring, data, options)


def timestamp_date(htmlstring: str, options: Extractor, data: bytes | None = None) -> str | None:
    """htmldate's `pattern_search(htmlstring, TIMESTAMP_PATTERN, options)`: the date of the page string's
    first ISO timestamp ("2019-03-04T10:00:00"), found by RE2. `data` as for search_page."""
    data = data if data is not None else utf8(htmlstring)
    if data is None:
        return extractors.pattern_search(htmlstring, core.TIMESTAMP_PATTERN, options)
    match = compiled().timestamp.scan(htmlstring, data).search(0)
    if match is None:
        return None
    # the first match found here is Python's: pattern_search reads it from where it starts
    return extractors.pattern_search(htmlstring[match.start() :], core.TIMESTAMP_PATTERN, options)


def idiosyncrasies_date(htmlstring: str, options: Extractor, data: bytes | None = None) -> str | None:
    """htmldate's `idiosyncrasies_search(htmlstring, options)` (author-written dates: "Datum: 3.4.2019",
    "updated 2019/03/04"), run only where RE2 finds a superset of its patterns' matches: on most pages it
    finds none, and htmldate's scan, which probes every digit group, then cannot find one either. `data` as
    for search_page."""
    data = data if data is not None else utf8(htmlstring)
    if data is not None and compiled().author_dates.search(data) is None:
        return None
    return extractors.idiosyncrasies_search(htmlstring, options)


def _scan(pattern: re2._Regexp, data: bytes) -> list[str]:
    return [match.decode() for match in pattern.findall(data)]


def _plausible(matches: list[str], yearpat: re.Pattern[str], options: Extractor) -> Counter[str]:
    """htmldate.validators.plausible_year_filter on matches already found: each counted, less those whose
    year (`yearpat`'s group 1) is not within the options' bounds."""
    found = Counter(matches)
    for item in list(found):
        year = yearpat.search(item)
        if year is None or not options.min.year <= correct_year(int(year[1])) <= options.max.year:
            del found[item]
    return found


def _best(matches: list[str], catch: re.Pattern[str], yearpat: re.Pattern[str], options: Extractor) -> Any:
    """htmldate.core.search_pattern on matches already found."""
    return select_candidate(_plausible(matches, yearpat, options), catch, yearpat, options)


def _best_ymd(matches: list[str], catch: re.Pattern[str], copyear: int, options: Extractor) -> str | None:
    """htmldate.core._search_and_filter on matches already found."""
    return _filter_ymd(_best(matches, catch, YEAR_PATTERN, options), copyear, options)


def _best_normalized(
    matches: list[str],
    yearpat: re.Pattern[str],
    normalizer: Callable[[str], str],
    copyear: int,
    options: Extractor,
) -> str | None:
    """htmldate.core.search_normalized on matches already found."""
    normalized: Counter[str] = Counter()
    for item, count in _plausible(matches, yearpat, options).items():
        normalized[normalizer(item)] += count
    return _filter_ymd(select_candidate(normalized, YMD_PATTERN, YEAR_PATTERN, options), copyear, options)


def _search(htmlstring: str, data: bytes, options: Extractor) -> str | None:
    patterns = compiled()
    copyear = 0
    bestmatch = _best(_scan(patterns.copyright, data), YEAR_PATTERN, YEAR_PATTERN, options)
    if bestmatch is not None:
        year = int(bestmatch[1])
        if is_valid_date(datetime(year, 1, 1), "%Y", earliest=options.min, latest=options.max):
            copyear = year

    for pattern in patterns.three_comp:
        result = _best_ymd(_scan(pattern, data), THREE_LOOSE_CATCH, copyear, options)
        if result is not None:
            return result

    ymd_first = partial(normalize_match, THREE_COMP_REGEX_A)
    result = _best_normalized(_scan(patterns.select_ymd, data), SELECT_YMD_YEAR, ymd_first, copyear, options)
    if result is not None:
        return result

    result = _best_ymd(_scan(patterns.datestrings, data), DATESTRINGS_CATCH, copyear, options)
    if result is not None:
        return result

    slashes = partial(normalize_match, THREE_COMP_REGEX_B)
    result = _best_normalized(_scan(patterns.slashes, data), SLASHES_YEAR, slashes, copyear, options)
    if result is not None:
        return result

    bestmatch = _best(_scan(patterns.yyyymm, data), YYYYMM_CATCH, YEAR_PATTERN, options)
    if bestmatch is not None:
        result = _finalize_candidate(datetime(int(bestmatch[1]), int(bestmatch[2]), 1), copyear, options)
        if result is not None:
            return result

    result = _best_normalized(
        _scan(patterns.mmyyyy, data), SELECT_YMD_YEAR, normalize_two_comp, copyear, options
    )
    if result is not None:
        return result

    # the two patterns with lookbehinds read the str, Python's engine led by RE2
    result = _finalize_candidate(regex_parse(htmlstring, data), copyear, options)
    if result is not None:
        return result

    if copyear != 0:
        return datetime(copyear, 1, 1).strftime(options.format)

    bestmatch = _best(patterns.simple.scan(htmlstring, data).findall(), YEAR_PATTERN, YEAR_PATTERN, options)
    if bestmatch is not None:
        return _finalize_candidate(datetime(int(bestmatch[1]), 1, 1), copyear, options)
    return None
