"""Dedup scored against the generated world's own truth, in several seeds.

For each seed, a `tiny` world is generated and run through the real pipeline (`chronomix run`: world,
ingest, date with the world's reference versions, dedup with default options and keep all), and the dedup
output is compared with `world/truth/documents.parquet`:

- a document's resource is its truth `resource`, or its URL where it has none (news and filler pages); a
  soft-404 (with --soft-404 SHARE, that share of the resource pages a dump skips answer with their host's
  one "not found" text) belongs to its host's not-found page, not to the resource at its URL;
- pairwise precision and recall of "same cluster" against "same resource";
- the largest cluster, the resources it mixes, and the clusters that mix resources;
- stale-flag precision and recall, where a document is truly stale when its resource holds a newer,
  different version in the corpus (resource pages: a later version month; URL-keyed pages: a different
  text crawled later);
- filler pages flagged stale, and how many of them truly are (their own URL has a newer, different capture);
- chaining: same-cluster pairs whose estimated similarity is far below the threshold (under half of it), and
  how many of those pairs belong to one resource (version drift) or to two (a chain across resources);
- the hosts dedup found template-heavy (`_dedup.json`; dedup.site_templates: where it asks the same-host
  threshold).

Run: python bench/dedup_truth.py [--seeds 0,1,2,3,4] [--soft-404 0.3] [--work DIR] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from pipeline_run import run_pipeline_stages  # noqa: E402

from dedup.evaluate import flag_scores, largest_cluster_mix, pair_scores, truly_stale  # noqa: E402
from dedup.kernel import SKETCH, DedupConfig, dedup_kernel  # noqa: E402
from dedup.verify import estimated_similarity  # noqa: E402
from dedup.versions import TEXT_HASH  # noqa: E402

TRUTH_COLUMNS = ["id", "resource", "kind", "version_month"]


def truth_resource(resource: str | None, kind: str, url: str) -> str:
    """The resource a document belongs to: its entity, its host's one not-found page, or its own URL."""
    if resource is not None:
        return resource
    return f"soft404:{url.split('/')[2]}" if kind == "soft404" else url


def run_pipeline(seed: int, work: Path, master: str, preset: str, soft_404: float = 0.0) -> Path:
    """world -> ingest -> date -> dedup (defaults, keep all) for one seed; returns the pipeline folder."""
    stages = [
        {"name": "world", "kind": "world", "preset": preset, "seed": seed, "soft_404_share": soft_404},
        {"name": "ingest", "kind": "ingest", "inputs": ["${world}/dumps"], "added": "2024-01-01T00:00:00Z"},
        {
            "name": "dated",
            "kind": "date",
            "input": "${ingest}",
            "reference": "${world}/probes/reference.parquet",
        },
        {"name": "dedup", "kind": "dedup", "input": "${dated}", "keep": "all"},
    ]
    return run_pipeline_stages(work / f"seed{seed}", f"dedup truth, seed {seed}", stages, master)


def chain_pairs(table: pa.Table, resources: list[str], threshold: float) -> tuple[int, int]:
    """(same-cluster pairs estimated below threshold / 2, of which the two documents are one resource)."""
    kernel = dedup_kernel(DedupConfig())
    signed = pa.Table.from_batches([kernel(b) for b in table.select(["id", "text"]).to_batches(2000)])
    sketch = signed.column(SKETCH).combine_chunks()
    members: dict[str, list[int]] = defaultdict(list)
    for i, cluster in enumerate(table.column("cluster_id").to_pylist()):
        members[cluster].append(i)
    low = same = 0
    for rows in members.values():
        if len(rows) < 2:
            continue
        a, b = np.triu_indices(len(rows), k=1)
        left, right = np.asarray(rows)[a], np.asarray(rows)[b]
        sim = estimated_similarity(sketch.take(pa.array(left)), sketch.take(pa.array(right)), 128)
        far = sim < threshold / 2
        low += int(far.sum())
        same += sum(resources[i] == resources[j] for i, j in zip(left[far], right[far], strict=True))
    return low, same


def with_truth(docs: pa.Table, truth: pa.Table, where: object) -> tuple[pa.Table, list[str], list[str]]:
    """(table, resources, clusters): dedup output `docs` (id, url, cluster_id, ...) joined with the world's
    `truth` rows by id and sorted by id, each document's truth resource and its cluster id."""
    table = docs.join(truth, "id").sort_by("id")
    if table.num_rows != docs.num_rows:
        raise SystemExit(f"{where}: {docs.num_rows - table.num_rows} documents have no truth row")
    urls, own, kinds = (table.column(c).to_pylist() for c in ("url", "resource", "kind"))
    resources = [truth_resource(r, k, u) for r, k, u in zip(own, kinds, urls, strict=True)]
    return table, resources, table.column("cluster_id").to_pylist()


