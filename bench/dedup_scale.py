"""The whole dedup on local Spark at growing sizes: time and peak memory per document.

Generates N documents of a few hundred words (Zipf-distributed vocabulary; 10% are edited copies of another
document, 5% share a URL with another document), writes them as document Parquet, then times, on the same
session, floors that read the Parquet and write it unchanged and `jobs.dedup.run_dedup` with the defaults
(`--paths spark`: with the Spark path forced, as inputs above the driver path's size switch run). Three
floors: `arrow` has pyarrow read every file and write it back (a thread per core, zstd: how the driver path
writes its output, jobs.stage_arrow); `copy` has Spark read the Parquet and write it back as it is (no
shuffle); `stage` has Spark write it as a stage output (hash-partitioned by id and sorted, as the Spark
path writes). Peak memory is the largest resident set of this process tree (driver JVM and Python workers
included) sampled every 0.2 s. Prints documents/s, the ratio to each floor, and wall microseconds, CPU
microseconds (user + system of the process tree: driver, JVM, Python workers) and peak bytes per document;
cost should grow about linearly.

Run: python bench/dedup_scale.py [--sizes 10000,100000,1000000] [--master local[2]] [--repeat 3]
[--paths default,spark] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from corpus.schema import conform  # noqa: E402
from corpus.stats import StageStats  # noqa: E402
from dedup.lsh import usable_cores  # noqa: E402
from jobs.dedup import DedupJob, run_dedup  # noqa: E402
from jobs.spark import SparkOptions, SparkSession, spark_session  # noqa: E402
from jobs.stage import expand_inputs, read_stage_output, write_stage  # noqa: E402

VOCABULARY = 50_000


def generate(n: int, folder: Path, seed: int = 0, chunk: int = 50_000) -> None:
    """Write `n` synthetic documents to `folder` as Parquet files of `chunk` rows."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(VOCABULARY)], dtype=object)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    folder.mkdir(parents=True, exist_ok=True)
    for lo in range(0, n, chunk):
        m = min(chunk, n - lo)
        lengths = rng.integers(200, 500, m)
        ids = rng.zipf(1.3, lengths.sum()) % VOCABULARY
        cuts = np.cumsum(lengths)[:-1]
        docs = [" ".join(words[part]) for part in np.split(ids, cuts)]
        for i in np.flatnonzero(rng.random(m) < 0.10):  # edited copy of an earlier document of the chunk
            source = docs[rng.integers(0, max(1, i))].split(" ")
            edit = rng.integers(0, len(source) - 10)
            source[edit : edit + 10] = ["edited"] * 10
            docs[i] = " ".join(source)
        url_of = np.arange(lo, lo + m)
        shared = rng.random(m) < 0.05
        url_of[shared] = lo + rng.integers(0, m, shared.sum())
        table = pa.table(
            {
                "id": [f"doc-{lo + i:09d}" for i in range(m)],
                "text": docs,
                "source": ["bench"] * m,
                "added": pa.array([start] * m, pa.timestamp("us", tz="UTC")),
                "url": [f"https://site{u % 997}.example/page/{u}" for u in url_of],
                "crawl_date": pa.array(
                    [start + timedelta(days=int(d)) for d in rng.integers(0, 3000, m)],
                    pa.timestamp("us", tz="UTC"),
                ),
            }
        )
        pq.write_table(
            pa.Table.from_batches([conform(b) for b in table.to_batches()]),
            folder / f"part-{lo // chunk:05d}.parquet",
        )


