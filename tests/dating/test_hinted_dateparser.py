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
)
from tests.dating.helpers import dateparser_strings, written_dates

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def htmldate_reads(string: str) -> datetime | None:
    """htmldate's own external parser, the reference: dateparser over every language."""
    return get_external_parser().get_date_data(string)["date_obj"]


def test_settings_are_htmldates() -> None:
    ours = DateDataParser(languages=["en"], settings=HTMLDATE_SETTINGS)._settings
    assert vars(ours) == vars(get_external_parser()._settings)


def test_every_real_string_reads_as_htmldate_reads_it() -> None:
    if not (DATA / "warc").is_dir():
        pytest.skip("../shared/data is absent: no real sample pages")
    strings = dateparser_strings(DATA)
    assert len(strings) > 300
    differ = [(s, htmldate_reads(s), hinted_date(s)) for s in strings if htmldate_reads(s) != hinted_date(s)]
    assert differ == []
    # the set is not trivial: about a third of the strings are dates, most strings name their languages
    assert sum(hinted_date(s) is not None for s in strings) > 90
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
    string = "Updated 03/26/2020"
    assert hinted_languages(string) == ()
    assert hinted_date(string) is None is htmldate_reads(string)


def test_bad_strings_read_as_no_date() -> None:
    for string in ("", "   ", "99 99 9999", "31 February 2020", "\x00\ufffd 12 mars 2020 \x00"):
        assert hinted_date(string) == htmldate_reads(string)


def test_swap_is_scoped_and_undone_on_error() -> None:
    original = htmldate.extractors._external_date
    with pytest.raises(RuntimeError), hinted_external_parser():
        assert htmldate.extractors._external_date is hinted_date
        raise RuntimeError("page failed")
    assert htmldate.extractors._external_date is original
