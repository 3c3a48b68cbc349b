"""Dating evaluation: chronomix's date_published against htmldate alone, on news pages with gold dates.

Data: the 200 worldwide news pages of htmldate's MediaCloud 2020 test set (`../shared/data/dating/`). Gold dates are publication dates;
5 pages have none (`NaN`).

Both systems see the same decoded HTML and URL. The baseline is htmldate alone,
`find_date(html, original_date=True, extensive_search=True, url=url)` (given the URL, its strongest
source); chronomix parses each page once (corpus.html_text.parse_html), reads the main text and the markup
dates from that tree (dating.html_meta.markup_dates, as ingest's page hook does) and runs the dating kernel
(dating.combine.date_batch) over the page's URL, markup dates and main text.

Crawl date: the pages carry none. The set was collected in 2020, so the honest assumption is a fetch at the
end of 2020 (2020-12-31T23:59:59Z); that makes the crawl an upper bound and lets year mentions count as
lower bounds. The run is repeated with no crawl date (no upper bound at all, text years unused), and the
bound width is printed beside the containment so a wide interval cannot pass for a good one.

Figures (all over the N pages): exact-day accuracy (a page without a gold date is right when no date is
given), the same over the dated pages only, accuracy within 7 and 31 days, coverage (pages given a date),
bounds containment (gold in [date_lower, date_upper], over dated pages; a missing bound is open), median
bound width, and documents per second for both, timed on the second of two interleaved rounds (htmldate
caches parsed dates; the first round warms both). chronomix's time includes its text extraction (it shares
the page's one parse); htmldate's does not. Last, the pages' texts alone are dated (what a page whose only
signal is the years its text names gets) and `created` is compared with the gold date where the latest year
the text names decided it: as the middle of that year (this rule) and as its first day (the former rule).
Run: `python bench/dating_eval.py [--limit N]`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.html_text import decode_payload, parse_html, tree_to_text  # noqa: E402
from corpus.schema import TIMESTAMP  # noqa: E402
from dating.combine import date_batch  # noqa: E402
from dating.html_meta import HTML_META_MODIFIED, markup_dates  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "dating"
EVAL_CRAWL = datetime(2020, 12, 31, 23, 59, 59, tzinfo=UTC)


def load_pages(limit: int | None) -> tuple[str, list[dict]]:
    """(where from, pages) with url, html (decoded), text and gold (YYYY-MM-DD or None)."""
    if not (SHARED / "eval_mediacloud_2020.json").exists():
        sys.exit(f"dating_eval: {SHARED} is absent (the real sample pages; see ../shared/data/README.md)")
    where, gold = SHARED, json.loads((SHARED / "eval_mediacloud_2020.json").read_text())
    pages = []
    for url, entry in list(gold.items())[:limit]:
        body = gzip.decompress((where / "pages" / f"{entry['file']}.gz").read_bytes())
        html = decode_payload(body, None, True).text
        date = entry["date"]
        date = None if date is None or (isinstance(date, float) and math.isnan(date)) else str(date)
        pages.append({"url": url, "html": html, "gold": date})
    return str(where), pages


def run_htmldate(pages: list[dict]) -> tuple[list[str | None], float]:
    from htmldate import find_date

    started = time.perf_counter()
    found = [find_date(p["html"], original_date=True, extensive_search=True, url=p["url"]) for p in pages]
    return found, time.perf_counter() - started


def page_batch(pages: list[dict], crawl: datetime | None, texts: list[str], dates=None) -> pa.RecordBatch:
    columns = {
        "id": pa.array([str(i) for i in range(len(pages))]),
        "text": pa.array(texts),
        "url": pa.array([p["url"] for p in pages]),
        "crawl_date": pa.array([crawl] * len(pages), TIMESTAMP),
    }
    if dates is not None:
        columns["html_meta_date"] = pa.array([d[0] for d in dates], TIMESTAMP)
        columns[HTML_META_MODIFIED] = pa.array([d[1] for d in dates], TIMESTAMP)
    return pa.RecordBatch.from_pydict(columns)


def run_chronomix(pages: list[dict], crawl: datetime | None) -> tuple[list[dict], float]:
    """Dated rows and the seconds of: one parse per page, the main text and markup dates from it, and the
    dating kernel (the text extraction is timed too: the parse is shared)."""
    started = time.perf_counter()
    texts, dates = [], []
    for page in pages:
        tree = parse_html(page["html"])
        texts.append(tree_to_text(tree)[0])
        dates.append(markup_dates(tree, page["html"], crawl))
    dated = date_batch(page_batch(pages, crawl, texts, dates))
    seconds = time.perf_counter() - started
    for page, text in zip(pages, texts, strict=True):
        page["text"] = text
    return dated.drop_columns(["text"]).to_pylist(), seconds


def text_only_rate(pages: list[dict], crawl: datetime | None, repeat: int = 5) -> float:
    """Documents/s of date_batch on text-only records (URL, text, crawl date; no HTML)."""
    batch = page_batch(pages * repeat, crawl, [p["text"] for p in pages] * repeat)
    started = time.perf_counter()
    date_batch(batch)
    return batch.num_rows / (time.perf_counter() - started)


def year_only(pages: list[dict], crawl: datetime) -> dict[str, list[int]]:
    """Days from each gold date to `created` where the page's text is all there is (no URL, no markup: the
    dating of a page whose only signal is the years its text names), under this rule (the middle of the latest
    year that the bounds leave) and the former one (that year's first day), over the pages so dated."""
    batch = pa.RecordBatch.from_pydict(
        {
            "id": pa.array([str(i) for i in range(len(pages))]),
            "text": pa.array([p["text"] for p in pages]),
            "crawl_date": pa.array([crawl] * len(pages), TIMESTAMP),
        }
    )
    errors: dict[str, list[int]] = {"middle of the year": [], "first day of the year": []}
    for page, row in zip(pages, date_batch(batch).to_pylist(), strict=True):
        if page["gold"] is None or row["date_source"] != "text_years":
            continue
        gold = datetime.fromisoformat(page["gold"]).replace(tzinfo=UTC)
        errors["middle of the year"].append((row["created"] - gold).days)
        errors["first day of the year"].append((datetime(row["created"].year, 1, 1, tzinfo=UTC) - gold).days)
    return errors


def _day(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d") if value is not None else None


def score(
    golds: list[str | None], found: list[str | None], rows: list[dict] | None = None
) -> dict[str, float]:
    """The figures of the module docstring for one system."""
    n = len(golds)
    dated = [i for i, g in enumerate(golds) if g is not None]
    exact = sum(1 for g, f in zip(golds, found, strict=True) if g == f)

    def within(days: int) -> int:
        return sum(
            1
            for i in dated
            if found[i] is not None
            and abs((datetime.fromisoformat(found[i]) - datetime.fromisoformat(golds[i])).days) <= days
        )

    figures = {
        "exact": exact / n,
        "exact_dated": sum(1 for i in dated if found[i] == golds[i]) / len(dated),
        "within_7d": within(7) / len(dated),
        "within_31d": within(31) / len(dated),
        "coverage": sum(1 for f in found if f is not None) / n,
    }
    if rows is not None:
        inside, widths = 0, []
        for i in dated:
            gold = datetime.fromisoformat(golds[i]).replace(tzinfo=UTC)
            lower, upper = rows[i]["date_lower"], rows[i]["date_upper"]
            low_ok = lower is None or _day(lower) <= golds[i]
            high_ok = upper is None or gold <= upper
            inside += low_ok and high_ok
            if lower is not None and upper is not None:
                widths.append((upper - lower).days)
        figures["bounds_contain"] = inside / len(dated)
        figures["bounded_both"] = len(widths) / len(dated)
        figures["median_width_days"] = statistics.median(widths) if widths else float("nan")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N pages")
    args = parser.parse_args()
    where, pages = load_pages(args.limit)
    golds = [p["gold"] for p in pages]
    print(f"pages: {len(pages)} from {where} ({sum(g is not None for g in golds)} with a gold date)")

    # Two interleaved rounds; the second is timed (htmldate's date-parsing caches are warm for both).
    for _ in range(2):
        base_found, base_s = run_htmldate(pages)
        rows, ours_s = run_chronomix(pages, EVAL_CRAWL)
    rows_open, _ = run_chronomix(pages, None)

    results = {
        "htmldate alone": score(golds, base_found),
        "chronomix (crawl 2020-12-31)": score(golds, [_day(r["date_published"]) for r in rows], rows),
        "chronomix (no crawl date)": score(golds, [_day(r["date_published"]) for r in rows_open], rows_open),
    }
    keys = [
        "exact",
        "exact_dated",
        "within_7d",
        "within_31d",
        "coverage",
        "bounds_contain",
        "bounded_both",
        "median_width_days",
    ]
    print(f"{'system':32s}" + "".join(f"{k:>18s}" for k in keys))
    for name, figures in results.items():
        cells = "".join(
            f"{figures[k]:>18.3f}"
            if k in figures and k != "median_width_days"
            else f"{figures[k]:>18.0f}"
            if k in figures
            else f"{'-':>18s}"
            for k in keys
        )
        print(f"{name:32s}{cells}")
    sources: dict[str, int] = {}
    for r in rows:
        sources[r["date_source"] or "none"] = sources.get(r["date_source"] or "none", 0) + 1
    print("date_source (crawl 2020-12-31):", dict(sorted(sources.items())))
    base_rate, ours_rate = len(pages) / base_s, len(pages) / ours_s
    text_rate = text_only_rate(pages, EVAL_CRAWL)
    print(
        f"docs/s  htmldate alone: {base_rate:.1f}   chronomix HTML input (html kernel + date_batch): "
        f"{ours_rate:.1f} (ratio {ours_rate / base_rate:.2f})   chronomix text-only date_batch: "
        f"{text_rate:.1f} (ratio {text_rate / base_rate:.2f})"
    )
    print("\ndated only by the years the text names (text alone, crawl 2020-12-31): days from the gold date")
    for rule, errors in year_only(pages, EVAL_CRAWL).items():
        print(
            f"  {rule:22s} pages {len(errors)}, median |error| {statistics.median(abs(e) for e in errors):.0f}, "
            f"mean error {statistics.fmean(errors):+.0f}, within 31 days {sum(abs(e) <= 31 for e in errors)}, "
            f"within 183 days {sum(abs(e) <= 183 for e in errors)}"
        )
    misses = [
        (
            golds[i],
            _day(r["date_published"]),
            _day(r["date_lower"]),
            _day(r["date_upper"]),
            r["date_source"],
            pages[i]["url"][:90],
        )
        for i, r in enumerate(rows)
        if _day(r["date_published"]) != golds[i]
    ]
    print(f"chronomix misses ({len(misses)}): gold, published, lower, upper, source, url")
    for miss in misses:
        print("  ", *miss)


if __name__ == "__main__":
    main()