class PeakMemory:
    """Largest summed RSS of this process and its descendants, sampled in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def tree_cpu_seconds() -> float:
    """User + system CPU seconds of this process and its descendants (the driver JVM, Python workers)."""
    total = 0.0
    me = psutil.Process()
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def arrow_copy(files: list[str], folder: Path) -> None:
    """Read every Parquet file with pyarrow and write it to `folder`, a thread per core."""
    folder.mkdir(parents=True, exist_ok=True)

    def copy(name: str) -> None:
        pq.write_table(pq.read_table(name), folder / Path(name).name, compression="zstd")

    with ThreadPoolExecutor(usable_cores()) as pool:
        list(pool.map(copy, files))


def measure(
    spark: SparkSession, files: list[str], work: Path, n: int, job: DedupJob
) -> tuple[float, float, float, float, float, int, StageStats]:
    """Seconds of the arrow, copy and stage floors and of the dedup, the dedup's CPU seconds (process
    tree) and peak bytes, and its stats."""
    started = time.perf_counter()
    arrow_copy(files, work / f"arrow-{n}")
    arrow = time.perf_counter() - started
    started = time.perf_counter()
    spark.read.parquet(*files).write.mode("overwrite").parquet(str(work / f"copy-{n}"))
    copy = time.perf_counter() - started
    started = time.perf_counter()
    write_stage(
        read_stage_output(spark, expand_inputs(files)),
        str(work / f"floor-{n}"),
        StageStats(stage="floor"),
        overwrite=True,
    )
    floor = time.perf_counter() - started
    with PeakMemory() as memory:
        started, cpu = time.perf_counter(), tree_cpu_seconds()
        stats = run_dedup(spark, files, str(work / f"out-{n}"), job, overwrite=True)
        seconds, cpu = time.perf_counter() - started, tree_cpu_seconds() - cpu
    return arrow, copy, floor, seconds, cpu, memory.peak, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--workdir", default=None, help="keep the generated documents here between runs")
    parser.add_argument("--repeat", type=int, default=1, help="measure each size this many times")
    parser.add_argument(
        "--paths",
        default="default",
        help="default (the driver path up to its size switch, as the CLI runs), spark (--max-local-documents "
        "0: the path of inputs above the switch), or both, comma-separated",
    )
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="dedup-scale-"))
    spark = spark_session(
        SparkOptions(master=args.master, conf=("spark.sql.shuffle.partitions=8", "spark.driver.memory=4g"))
    )
    print(
        f"{'documents':>10} {'arrow s':>7} {'copy s':>7} {'stage s':>7} {'dedup s':>8} {'docs/s':>8} "
        f"{'x arrow':>7} {'x copy':>7} {'x stage':>7} {'us/doc':>7} {'CPU us/doc':>10} {'peak MB':>8} {'B/doc':>7} {'path':>6}"
    )
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            data = work / f"docs-{n}"
            if not data.exists():
                generate(n, data)
            files = [str(p) for p in sorted(data.glob("*.parquet"))]
            for _, path in itertools.product(range(args.repeat), args.paths.split(",")):
                job = DedupJob() if path == "default" else DedupJob(max_local_documents=0)
                arrow, copy, floor, seconds, cpu, peak, stats = measure(spark, files, work, n, job)
                steps = json.loads((work / f"out-{n}" / "_dedup.json").read_text())
                print(
                    f"{n:>10,} {arrow:>7.1f} {copy:>7.1f} {floor:>7.1f} {seconds:>8.1f} {n / seconds:>8,.0f} "
                    f"{seconds / arrow:>7.2f} {seconds / copy:>7.2f} {seconds / floor:>7.2f} {seconds / n * 1e6:>7.0f} {cpu / n * 1e6:>10.0f} "
                    f"{peak / 1e6:>8,.0f} {peak / n:>7,.0f} {steps['components']['path']:>6}"
                    f"   (kept {stats.docs_out:,}, dropped {sum(stats.dropped.values()):,}; steps "
                    + ", ".join(f"{k} {v:.1f}" for k, v in steps["seconds"].items())
                    + ")",
                    flush=True,
                )
    finally:
        spark.stop()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"load average: {psutil.getloadavg()[0]:.1f} (shared machine; figures are depressed by it)")


if __name__ == "__main__":
    main()
