"""Dates written in plain text, in many languages: explicit full dates and year mentions.

Month names come from dateparser's language data (the CLDR-derived tables dateparser itself uses), for the
languages below; dateparser's own `search_dates` is the reference in the tests but is far too slow to run on
every document (tens of milliseconds each), so the search here is a handful of compiled patterns and a
dictionary lookup. A month name that means different months in two languages (Croatian "listopad" is
October, Polish "listopad" November) is left out rather than guessed.

Recognised: ISO `2019-03-12` / `2019/03/12`, day-first `12.03.2019`, `12/03/2019` when the day is over 12,
`12 March 2019`, `12. März 2019`, `12 mars 2019`, `12 de marzo de 2019`, `12 марта 2019`, `March 12, 2019`,
`2019年3月12日` (ja/zh) and `2019년 3월 12일` (ko); month-year mentions (`March 2019`); copyright lines
(`© 2015-2019`, `Copyright 2019`); and bare years standing alone. Only the first MAX_SCAN_CHARS characters
are read (the dateline and most year mentions sit early; the cap bounds the cost of huge documents).
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Languages whose month names are recognised (ISO 639-1 codes of dateparser's data modules).
# fmt: off
MONTH_LANGUAGES = (
    "en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "nn", "fi", "pl", "cs", "sk", "ru", "uk",
    "bg", "sr", "hr", "bs", "sl", "ro", "hu", "tr", "el", "ca", "eu", "gl", "id", "ms", "tl", "vi", "lt",
    "lv", "et", "sq", "mk", "be", "af", "is", "ga", "cy", "az", "kk", "uz",
)
_MONTH_KEYS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
)
# fmt: on
MAX_SCAN_CHARS = 200_000
FIRST_YEAR = 1991  # years before the web are history, not dates of the text


def _month_lexicon() -> dict[str, int]:
    """casefolded month name (full or abbreviated, 3+ letters) -> month number, unambiguous names only."""
    seen: dict[str, set[int]] = {}
    for code in MONTH_LANGUAGES:
        try:
            info = importlib.import_module(f"dateparser.data.date_translation_data.{code}").info
        except ImportError:
            continue
        for number, key in enumerate(_MONTH_KEYS, start=1):
            for name in info.get(key, []):
                name = name.casefold().rstrip(".")
                if len(name) >= 3 and not any(ch.isdigit() for ch in name):
                    seen.setdefault(name, set()).add(number)
    return {name: next(iter(months)) for name, months in seen.items() if len(months) == 1}


MONTHS: dict[str, int] = _month_lexicon()

_Y = r"((?:19|20)\d{2})"
_WORD = r"([^\W\d_]{3,})\.?"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ymd", re.compile(rf"(?<![\d.,/-]){_Y}([-/])(\d{{1,2}})\2(\d{{1,2}})(?![\d/-])")),
    ("dmy_dot", re.compile(rf"(?<![\d.,]\d)(?<![\d.])(\d{{1,2}})\.(\d{{1,2}})\.{_Y}(?!\.?\d)")),
    ("dmy_slash", re.compile(rf"(?<![\d/])(\d{{1,2}})/(\d{{1,2}})/{_Y}(?![\d/])")),
    (
        "d_month_y",
        re.compile(
            rf"(?<!\d)(\d{{1,2}})(?:\.|er|º|°|st|nd|rd|th)?\s*(?:de\s+|of\s+)?{_WORD}\s*(?:de\s+|del\s+|,\s*)?{_Y}(?!\d)",
            re.I,
        ),
    ),
    ("month_d_y", re.compile(rf"(?<![^\W\d_]){_WORD}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_Y}(?!\d)", re.I)),
    ("cjk", re.compile(rf"{_Y}\s*[年년]\s*(\d{{1,2}})\s*[月월]\s*(\d{{1,2}})\s*[日일]")),
)
_MONTH_YEAR = re.compile(rf"(?<![^\W\d_]){_WORD}\s+{_Y}(?!\d)")
_COPYRIGHT = re.compile(
    rf"(?:©|&copy;|\(c\)|copyright)\s*(?:[^\W\d_]+\.?\s+)?{_Y}(?:\s*[-–—/]\s*{_Y})?", re.I
)
# A bare year: four digits not glued to other digits, decimals, thousands groups, percentages or currency.
_BARE_YEAR = re.compile(rf"(?<![\d.,$€£¥%-]){_Y}(?![\d%]|[.,]\d)")


@dataclass
class TextDates:
    """What the text says about time. `dates` are explicit full dates in reading order (midnight UTC), each
    a real calendar date from FIRST_YEAR on and not in a year after `max_year`; `latest_year` is the latest
    year mentioned (dates, month-years, copyright lines, bare years) up to `max_year`; `rejected` counts
    explicit dates dropped, by reason (malformed, before_1991, after_crawl)."""

    dates: list[datetime] = field(default_factory=list)
    latest_year: int | None = None
    copyright_years: list[int] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)


def _to_date(kind: str, groups: tuple[str, ...]) -> tuple[int, int, int] | None:
    """(year, month, day) of a match, None when the words are not a known month or the order is unknowable."""
    if kind == "ymd":
        return int(groups[0]), int(groups[2]), int(groups[3])
    if kind == "cjk":
        return int(groups[0]), int(groups[1]), int(groups[2])
    if kind == "dmy_dot":
        return int(groups[2]), int(groups[1]), int(groups[0])
    if kind == "dmy_slash":
        first, second, year = int(groups[0]), int(groups[1]), int(groups[2])
        if first > 12 >= second:
            return year, second, first
        if second > 12 >= first:
            return year, first, second
        return None  # 03/04/2019: day-first or month-first cannot be told apart
    if kind == "d_month_y":
        month = MONTHS.get(groups[1].casefold())
        return (int(groups[2]), month, int(groups[0])) if month else None
    if kind == "month_d_y":
        month = MONTHS.get(groups[0].casefold())
        return (int(groups[2]), month, int(groups[1])) if month else None
    return None


def find_text_dates(text: str, max_year: int | None, max_date_year: int | None = None) -> TextDates:
    """Explicit dates and year mentions in `text` (see the module docstring). `max_year` is the crawl's year:
    later years are future mentions (or errors) and are not counted as the text's latest year. Explicit dates
    may go up to `max_date_year` (default `max_year`): the year of the crawl's next day, where a page east of
    UTC already writes the new year."""
    date_limit = max_date_year if max_date_year is not None else max_year
    text = text[:MAX_SCAN_CHARS]
    found = TextDates()
    positioned: list[tuple[int, datetime]] = []
    years: list[int] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            parts = _to_date(kind, match.groups())
            if parts is None:
                continue
            year, month, day_ = parts
            try:
                value = datetime(year, month, day_, tzinfo=UTC)
            except ValueError:
                found.rejected["malformed"] += 1
                continue
            if year < FIRST_YEAR:
                found.rejected["before_1991"] += 1
                continue
            if date_limit is not None and year > date_limit:
                found.rejected["after_crawl"] += 1
                continue
            positioned.append((match.start(), value))
            years.append(year)
    positioned.sort(key=lambda item: item[0])
    seen: set[datetime] = set()
    for _, value in positioned:
        if value not in seen:
            seen.add(value)
            found.dates.append(value)
    for match in _MONTH_YEAR.finditer(text):
        if match.group(1).casefold() in MONTHS:
            years.append(int(match.group(2)))
    for match in _COPYRIGHT.finditer(text):
        for group in match.groups():
            if group:
                found.copyright_years.append(int(group))
                years.append(int(group))
    years.extend(int(m.group(1)) for m in _BARE_YEAR.finditer(text))
    usable = [y for y in years if y >= FIRST_YEAR and (max_year is None or y <= max_year)]
    found.latest_year = max(usable) if usable else None
    return found
