"""Dedup's template rules at scale: what they cost on local Spark, and what they buy against known truth.

Generates `--sites` made-up template-heavy sites of `--pages` pages each (a site's pages share a 400-word
template around 90-160 words of their own, so two of them pair at an estimated Jaccard of ~0.6, as the real
shop pages of ../shared/data do), a wrapped mirror of every page of a share `--mirrored` of the sites (a
20-word banner before the text and a line after it, on another host per site: the texts that carry a
template), each site's first page re-crawled twice with ~8% of its words edited (versions under one URL), and
`--filler` distinct documents without a template. Truth: a document's page (a mirror's copy is its original's
page; versions are their page's).

Both dedup paths run on the same documents in one Spark session, each at the default same-host threshold
(0.9: template-heavy hosts found, their carriers found) and at 0.5 (the control: both template rules off),
alternating, `--repeat` times: wall seconds, documents/s, the ratio of the rules' time to the control's, the
template-heavy hosts and carriers found (_dedup.json), pairwise precision and recall against the truth, and
whether the Spark path's clusters equal the driver path's at that value.

Run: python bench/dedup_templates_scale.py [--sites 200] [--pages 100] [--mirrored 0.25] [--filler 20000]
[--repeat 2] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from corpus.schema import conform  # noqa: E402
from dedup.evaluate import pair_scores  # noqa: E402
from dedup.kernel import DedupConfig  # noqa: E402
from dedup.lsh import LshConfig  # noqa: E402
from jobs.dedup import DedupJob, run_dedup  # noqa: E402
from jobs.spark import SparkOptions, spark_session  # noqa: E402

VOCABULARY = 50_000
START = datetime(2015, 1, 1, tzinfo=UTC)
STEP = timedelta(days=180)


def generate(sites: int, pages: int, mirrored: float, filler: int, folder: Path, seed: int = 0) -> pa.Table:
    """Write the documents (module doc) to `folder` as Parquet; returns (id, page) for scoring."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(VOCABULARY)], dtype=object)
    ids, texts, urls, crawls, truth = [], [], [], [], []

    def add(doc_id: str, text: str, url: str, crawled: datetime, page: str) -> None:
        ids.append(doc_id)
        texts.append(text)
        urls.append(url)
        crawls.append(crawled)
        truth.append(page)

    banner = " ".join(words[rng.integers(0, VOCABULARY, 20)])
    for site in range(sites):
        template = words[rng.integers(0, VOCABULARY, 400)]
        header, footer = " ".join(template[:30]), " ".join(template[30:])
        mirror = rng.random() < mirrored
        for page in range(pages):
            own = words[rng.integers(0, VOCABULARY, int(rng.integers(90, 161)))]
            key = f"site{site:04d}/page{page:04d}"
            url = f"https://site{site:04d}.example/item/{page}"
            text = f"{header}\n\n{' '.join(own)}\n\n{footer}"
            add(f"{key}/0", text, url, START, key)
            if page == 0:
                edited = own.copy()
                for k in (1, 2):  # each version changes ~8% of the words of the one before
                    at = rng.choice(len(edited), len(edited) // 12, replace=False)
                    edited[at] = words[rng.integers(0, VOCABULARY, len(at))]
                    add(
                        f"{key}/{k}",
                        f"{header}\n\n{' '.join(edited)}\n\n{footer}",
                        url,
                        START + k * STEP,
                        key,
                    )
            if mirror:
                wrapped = f"{banner}\n\n{text}\n\nmirror{site:04d} keeps this copy"
                add(
                    f"mirror/{key}",
                    wrapped,
                    f"https://mirror{site:04d}.example/view/{page}",
                    START + STEP,
                    key,
                )
    for i in range(filler):
        own = words[rng.zipf(1.3, int(rng.integers(200, 500))) % VOCABULARY]
        add(f"filler/{i:07d}", " ".join(own), f"https://filler{i % 997}.example/{i}", START, f"filler/{i}")
    table = pa.table(
        {
            "id": ids,
            "text": texts,
            "source": ["bench"] * len(ids),
            "added": pa.array([START] * len(ids), pa.timestamp("us", tz="UTC")),
            "url": urls,
            "crawl_date": pa.array(crawls, pa.timestamp("us", tz="UTC")),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_batches([conform(b) for b in table.to_batches()]), folder / "docs.parquet")
    return pa.table({"id": ids, "page": truth})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--mirrored", type=float, default=0.25, help="share of sites with a wrapped mirror")
    parser.add_argument("--filler", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dedup-templates-"))
    truth = generate(args.sites, args.pages, args.mirrored, args.filler, work / "docs")
    n = truth.num_rows
    page_of = dict(zip(truth.column("id").to_pylist(), truth.column("page").to_pylist(), strict=True))
    spark = spark_session(
        SparkOptions(master=args.master, conf=("spark.sql.shuffle.partitions=8", "spark.driver.memory=4g"))
    )
    print(
        f"{n:,} documents: {args.sites} sites x {args.pages} pages, {args.mirrored:.0%} mirrored, {args.filler:,} filler"
    )
    print(
        f"{'path':>7} {'same-host':>9} {'seconds':>8} {'docs/s':>8} {'x control':>9} {'heavy':>6} {'carriers':>8} "
        f"{'precision':>9} {'recall':>7} {'largest':>7} {'= driver':>8}"
    )
    driver_clusters: dict[float, pa.Table] = {}
    try:
        for _ in range(args.repeat):
            for path, limit in (("driver", 10**9), ("spark", 0)):
                control = None
                for value in (0.5, 0.9):
                    out = work / f"out-{path}-{value}"
                    job = DedupJob(
                        config=DedupConfig(lsh=LshConfig(same_host_threshold=value)),
                        keep="all",
                        max_local_documents=limit,
                    )
                    started = time.perf_counter()
                    run_dedup(spark, [str(work / "docs")], str(out), job, overwrite=True)
                    seconds = time.perf_counter() - started
                    control = control or seconds
                    found = pq.read_table(out, columns=["id", "cluster_id"]).sort_by("id")
                    if path == "driver":
                        driver_clusters[value] = found
                    same = found.equals(driver_clusters[value])
                    clusters = found.column("cluster_id").to_pylist()
                    pages = [page_of[i] for i in found.column("id").to_pylist()]
                    scores = pair_scores(pages, clusters)
                    report = json.loads((out / "_dedup.json").read_text())["components"]
                    largest = max(np.unique(np.array(clusters, dtype=object), return_counts=True)[1])
                    print(
                        f"{path:>7} {value:>9.2f} {seconds:>8.1f} {n / seconds:>8,.0f} {seconds / control:>9.2f} "
                        f"{report['template_hosts']:>6} {report['template_carriers']:>8} "
                        f"{scores.precision:>9.4f} {scores.recall:>7.4f} {largest:>7} {same!s:>8}",
                        flush=True,
                    )
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(
        "control: same-host 0.50 (both template rules off), run just before on the same documents and session"
    )
    print(f"load average: {psutil.getloadavg()[0]:.1f} (shared machine; figures are depressed by it)")


if __name__ == "__main__":
    main()
