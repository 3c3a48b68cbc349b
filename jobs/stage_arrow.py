"""A stage output written by pyarrow from the driver, in the layout `jobs.stage.write_stage` gives it.

The driver path of dedup holds its results in the driver; sending every document through Spark again only to
join a few columns and write costs a shuffle of all the text (on 2 cores, most of a 1M-document run).
`write_stage_arrow` writes the same files without Spark: `shard_count(rows)` shards, a row's shard is
Spark's `pmod(hash(id), shards)` (the partition `repartition(shards, "id")` gives it), rows sorted inside a
shard by id and then by the same tie columns, part files named by shard. The rows, their order, the schema
(with Spark's row metadata) and the file names equal write_stage's; the bytes do not, since parquet-mr and
pyarrow encode pages differently (tests/jobs/test_stage_arrow.py holds the equalities).

Memory stays bounded by a batch per thread and then a shard per thread: the first pass spills each unit's
rows, split by shard, to local Arrow IPC files; the second reads a shard's spills, sorts them and writes
Parquet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from corpus.stats import StageStats
from dedup.shingles import HAVE_NUMBA
from jobs.fs import HOST_TAG, AtomicStageOutput, Location, process_alive
from jobs.stage import DEFAULT_ROWS_PER_SHARD, TIE_COLUMNS, shard_count
from jobs.unreadable_inputs import count_left_out

SPARK_HASH_SEED = 42  # Murmur3Hash's seed in Spark's hash() and HashPartitioning
ROW_GROUP_BYTES = 128 << 20  # of Arrow (uncompressed) bytes a row group: about parquet-mr's block size
SPARK_ROW_METADATA = b"org.apache.spark.sql.parquet.row.metadata"
SPARK_VERSION_METADATA = b"org.apache.spark.version"
# Spilled rows are not compressed: Arrow's lz4 took 6-7 of 23 s of a 1M-document write here (more disk instead:
# the rows' Arrow size, under spill_dir, for the length of the write).
SPILL_COMPRESSION: str | None = None
SPILL_PREFIX = "chronomix-stage-"

_M32 = np.uint64(0xFFFFFFFF)
# pyarrow 25 moved null placement into each sort key (the table-wide option warns there).
_NULL_PLACEMENT_PER_KEY = int(pa.__version__.split(".")[0]) >= 25


def _mix_k1(k: np.uint64) -> np.uint64:
    k = (k * np.uint64(0xCC9E2D51)) & _M32
    k = ((k << np.uint64(15)) | (k >> np.uint64(17))) & _M32
    return (k * np.uint64(0x1B873593)) & _M32


def _mix_h1(h: np.uint64, k: np.uint64) -> np.uint64:
    h ^= k
    h = ((h << np.uint64(13)) | (h >> np.uint64(19))) & _M32
    return (h * np.uint64(5) + np.uint64(0xE6546B64)) & _M32


def _spark_murmur3(offsets: np.ndarray, data: np.ndarray, valid: np.ndarray, seed: int) -> np.ndarray:
    """Spark's Murmur3_x86_32.hashUnsafeBytes of every string (4-byte little-endian words, then each tail byte
    alone as a sign-extended int, unlike the reference MurmurHash3), as int32; a null hashes to the seed."""
    n = len(offsets) - 1
    out = np.empty(n, np.int32)
    for i in range(n):
        h = np.uint64(seed)
        if valid[i]:
            start, end = offsets[i], offsets[i + 1]
            length = end - start
            aligned = start + length - length % 4
            for j in range(start, aligned, 4):
                word = (
                    np.uint64(data[j])
                    | (np.uint64(data[j + 1]) << np.uint64(8))
                    | (np.uint64(data[j + 2]) << np.uint64(16))
                    | (np.uint64(data[j + 3]) << np.uint64(24))
                )
                h = _mix_h1(h, _mix_k1(word))
            for j in range(aligned, end):
                byte = np.int64(data[j])
                signed = byte - 256 if byte >= 128 else byte
                h = _mix_h1(h, _mix_k1(np.uint64(signed & 0xFFFFFFFF)))
            h ^= np.uint64(length)
            h ^= h >> np.uint64(16)
            h = (h * np.uint64(0x85EBCA6B)) & _M32
            h ^= h >> np.uint64(13)
            h = (h * np.uint64(0xC2B2AE35)) & _M32
            h ^= h >> np.uint64(16)
        out[i] = np.int32(np.int64(h) - (np.int64(1) << 32) if h >= np.uint64(1 << 31) else np.int64(h))
    return out


if HAVE_NUMBA:  # the same code compiled; without numba it runs as Python, ~1 us a byte
    import numba

    _mix_k1 = numba.njit(cache=True, inline="always")(_mix_k1)
    _mix_h1 = numba.njit(cache=True, inline="always")(_mix_h1)
    _spark_murmur3 = numba.njit(cache=True, nogil=True)(_spark_murmur3)


def spark_hash(strings: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Spark's `hash(column)` (Murmur3, seed 42) of a string column, as int32."""
    array = strings.combine_chunks() if isinstance(strings, pa.ChunkedArray) else strings
    array = array.cast(pa.large_string())
    n = len(array)
    if n == 0:
        return np.empty(0, np.int32)
    validity, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, np.int64)[array.offset : array.offset + n + 1]
    data = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
    valid = np.ones(n, bool) if validity is None else array.is_valid().to_numpy(zero_copy_only=False)
    return _spark_murmur3(offsets, data, valid, SPARK_HASH_SEED)


