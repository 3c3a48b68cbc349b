"""What each stage of htmldate's extensive search costs in ingest, and what it dates, on the real pages.

#19 asks ingest with dating to cost at least 3x less than the ingest before it (bench/ingest_profile.py's
previous ingest) and at most 2x its floor, with dating's exact-day accuracy on the 200 gold pages at least
htmldate extensive's. Most of dating's cost is the extensive search (dating.html_search), which runs on the
pages whose markup holds no publication date. This runs ingest and the gold-page evaluation with the search
limited to subsets of its stages (dating.html_search.EXTENSIVE_STAGES, always in htmldate's order; the
shipped search runs them all) and prints for each, side by side:
- CPU ms per page of ingest with dating on bench/ingest_profile.py's pages (the sample WARCs, and the gold
  pages wrapped in a WARC), measured as it measures (chunks of `--records` records, each system's best of
  `--rounds` rounds, one core, htmldate's caches emptied first), with the floor and the previous ingest in
  the same rounds, and the two ratios #19 sets bars on;
- bench/dating_eval.py's figures on the 200 gold pages (crawl date 2020-12-31), htmldate alone (its
  extensive search, the URL given) the accuracy bar, and the pages whose date the markup's publication date
  decides (date_source html_meta).

    python bench/extensive_stages.py [--rounds 5] [--records 10]
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dating_eval  # noqa: E402
import ingest_profile  # noqa: E402
from date_search import clear_htmldate_caches  # noqa: E402

import dating.html_meta as html_meta  # noqa: E402
from corpus.readers import ReadOptions  # noqa: E402
from dating.html_search import EXTENSIVE_STAGES, extensive_search_date  # noqa: E402

SUBSETS: dict[str, tuple[str, ...]] = {
    "all (shipped)": EXTENSIVE_STAGES,
    "all but free_text": tuple(s for s in EXTENSIVE_STAGES if s != "free_text"),
    "candidates, page": ("candidates", "page"),
    "page": ("page",),
    "none": (),
}


@contextmanager
def searching(stages: tuple[str, ...]) -> Iterator[None]:
    """Dating's markup hook runs the extensive search with only `stages` while the block runs."""
    shipped = html_meta.extensive_search_date
    html_meta.extensive_search_date = functools.partial(extensive_search_date, stages=stages)
    try:
        yield
    finally:
        html_meta.extensive_search_date = shipped


def ingest_costs(rounds: int, records: int) -> dict[str, float]:
    """CPU ms per page over all of ingest_profile's pages: floor, previous ingest, and ingest with dating
    under each subset of SUBSETS."""
    dater = ReadOptions(page_hook=html_meta.MarkupDater())

    def with_stages(stages: tuple[str, ...]) -> Callable[[Path], int]:
        def run(path: Path) -> int:
            with searching(stages):
                return ingest_profile.reader(path, dater)

        return run

    systems: dict[str, Callable[[Path], int]] = {
        "floor": ingest_profile.floor,
        "previous ingest": ingest_profile.previous_ingest,
        **{name: with_stages(stages) for name, stages in SUBSETS.items()},
    }
    with tempfile.TemporaryDirectory(prefix="extensive-stages-") as tmp:
        files = [ingest_profile.SHARED / "warc" / name for name in ingest_profile.SAMPLES]
        files.append(ingest_profile.gold_warc(Path(tmp)))
        chunks = [c for path in files for c in ingest_profile.split_warc(path, Path(tmp), records)]
        pages = {c: len(ingest_profile.html_pages(c)) for c in chunks}
        fastest = {(c, n): math.inf for c in chunks for n in systems}
        for _ in range(rounds):
            for chunk in chunks:
                for name, run in systems.items():
                    spent = ingest_profile.cpu_ms(lambda r=run, c=chunk: r(c))
                    fastest[chunk, name] = min(fastest[chunk, name], spent)
    total = sum(pages.values())
    return {n: sum(fastest[c, n] for c in chunks) / total for n in systems}


def gold_figures() -> dict[str, dict[str, float]]:
    """dating_eval's figures on the gold pages: htmldate alone, and chronomix under each subset."""
    _, pages = dating_eval.load_pages(None)
    golds = [p["gold"] for p in pages]
    figures = {"htmldate alone": dating_eval.score(golds, dating_eval.run_htmldate(pages)[0])}
    for name, stages in SUBSETS.items():
        clear_htmldate_caches()  # each subset reads the pages' date strings afresh, as a crawl's executor does
        with searching(stages):
            rows, _ = dating_eval.run_chronomix(pages, dating_eval.EVAL_CRAWL)
        found = [dating_eval._day(r["date_published"]) for r in rows]
        figures[name] = dating_eval.score(golds, found, rows)
        figures[name]["markup_decides"] = sum(r["date_source"] == "html_meta" for r in rows)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=10, help="WARC records per chunk")
    args = parser.parse_args()
    if not (ingest_profile.SHARED / "warc").is_dir() or not dating_eval.SHARED.is_dir():
        sys.exit(f"extensive_stages: {ingest_profile.SHARED} is absent (see ../shared/data/README.md)")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as ingest_profile
    warnings.simplefilter("ignore")  # dateutil's unknown-zone warnings on page dates
    figures = gold_figures()
    cost = ingest_costs(args.rounds, args.records)
    floor, previous = cost["floor"], cost["previous ingest"]
    print(f"ingest, CPU ms per page over all pages (best of {args.rounds} rounds, chunks of {args.records}):")
    print(f"  floor {floor:.2f}; previous ingest {previous:.2f}")
    bar = figures["htmldate alone"]
    print(
        f"gold pages: htmldate alone exact {bar['exact']:.3f}, within 7 days {bar['within_7d']:.3f}, "
        f"coverage {bar['coverage']:.3f}"
    )
    print("bars (#19): previous / this >= 3, this / floor <= 2, exact >= htmldate alone's")
    head = [
        "search stages",
        "ms/page",
        "x floor",
        "previous / this",
        "exact",
        "within 7d",
        "coverage",
        "bounds",
        "markup decides",
    ]
    print(f"{head[0]:<20}" + "".join(f"{h:>17}" for h in head[1:]))
    for name in SUBSETS:
        f = figures[name]
        cells = [cost[name], cost[name] / floor, previous / cost[name]]
        cells += [f["exact"], f["within_7d"], f["coverage"], f["bounds_contain"]]
        row = "".join(f"{c:>17.3f}" if i > 2 else f"{c:>17.2f}" for i, c in enumerate(cells))
        print(f"{name:<20}{row}{f['markup_decides']:>17d}")
    print("stages: " + ", ".join(f"{n} = {' + '.join(s) or '-'}" for n, s in SUBSETS.items()))
    print(f"load average: {os.getloadavg()[0]:.2f} (figures taken on a shared machine are depressed by load)")


if __name__ == "__main__":
    main()
