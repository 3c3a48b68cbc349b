"""Dating scored against the generated world's truth: `created` against each page's true version month.

For each seed, a `tiny` world is generated with a share of its Last-Modified hosts re-rendering their pages
(`rerender_share`: each page's Last-Modified falls between its content's time and the crawl, as MediaWiki's
page_touched does), and run through the real pipeline (`chronomix run`: world, ingest, date from the pages'
own signals, no reference versions). `created` is then compared with `world/truth/documents.parquet`'s
`content_time` (when the text was written: the version's last change, the news page's publication) for
three kinds of pages: a resource's own page (fresh and recrawled versions), stale copies on mirror hosts,
and news pages:

- the share whose `created` is within a day of the true time (a date without its time, time zones), and
  within 31 days;
- the median absolute and the mean signed error in days (> 0: dated later than the content);
- the share whose true time lies within the document's bounds [date_lower, date_upper] (a day of slack);
- the same for the documents whose Last-Modified the dating set aside because the page states an earlier edit
  (`distrusted:last_modified:after_page_edit`), and, as the control on those very documents, the former rule,
  under which the latest update date decided: their Last-Modified;
- the same for the documents dated only by the latest year their text names (`date_source` text_years),
  dated to the middle of that year, and, as their control, the former rule: that year's first day.

Run: python bench/dating_world.py [--seeds 0,1,2] [--rerender-share 0.5] [--work DIR] [--master local[2]]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from pipeline_run import run_pipeline_stages  # noqa: E402

from dating.evaluate import CreatedScores, created_scores  # noqa: E402

SET_ASIDE = "distrusted:last_modified:after_page_edit"
KINDS = {"resource page": ("fresh", "recrawl"), "stale copy": ("stale",), "news page": ("mention",)}


def run_pipeline(seed: int, work: Path, master: str, preset: str, rerender_share: float) -> Path:
    """world -> ingest -> date (the pages' own signals) for one seed; returns the pipeline folder."""
    stages = [
        {"name": "world", "kind": "world", "preset": preset, "seed": seed, "rerender_share": rerender_share},
        {"name": "ingest", "kind": "ingest", "inputs": ["${world}/dumps"], "added": "2024-01-01T00:00:00Z"},
        {"name": "dated", "kind": "date", "input": "${ingest}"},
    ]
    return run_pipeline_stages(work / f"seed{seed}", f"dating against truth, seed {seed}", stages, master)


def score(out: Path) -> dict[str, CreatedScores]:
    """Scores per kind of page and on the set-aside documents, each under this rule and the former one."""
    columns = ["id", "created", "date_lower", "date_upper", "last_modified", "date_source", "date_notes"]
    docs = pq.read_table(out / "dated", columns=columns)
    notes = docs.column("date_notes").to_pylist()
    docs = docs.drop_columns(["date_notes"]).append_column(
        "set_aside", pa.array([SET_ASIDE in (n or []) for n in notes], pa.bool_())
    )
    truth = pq.read_table(
        out / "world" / "truth" / "documents.parquet", columns=["id", "kind", "content_time"]
    )
    rows = docs.join(truth, "id").to_pylist()
    if len(rows) != docs.num_rows:
        raise SystemExit(f"{out}: {docs.num_rows - len(rows)} documents have no truth row")
    scores: dict[str, CreatedScores] = {}

    def scored(name: str, chosen: list[dict], created_key: str = "created") -> None:
        scores[name] = created_scores(
            [r[created_key] for r in chosen],
            [r["date_lower"] for r in chosen],
            [r["date_upper"] for r in chosen],
            [r["content_time"] for r in chosen],
        )

    for r in rows:
        # The former rules: where Last-Modified was set aside, Last-Modified, clamped into the bounds; where
        # the latest year the text names decided, that year's first day.
        former = min(r["last_modified"], r["date_upper"] or r["last_modified"]) if r["set_aside"] else None
        if r["date_source"] == "text_years":
            former = r["created"].replace(month=1, day=1)
        r["former_created"] = former or r["created"]
    for name, kinds in KINDS.items():
        chosen = [r for r in rows if r["kind"] in kinds]
        scored(name, chosen)
        scored(f"{name}, former rule", chosen, "former_created")
    set_aside = [r for r in rows if r["set_aside"]]
    scored("set aside", set_aside)
    scored("set aside, former rule", set_aside, "former_created")
    by_year = [r for r in rows if r["date_source"] == "text_years"]
    scored("dated by a year", by_year)
    scored("dated by a year, former rule", by_year, "former_created")
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--rerender-share", type=float, default=0.5)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument(
        "--work", type=Path, default=None, help="keep the pipelines here (default: a temp dir)"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="dating_world-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"created against the world's content times: preset {args.preset}, rerender share {args.rerender_share}"
    )
    header = (
        f"{'seed':>4} {'pages':<30} {'docs':>6} {'within 1 d':>10} {'within 31 d':>11} {'median |err| d':>14} "
        f"{'mean err d':>10} {'in bounds':>9}"
    )
    print(header)
    by_kind: dict[str, list[CreatedScores]] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        started = time.perf_counter()
        scores = score(run_pipeline(seed, work, args.master, args.preset, args.rerender_share))
        for name, s in scores.items():
            by_kind.setdefault(name, []).append(s)
            if not s.documents:
                continue
            print(
                f"{seed:>4} {name:<30} {s.documents:>6} {s.within_one_day:>10.3f} {s.within_31_days:>11.3f} "
                f"{s.median_abs_error_days:>14.1f} {s.mean_error_days:>+10.1f} {s.inside_bounds:>9.3f}"
            )
        print(f"     ({time.perf_counter() - started:.0f} s)", flush=True)
    print("\nover seeds: mean [min, max]")
    for name, runs in by_kind.items():

        def spread(field: str, runs: list[CreatedScores] = runs) -> str:
            values = [getattr(r, field) for r in runs]
            return f"{statistics.fmean(values):.3f} [{min(values):.3f}, {max(values):.3f}]"

        print(
            f"  {name:<30} within a day {spread('within_one_day')}, within 31 days {spread('within_31_days')}, "
            f"median |error| {spread('median_abs_error_days')} days, in bounds {spread('inside_bounds')}, "
            f"documents {sum(r.documents for r in runs)}"
        )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
