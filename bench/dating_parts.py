"""Where the markup dates' CPU time goes, part by part, on the real pages: what is left to cut for #19.

Pages: the real sample pages (the sample WARCs and the 200 gold news pages, decoded as ingest decodes them),
parsed beforehand as the reader parses them. In one process, one core, CPU time (process_time), best of
`--rounds` rounds, htmldate's caches of parsed date strings emptied before each. Per page over all pages:

- for scale, the parse and the text extraction the reader does anyway (corpus.html_text);
- the page hook as ingest runs it (dating.html_meta.markup_dates_or_raise), and its parts: the date markup
  copied into a small lxml tree (`_markup`), htmldate's first stages on it for the publication and the update
  date, and the extensive search (dating.html_search) on the pages whose first stages find no publication
  date, stage by stage (each stage timed only on the pages that reach it, but per page over all pages).

    python bench/dating_parts.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from date_search import clear_htmldate_caches  # noqa: E402
from htmldate.core import examine_elements, examine_time_elements  # noqa: E402
from htmldate.extractors import extract_url_date  # noqa: E402

import dating.html_search as search  # noqa: E402
from corpus.html_text import parse_html, tree_to_text  # noqa: E402
from dating.html_meta import MAX_HTML_CHARS, _first_stages, _markup, _options, markup_dates_or_raise  # noqa: E402
from dating.page_scans_re2 import utf8  # noqa: E402
from tests.dating.helpers import sample_pages  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CRAWL = datetime(2020, 12, 31, 23, 59, 59)


def search_stages(trees: list, totals: dict[str, float]) -> list[object]:
    """dating.html_search._search, stage by stage, adding each stage's CPU seconds to `totals`; the date each
    tree's search found (main checks it against _search itself, so the copy cannot drift from it unseen)."""
    options = _options(True, CRAWL, extensive=True)

    def timed(name: str, step: Callable[[], object]) -> object:
        began = time.process_time()
        found = step()
        totals[name] += time.process_time() - began
        return found

    found: list[object] = []
    with search.hinted_external_parser():
        for tree in trees:
            found.append(_staged_search(tree, options, timed))
    return found


def _staged_search(
    tree: object, options: object, timed: Callable[[str, Callable[[], object]], object]
) -> object:
    """One tree's search as dating.html_search._search runs it, each stage through `timed`: its date."""
    candidates = timed("  candidate elements found (lexbor selectors)", lambda: search._Candidates(tree))
    if found := timed("  candidate elements read", lambda: examine_elements(candidates, options)):
        return found
    if found := timed("  title, h1 and time elements", lambda: _headings_and_times(tree, options)):
        return found
    html = timed(
        "  page string (lexbor serialisation, pruned)", lambda: search.page_string(tree, MAX_HTML_CHARS)
    )
    data = utf8(html)
    if found := timed(
        "  timestamp, og:image, idiosyncrasies",
        lambda: (
            search.timestamp_date(html, options, data)
            or search._og_image_date(tree, options)
            or search.idiosyncrasies_date(html, options, data)
        ),
    ):
        return found
    if found := timed("  free-text segments", lambda: search._free_text_date(tree, html, options)):
        return found
    return timed("  search_page (RE2)", lambda: search.search_page(html, options, data))


def _headings_and_times(tree: object, options: object) -> str | None:
    found = search._kept(tree, "title, h1, time")
    return examine_elements([e for e in found if e.tag != "time"], options) or examine_time_elements(
        search._Elements([e for e in found if e.tag == "time"]), options
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    if not (SHARED / "warc").is_dir():
        sys.exit(f"dating_parts: {SHARED} is absent (the real sample pages; see ../shared/data/README.md)")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    warnings.simplefilter("ignore")
    pages = list(sample_pages(SHARED))
    trees = [parse_html(html) for html in pages]
    published, updated = _options(True, CRAWL), _options(False, CRAWL)
    marked = [_markup(tree) for tree in trees]
    searched = [
        tree
        for tree, (markup, canonical) in zip(trees, marked, strict=True)
        if not (extract_url_date(canonical, published) or _first_stages(markup, published))
    ]
    parts: dict[str, Callable[[], object]] = {
        "parse (for scale)": lambda: [parse_html(html) for html in pages],
        "text extraction (for scale)": lambda: [tree_to_text(tree) for tree in trees],
        "page hook, whole": lambda: [
            markup_dates_or_raise(tree, html, CRAWL) for tree, html in zip(trees, pages, strict=True)
        ],
        " date markup copied to lxml": lambda: [_markup(tree) for tree in trees],
        " first stages, publication": lambda: [
            extract_url_date(c, published) or _first_stages(m, published) for m, c in marked
        ],
        " first stages, update": lambda: [_first_stages(m, updated) for m, _ in marked],
    }
    with search.hinted_external_parser():
        expected = [
            search._search(t, _options(True, CRAWL, extensive=True), MAX_HTML_CHARS) for t in searched
        ]
    best: dict[str, float] = defaultdict(lambda: float("inf"))
    for _ in range(rounds):
        for name, run in parts.items():
            clear_htmldate_caches()
            began = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - began)
        clear_htmldate_caches()
        stages: dict[str, float] = defaultdict(float)
        staged = search_stages(searched, stages)
        if staged != expected:
            sys.exit("dating_parts: the staged search no longer finds what dating.html_search._search finds")
        best[" extensive search, whole"] = min(best[" extensive search, whole"], sum(stages.values()))
        for name, seconds in stages.items():
            best[name] = min(best[name], seconds)
    print(
        f"CPU ms per page over {len(pages)} pages ({len(searched)} reach the extensive search; best of {rounds})"
    )
    for name, seconds in best.items():
        print(f"  {name:<50} {seconds * 1000 / len(pages):7.3f}")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
