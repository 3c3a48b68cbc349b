"""The extensive date search on the page's one lexbor parse against htmldate's own, on real pages.

Pages: the real sample pages (the sample WARCs and the 200 gold news pages of ../shared/data, decoded as
ingest decodes them) whose date markup gives no publication date, the pages on which ingest runs the
extensive search (dating.html_meta). For each, in one process, one core, CPU time (process_time), best of
`--rounds` interleaved rounds, htmldate's caches of parsed date strings emptied before each:

- htmldate: `find_date(html, extensive_search=True, original_date=True, url=canonical)`, its own lxml parse,
  pruning and serialisation included, as ingest ran it before dating.html_search;
- chronomix: `dating.html_search.extensive_search_date` on the page's lexbor tree, parsed beforehand (ingest
  has it already for the text).

Prints pages, CPU ms/page of each, the ratio, and on how many pages the two give the same date (where they
differ, lxml and lexbor parse the page differently; tests/dating/test_html_search.py holds the stage-by-stage
equalities). Run: python bench/date_search.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from htmldate import find_date  # noqa: E402
from htmldate.extractors import extract_url_date, try_date_expr  # noqa: E402
from htmldate.validators import _parse_and_validate, filter_ymd_candidate  # noqa: E402

from corpus.html_text import parse_html  # noqa: E402
from dating.html_meta import HTMLDATE_MIN_DATE, MAX_HTML_CHARS, _first_stages, _markup, _options  # noqa: E402
from dating.html_search import extensive_search_date  # noqa: E402
from tests.dating.helpers import sample_pages  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CRAWL = datetime(2020, 12, 31, 23, 59, 59)


def clear_htmldate_caches() -> None:
    """Empty htmldate's caches of parsed date strings, so that no measurement reads dates that another
    system or an earlier round parsed (a crawl's pages are new to the executor that dates them)."""
    for cached in (try_date_expr, _parse_and_validate, filter_ymd_candidate):
        cached.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    if not (SHARED / "warc").is_dir():
        sys.exit(f"date_search: {SHARED} is absent (the real sample pages; see ../shared/data/README.md)")
    warnings.simplefilter("ignore")
    pages = []
    for html in sample_pages(SHARED):
        tree = parse_html(html)
        markup, canonical = _markup(tree)
        if not (
            extract_url_date(canonical, _options(True, CRAWL)) or _first_stages(markup, _options(True, CRAWL))
        ):
            pages.append((html, canonical, tree))
    options = _options(True, CRAWL, extensive=True)
    bounds = {"min_date": HTMLDATE_MIN_DATE, "max_date": CRAWL}

    def theirs() -> list[str | None]:
        return [
            find_date(h[:MAX_HTML_CHARS], extensive_search=True, original_date=True, url=c, **bounds)
            for h, c, _ in pages
        ]

    def ours() -> list[str | None]:
        return [extensive_search_date(t, options, MAX_HTML_CHARS) for _, _, t in pages]

    best = {"htmldate": float("inf"), "chronomix": float("inf")}
    answers: dict[str, list[str | None]] = {}
    for _ in range(rounds):
        for name, run in (("htmldate", theirs), ("chronomix", ours)):
            clear_htmldate_caches()
            start = time.process_time()
            answers[name] = run()
            best[name] = min(best[name], time.process_time() - start)
    n = len(pages)
    same = sum(a == b for a, b in zip(answers["htmldate"], answers["chronomix"], strict=True))
    print(f"pages whose markup gives no publication date: {n} of {len(sample_pages(SHARED))}")
    for name, seconds in best.items():
        print(f"{name:10s} {1000 * seconds / n:6.2f} CPU ms/page (best of {rounds} rounds)")
    print(
        f"htmldate / chronomix: {best['htmldate'] / best['chronomix']:.2f}x   same date on {same} of {n} pages"
    )


if __name__ == "__main__":
    main()
