"""Scale benchmark: ingest, date, dedup and mix on local Spark for generated corpora of 10k, 100k, 1M docs.

    python bench/scale.py --sizes 10k,100k [--master local[*]] [--work /tmp/chronomix-scale] [--keep]

The corpus is generated with NumPy: WARC files (gzip, 10,000 response records each) of HTML pages of a few
hundred words drawn Zipf-like from the vocabulary of one of six languages (the words of
../shared/data/langid/sentences; English most, Swahili least, so language identification meets real words and the
mixture has languages to balance), with crawl dates over 2019-2024, dated URLs and `article:published_time`
metas on part of the pages, and 10% near-duplicate re-crawls of earlier pages (same URL, a few words
changed, a later crawl date) so dedup has version chains to find.

Each stage runs through its job function (the code the CLI runs) in one Spark session; a sampler thread sums
the RSS of the whole process tree (this driver, its JVM, the Python workers) every 0.2 s. Printed per stage
and size: seconds, microseconds per document, documents per second, peak RSS, and two ratios measured in
this process: the per-document time relative to the smallest size (1.00 = linear scaling) and, for ingest,
Spark's time relative to the same files read by one process with corpus.readers (the baseline).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOCS_PER_FILE = 10_000
# Languages of the generated pages and their shares; words come from ../shared/data/langid/sentences.
LANGUAGES = {"en": 0.55, "de": 0.15, "fr": 0.10, "es": 0.10, "pl": 0.05, "sw": 0.05}
SENTENCES = ROOT.parent / "shared" / "data" / "langid" / "sentences"
STAGES = ("ingest", "date", "dedup", "mix")
MIX_SPEC = """\
name: scale
seed: 1
budget_tokens: {budget}
max_repeats: 2
filters: {{drop_stale: true, drop_exact_dup: true}}
language: {{strategy: natural}}
time: {{strategy: uniform, granularity: year}}
"""


def parse_size(text: str) -> int:
    """ "10k" -> 10_000, "1M" -> 1_000_000, "2500" -> 2500."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


# ---------------------------------------------------------------------------------------------------------
# Corpus generation


def _vocabularies() -> dict[str, np.ndarray]:
    """Each language's words from its langid sentences, most frequent first."""
    out = {}
    for lang in LANGUAGES:
        text = (SENTENCES / f"{lang}.txt").read_text(encoding="utf-8").lower()
        words = [w.strip(".,;:!?\"'()[]«»„“”") for w in text.split()]
        counts: dict[str, int] = {}
        for word in words:
            if word.isalpha():
                counts[word] = counts.get(word, 0) + 1
        out[lang] = np.array(sorted(counts, key=lambda w: (-counts[w], w)))
    return out


def _record(record_id: int, url: str, crawl: datetime, html: bytes) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(
        html
    )
    payload = http + html
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{record_id:012d}>\r\n"
        f"WARC-Date: {crawl.strftime('%Y-%m-%dT%H:%M:%SZ')}\r\nWARC-Target-URI: {url}\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload + b"\r\n\r\n"


def generate_corpus(folder: Path, docs: int, seed: int = 0) -> Path:
    """`docs` documents as WARC files under `folder` (see the module docstring). Returns `folder`."""
    rng = np.random.default_rng(seed)
    vocabularies = _vocabularies()
    languages = list(LANGUAGES)
    zipf = {}
    for lang, words in vocabularies.items():
        weights = 1.0 / np.arange(1, len(words) + 1)
        zipf[lang] = weights / weights.sum()
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2019, 1, 1, tzinfo=UTC).timestamp()
    span = datetime(2024, 12, 31, tzinfo=UTC).timestamp() - start
    originals: list[tuple[str, np.ndarray, float, str]] = []
    for first in range(0, docs, DOCS_PER_FILE):
        count = min(DOCS_PER_FILE, docs - first)
        lengths = rng.integers(150, 450, size=count)
        page_langs = rng.choice(len(languages), size=count, p=list(LANGUAGES.values()))
        picks = {
            lang: rng.choice(len(vocabularies[lang]), size=int(lengths.sum()), p=zipf[lang])
            for lang in languages
        }
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        crawls = start + rng.random(count) * span
        with gzip.open(
            folder / f"CC-MAIN-2024-22-{first // DOCS_PER_FILE:05d}.warc.gz", "wb", compresslevel=1
        ) as out:
            for i in range(count):
                n = first + i
                lang = languages[page_langs[i]]
                ids = picks[lang][offsets[i] : offsets[i + 1]]
                crawl = crawls[i]
                if originals and rng.random() < 0.1:  # a re-crawl of an earlier page, slightly edited
                    url, ids, earlier, lang = originals[int(rng.integers(len(originals)))]
                    ids = ids.copy()
                    ids[rng.integers(len(ids), size=3)] = rng.integers(len(vocabularies[lang]), size=3)
                    crawl = min(earlier + rng.random() * 3e7, start + span)
                else:
                    day = datetime.fromtimestamp(crawl - rng.random() * 3e7, UTC)
                    url = f"https://site{n % 997}.example/{day:%Y/%m/%d}/page-{n}"
                    if len(originals) < 50_000:
                        originals.append((url, ids, crawl, lang))
                text = " ".join(vocabularies[lang][ids])
                published = datetime.fromtimestamp(crawl, UTC)
                meta = (
                    f'<meta property="article:published_time" content="{published:%Y-%m-%d}">'
                    if n % 3
                    else ""
                )
                html = f"<html><head><title>p{n}</title>{meta}</head><body><article><p>{text}</p></article>"
                html += "</body></html>"
                out.write(_record(n, url, datetime.fromtimestamp(crawl, UTC), html.encode()))
    return folder


