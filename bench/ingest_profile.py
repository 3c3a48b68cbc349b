"""CPU cost per page of ingest with dating, against its floor and against htmldate alone, on real pages.

Pages: the sample WARCs of ../shared/data/warc as they are, and the 200 news pages of the dating gold set
(../shared/data/dating) wrapped in a WARC here (one response record each, WARC-Date 2020-12-31, the raw
bytes as served, no charset header: the reader detects it as it would in a crawl). In one process, one
core, CPU time (process_time), htmldate's caches of parsed date strings emptied before each measurement.
Every file is cut at record boundaries into chunks of `--records` records; in each of `--rounds` rounds
every system reads every chunk in turn, and a system's cost is the sum over chunks of its best round. This
VM's speed drifts by tens of percent over seconds; measured chunk by chunk, side by side, the systems see
the same drift, where whole-file runs a second apart did not (their ratio moved by 0.5 between runs).

- floor: FastWARC iterating the file and reading every response payload, the payload decoded (resiliparse's
  encoding detection) and its main text extracted by resiliparse: what any WARC-to-text pipeline pays;
- htmldate alone: `find_date(html, extensive_search=True, original_date=True)` on each decoded page, as a
  user would date pages with htmldate (publication date only);
- chronomix reader: `corpus.readers.read_documents`, the ingest task's reader (WARC checks, HTTP and
  charset decoding, one HTML parse, text extraction, the document record), without dating;
- chronomix ingest with dating: the same reader with dating's page hook (dating.html_meta.MarkupDater:
  publication and update dates from the same parse; htmldate's extensive search, run stage by stage on the
  same tree by dating.html_search, only where its first stages find no publication date), what
  `chronomix ingest` runs;
- previous ingest with dating: the reader keeping the HTML and the former HTML kernel on it (lxml parse,
  htmldate extensive search for the publication date and fast search for the update date), as ingest ran
  before (the baseline the speed-up is measured against, rebuilt here from the same library calls);
- with `--literal-baseline`: the code of the commit before #19's work itself (PRE_19_COMMIT, taken from git
  into a temporary folder), its reader and HTML kernel run in a worker process of their own on the same
  chunks in the same rounds, to check that the rebuilt baseline is what ingest then cost.

Prints CPU ms/page of each and the ratios.
Run: python bench/ingest_profile.py [--rounds 5] [--records 10] [--literal-baseline]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from date_search import clear_htmldate_caches  # noqa: E402
from fastwarc.warc import ArchiveIterator, WarcRecordType  # noqa: E402
from htmldate import find_date  # noqa: E402
from htmldate.utils import load_html  # noqa: E402
from resiliparse.extract.html2text import extract_plain_text  # noqa: E402
from resiliparse.parse.encoding import bytes_to_str, detect_encoding  # noqa: E402

from corpus.html_text import ContentDecodingError, decode_content_encoding  # noqa: E402
from corpus.readers import ReadOptions, read_documents  # noqa: E402
from corpus.stats import RejectLog  # noqa: E402
from dating.html_meta import HTMLDATE_MIN_DATE, MAX_HTML_CHARS, MarkupDater  # noqa: E402
from tests.crafted import http_response, warc_record  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SAMPLES = (
    "dolma_sample-0000.warc.gz",
    "resiliparse_clueweb09-ja-quirk.warc.gz",
    "cc-whirlwind_whirlwind.warc.gz",
)
GOLD_CRAWL = "2020-12-31T23:59:59Z"
PRE_19_COMMIT = "1f66f60"  # the last commit before #19's work (41d2b00 is its first)
# The worker that runs the pre-#19 code: its reader keeping the HTML, then its HTML kernel on each batch, as
# its ingest did (jobs/ingest.py read_file_batches there); one chunk path a line in, "CPU-ms rows" out.
LITERAL_WORKER = """
import os, sys, time, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {int(sys.argv[2])})
from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from dating.html_meta import html_meta_date_batch
from htmldate.extractors import try_date_expr
from htmldate.validators import _parse_and_validate, filter_ymd_candidate
options = ReadOptions(keep_html=True)
for line in sys.stdin:
    for cached in (try_date_expr, _parse_and_validate, filter_ymd_candidate):
        cached.cache_clear()
    started, rows = time.process_time(), 0
    for batch in read_documents(line.strip(), options, RejectLog()):
        rows += html_meta_date_batch(batch).num_rows
    print(f"{(time.process_time() - started) * 1000} {rows}", flush=True)
