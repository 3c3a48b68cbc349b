"""`chronomix dedup`: near-duplicate clusters, version ranks and stale flags, a keeper policy, and an index
that carries the kept documents across dumps.

Steps: the dedup kernel (dedup.kernel, pure Arrow) computes every document's band keys, URL key, sketch and
exact-text hash once. Two paths share it and write the same rows in the same files, in the same order:

- the driver path (jobs.dedup_driver), up to `max_local_documents` input documents with unique ids: the
  driver reads the Parquet with a thread per core and does everything there, with the single-process
  reference (dedup.local, dedup.versions); pyarrow writes the output (jobs.stage_arrow).
- the Spark path, above it: the band bucket rows cross one shuffle packed, and each partition pairs whole
  buckets (each text compared with at most `anchors` texts of a bucket); a pair becomes an edge only when
  its estimated Jaccard similarity reaches the threshold (the same-host threshold where a template-heavy
  host serves both texts or another host's copy carries its template: dedup.site_templates,
  dedup.template_carriers), and captures of one URL are linked outright.
  Connected components (union-find in the driver below `max_local_edges`, large-star/small-star above),
  cluster names (the smallest document id), version ranks with Window functions, and the results joined
  back to the documents with a broadcast join.

Output:

- the documents (Parquet shards) with cluster_id, cluster_size, version_rank, is_exact_dup, is_stale,
  staleness_days; with a keeper policy other than `all`, only the kept document of each cluster. Documents
  not kept are counted in `_stats.json` under `dedup_not_kept` (no samples: they are ordinary documents).
- `_clusters/part-*.parquet`: one row per cluster of two or more documents (cluster_id, size, versions,
  newest_created, oldest_created, dumps, n_dumps), index documents included.
- `_dedup.json`: the settings, the component-finding report and the seconds each step took.

Documents are named by id. Where several input rows share an id (files that each number their rows from 0,
the same record read twice), no row is dropped for it: the first of them by content hash keeps the id and the
others are renamed `{id}~2`, `{id}~3`, ... (jobs.dedup_spark.rename_duplicate_ids), counted in `_stats.json`
under the counter `duplicate_id_renamed`. Exact copies among them are then exact duplicates, as anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

import typer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from corpus.reader_base import DUPLICATE_ID_RENAMED
from corpus.stats import StageStats
from dedup.index import INDEX_ADDED_BY, INDEX_COLUMNS, IndexMeta
from dedup.kernel import N_SHINGLES, DedupConfig, dedup_kernel, kernel_fields
from dedup.lsh import DEFAULT_ANCHORS, LshConfig
from dedup.minhash import ENGINES, SCHEMES, SignatureConfig
from dedup.versions import ANCHOR, DUMP_DATE, FROM_INDEX, NOT_KEPT
from jobs import dedup_driver as ddriver
from jobs import dedup_index_spark as dindex
from jobs import dedup_spark as dspark
from jobs.components_spark import DEFAULT_MAX_LOCAL_EDGES
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError, stats_summary
from jobs.dedup_common import (
    BROADCAST_MAX_ROWS,
    DEFAULT_MAX_LOCAL_DOCUMENTS,
    HELPER_COLUMNS,
    KERNEL_INPUTS,
    DedupJob,
    DedupRun,
    IndexRuns,
    index_parts,
    is_dated,
    refuse_conflicting_signature_options,
    refuse_unfinished,
    still_indexed,
    write_clusters,
)
from jobs.langid import MISSING_ID_ASSIGNED, assign_missing_ids
from jobs.options import Conf, DocumentInputs, Master, Output, Overwrite, spark_options
from jobs.runner import run_command
from jobs.stage import (
    InputFile,
    document_files,
    map_kernel,
    read_stage_output,
    refuse_existing,
    write_stage,
)

NOT_DOCUMENTS = "input {uri}: dedup reads document Parquet (a stage output); run ingest first"


def _sign(df: DataFrame, config: DedupConfig) -> DataFrame:
    """The kernel's columns (and the index columns) of every document, persisted: the only pass over text."""
    keep_columns = [c for c in INDEX_COLUMNS if c != "dump"] + (["dump"] if "dump" in df.columns else [])
    kernel_inputs = df.select(*[c for c in KERNEL_INPUTS if c in df.columns])
    signed = map_kernel(
        kernel_inputs,
        dedup_kernel(config),
        kernel_fields(config),
        keep=[c for c in keep_columns if c in df.columns],
    ).select(*keep_columns, N_SHINGLES)
    if "dump" not in signed.columns:
        signed = signed.withColumn("dump", F.lit(None).cast("string"))
    return (
        signed.withColumn(FROM_INDEX, F.lit(False)).withColumn(ANCHOR, F.lit(None).cast("string")).persist()
    )


