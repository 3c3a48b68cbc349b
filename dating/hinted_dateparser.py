"""dateparser, told the languages that a date string's own words name.

htmldate's extensive search sends the strings its patterns cannot read to dateparser, with no language given.
dateparser then tries its locales in a fixed order. For each one it checks the string against that locale's
vocabulary, then tries to parse with it. A string costs 20-60 ms, most of all one that no locale reads.

htmldate parses strictly: a date needs a day, a month and a year. Where a string has too few runs of digits
to hold all three (`month_may_be_digits`), the month must be a word, and only a language that knows the word
can read it. Here the languages come from the string itself: every language in which one of its words is a
month or weekday name (dateparser's data, after dateparser's own normalisation and letter variants, and
anywhere in the string for languages written without spaces), or in which one of dateparser's rewrites of
number words ("una" -> "1" in Spanish) applies. dateparser then runs as htmldate runs it, with the same
settings and the same locale order, over those languages only. A string whose month may be digits, or that
names no language, goes to dateparser over every language, as before.

This is a rule read from dateparser's code, not a proof, and a second reader's counterexamples shaped it.
tests/dating/test_hinted_dateparser.py holds htmldate's own parser as the reference: on every string from the
real sample pages that would reach it, on dates written in every language of dateparser's data, and on the
counterexamples. bench/dateparser_hints.py measures both on the same strings. The swap into htmldate
(`hinted_external_parser`) is for one thread at a time, as ingest runs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

import htmldate.extractors
import regex
from dateparser import DateDataParser
from dateparser.data.languages_info import language_order
from dateparser.utils import normalize_unicode

# The keys of dateparser's language data whose values name a month or a day of the week.
# fmt: off
DATE_WORD_KEYS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)
# fmt: on
_WORD = re.compile(r"[^\W\d_]+")
# htmldate's settings for dateparser (htmldate.extractors.get_external_parser); the tests hold them equal.
HTMLDATE_SETTINGS = {
    "NORMALIZE": True,
    "PARSERS": ["custom-formats", "absolute-time"],
    "PREFER_DATES_FROM": "past",
    "PREFER_LOCALE_DATE_ORDER": True,
    "RETURN_AS_TIMEZONE_AWARE": False,
    "STRICT_PARSING": True,
}


# dateparser reads Arabic and Persian text with one set of letters for both (locale._translate_letters).
_ONE_LETTER_SET = str.maketrans("یک", "يك")
# An hh:mm(:ss) time: dateparser reads it as the time of day, never as a day, month or year.
_TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")
_DIGITS = re.compile(r"\d+")


def _forms(word: str) -> set[str]:
    """The casefolded forms under which `word` is looked up: as written, after dateparser's normalisation
    (NORMALIZE, which htmldate's parser sets, strips accents before the vocabulary is checked), and with
    Arabic and Persian letter variants made one."""
    folded = word.casefold()
    return {form.translate(_ONE_LETTER_SET) for form in (folded, normalize_unicode(folded))} | {folded}


def _words(string: str) -> set[str]:
    """The letter runs of `string` as written and after dateparser's normalisation (which joins words that
    combining marks split), in every form of `_forms`."""
    runs = {*_WORD.findall(string), *_WORD.findall(normalize_unicode(string))}
    return {form for run in runs for form in _forms(run)}


def month_may_be_digits(string: str) -> bool:
    """Whether a locale could read the month from digits: three or more runs of digits besides hh:mm times,
    two of three digits or more ("1505 2020"), or one of five or more ("15052020"). Then any language that
    knows the string's other words reads it, named by them or not."""
    runs = _DIGITS.findall(_TIME.sub(" ", string))
    return len(runs) >= 3 or sum(len(run) >= 3 for run in runs) >= 2 or any(len(run) >= 5 for run in runs)


def _language_data() -> Iterator[tuple[str, dict[str, Any]]]:
    """(language, dateparser's data for it) for every language, in dateparser's default order."""
    for language in language_order:
        yield language, importlib.import_module(f"dateparser.data.date_translation_data.{language}").info


def _unspaced(info: dict[str, Any]) -> bool:
    return str(info.get("no_word_spacing", "")).lower() == "true"


@lru_cache(maxsize=1)
def date_word_languages() -> dict[str, frozenset[str]]:
    """Casefolded month or weekday name (each word of a multi-word name) -> languages that use it, over every
    language of dateparser's data."""
    index: dict[str, set[str]] = {}
    for language, info in _language_data():
        for key in DATE_WORD_KEYS:
            for name in info.get(key, []):
                for word in _WORD.findall(name):
                    for form in _forms(word):
                        index.setdefault(form, set()).add(language)
    return {word: frozenset(languages) for word, languages in index.items()}


