"""What both paths of `chronomix dedup` share (jobs.dedup runs in Spark, jobs.dedup_driver in the driver):
the job's settings, the step stopwatch, the index and cluster-summary writers, and the output's helpers."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from corpus.remote import redact
from corpus.stats import StageStats
from dedup.index import META_FILE, IndexMeta, IndexMismatch
from dedup.kernel import KERNEL_FIELDS, DedupConfig
from dedup.versions import FROM_INDEX, KEEP_POLICIES
from jobs.components_spark import DEFAULT_MAX_LOCAL_EDGES, ComponentsReport
from jobs.contract import UsageError
from jobs.fs import (
    FINISHED,
    AtomicStageOutput,
    Location,
    contained_in,
    list_files,
    locate,
    location_key,
    move,
    remove,
)

HELPER_COLUMNS = [f.name for f in KERNEL_FIELDS] + ["_keep", FROM_INDEX]
BROADCAST_MAX_ROWS = 1_000_000
DEFAULT_MAX_LOCAL_DOCUMENTS = 2_000_000  # ~1 GB of signatures and keys in the driver


# The seeds every scheme takes: datasketch's permutations come from np.random.RandomState(seed), which takes
# 0 to 2**32 - 1, and rensa refuses a negative one (both failed only once Spark had started).
MAX_SEED = 2**32 - 1


def refuse_conflicting_signature_options(scheme: str, engine: str | None, seed: int) -> None:
    """UsageError naming --seed outside 0..MAX_SEED, or an --engine (None: the default) with --scheme rensa,
    which has one implementation and would ignore it."""
    if isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed {seed}: expected 0 to {MAX_SEED}", option="--seed")
    if scheme == "rensa" and engine is not None:
        raise UsageError(
            f"--engine {engine!r}: only the oph and datasketch schemes have engines; --scheme rensa has one "
            "implementation (leave --engine out)",
            option="--engine",
        )


@dataclass(frozen=True)
class DedupJob:
    """Everything `chronomix dedup` was asked to do."""

    config: DedupConfig = field(default_factory=DedupConfig)
    keep: str = "newest"
    index: str | None = None
    max_local_edges: int = DEFAULT_MAX_LOCAL_EDGES
    max_local_documents: int = DEFAULT_MAX_LOCAL_DOCUMENTS
    rows_per_shard: int = 50_000

    def __post_init__(self) -> None:
        if self.keep not in KEEP_POLICIES:
            raise UsageError(f"--keep {self.keep!r}: expected one of {', '.join(KEEP_POLICIES)}")
        if self.max_local_edges < 0:
            raise UsageError(f"--max-local-edges {self.max_local_edges}: must be >= 0")
        if self.max_local_documents < 0:
            raise UsageError(f"--max-local-documents {self.max_local_documents}: must be >= 0")


# The input columns the dedup kernel reads; nothing else is sent to Python.
KERNEL_INPUTS = ("id", "text", "url", "created", "crawl_date", "dump")


def is_dated(df: DataFrame, dated_dumps: list[str]) -> Column:
    """True where a document has a version date (created, crawl_date, or a dump whose week is known): the
    same rule as dedup.versions.date_columns, in SQL, so the output pass never sends text to Python."""
    dated = F.lit(False)
    for name in ("created", "crawl_date"):
        if name in df.columns:
            dated = dated | F.col(name).isNotNull()
    if "dump" in df.columns and dated_dumps:
        dated = dated | F.col("dump").isin(dated_dumps)
    return dated


class Stopwatch:
    """Seconds per named step of the job, for `_dedup.json` (Spark is lazy: a step ends at an action)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = round(self.seconds.get(step, 0.0) + now - self._last, 3)
        self._last = now


def index_parts(index: str, meta: IndexMeta) -> list[str]:
    """The index's Parquet files (none when it does not exist yet), after checking its settings; UsageError
    naming --index for a path that is not an index folder, an unreadable `_index.json` or other settings."""
    folder = locate(index)
    if not folder.exists():
        return []
    meta_file = folder.child(META_FILE)
    if not folder.is_dir() or not meta_file.exists():
        raise UsageError(f"--index {index!r}: not an index folder (no {META_FILE})", option="--index")
    try:
        text = meta_file.read_text()
        meta.check(IndexMeta.from_json(text))
        documents = json.loads(text).get("documents")
    except IndexMismatch as error:
        raise UsageError(str(error), option="--index") from None
    except (OSError, ValueError, TypeError, AttributeError) as error:  # unreadable, not JSON, not a mapping
        raise UsageError(
            f"--index {index!r}: {META_FILE} is not readable ({error})", option="--index"
        ) from None
    parts = [f for f in list_files(folder) if f.name.endswith(".parquet")]
    _check_rows(index, parts, documents)
    return [f.uri for f in parts]


