"""dateparser told a string's languages (dating.hinted_dateparser) against htmldate's dateparser over all.

Strings: every element text of the real sample pages that htmldate's extensive search would hand to dateparser
(tests/dating/helpers.dateparser_strings), and dates written in every language of dateparser's data
(helpers.written_dates, 2 per language). For each set, in one process, one core, CPU time (process_time),
best of `--rounds` interleaved rounds, after one pass that loads every locale's data:

- htmldate: htmldate.extractors.get_external_parser().get_date_data, dateparser with no language given;
- hinted: dating.hinted_dateparser.hinted_date.

Prints CPU ms per string of each, the ratio, on how many strings the two give the same date, and how many
strings still go to dateparser over every language (their month may be digits, or they name no language). Run:
python bench/dateparser_hints.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from htmldate.extractors import get_external_parser  # noqa: E402

from dating.hinted_dateparser import hinted_date, parsing_languages  # noqa: E402
from tests.dating.helpers import dateparser_strings, written_dates  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def htmldate_date(string: str) -> datetime | None:
    return get_external_parser().get_date_data(string)["date_obj"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    if not (SHARED / "warc").is_dir():
        sys.exit(
            f"dateparser_hints: {SHARED} is absent (the real sample pages; see ../shared/data/README.md)"
        )
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    warnings.simplefilter("ignore")
    htmldate_date("for best thesis 2020-21")  # a string no locale reads: every locale's data is loaded
    sets = {"real page strings": dateparser_strings(SHARED), "written dates": written_dates(per_language=2)}
    systems: dict[str, Callable[[str], datetime | None]] = {"htmldate": htmldate_date, "hinted": hinted_date}
    print(
        f"{'strings':20s} {'n':>5s} {'htmldate ms':>12s} {'hinted ms':>10s} {'ratio':>6s} {'same':>5s} {'every lang.':>12s}"
    )
    for name, strings in sets.items():
        best = dict.fromkeys(systems, float("inf"))
        answers: dict[str, list[datetime | None]] = {}
        for _ in range(rounds):
            for system, read in systems.items():
                start = time.process_time()
                answers[system] = [read(s) for s in strings]
                best[system] = min(best[system], time.process_time() - start)
        n = len(strings)
        same = sum(a == b for a, b in zip(answers["htmldate"], answers["hinted"], strict=True))
        unhinted = sum(not parsing_languages(s) for s in strings)
        print(
            f"{name:20s} {n:5d} {1000 * best['htmldate'] / n:12.2f} {1000 * best['hinted'] / n:10.3f} "
            f"{best['htmldate'] / best['hinted']:6.1f} {same:5d} {unhinted:12d}"
        )


if __name__ == "__main__":
    main()
