"""dateparser, told the languages that a date string's own words name.

htmldate's extensive search sends the strings its patterns cannot read to dateparser, with no language given.
dateparser then tries its locales in a fixed order. For each one it checks the string against that locale's
vocabulary, then tries to parse with it. A string costs 20-60 ms, most of all one that no locale reads. On the
real sample pages that was about a quarter of what dating adds to ingest (bench/ingest_profile.py).

htmldate parses strictly: a date needs a day, a month and a year. In a string that its own patterns could not
read, the month is nearly always a word. Here the languages come from the string itself: every language in
which one of its words is a month or weekday name (dateparser's data, after dateparser's own normalisation),
or in which one of dateparser's rewrites of number words ("una" -> "1" in Spanish) applies. dateparser then
runs as htmldate runs it, with the same settings and the same locale order, over those languages only. A
string that names none goes to dateparser over every language, as before.

This is a rule, not a proof: a language not named could still read a month from digits in a string whose
words name another language's month. tests/dating/test_hinted_dateparser.py holds htmldate's own parser as
the reference, on every string from the real sample pages that would reach it and on dates written in every
language of dateparser's data; bench/dateparser_hints.py measures both on the same strings.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

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


def _forms(word: str) -> set[str]:
    """The casefolded forms under which `word` is looked up: as written and after dateparser's normalisation
    (NORMALIZE, which htmldate's parser sets, strips accents before the vocabulary is checked)."""
    folded = word.casefold()
    return {folded, normalize_unicode(folded)}


@lru_cache(maxsize=1)
def date_word_languages() -> dict[str, frozenset[str]]:
    """Casefolded month or weekday name (each word of a multi-word name) -> languages that use it, over every
    language of dateparser's data."""
    index: dict[str, set[str]] = {}
    for language in language_order:
        info = importlib.import_module(f"dateparser.data.date_translation_data.{language}").info
        for key in DATE_WORD_KEYS:
            for name in info.get(key, []):
                for word in _WORD.findall(name):
                    for form in _forms(word):
                        index.setdefault(form, set()).add(language)
    return {word: frozenset(languages) for word, languages in index.items()}


@lru_cache(maxsize=1)
def number_word_patterns() -> dict[str, regex.Pattern[str]]:
    """Language -> one pattern for its simplifications that write a number or a date word ("una" -> "1" in
    Spanish), as dateparser compiles them: between word boundaries unless the language writes no spaces.
    Through them a string with no month name can still read as a date in that language."""
    date_words = date_word_languages()
    patterns: dict[str, regex.Pattern[str]] = {}
    for language in language_order:
        info = importlib.import_module(f"dateparser.data.date_translation_data.{language}").info
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
        if str(info.get("no_word_spacing", "")).lower() == "true":
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
    for word in _WORD.findall(string):
        for form in _forms(word):
            found |= index.get(form, frozenset())
    simplified = normalize_unicode(string.lower())
    found.update(
        language for language, pattern in number_word_patterns().items() if pattern.search(simplified)
    )
    return tuple(language for language in language_order if language in found)


@lru_cache(maxsize=1)
def _unhinted_parser() -> DateDataParser:
    return htmldate.extractors.get_external_parser()


@lru_cache(maxsize=512)
def _parser_for(languages: tuple[str, ...]) -> DateDataParser:
    """htmldate's dateparser, its settings unchanged, over `languages` only. With no language given,
    dateparser tries one locale per language (the language's own, no regional variant), in
    `language_order`; given languages, it tries the same locales in the same order."""
    return DateDataParser(languages=list(languages), settings=HTMLDATE_SETTINGS)


def hinted_date(string: str) -> datetime | None:
    """What htmldate's external parser (dateparser) reads in `string`, asked of the hinted languages only."""
    languages = hinted_languages(string)
    parser = _parser_for(languages) if languages else _unhinted_parser()
    try:
        return parser.get_date_data(string)["date_obj"]
    except (OverflowError, ValueError):  # as htmldate's own call: an unparseable string reads as no date
        return None


@contextmanager
def hinted_external_parser() -> Iterator[None]:
    """Within the block, htmldate's extensive search asks dateparser through `hinted_date`.

    htmldate looks its external parser up as a module attribute at each call; the swap is undone on exit,
    so htmldate elsewhere in the process is unchanged. htmldate caches its answer for each string
    (try_date_expr), from whichever parser read it first; the two agree on every string the tests hold."""
    original: Callable[[str], datetime | None] = htmldate.extractors._external_date
    htmldate.extractors._external_date = hinted_date
    try:
        yield
    finally:
        htmldate.extractors._external_date = original