def score(out: Path, threshold: float) -> dict:
    """The scores of one seed's dedup output against its world's truth."""
    docs = pq.read_table(out / "dedup", columns=["id", "text", "url", "crawl_date", "cluster_id", "is_stale"])
    truth = pq.read_table(out / "world" / "truth" / "documents.parquet", columns=TRUTH_COLUMNS)
    table, resources, clusters = with_truth(docs, truth, out)
    own, kinds = (table.column(c).to_pylist() for c in ("resource", "kind"))
    pairs = pair_scores(resources, clusters)
    largest, mixed_in_largest, mixed = largest_cluster_mix(resources, clusters)
    crawl = table.column("crawl_date").to_pylist()
    order = [
        v if r is not None else c.strftime("%Y-%m-%dT%H")
        for v, r, c in zip(table.column("version_month").to_pylist(), own, crawl, strict=True)
    ]
    kernel = dedup_kernel(DedupConfig())
    hashes = pa.concat_arrays(
        [kernel(b).column(TEXT_HASH) for b in table.select(["id", "text"]).to_batches(2000)]
    ).to_pylist()
    true_stale = truly_stale(resources, order, hashes)
    flagged = table.column("is_stale").to_pylist()
    stale = flag_scores(true_stale, flagged)
    filler_flagged = [i for i, k in enumerate(kinds) if k == "filler" and flagged[i]]
    low, low_same = chain_pairs(table, resources, threshold)
    return {
        "documents": table.num_rows,
        "pairs": pairs,
        "largest": largest,
        "largest_resources": mixed_in_largest,
        "mixed_clusters": mixed,
        "stale": stale,
        "filler_flagged": len(filler_flagged),
        "filler_flagged_true": sum(true_stale[i] for i in filler_flagged),
        "chain_pairs": low,
        "chain_pairs_same_resource": low_same,
        "template_hosts": json.loads((out / "dedup" / "_dedup.json").read_text())["components"][
            "template_hosts"
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument(
        "--soft-404",
        type=float,
        default=0.0,
        help="world's soft_404_share: skipped resource pages that answer 'not found'",
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="keep the pipelines here (default: a temp dir)"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="dedup_truth-"))
    work.mkdir(parents=True, exist_ok=True)
    threshold = DedupConfig().lsh.threshold
    print(
        f"dedup against the world's truth: preset {args.preset}, soft-404 share {args.soft_404}, default options "
        f"(threshold {threshold})"
    )
    header = (
        f"{'seed':>4} {'docs':>6} {'true pairs':>10} {'pred pairs':>10} {'precision':>9} {'recall':>7} "
        f"{'largest':>7} {'res. in it':>10} {'mixed':>5} {'stale P':>7} {'stale R':>7} "
        f"{'filler stale':>12} {'chain pairs':>11} {'of one res.':>11} {'tmpl hosts':>10} {'s':>5}"
    )
    print(header)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        started = time.perf_counter()
        out = run_pipeline(seed, work, args.master, args.preset, args.soft_404)
        r = score(out, threshold)
        rows.append(r)
        p, s = r["pairs"], r["stale"]
        filler = f"{r['filler_flagged']} ({r['filler_flagged_true']} true)"
        print(
            f"{seed:>4} {r['documents']:>6} {p.true_pairs:>10} {p.predicted_pairs:>10} {p.precision:>9.4f} "
            f"{p.recall:>7.4f} {r['largest']:>7} {r['largest_resources']:>10} {r['mixed_clusters']:>5} "
            f"{s.precision:>7.4f} {s.recall:>7.4f} {filler:>12} {r['chain_pairs']:>11} "
            f"{r['chain_pairs_same_resource']:>11} {r['template_hosts']:>10} "
            f"{time.perf_counter() - started:>5.0f}",
            flush=True,
        )
    worst = min(rows, key=lambda r: r["pairs"].precision)
    print(
        f"worst seed: pairwise precision {worst['pairs'].precision:.4f}; lowest recall "
        f"{min(r['pairs'].recall for r in rows):.4f}; lowest stale precision "
        f"{min(r['stale'].precision for r in rows):.4f}"
    )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