"""


def gold_warc(folder: Path) -> Path:
    """The 200 dating gold pages as one gzipped WARC (a member per record)."""
    gold = json.loads((SHARED / "dating" / "eval_mediacloud_2020.json").read_text())
    path = folder / "mediacloud_2020.warc.gz"
    with path.open("wb") as out:
        for i, (url, entry) in enumerate(gold.items()):
            body = gzip.decompress((SHARED / "dating" / "pages" / f"{entry['file']}.gz").read_bytes())
            block = http_response(body, content_type="text/html")
            record = warc_record("response", i, block, uri=url, extra={"WARC-Date": GOLD_CRAWL})
            out.write(gzip.compress(record))
    return path


def split_warc(path: Path, folder: Path, records: int) -> list[Path]:
    """`path` (a WARC gzipped a member per record, as crawls write them) cut into files of `records` records
    each, at the records' offsets in the compressed stream."""
    with path.open("rb") as stream:
        starts = [record.stream_pos for record in ArchiveIterator(stream)]
    data = path.read_bytes()
    bounds = [*starts[::records], len(data)]
    chunks = []
    for i, (start, end) in enumerate(itertools.pairwise(bounds)):
        chunk = folder / f"{path.name.split('.')[0]}-{i:04d}.warc.gz"
        chunk.write_bytes(data[start:end])
        chunks.append(chunk)
    return chunks


def floor(path: Path) -> int:
    """FastWARC + decoding + resiliparse main-text extraction over every response; returns pages."""
    pages = 0
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=True):
            body = record.reader.read()
            coding = record.http_headers.get("Content-Encoding") if record.http_headers else None
            try:
                body = decode_content_encoding(body, coding).payload
            except ContentDecodingError:
                continue
            if not body:
                continue
            html = bytes_to_str(body, detect_encoding(body))
            extract_plain_text(html, preserve_formatting=True, main_content=True)
            pages += 1
    return pages


def html_pages(path: Path) -> list[str]:
    """The decoded HTML of every page the reader keeps (htmldate's input)."""
    options = ReadOptions(keep_html=True)
    return [
        h for b in read_documents(str(path), options, RejectLog()) for h in b.column("html").to_pylist() if h
    ]


def htmldate_alone(pages: list[str]) -> int:
    for html in pages:
        find_date(html, extensive_search=True, original_date=True)
    return len(pages)


def reader(path: Path, options: ReadOptions) -> int:
    return sum(b.num_rows for b in read_documents(str(path), options, RejectLog()))


def previous_ingest(path: Path) -> int:
    """The reader with the HTML kept, then the former kernel: one lxml parse, htmldate's extensive search
    for the publication date and its fast search for the update date."""
    rows = 0
    for batch in read_documents(str(path), ReadOptions(keep_html=True), RejectLog()):
        crawls = batch.column("crawl_date").to_pylist()
        for html, crawl in zip(batch.column("html").to_pylist(), crawls, strict=True):
            rows += 1
            tree = load_html(html[:MAX_HTML_CHARS]) if html else None
            if tree is None:
                continue
            latest = crawl.replace(tzinfo=None) if crawl is not None else None
            bounds = {"min_date": HTMLDATE_MIN_DATE, "max_date": latest}
            find_date(tree, extensive_search=True, original_date=True, **bounds)
            find_date(tree, extensive_search=False, original_date=False, url="", **bounds)
    return rows


