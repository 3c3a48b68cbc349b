"""Peak memory and throughput of the in-process reader on a ~1 GB WARC made by repeating the samples.

    python bench/ingest_memory.py [--size-mb 1024] [--gzip] [--batch-size 1000] [--keep-html]

Builds the input in a temporary folder (the response/request/metadata records of the three sample WARCs,
repeated with fresh WARC-Record-IDs so no document is a duplicate) and deletes it afterwards. Each
measurement runs in its own child process, so its peak RSS (ru_maxrss) is its own:
- baseline: FastWARC alone iterating the same file (decompressed by the stdlib's gzip) and reading every
  payload (no HTTP decoding, no HTML to text, no Arrow, no damage recovery) -- the floor any WARC reader pays;
- chronomix: `corpus.readers.read_documents`, the full path the ingest job runs per file.
Prints documents/s, MB/s (of input bytes) and peak RSS for both, and the ratios chronomix/baseline. Figures
depend on the machine and its load; peak RSS should not grow with --size-mb (memory is bounded by the batch).
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import os
import re
import resource
import shutil
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = [
    "cc-whirlwind_whirlwind.warc.gz",
    "dolma_sample-0000.warc.gz",
    "resiliparse_clueweb09-ja-quirk.warc.gz",
]
_RECORD_ID = re.compile(rb"(WARC-Record-ID: <urn:uuid:)[0-9a-fA-F-]{36}(>)")


def sample_dir() -> Path:
    """The shared sample data when present, else the test fixtures (the same files)."""
    shared = ROOT.parent / "shared" / "data" / "warc"
    return shared if shared.is_dir() else ROOT / "tests" / "data" / "warc"


def build_input(folder: Path, size_mb: int, compress: bool) -> tuple[Path, int]:
    """Write a WARC of about `size_mb` MB (uncompressed) from the samples; returns (path, bytes on disk)."""
    # The warcinfo records are kept once, at the start: every copy after that is plain records.
    blobs = [gzip.decompress((sample_dir() / name).read_bytes()) for name in SAMPLES]
    path = folder / ("bench.warc.gz" if compress else "bench.warc")
    target = size_mb * 1_000_000
    written = 0
    counter = 0

    def fresh_ids(match: re.Match[bytes]) -> bytes:
        nonlocal counter
        counter += 1
        return match.group(1) + str(uuid.UUID(int=counter)).encode() + match.group(2)

    with open(path, "wb") as raw:
        out = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) if compress else raw
        while written < target:
            for blob in blobs:
                chunk = _RECORD_ID.sub(fresh_ids, blob)
                out.write(chunk)
                written += len(chunk)
        if compress:
            out.close()
    return path, path.stat().st_size


def _baseline(path: str, queue: mp.Queue) -> None:
    from fastwarc.warc import ArchiveIterator

    start = time.perf_counter()
    docs = 0
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if compressed else open(path, "rb") as stream:  # the stdlib's decompression
        for record in ArchiveIterator(stream, parse_http=True, quirks_mode=True, stream_detect=False):
            if str(record.record_type) == "response":
                record.reader.read()
                docs += 1
    seconds = time.perf_counter() - start
    queue.put((docs, 0, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))


def _chronomix(path: str, batch_size: int, keep_html: bool, queue: mp.Queue) -> None:
    from corpus.readers import ReadOptions, read_documents
    from corpus.stats import RejectLog

    start = time.perf_counter()
    rejects = RejectLog()
    docs = 0
    for batch in read_documents(path, ReadOptions(batch_size=batch_size, keep_html=keep_html), rejects):
        docs += batch.num_rows
    seconds = time.perf_counter() - start
    queue.put((docs, len(rejects), seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))


def _run(target, *args) -> tuple[int, int, float, int]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="uncompressed input size in MB")
    parser.add_argument("--gzip", action="store_true", help="gzip the input (as Common Crawl does)")
    parser.add_argument("--batch-size", type=int, default=1000, help="documents per batch")
    parser.add_argument("--keep-html", action="store_true", help="keep the html column")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="chronomix-bench-"))
    try:
        t0 = time.perf_counter()
        path, size = build_input(folder, args.size_mb, args.gzip)
        print(f"input: {path.name}, {size / 1e6:.0f} MB on disk, built in {time.perf_counter() - t0:.0f} s")
        base_docs, _, base_s, base_rss = _run(_baseline, str(path))
        docs, rejected, seconds, rss = _run(_chronomix, str(path), args.batch_size, args.keep_html)
        mb = size / 1e6
        header = ("reader", "docs", "rejects", "seconds", "docs/s", "MB/s", "peak RSS MB")
        print(f"{header[0]:<22}" + "".join(f"{h:>9}" for h in header[1:6]) + f"{header[6]:>13}")
        for name, n, r, s, m in (
            ("baseline (fastwarc)", base_docs, 0, base_s, base_rss),
            ("chronomix reader", docs, rejected, seconds, rss),
        ):
            print(f"{name:<22}{n:>9}{r:>9}{s:>9.1f}{n / s:>9.0f}{mb / s:>9.1f}{m / 1e6:>13.0f}")
        print(
            f"ratios chronomix/baseline: time x{seconds / base_s:.1f}, "
            f"peak RSS x{rss / base_rss:.2f} (+{(rss - base_rss) / 1e6:.0f} MB); "
            f"{os.cpu_count()} CPUs, figures depend on load"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