def _check_rows(index: str, parts: list[Location], documents: Any) -> None:
    """UsageError where a part file's footer cannot be read, or the parts hold other than the `documents`
    `_index.json` counts: an index whose part files were lost was read as empty, and the run then replaced
    it with its own documents alone (the earlier dumps' entries gone); a truncated part failed the job with
    pyarrow's words, naming no file."""
    rows = 0
    for part in parts:
        try:
            with part.fs.open_input_file(part.path) as handle:
                rows += pq.read_metadata(handle).num_rows
        except (OSError, pa.ArrowException) as error:
            raise UsageError(
                f"--index {index!r}: {part.name} is damaged ({str(error).splitlines()[0][:200]}); restore "
                "the index, or rebuild it by deduplicating its dumps again into a new folder",
                option="--index",
            ) from None
    if isinstance(documents, int) and rows != documents:
        raise UsageError(
            f"--index {index!r}: {META_FILE} counts {documents:,} documents but its part files hold {rows:,} "
            "(a part lost or added); restore the index, or rebuild it by deduplicating its dumps again into "
            "a new folder",
            option="--index",
        )


@dataclass(frozen=True)
class IndexRuns:
    """The dedup outputs an index's rows came from (dedup.index.INDEX_ADDED_BY), seen from one run: `this`
    run's output as the index names it, the runs `before` it (whose rows it reads), and those `left_out` (an
    earlier run of this output and every run after it: their rows are not read, and leave the index)."""

    this: str
    before: list[str]
    left_out: list[str]

    @classmethod
    def of(cls, index: str, output: str) -> IndexRuns:
        """How the index at `index` sees a run writing `output` (an index without `runs`: none left out)."""
        runs = listed_runs(index) or []
        this = run_key(index, output)
        if this not in runs:
            return cls(this, runs, [])
        at = runs.index(this)
        return cls(this, runs[:at], runs[at:])

    @property
    def after(self) -> list[str]:
        """The index's runs once this one has run."""
        return [*self.before, self.this]

    def say(self, index: str) -> None:
        """One line where rows are left out (a rerun of an output the index already holds)."""
        if not self.left_out:
            return
        # named as the user names them, not from the index folder
        base = location_key(index) or index
        later = [r if "://" in r else os.path.normpath(os.path.join(base, r)) for r in self.left_out[1:]]
        what = "this output's earlier run" + (f" and the {len(later)} run(s) after it" if later else "")
        then = f": deduplicate those again after this one ({', '.join(later)})" if later else ""
        print(
            f"chronomix: --index {redact(index)!r}: the documents {what} added are left out of it{then}",
            file=sys.stderr,
        )


def run_key(index: str, output: str) -> str:
    """How an index names the dedup output `output` in its `runs`: a local one by its path from the index
    folder, links resolved (the pair may move together), a remote one by its URI without credentials."""
    key = location_key(output) or output
    index_key = location_key(index) or index
    if "://" in key or "://" in index_key:
        return redact(key)
    return os.path.relpath(key, index_key)


def still_indexed(index: str | None, output: str) -> bool:
    """Whether a finished dedup of `output` still stands: its index (where it keeps one) lists it. A rerun of
    an earlier dump leaves out what later runs added; a pipeline then skipped those as finished, and the
    index stayed without their rows."""
    runs = listed_runs(index) if index else None
    return runs is None or run_key(index or "", output) in runs


def listed_runs(index: str) -> list[str] | None:
    """The `runs` of the index's `_index.json`, in order; None where it names none (an index written before
    they were kept, or none yet): nothing can be said of which outputs it holds."""
    meta_file = locate(index).child(META_FILE)
    try:
        listed = json.loads(meta_file.read_text()).get("runs") if meta_file.exists() else None
    except (OSError, ValueError, AttributeError):  # index_parts names what is wrong with it
        return None
    return [str(r) for r in listed] if isinstance(listed, list) else None