def _count_ranked(ranked: DataFrame, job: DedupJob, stats: StageStats) -> tuple[int, int]:
    """Count this run's clustered, exact-duplicate, stale and not-kept documents into `stats`; returns
    (clustered, not kept)."""
    counts = (
        ranked.filter(~F.col(FROM_INDEX))
        .agg(
            F.count(F.lit(1)).alias("clustered"),
            F.sum((~F.col("_keep")).cast("long")).alias("not_kept"),
            F.sum(F.col("is_exact_dup").cast("long")).alias("exact"),
            F.sum(F.col("is_stale").cast("long")).alias("stale"),
        )
        .first()
    )
    clustered = int(counts["clustered"] or 0)
    not_kept = int(counts["not_kept"] or 0) if job.keep != "all" else 0
    stats.counters["documents_in_clusters"] = clustered
    stats.counters["exact_duplicates"] = int(counts["exact"] or 0)
    stats.counters["stale_documents"] = int(counts["stale"] or 0)
    if not_kept:
        stats.drop(NOT_KEPT, not_kept)
    return clustered, not_kept


def run_dedup(
    spark: SparkSession,
    inputs: list[str] | list[InputFile],
    output: str,
    job: DedupJob = DedupJob(),
    overwrite: bool = False,
) -> StageStats:
    """Deduplicate the document Parquet `inputs` (or the files a check listed) into `output` (see the module
    doc); returns the stats."""
    files = document_files(inputs, NOT_DOCUMENTS)
    refuse_existing(output, overwrite, files)
    config = job.config
    meta = _index_meta(config)
    df = read_stage_output(spark, files)
    for column in ("id", "text"):
        if column not in df.columns:
            raise UsageError(f"input: column {column!r} is missing; dedup needs id and text")
    df = df.drop(*[c for c in HELPER_COLUMNS if c in df.columns])
    stats = StageStats(stage="dedup", files_in=len(files), bytes_in=sum(f.size for f in files))

    runs = IndexRuns.of(job.index, output) if job.index else None
    if runs is not None:
        runs.say(job.index)
    run = DedupRun(spark, df, output, job, overwrite, stats, meta, runs=runs)
    if (
        job.max_local_documents
        and ddriver.count_rows(files) <= job.max_local_documents
        and ddriver.ids_are_unique(files)
    ):
        return ddriver.run_in_driver(run, files)
    return _run_in_spark(run, files)