def spark_partition(ids: pa.Array | pa.ChunkedArray, partitions: int) -> np.ndarray:
    """The partition, 0 <= p < `partitions`, that Spark's `repartition(partitions, "id")` puts each id in."""
    return np.mod(spark_hash(ids).astype(np.int64), partitions)


def sort_indices_as_spark(table: pa.Table) -> pa.Array:
    """The order of write_stage's sort of `table`: id, then its tie columns present; ascending, nulls first,
    strings by their UTF-8 bytes, as Spark sorts."""
    keys = [name for name in ("id", *TIE_COLUMNS) if name in table.schema.names]
    if _NULL_PLACEMENT_PER_KEY:
        return pc.sort_indices(table, [(name, "ascending", "at_start") for name in keys])
    return pc.sort_indices(table, [(name, "ascending") for name in keys], null_placement="at_start")


def arrow_schema(spark_schema: StructType) -> pa.Schema:
    """The Arrow schema of a Spark frame's rows as pyarrow reads them from Spark's files (nullability kept)."""
    return to_arrow_schema(spark_schema, timezone="UTC")


def spark_footer(spark_schema: StructType, spark_version: str) -> dict[bytes, bytes]:
    """The key-value metadata Spark's Parquet writer puts in a file's footer for a frame of `spark_schema`:
    its short version and the schema as compact JSON in the JVM's key order (pyspark's json() sorts keys)."""
    version = re.match(r"\d+\.\d+\.\d+", spark_version)
    spark_json = json.dumps(spark_schema.jsonValue(), separators=(",", ":"), ensure_ascii=False)
    return {
        SPARK_VERSION_METADATA: (version.group() if version else spark_version).encode(),
        SPARK_ROW_METADATA: spark_json.encode(),
    }


def write_file_as_spark(
    table: pa.Table, spark_schema: StructType, spark_version: str, target: Location
) -> None:
    """`table` (in `arrow_schema(spark_schema)`) as one Parquet file at `target`, zstd, with Spark's footer."""
    schema = arrow_schema(spark_schema).with_metadata(spark_footer(spark_schema, spark_version))
    with target.fs.open_output_stream(target.path) as sink:
        pq.write_table(table.cast(schema), sink, compression="zstd")


def _wide(schema: pa.Schema) -> pa.Schema:
    """`schema` with large_string for string: a shard or batch may hold over 2 GiB of one string column,
    which a string array cannot (take and sort would fail to join the chunks)."""
    return pa.schema(
        [f.with_type(pa.large_string()) if pa.types.is_string(f.type) else f for f in schema],
        metadata=schema.metadata,
    )


def new_spill_folder(spill_dir: str | None) -> Path:
    """A new spill folder under `spill_dir` (default: the temporary directory), named by this host and
    process, made after removing the folders that processes of this host left there when they were killed:
    a SIGKILL (the kernel's out-of-memory killer, a cluster manager) runs no cleanup, and each such folder
    holds as much as a stage's rows. A folder whose process is alive, or of another host, is left alone."""
    base = Path(spill_dir or tempfile.gettempdir())
    for folder in base.glob(f"{SPILL_PREFIX}{HOST_TAG}-*-*"):
        named, pid, _ = folder.name.rsplit("-", 2)
        if named == SPILL_PREFIX + HOST_TAG and pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{HOST_TAG}-{os.getpid()}-", dir=base))