@lru_cache(maxsize=1)
def unspaced_date_names() -> dict[str, regex.Pattern[str]]:
    """Language written without spaces (dateparser's no_word_spacing: ja, zh, yue) -> a pattern of its month
    and weekday names' letters, found anywhere in a string, since a name there need not stand alone."""
    patterns: dict[str, regex.Pattern[str]] = {}
    for language, info in _language_data():
        if not _unspaced(info):
            continue
        names = {
            word.casefold()
            for key in DATE_WORD_KEYS
            for name in info.get(key, [])
            for word in _WORD.findall(name)
        }
        alternation = "|".join(regex.escape(name) for name in sorted(names, key=len, reverse=True))
        patterns[language] = regex.compile(alternation, flags=regex.I)
    return patterns


@lru_cache(maxsize=1)
def number_word_patterns() -> dict[str, regex.Pattern[str]]:
    """Language -> one pattern for its simplifications that write a number or a date word ("una" -> "1" in
    Spanish), as dateparser compiles them: between word boundaries unless the language writes no spaces.
    Through them a string with no month name can still read as a date in that language. A replacement
    with a group reference (`\\1`) counts as a number, and each pattern is tried on the string as given,
    not after the rewrites before it: both only name more languages."""
    date_words = date_word_languages()
    patterns: dict[str, regex.Pattern[str]] = {}
    for language, info in _language_data():
        keys = [
            normalize_unicode(key)
            for simplification in info.get("simplifications", [])
            for key, value in simplification.items()
            if any(ch.isdigit() for ch in str(value))
            or any(form in date_words for word in _WORD.findall(str(value)) for form in _forms(word))
        ]
        if not keys:
            continue
        alternation = "|".join(f"(?:{key})" for key in keys)
        if _unspaced(info):
            pattern = rf"(?!(?<=\d)\d)(?:{alternation})"
        else:
            pattern = rf"(?<=\A|\W|_)(?:{alternation})(?=\Z|\W|_)"
        patterns[language] = regex.compile(pattern, flags=regex.I | regex.U)
    return patterns


def hinted_languages(string: str) -> tuple[str, ...]:
    """Languages in which a word of `string` is a month or weekday name, or a number word that dateparser
    rewrites as a number, in dateparser's default order."""
    index = date_word_languages()
    found: set[str] = set()
    for word in _words(string):
        found |= index.get(word, frozenset())
    simplified = normalize_unicode(string.lower())
    found.update(
        language for language, pattern in number_word_patterns().items() if pattern.search(simplified)
    )
    found.update(
        language for language, pattern in unspaced_date_names().items() if pattern.search(simplified)
    )
    return tuple(language for language in language_order if language in found)


@lru_cache(maxsize=512)
def _parser_for(languages: tuple[str, ...]) -> DateDataParser:
    """htmldate's dateparser, its settings unchanged, over `languages` only. With no language given,
    dateparser tries one locale per language (the language's own, no regional variant), in
    `language_order`; given languages, it tries the same locales in the same order."""
    return DateDataParser(languages=list(languages), settings=HTMLDATE_SETTINGS)


def parsing_languages(string: str) -> tuple[str, ...]:
    """The languages `hinted_date` asks dateparser in; () for every language (the month may be digits, or
    the string names no language)."""
    return () if month_may_be_digits(string) else hinted_languages(string)


def hinted_date(string: str) -> datetime | None:
    """What htmldate's external parser (dateparser) reads in `string`, asked of the hinted languages only."""
    languages = parsing_languages(string)
    parser = _parser_for(languages) if languages else htmldate.extractors.get_external_parser()
    try:
        return parser.get_date_data(string)["date_obj"]
    except (OverflowError, ValueError):  # as htmldate's own call: an unparseable string reads as no date
        return None


@contextmanager
def hinted_external_parser() -> Iterator[None]:
    """Within the block, htmldate's extensive search asks dateparser through `hinted_date`.

    htmldate looks its external parser up as a module attribute at each call; the swap is undone on exit.
    htmldate caches its answer for each string (try_date_expr) from whichever parser read it first, so a
    comparison with htmldate's own search in one process empties that cache in between."""
    original: Callable[[str], datetime | None] = htmldate.extractors._external_date
    htmldate.extractors._external_date = hinted_date
    try:
        yield
    finally:
        htmldate.extractors._external_date = original