def _run_in_spark(run: DedupRun, files: list[InputFile]) -> StageStats:
    """The Spark path: signatures in mapInArrow tasks, the text graph, components and ranks as shuffles."""
    spark, job, stats, watch = run.spark, run.job, run.stats, run.watch
    config = job.config
    df, n_assigned = assign_missing_ids(
        run.documents, files
    )  # a null id would be one id shared by all of them
    if n_assigned:
        stats.counters[MISSING_ID_ASSIGNED] = n_assigned
    df, n_renamed = dspark.rename_duplicate_ids(df)
    if n_renamed:
        stats.counters[DUPLICATE_ID_RENAMED] = n_renamed
    signed = _sign(df, config)
    # the index's settings and files are checked first
    old_index = (
        dindex.read_index(spark, index_parts(job.index, run.meta), run.runs.left_out) if run.runs else None
    )
    totals = signed.agg(
        F.count(F.lit(1)).alias("n"), F.sum((F.col(N_SHINGLES) == 0).cast("long")).alias("e")
    ).first()
    stats.docs_in = int(totals["n"])
    stats.counters["documents_without_shingles"] = int(totals["e"] or 0)
    dated_dumps = (
        [r["dump"] for r in signed.filter(F.col(DUMP_DATE).isNotNull()).select("dump").distinct().collect()]
        if "dump" in df.columns
        else []
    )
    watch.lap("signatures")

    universe = signed.drop(N_SHINGLES)
    if old_index is not None:
        # A document already in the index (a rerun of the same dump) is matched as itself, not as a copy.
        old_index = old_index.join(signed.select("id"), "id", "left_anti")
        universe = universe.unionByName(old_index.drop(INDEX_ADDED_BY))
    mapping, report = dspark.document_clusters(
        spark,
        universe,
        anchors=config.lsh.anchors,
        num_perm=config.signature.num_perm,
        threshold=config.lsh.threshold,
        max_local_edges=job.max_local_edges,
        bucket_rows=int(totals["n"]) * config.bands_rows[0],
        same_host_threshold=config.lsh.same_host_threshold,
    )
    n_clustered = mapping.count()
    watch.lap("components")
    # Ranking reads the members twice (versions, then rows); cache them rather than join twice.
    members = dspark.clustered_members(
        dspark.narrow_frame(universe), mapping, broadcast=n_clustered <= BROADCAST_MAX_ROWS
    ).persist()
    ranked = dspark.rank_versions(members, job.keep).persist()
    clustered, not_kept = _count_ranked(ranked, job, stats)
    watch.lap("versions")

    out = dspark.attach_results(
        df,
        ranked.filter(~F.col(FROM_INDEX)),
        dated=is_dated(df, dated_dumps),
        broadcast=clustered <= BROADCAST_MAX_ROWS,
    )
    if job.keep != "all":
        out = out.filter(F.col("_keep"))
    out = out.drop(*[c for c in HELPER_COLUMNS if c in out.columns])
    try:
        write_stage(
            out,
            run.output,
            stats,
            overwrite=run.overwrite,
            rows_per_shard=job.rows_per_shard,
            rows=stats.docs_in - not_kept,
        )
        watch.lap("write")

        with run.completing():
            write_clusters(dspark.cluster_summary(ranked), run.output)
            watch.lap("clusters")
            this = run.runs.this if run.runs else ""
            return run.finish(
                report, lambda: dindex.index_rows(signed, ranked, mapping, old_index, universe, this)
            )
    finally:
        for frame in (ranked, members, signed):
            frame.unpersist()


# ---------------------------------------------------------------------------------------------- stage
@dataclass(frozen=True)
class DedupParams(StageParams):
    """`chronomix dedup` and the `dedup` stage kind."""

    # Where clusters are found (driver or Spark) never changes the output: test_dedup_spark's determinism test.
    EXECUTION_FIELDS: ClassVar[frozenset[str]] = frozenset({"max_local_edges", "max_local_documents"})
    REWRITTEN_FIELDS: ClassVar[frozenset[str]] = frozenset({"index"})

    input: list[str]  # document Parquet: files, folders or globs
    output: str
    threshold: float = 0.5
    same_host_threshold: float = 0.9
    num_perm: int = 128
    ngram: int = 5
    keep: str = "newest"
    index: str | None = None
    url_key: bool = True
    bands: int | None = None
    rows: int | None = None
    seed: int = 1
    scheme: str = "oph"
    engine: str = "auto"
    anchors: int = DEFAULT_ANCHORS
    max_local_edges: int = DEFAULT_MAX_LOCAL_EDGES
    max_local_documents: int = DEFAULT_MAX_LOCAL_DOCUMENTS
    overwrite: bool = False