# ---------------------------------------------------------------------------------------------------------
# Measuring


class TreeRss:
    """Samples the process tree (this driver, its JVM, the Python workers) in a thread: the peak of the summed
    RSS, and the CPU seconds (user + system) the tree spent, which unlike wall time do not depend on what else
    the machine runs. A process's CPU time is taken at its last sample (workers that live for less than one
    interval are missed: `spark.python.worker.reuse` keeps them alive across tasks)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self._start_cpu: dict[int, float] = {}
        self._last_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                with proc.oneshot():
                    total += proc.memory_info().rss
                    times = proc.cpu_times()
                self._last_cpu[proc.pid] = times.user + times.system
            except psutil.Error:
                continue
        return total

    @property
    def cpu_seconds(self) -> float:
        return sum(cpu - self._start_cpu.get(pid, 0.0) for pid, cpu in self._last_cpu.items())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRss:
        self.peak = self._sample()
        self._start_cpu = dict(self._last_cpu)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


@dataclass
class Measure:
    stage: str
    docs: int  # documents in
    seconds: float
    peak_rss: int  # bytes
    cpu_seconds: float  # user + system of the whole process tree

    @property
    def cpu_us_per_doc(self) -> float:
        return self.cpu_seconds / max(self.docs, 1) * 1e6

    @property
    def us_per_doc(self) -> float:
        return self.seconds / max(self.docs, 1) * 1e6


def reader_baseline(folder: Path, limit_files: int = 1) -> float:
    """CPU seconds per document for one process reading (and HTML-dating) a WARC file with corpus.readers."""
    from corpus.readers import ReadOptions
    from dating.html_meta import MarkupDater
    from jobs.ingest import read_file_batches

    options = ReadOptions(added=datetime(2024, 6, 1, tzinfo=UTC), page_hook=MarkupDater())
    docs = 0
    started = time.process_time()
    for path in sorted(folder.glob("*.warc.gz"))[:limit_files]:
        for batch in read_file_batches(str(path), options):
            docs += batch.num_rows
    return (time.process_time() - started) / max(docs, 1)


def run_stages(spark, corpus: Path, work: Path, docs: int) -> list[Measure]:
    from corpus.readers import ReadOptions
    from jobs.date import DateConfig, run_date
    from jobs.dedup import DedupJob, run_dedup
    from jobs.ingest import IngestConfig, run_ingest
    from jobs.mix import run_mix
    from mixers.langid import LangIdConfig
    from mixers.spec import load_spec

    work.mkdir(parents=True, exist_ok=True)
    spec_path = work / "mix.yaml"
    spec_path.write_text(MIX_SPEC.format(budget=max(1000, docs * 100)))
    out = {stage: str(work / stage) for stage in STAGES}
    measures = []

    def timed(stage: str, call):
        with TreeRss() as rss:
            started = time.perf_counter()
            stats = call()
            seconds = time.perf_counter() - started
        docs_in = getattr(stats, "docs_in", None) or getattr(getattr(stats, "stats", None), "docs_in", 0)
        measures.append(Measure(stage, docs_in, seconds, rss.peak, rss.cpu_seconds))
        print(
            f"  {stage:<7} {docs_in:>9,} docs {seconds:>8.1f} s  CPU {rss.cpu_seconds:>8.1f} s  "
            f"peak RSS {rss.peak / 2**30:.2f} GiB",
            flush=True,
        )

    read = ReadOptions(added=datetime(2024, 6, 1, tzinfo=UTC))
    timed("ingest", lambda: run_ingest(spark, [str(corpus)], out["ingest"], IngestConfig(read=read), True))
    timed("date", lambda: run_date(spark, [out["ingest"]], out["date"], DateConfig(), True))
    timed("dedup", lambda: run_dedup(spark, [out["date"]], out["dedup"], DedupJob(), True))
    timed(
        "mix", lambda: run_mix(spark, [out["dedup"]], load_spec(spec_path), out["mix"], LangIdConfig(), True)
    )
    return measures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated corpus sizes, e.g. 10k,100k,1M")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--work", default=os.environ.get("TMPDIR", "/tmp") + "/chronomix-scale")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora and outputs")
    args = parser.parse_args(argv)
    if not SENTENCES.is_dir():
        sys.exit(f"scale: {SENTENCES} is absent (the words of its pages; see ../shared/data/README.md)")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    work = Path(args.work)

    from jobs.spark import SparkOptions, spark_session

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = spark_session(SparkOptions(args.master, (f"spark.driver.memory={args.driver_memory}",)))
    cores = spark.sparkContext.defaultParallelism
    print(
        f"master {args.master} ({cores} cores), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    results: dict[int, list[Measure]] = {}
    baseline = None
    try:
        for size in sizes:
            corpus = work / f"corpus-{size}"
            if not corpus.exists():
                started = time.perf_counter()
                generate_corpus(corpus, size)
                print(f"generated {size:,} documents in {time.perf_counter() - started:.1f} s", flush=True)
            if baseline is None:
                baseline = reader_baseline(corpus)
            print(f"size {size:,}:", flush=True)
            results[size] = run_stages(spark, corpus, work / f"out-{size}", size)
            if not args.keep:
                shutil.rmtree(work / f"out-{size}", ignore_errors=True)
    finally:
        spark.stop()
    print_table(results, baseline or 0.0, cores)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def print_table(results: dict[int, list[Measure]], baseline_cpu_s_per_doc: float, cores: int) -> None:
    """Per size and stage: wall and CPU time per document, peak RSS, and the two ratios (CPU per document
    relative to the smallest size; ingest's CPU per document relative to the one-process reader)."""
    smallest = min(results) if results else 0
    per_doc_small = {m.stage: m.cpu_us_per_doc for m in results.get(smallest, [])}
    header = (
        f"{'size':>9} {'stage':<7} {'docs in':>10} {'wall s':>8} {'wall us/doc':>11} {'CPU s':>8} "
        f"{'CPU us/doc':>10} {'peak RSS GiB':>12} {'vs smallest':>11} {'vs 1-proc':>9}"
    )
    print()
    print(header)
    print("-" * len(header))
    totals: dict[int, list[float]] = {}
    for size, measures in results.items():
        for m in measures:
            wall, cpu = totals.setdefault(size, [0.0, 0.0])
            totals[size] = [wall + m.seconds, cpu + m.cpu_seconds]
            scaling = (
                m.cpu_us_per_doc / per_doc_small[m.stage] if per_doc_small.get(m.stage) else float("nan")
            )
            versus = ""
            if m.stage == "ingest" and baseline_cpu_s_per_doc:
                versus = f"{m.cpu_us_per_doc / (baseline_cpu_s_per_doc * 1e6):.2f}"
            print(
                f"{size:>9,} {m.stage:<7} {m.docs:>10,} {m.seconds:>8.1f} {m.us_per_doc:>11.0f} "
                f"{m.cpu_seconds:>8.1f} {m.cpu_us_per_doc:>10.0f} {m.peak_rss / 2**30:>12.2f} "
                f"{scaling:>11.2f} {versus:>9}"
            )
    print()
    for size, (wall, cpu) in totals.items():
        print(
            f"{size:>9,} documents: {wall:.1f} s wall and {cpu:.1f} CPU s for the four stages on {cores} "
            f"cores: {cpu / size * 1e6:.0f} CPU us/doc"
        )
    print(
        "one-process reader baseline (ingest kernels, no Spark): "
        f"{baseline_cpu_s_per_doc * 1e6:.0f} CPU us/doc"
    )


if __name__ == "__main__":
    main()
