"""Dates and years in plain text, in several languages, checked against dateparser as the reference."""

from __future__ import annotations

from datetime import UTC, datetime

import dateparser
import pytest

from dating.textdates import MONTHS, find_text_dates

MARCH_12 = datetime(2019, 3, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "sentence", "span"),
    [
        ("de", "Berlin, 12. März 2019 – Der Bundestag hat am Dienstag beschlossen.", "12. März 2019"),
        ("fr", "Paris, le 12 mars 2019. Le gouvernement a annoncé hier soir.", "12 mars 2019"),
        ("es", "Madrid, 12 de marzo de 2019. El Gobierno aprobó ayer la ley.", "12 de marzo de 2019"),
        ("ja", "東京、2019年3月12日に政府は発表した。", "2019年3月12日"),
        ("ru", "Москва, 12 марта 2019 года. Правительство объявило.", "12 марта 2019"),
        ("en", "WASHINGTON, March 12, 2019 - The Senate voted on Tuesday.", "March 12, 2019"),
        ("it", "Roma, 12 marzo 2019 - Il governo ha approvato.", "12 marzo 2019"),
        ("tr", "İstanbul, 12 Mart 2019 - Hükümet açıkladı.", "12 Mart 2019"),
        # English ordinals, day first: found nothing, so a later date in the page became its dateline
        ("en", "Posted on 12th March 2019 by the editor.", "12 March 2019"),
        ("en", "LONDON, the 12th of March 2019 - Parliament sat late.", "12 March 2019"),
    ],
)
def test_multilingual_dates_match_dateparser(lang: str, sentence: str, span: str) -> None:
    found = find_text_dates(sentence, max_year=2024)
    assert found.dates == [MARCH_12]
    reference = dateparser.parse(
        span, languages=[lang], settings={"TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": False}
    )
    assert reference is not None and reference.date() == found.dates[0].date()
    assert found.latest_year == 2019


def test_numeric_formats_and_order() -> None:
    text = "Stand: 05.11.2018. Zuletzt geändert 2020-02-03. Termin 13/04/2019, nicht 03/04/2019."
    found = find_text_dates(text, max_year=2024)
    # reading order; 03/04/2019 is day-first or month-first and is left out
    assert found.dates == [
        datetime(2018, 11, 5, tzinfo=UTC),
        datetime(2020, 2, 3, tzinfo=UTC),
        datetime(2019, 4, 13, tzinfo=UTC),
    ]
    assert found.latest_year == 2020


def test_copyright_lines_and_year_mentions() -> None:
    found = find_text_dates("All rights reserved. © 2015-2019 Example Media GmbH", max_year=2024)
    assert found.copyright_years == [2015, 2019]
    assert found.latest_year == 2019
    assert find_text_dates("Copyright 2012 ACME", max_year=2024).latest_year == 2012
    # numbers that are not years: amounts, decimals, percentages
    assert (
        find_text_dates("2,019 people paid $1999 and 2019.5 units, 2010% more", max_year=2024).latest_year
        is None
    )


def test_future_years_are_not_the_latest_year() -> None:
    found = find_text_dates("In 2018 the plan was set; by 2030 the line will open.", max_year=2020)
    assert found.latest_year == 2018
    assert find_text_dates("In 2018 the plan; by 2030 the line.", max_year=None).latest_year == 2030


def test_bad_dates_are_counted_not_returned() -> None:
    found = find_text_dates(
        "Due 31 February 2019, 30.02.2020 and 12 March 1985; 12 March 2031.", max_year=2024
    )
    assert found.dates == []
    assert found.rejected == {"malformed": 2, "before_1991": 1, "after_crawl": 1}


def test_empty_and_dateless_text() -> None:
    assert find_text_dates("", max_year=2024).dates == []
    assert find_text_dates("", max_year=2024).latest_year is None
    assert find_text_dates("no dates here at all, just words", max_year=2024).latest_year is None


def test_ambiguous_month_names_are_left_out() -> None:
    # Croatian "listopad" is October, Polish/Czech "listopad" November: no guess.
    assert "listopad" not in MONTHS
    assert find_text_dates("12 listopad 2019", max_year=2024).dates == []
    assert MONTHS["märz"] == MONTHS["mars"] == MONTHS["marzo"] == MONTHS["марта"] == 3