@dataclass(frozen=True)
class DedupPlan:
    params: DedupParams
    files: list[InputFile]
    job: DedupJob


def check(params: DedupParams) -> DedupPlan:
    """The job's settings (each bad one named by its option) and the input files, listed once."""
    job = settings(params)
    files = document_files(params.input, NOT_DOCUMENTS)  # bad paths fail here, before Spark starts
    if job.index:
        # The run reads the index only after Spark has started and signed every document: a wrong folder,
        # or one built with other settings, is named here instead.
        index_parts(job.index, _index_meta(job.config))
    index = [params.index] if params.index else []
    refuse_unfinished(params.output, params.index, params.overwrite)
    refuse_existing(params.output, params.overwrite, files, given=[*params.input, *index])
    return DedupPlan(params, files, job)


def _index_meta(config: DedupConfig) -> IndexMeta:
    try:
        return IndexMeta.of(config)
    except ValueError as error:
        raise UsageError(str(error)) from None


def settings(params: DedupParams) -> DedupJob:
    """The job's settings, checked (each bad one named by its option); reads no input."""
    if params.scheme not in SCHEMES:
        raise UsageError(f"--scheme {params.scheme!r}: expected one of {', '.join(SCHEMES)}")
    if params.engine not in ENGINES:
        raise UsageError(f"--engine {params.engine!r}: expected one of {', '.join(ENGINES)}")
    # --engine's default "auto" cannot be told from one left out (the command's default is the stage's,
    # test_runner): another value is what rensa would ignore.
    refuse_conflicting_signature_options(
        params.scheme, None if params.engine == "auto" else params.engine, params.seed
    )
    try:
        config = DedupConfig(
            signature=SignatureConfig(
                num_perm=params.num_perm,
                ngram=params.ngram,
                seed=params.seed,
                scheme=params.scheme,
                engine=params.engine,
            ),
            lsh=LshConfig(
                threshold=params.threshold,
                same_host_threshold=params.same_host_threshold,
                bands=params.bands,
                rows=params.rows,
                url_key=params.url_key,
                anchors=params.anchors,
            ),
        )
        config.bands_rows  # noqa: B018 - validates threshold / bands / rows now, with the option's name
    except ValueError as error:
        raise UsageError(
            f"--{str(error).split(' ', 1)[0].replace('_', '-')} {str(error).split(' ', 1)[1]}"
        ) from None
    job = DedupJob(
        config=config,
        keep=params.keep,
        index=params.index,
        max_local_edges=params.max_local_edges,
        max_local_documents=params.max_local_documents,
    )
    return job


def run(plan: DedupPlan, spark: SparkProvider) -> StageResult:
    """Deduplicate the plan's files into `output`."""
    stats = run_dedup(spark(), plan.files, plan.params.output, plan.job, overwrite=plan.params.overwrite)
    return StageResult(stats_summary(stats), stats=stats)


STAGE = Stage(
    "dedup",
    DedupParams,
    check,
    run,
    settings=settings,
    still_finished=lambda p: still_indexed(p.index, p.output),
)


# Options with long help, named here so that the signature below stays short.
SchemeOption = Annotated[
    str,
    typer.Option(
        help="MinHash scheme: oph (one-permutation hashing with optimal densification, O(shingles + "
        "permutations) a document), datasketch (classic MinHash, bit-identical to datasketch's) or rensa. "
        "An index only matches runs of its own scheme."
    ),
]
EngineOption = Annotated[
    str,
    typer.Option(
        help="Implementation of the oph and datasketch schemes: auto, numba or numpy (same bits); "
        "--scheme rensa has none to choose."
    ),
]
MaxLocalEdges = Annotated[
    int,
    typer.Option(
        help="Find components in the driver with union-find up to "
        "this many edges; Spark large-star/small-star above.",
        min=0,
    ),
]
MaxLocalDocuments = Annotated[
    int,
    typer.Option(
        help="Find clusters and rank versions in the driver, reading the Parquet there with a thread "
        "per core, up to this many input documents (about 500 bytes each); Spark shuffles above. "
        "0: always Spark.",
        min=0,
    ),
]