def write_stage_arrow(
    units: Sequence[Callable[[], Iterable[pa.Table]]],
    spark_schema: StructType,
    output: str,
    stats: StageStats,
    *,
    rows: int,
    spark_version: str,
    overwrite: bool = False,
    rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
    threads: int = 2,
    spill_dir: str | None = None,
) -> StageStats:
    """Write the rows of the tables that the `units` yield (each table in `arrow_schema(spark_schema)`;
    `rows` of them in all) to `output` as write_stage would write a frame of `spark_schema`, with
    `_stats.json`; returns `stats` with docs_out and bytes_out (docs_in too, where it was 0).

    `threads` units are read, then `threads` shards written, at a time: memory holds a table per thread, then
    a shard per thread. The rows are spilled in between, as Arrow IPC files under `spill_dir` (default: the
    temporary directory; as much disk as the rows take in memory), and removed at the end, or by the next
    write on this host where the process was killed (new_spill_folder). Every file's footer holds the Spark
    schema and `spark_version` as Spark's writer puts them (compact JSON in the JVM's key order; pyspark's
    json() sorts keys), so a Spark reader sees what the Spark path's files give it."""
    started = time.perf_counter()
    schema = arrow_schema(spark_schema)
    wide = _wide(schema)
    shards = shard_count(rows, rows_per_shard)
    metadata = spark_footer(spark_schema, spark_version)
    spill_options = pa.ipc.IpcWriteOptions(compression=SPILL_COMPRESSION)
    spill = new_spill_folder(spill_dir)
    try:
        with AtomicStageOutput(output, overwrite) as tmp:
            tmp.fs.create_dir(tmp.path, recursive=True)

            def split(number: int) -> int:
                """Spill unit `number`'s rows by shard; returns how many it had."""
                writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
                read = 0
                try:
                    for table in units[number]():
                        if table.schema != schema:
                            raise ValueError(
                                f"unit {number}: schema {table.schema} is not the output's {schema}"
                            )
                        table = table.cast(wide)
                        shard = spark_partition(table.column("id"), shards)
                        order = np.argsort(shard, kind="stable")
                        table, shard = table.take(order), shard[order]
                        bounds = np.searchsorted(shard, np.arange(shards + 1))
                        for s in np.flatnonzero(np.diff(bounds)):
                            if s not in writers:
                                folder = spill / f"{s:05d}"
                                folder.mkdir(exist_ok=True)
                                path = folder / f"{number:06d}.arrow"
                                writers[s] = pa.ipc.new_file(path, wide, options=spill_options)
                            writers[s].write_table(table.slice(bounds[s], bounds[s + 1] - bounds[s]))
                        read += table.num_rows
                finally:
                    for writer in writers.values():
                        writer.close()
                return read

            def write(s: int) -> tuple[int, int]:
                """Sort shard `s` and write it; returns its rows and bytes."""
                folder = spill / f"{s:05d}"
                pieces = [
                    pa.ipc.open_file(pa.memory_map(str(p))).read_all() for p in sorted(folder.glob("*"))
                ]
                table = pa.concat_tables(pieces) if pieces else wide.empty_table()
                order = sort_indices_as_spark(table)
                group = max(1, ROW_GROUP_BYTES // max(1, table.nbytes // max(1, table.num_rows)))
                target = tmp.child(f"part-{s:05d}.parquet")
                file_schema = schema.with_metadata(metadata)
                # A page index, as parquet-mr writes one: a reader filtering on id skips pages with it.
                with (
                    tmp.fs.open_output_stream(target.path) as sink,
                    pq.ParquetWriter(sink, file_schema, compression="zstd", write_page_index=True) as writer,
                ):
                    for lo in range(0, table.num_rows, group):
                        piece = table.take(order[lo : lo + group]).cast(file_schema)
                        writer.write_table(piece, row_group_size=group)
                return table.num_rows, tmp.fs.get_file_info(target.path).size

            with ThreadPoolExecutor(max(1, threads)) as pool:
                read = sum(pool.map(split, range(len(units))))
                if read != rows:
                    raise AssertionError(f"{stats.stage}: the units hold {read} rows, expected {rows}")
                filled = sorted(int(p.name) for p in spill.iterdir())
                written = list(pool.map(write, filled or [0]))  # an empty output is one file, as Spark's
            stats.docs_out = sum(n for n, _ in written)
            stats.docs_in = stats.docs_in or stats.docs_out
            stats.bytes_out = sum(size for _, size in written)
            stats.seconds += time.perf_counter() - started
            count_left_out(stats)
            tmp.child("_stats.json").write_text(stats.to_json())
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return stats
