"""dateparser told the string's languages against htmldate's own dateparser, which tries every language."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import htmldate.extractors
import pytest
from dateparser import DateDataParser
from dateparser.data.languages_info import language_order
from htmldate.extractors import get_external_parser

from dating.hinted_dateparser import (
    HTMLDATE_SETTINGS,
    hinted_date,
    hinted_external_parser,
    hinted_languages,
    month_may_be_digits,
)
from tests.dating.helpers import dateparser_strings, written_dates


def htmldate_reads(string: str) -> datetime | None:
    """htmldate's own external parser, the reference: dateparser over every language."""
    return get_external_parser().get_date_data(string)["date_obj"]


def test_settings_are_htmldates() -> None:
    ours = DateDataParser(languages=["en"], settings=HTMLDATE_SETTINGS)._settings
    assert vars(ours) == vars(get_external_parser()._settings)


def test_every_real_string_reads_as_htmldate_reads_it(data_dir: Path) -> None:
    strings = dateparser_strings(data_dir)
    assert len(strings) > 300
    answers = [(s, htmldate_reads(s), hinted_date(s)) for s in strings]
    assert [a for a in answers if a[1] != a[2]] == []
    # the set is not trivial: about a third of the strings are dates, most strings name their languages
    assert sum(a[2] is not None for a in answers) > 90
    assert sum(bool(hinted_languages(s)) for s in strings) > 300


def test_dates_written_in_every_language_read_as_htmldate_reads_them() -> None:
    strings = written_dates(per_language=2)
    assert len(strings) > 350
    answers = [(s, htmldate_reads(s), hinted_date(s)) for s in strings]
    assert [a for a in answers if a[1] != a[2]] == []
    assert sum(a[1] is not None for a in answers) > 250


@pytest.mark.parametrize(
    ("string", "languages", "expected"),
    [
        # a month name: the languages that use it, in dateparser's order
        ("22 de novembro de 2020. 18:20", {"pt", "gl"}, datetime(2020, 11, 22, 18, 20)),
        # strict: a word that no language knows leaves no date, as in htmldate
        ("Alta Floresta - MT, 22 de novembro de 2020. 18:20", {"pt", "gl"}, None),
        # accents stripped, as dateparser's NORMALIZE setting does
        ("Miercoles, 15 de Abril de 2020", {"es"}, datetime(2020, 4, 15)),
        # a number word: Spanish reads "una" as 1, so this is 15 January (no month name in it at all)
        ("15. una 2005", {"es"}, datetime(2005, 1, 15)),
        ("Четвъртък 15 Октомври 2020", {"bg"}, datetime(2020, 10, 15)),
    ],
)
def test_hinted_languages_and_dates(string: str, languages: set[str], expected: datetime | None) -> None:
    hinted = hinted_languages(string)
    assert languages <= set(hinted)
    assert list(hinted) == sorted(hinted, key=language_order.index)
    assert hinted_date(string) == htmldate_reads(string) == expected


def test_string_without_date_words_goes_to_every_language() -> None:
    assert hinted_languages("Updated 03/26/2020") == ()
    assert hinted_date("Updated 03/26/2020") is None is htmldate_reads("Updated 03/26/2020")
    assert hinted_languages("am 15 2020-05") == ("gd",)  # "am" is Scottish Gaelic's "May"; German reads it
    assert hinted_date("am 15 2020-05") == htmldate_reads("am 15 2020-05")


@pytest.mark.parametrize(
    "string",
    [
        # the month from digits, read by a language that a short word's other meaning does not name
        "05 15 2020 10:00 am",
        "on 05 15 2020",
        "in 05 15 2020",
        "le 15 05 2020",
        "15 05 2020 um 10:00",
        "1505 2020 am",
        # words that combining marks split before dateparser's normalisation joins them
        "15 fe\u0301vrier 2020",
        "15 \u064a\u0646\u0627\u064a\u0650\u0631 2020",
        # Arabic January written with the Persian letter ye
        "15 \u06cc\u0646\u0627\u06cc\u0631 2020 10:00 am",
        # a month name inside a longer run of letters, in languages written without spaces
        "2020年5月15日星期五",
        "発行日2020年5月15日",
    ],
)
def test_counterexamples_read_as_htmldate_reads_them(string: str) -> None:
    assert hinted_date(string) == htmldate_reads(string)
    assert (htmldate_reads(string) is None) == (string in ("1505 2020 am", "発行日2020年5月15日"))


def test_month_may_be_digits() -> None:
    assert month_may_be_digits("15 05 2020")
    assert month_may_be_digits("15052020 x")
    assert month_may_be_digits("1505 2020")
    assert not month_may_be_digits("15 mai 2020 10:00")  # the time is a time, not a date part
    assert not month_may_be_digits("15 mai 2020 10:00:30")
    assert month_may_be_digits("15 mai 2020 10.00")  # a time dateparser could read otherwise


def test_bad_strings_read_as_no_date() -> None:
    for string in ("", "   ", "99 99 9999", "31 February 2020", "31 fevrier 2020 | 12 mars"):
        assert hinted_date(string) is None is htmldate_reads(string), string
    # control characters around a date: both read the date
    assert hinted_date("\x00\ufffd 12 mars 2020 \x00") == htmldate_reads("\x00\ufffd 12 mars 2020 \x00")
    assert hinted_date("\x00\ufffd 12 mars 2020 \x00") == datetime(2020, 3, 12)


def test_swap_is_scoped_and_undone_on_error() -> None:
    original = htmldate.extractors._external_date
    with pytest.raises(RuntimeError), hinted_external_parser():
        assert htmldate.extractors._external_date is hinted_date
        raise RuntimeError("page failed")
    assert htmldate.extractors._external_date is original