def refuse_unfinished(output: str, index: str | None, overwrite: bool) -> None:
    """An output without `_dedup.json` (its run was killed after moving the documents into place, before
    the index and `_dedup.json` were written) is named as such: `output exists; pass --overwrite` did not
    say that the index lacks its documents, and going on to the next dump kept copies of them again."""
    folder = locate(output)
    if overwrite or not index or not folder.exists() or folder.child("_dedup.json").exists():
        return
    try:
        stage = json.loads(folder.child("_stats.json").read_text()).get("stage")
    except (OSError, ValueError, AttributeError):  # no stats, or not ours: an existing output, no more
        stage = None
    if stage == "dedup":
        raise UsageError(
            f"--output {redact(output)!r} is a dedup that did not finish (no _dedup.json: stopped before it "
            f"was written), so the index {redact(index)!r} may lack its documents; rerun it with --overwrite "
            "before the next dump",
            option="--output",
        )


def write_index(spark: SparkSession, index: str, rows: DataFrame, meta: IndexMeta, runs: list[str]) -> int:
    """Replace the index folder with `rows` (old entries + this run's kept documents), atomically; `runs`
    are the outputs its rows came from, in order (IndexRuns.after)."""
    with AtomicStageOutput(index, overwrite=True) as tmp:
        rows = rows.persist()
        n = rows.count()
        rows.repartition(max(1, -(-n // 500_000)), "id").sortWithinPartitions("id").write.parquet(tmp.uri)
        for file in list_files(tmp):
            if not file.name.endswith(".parquet"):
                remove(file)
        tmp.child(META_FILE).write_text(meta.to_json(documents=n, runs=runs))
        rows.unpersist()
    return n


def write_clusters(summary: DataFrame, output: str) -> None:
    """`output/_clusters/` as one `part-00000.parquet` sorted by cluster_id, replacing an earlier one whole."""
    with AtomicStageOutput(locate(output).child("_clusters").uri, overwrite=True) as tmp:
        summary.repartition(1).sortWithinPartitions("cluster_id").write.parquet(tmp.uri)
        for file in list_files(tmp):
            if not file.name.startswith("part-"):
                remove(file)
        for i, file in enumerate(sorted(list_files(tmp), key=lambda f: f.name)):
            move(file, tmp.child(f"part-{i:05d}.parquet"))


def settings_record(job: DedupJob, report: ComponentsReport) -> dict:
    """What `_dedup.json` records of the run's settings and its component finding."""
    bands, rows = job.config.bands_rows
    return {
        "signature": asdict(job.config.signature),
        "lsh": {**asdict(job.config.lsh), "bands": bands, "rows": rows},
        "keep": job.keep,
        "index": job.index,
        "components": asdict(report),
        "max_local_edges": job.max_local_edges,
        "max_local_documents": job.max_local_documents,
    }


@dataclass
class DedupRun:
    """One run of the job as both paths receive it: the session, the documents (a DataFrame of the input) and
    where they go, what was asked, the stats being filled, the index settings and the step stopwatch."""

    spark: SparkSession
    documents: DataFrame
    output: str
    job: DedupJob
    overwrite: bool
    stats: StageStats
    meta: IndexMeta
    watch: Stopwatch = field(default_factory=Stopwatch)
    runs: IndexRuns | None = None  # where the job keeps an index

    @contextlib.contextmanager
    def completing(self) -> Iterator[None]:
        """Around what follows the documents' move into place (`_clusters`, the index, `_dedup.json`): where
        any of it fails or is interrupted, the output goes too, so no folder without `_dedup.json` passes
        for a finished dedup (a killed run left one, and the next dump's dedup then found no index)."""
        try:
            yield
        except BaseException:
            output = locate(self.output)
            if (
                os.path.islink(output.path) and "://" not in self.output
            ):  # the folder it points at, not the link
                output = locate(os.path.realpath(output.path))
            with contextlib.suppress(OSError):
                remove(output)
            # what was moved into place inside it went with it: the CLI's last line named _clusters as kept
            FINISHED[:] = [f for f in FINISHED if not contained_in(self.output)(f)]
            raise

    def finish(self, report: ComponentsReport, index_rows: Callable[[], DataFrame]) -> StageStats:
        """After the output and `_clusters` are written: replace the index with `index_rows()` when the job
        keeps one (and rewrite `_stats.json` with its count), then write `_dedup.json`."""
        folder = locate(self.output)
        if self.job.index:
            rows = index_rows()
            after = self.runs.after if self.runs is not None else []
            self.stats.counters["index_documents"] = write_index(
                self.spark, self.job.index, rows, self.meta, after
            )
            folder.child("_stats.json").write_text(self.stats.to_json())
            self.watch.lap("index")
        dedup_json = {**settings_record(self.job, report), "seconds": self.watch.seconds}
        folder.child("_dedup.json").write_text(json.dumps(dedup_json, indent=2) + "\n")
        return self.stats