def dedup(
    inputs: DocumentInputs,
    output: Output,
    threshold: Annotated[
        float,
        typer.Option(
            help="Jaccard similarity (of word n-gram shingles) at which two "
            "documents become near-duplicates: candidate pairs estimated below it are never linked. "
            "Also sets LSH bands x rows unless --bands/--rows are given."
        ),
    ] = 0.5,
    same_host_threshold: Annotated[
        float,
        typer.Option(
            help="Similarity two texts that a template-heavy host serves (a site whose pages are "
            "alike through its template alone, measured on a sample of them) must reach to be linked "
            "(the larger of this and --threshold); the versions of one page share its URL and join by "
            "it. A text of another host that carries such a host's template (a mirror's wrapped copy) "
            "keeps --threshold with its best match there only; any other text of that host, or another "
            "such copy, needs this value. Set it to --threshold's value to turn it off."
        ),
    ] = 0.9,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations per signature.", min=2)] = 128,
    ngram: Annotated[int, typer.Option(help="Words per shingle (characters without spaces).", min=1)] = 5,
    keep: Annotated[
        str,
        typer.Option(
            help="Which document of a cluster to keep: newest, oldest, first-seen, "
            "longest, or all (flag only, drop nothing)."
        ),
    ] = "newest",
    index: Annotated[
        str | None,
        typer.Option(
            help="Index folder carried across dumps: documents matching kept "
            "ones are flagged, and the index is updated."
        ),
    ] = None,
    url_key: Annotated[
        bool,
        typer.Option(
            "--url-key/--no-url-key",
            help="Treat captures of the same (normalised) URL as versions of one resource.",
        ),
    ] = True,
    bands: Annotated[int | None, typer.Option(help="LSH bands (with --rows, not --threshold).")] = None,
    rows: Annotated[int | None, typer.Option(help="LSH rows per band (with --bands).")] = None,
    anchors: Annotated[
        int,
        typer.Option(
            help="Texts of an LSH bucket that every other text of it is compared with (all pairs of "
            "buckets up to anchors + 1 texts; linear in the bucket beyond).",
            min=1,
        ),
    ] = DEFAULT_ANCHORS,
    seed: Annotated[int, typer.Option(help="MinHash permutation seed (datasketch's).")] = 1,
    scheme: SchemeOption = "oph",
    engine: EngineOption = "auto",
    max_local_edges: MaxLocalEdges = DEFAULT_MAX_LOCAL_EDGES,
    max_local_documents: MaxLocalDocuments = DEFAULT_MAX_LOCAL_DOCUMENTS,
    master: Master = "local[*]",
    conf: Conf = None,
    overwrite: Overwrite = False,
) -> None:
    """Find near-duplicate clusters (MinHash LSH + URL resource keys), rank the versions in each cluster,
    flag stale and exactly duplicated documents, and keep one document per cluster.

    Output columns: cluster_id, cluster_size, version_rank, is_exact_dup, is_stale, staleness_days. The
    cluster summary is written to OUTPUT/_clusters/."""
    from jobs.report import print_stats

    params = DedupParams(
        input=inputs,
        output=output,
        threshold=threshold,
        same_host_threshold=same_host_threshold,
        num_perm=num_perm,
        ngram=ngram,
        keep=keep,
        index=index,
        url_key=url_key,
        bands=bands,
        rows=rows,
        seed=seed,
        scheme=scheme,
        engine=engine,
        anchors=anchors,
        max_local_edges=max_local_edges,
        max_local_documents=max_local_documents,
        overwrite=overwrite,
    )
    result = run_command(STAGE, params, spark_options(master, conf))
    print_stats(result.stats, output)
