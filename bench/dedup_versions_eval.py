"""How well dedup groups the versions of one resource, on real Wikipedia version chains.

Data: `wikipedia_versions` (100 English articles, 3-9 revisions each; from ../shared/data). Version k of an article is crawled 180*k days after 2015-01-05 (crawl order = version order), and
every version carries the article's URL, as captures of one page in successive dumps would. Prints, for
several thresholds with and without the URL resource key, pairwise precision/recall of "same article" and the
share of articles whose kept document (keep=newest) is the newest version. Without URLs, the ceiling is
what exact shingle Jaccard reaches at the same threshold (components over all pairs at or above it): the
table prints its recall and the share of it that dedup reaches.

Run: python bench/dedup_versions_eval.py [--thresholds 0.9,0.5,...] (in one process; the Spark job gives the same
clusters, tests/jobs/test_dedup_spark.py checks it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dedup.evaluate import exact_jaccard_labels, newest_kept_share, pair_scores  # noqa: E402
from dedup.kernel import DedupConfig  # noqa: E402
from dedup.local import dedup_table  # noqa: E402
from dedup.lsh import LshConfig  # noqa: E402
from dedup.normalize import token_batch  # noqa: E402
from dedup.shingles import shingle_hash, shingles  # noqa: E402
from tests.dedup.helpers import version_documents  # noqa: E402


def data_dir() -> Path:
    shared = ROOT.parent / "shared" / "data"
    if not (shared / "versions" / "wikipedia_versions").is_dir():
        sys.exit(f"dedup_versions_eval: {shared} is absent (see ../shared/data/README.md)")
    return shared


def evaluate(table, config: DedupConfig) -> dict:
    """Scores of one configuration on the version documents `table`."""
    out = dedup_table(table, config, keep="newest")
    resources = out.column("resource").to_pylist()
    scores = pair_scores(resources, out.column("cluster_id").to_pylist())
    versions = [int(i.rsplit("/", 1)[1]) for i in out.column("id").to_pylist()]
    share = newest_kept_share(resources, versions, out.column("_keep").to_pylist())
    return {
        "precision": scores.precision,
        "recall": scores.recall,
        "newest_kept": share,
        "clusters": len(set(out.column("cluster_id").to_pylist())),
    }


def exact_recall(table, threshold: float, ngram: int = 5) -> float:
    """Pairwise recall of "same article" by exact shingle Jaccard at `threshold` (text only)."""
    sets = [
        frozenset(shingle_hash(s) for s in shingles(words or [], ngram))
        for words in token_batch(table.column("text").combine_chunks()).to_pylist()
    ]
    labels = exact_jaccard_labels(sets, threshold)
    return pair_scores(table.column("resource").to_pylist(), labels).recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0.9,0.8,0.7,0.5,0.4,0.3,0.2")
    args = parser.parse_args()
    table = version_documents(data_dir())
    print(
        f"{table.num_rows} documents, {len(set(table.column('resource').to_pylist()))} articles "
        f"(data: {data_dir()})"
    )
    print(
        f"{'url key':>8} {'threshold':>9} {'bands x rows':>12} {'precision':>9} {'recall':>7} "
        f"{'exact J recall':>14} {'of exact':>8} {'newest kept':>11} {'clusters':>8} {'s':>5}"
    )
    for url_key in (False, True):
        for threshold in (float(t) for t in args.thresholds.split(",")):
            config = DedupConfig(lsh=LshConfig(threshold=threshold, url_key=url_key))
            started = time.perf_counter()
            r = evaluate(table, config)
            bands, rows = config.bands_rows
            seconds = time.perf_counter() - started
            ceiling = exact_recall(table, threshold) if not url_key else None
            exact = f"{ceiling:>14.4f} {r['recall'] / ceiling:>8.3f}" if ceiling else f"{'-':>14} {'-':>8}"
            print(
                f"{url_key!s:>8} {threshold:>9.2f} {f'{bands} x {rows}':>12} {r['precision']:>9.4f} "
                f"{r['recall']:>7.4f} {exact} {r['newest_kept']:>11.2f} {r['clusters']:>8} {seconds:>5.1f}"
            )
    default = evaluate(table, DedupConfig())
    print(
        f"defaults (threshold {DedupConfig().lsh.threshold}, URL key on): "
        f"precision {default['precision']:.4f}, recall {default['recall']:.4f}, "
        f"newest kept {default['newest_kept']:.2f}"
    )


if __name__ == "__main__":
    main()