class LiteralBaseline:
    """The pre-#19 code itself, in a worker process pinned to `core`: `cpu_ms(path)` is its CPU time on one
    chunk (measured inside the worker, htmldate's caches emptied first, as `cpu_ms` does here)."""

    def __init__(self, folder: Path, core: int) -> None:
        tree = folder / f"chronomix-{PRE_19_COMMIT}"
        tree.mkdir()
        found = subprocess.run(["git", "-C", str(ROOT), "archive", PRE_19_COMMIT], capture_output=True)
        if found.returncode != 0:
            sys.exit(
                f"ingest_profile: --literal-baseline needs commit {PRE_19_COMMIT} (a full clone's history)"
            )
        archive = found.stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        self.worker = subprocess.Popen(
            [sys.executable, "-c", LITERAL_WORKER, str(tree), str(core)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def cpu_ms(self, path: Path) -> float:
        assert self.worker.stdin is not None and self.worker.stdout is not None
        self.worker.stdin.write(f"{path}\n")
        self.worker.stdin.flush()
        reply = self.worker.stdout.readline().split()
        if len(reply) != 2:
            sys.exit(f"ingest_profile: the {PRE_19_COMMIT} worker failed on {path.name}")
        return float(reply[0])

    def close(self) -> None:
        assert self.worker.stdin is not None
        self.worker.stdin.close()
        self.worker.wait(timeout=60)


def cpu_ms(fn: Callable[[], int]) -> float:
    """CPU milliseconds `fn` takes, htmldate's caches emptied first."""
    clear_htmldate_caches()
    started = time.process_time()
    fn()
    return (time.process_time() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=10, help="WARC records per chunk")
    parser.add_argument(
        "--literal-baseline",
        action="store_true",
        help=f"also run the code of {PRE_19_COMMIT} itself (needs this repository's git history)",
    )
    args = parser.parse_args()
    if not (SHARED / "warc").is_dir() or not (SHARED / "dating").is_dir():
        sys.exit(f"ingest_profile: {SHARED} is absent (the real sample pages; see ../shared/data/README.md)")
    core = sorted(os.sched_getaffinity(0))[0] if hasattr(os, "sched_getaffinity") else 0
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})  # one core
    warnings.simplefilter("ignore")  # dateutil's unknown-zone warnings on page dates
    with tempfile.TemporaryDirectory(prefix="ingest-profile-") as tmp:
        files = {name.split(".")[0]: SHARED / "warc" / name for name in SAMPLES}
        files["mediacloud_2020 (200 gold pages)"] = gold_warc(Path(tmp))
        sets = {name: split_warc(path, Path(tmp), args.records) for name, path in files.items()}
        dater = ReadOptions(page_hook=MarkupDater())
        plain = ReadOptions()
        systems: dict[str, Callable[[Path, list[str]], int]] = {
            "floor": lambda p, _: floor(p),
            "htmldate alone": lambda _, pages: htmldate_alone(pages),
            "chronomix reader": lambda p, _: reader(p, plain),
            "chronomix ingest with dating": lambda p, _: reader(p, dater),
            "previous ingest with dating": lambda p, _: previous_ingest(p),
        }
        literal = LiteralBaseline(Path(tmp), core) if args.literal_baseline else None
        decoded = {chunk: html_pages(chunk) for chunks in sets.values() for chunk in chunks}
        counts = {s: sum(len(decoded[c]) for c in chunks) for s, chunks in sets.items()}
        for name, path in files.items():  # the chunks hold every page of the file, once
            whole = len(html_pages(path))
            if counts[name] != whole:
                sys.exit(
                    f"ingest_profile: {path.name} gives {whole} pages whole and {counts[name]} in chunks"
                )
        fastest = {(c, n): math.inf for chunks in sets.values() for c in chunks for n in systems}
        for _ in range(args.rounds):
            for chunk in decoded:
                for name, run in systems.items():
                    spent = cpu_ms(lambda r=run, c=chunk: r(c, decoded[c]))
                    fastest[chunk, name] = min(fastest[chunk, name], spent)
                if literal is not None:
                    spent = literal.cpu_ms(chunk)
                    fastest[chunk, PRE_19_COMMIT] = min(fastest.get((chunk, PRE_19_COMMIT), math.inf), spent)
        if literal is not None:
            literal.close()
            systems[PRE_19_COMMIT] = lambda p, _: 0  # a column of the tables below
        # ms per page of each set: its chunks' best rounds summed
        best = {
            (s, n): sum(fastest[c, n] for c in sets[s]) / max(1, counts[s]) for s in sets for n in systems
        }
    names = list(systems)
    print(f"CPU ms per page (one core; per chunk of {args.records} records the best of {args.rounds} rounds)")
    # the systems' names are longer than a column: each column is headed by a letter, named here
    keys = {n: chr(ord("A") + i) for i, n in enumerate(names)}
    print("columns: " + "; ".join(f"{key} = {n}" for n, key in keys.items()))
    print(f"{'pages':<34}{'n':>5}" + "".join(f"{keys[n]:>10}" for n in names))
    total = {n: 0.0 for n in names}
    for set_name in sets:
        cells = "".join(f"{best[set_name, n]:>10.2f}" for n in names)
        print(f"{set_name:<34}{counts[set_name]:>5}{cells}")
        for n in names:
            total[n] += best[set_name, n] * counts[set_name]
    pages = sum(counts.values())
    mean = {n: total[n] / pages for n in names}
    print(f"{'all pages (per page)':<34}{pages:>5}" + "".join(f"{mean[n]:>10.2f}" for n in names))
    print("ratios (all pages; each set alone in brackets):")

    def ratio(a: str, b: str) -> str:
        per_set = ", ".join(f"{best[s, a] / best[s, b]:.2f}" for s in sets)
        return f"{mean[a] / mean[b]:.2f} [{per_set}]"

    print(f"  ingest with dating / floor:                {ratio('chronomix ingest with dating', 'floor')}")
    print(
        f"  previous ingest / ingest with dating:      {ratio('previous ingest with dating', 'chronomix ingest with dating')}"
    )
    if PRE_19_COMMIT in names:
        for other in ("chronomix ingest with dating", "previous ingest with dating"):
            label = f"{PRE_19_COMMIT} itself / {other.removeprefix('chronomix ')}:"
            print(f"  {label:<42} {ratio(PRE_19_COMMIT, other)}")
    print(f"  htmldate alone / floor:                    {ratio('htmldate alone', 'floor')}")
    print(f"  reader / floor:                            {ratio('chronomix reader', 'floor')}")
    dating = {s: best[s, "chronomix ingest with dating"] - best[s, "chronomix reader"] for s in sets}
    overall = mean["chronomix ingest with dating"] - mean["chronomix reader"]
    per_set = ", ".join(f"{dating[s] / best[s, 'htmldate alone']:.2f}" for s in sets)
    print(
        f"  dating's share (with - without) / htmldate alone: {overall / mean['htmldate alone']:.2f} [{per_set}]"
    )
    print(f"load average: {os.getloadavg()[0]:.2f} (the machine is shared; figures are depressed by it)")


if __name__ == "__main__":
    main()
