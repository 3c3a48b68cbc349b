"""Dating documents by matching them to dated reference versions (the Dated Data paper's method).

A reference set is any document Parquet with `text`, `created` and a resource key (`resource`, else `url`):
monthly snapshots from `chronomix ingest --mediawiki-monthly`, or probe versions. Each document is matched to
its nearest reference version by MinHash similarity (datasketch `MinHashLSH` for candidates, then the exact
Jaccard similarity of the two shingle sets to choose), and takes that version's month.

The tie rule: identical texts (the same shingle set: texts differing only in case, punctuation or
whitespace are the same text here) in several months are one version, dated to
the *earliest* month it appears (the text existed since then) with `ref_last` its latest month (it was still
current then). A document matching two distinct versions equally well is dated to the earlier one.

Shingles are 5-token windows over lower-cased words, with each CJK character a token (so Japanese and
Chinese text without spaces still shingles), hashed with CRC-32 (fast, deterministic across processes;
Python's `hash` is salted per process). The index is built once per Spark task from the reference files
(`ReferenceIndex.from_files`), never per batch; everything is deterministic.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from datasketch import MinHash, MinHashLSH

from corpus.schema import TIMESTAMP
from dating.input_columns import input_values

SHINGLE_TOKENS = 5
NUM_PERM = 128
SEED = 1
LSH_THRESHOLD = 0.3  # below MIN_SIMILARITY, for recall on short texts; exact Jaccard decides afterwards
MIN_SIMILARITY = 0.5  # exact Jaccard below this is no match
REF_FIELDS = [
    pa.field("ref_created", TIMESTAMP),  # earliest month of the matched reference text
    pa.field("ref_last", TIMESTAMP),  # latest month of the matched reference text
    pa.field("ref_similarity", pa.float64()),  # exact Jaccard similarity of the shingle sets, 0..1
    pa.field("ref_key", pa.string()),  # resource key of the matched version
]
# Kana (with its phonetic extensions and half-width forms), Han (radicals, iteration marks, the unified
# ideographs of every plane and the compatibility ones) and Hangul syllables.
_CJK = (
    "\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af\U00020000-\U0003134f"
)
# A CJK character is a token of its own; any other run of word characters is one token. A CJK run that
# touches a digit or a Latin letter ("2019年のiPhone") splits there, rather than riding along in \w+.
WORD_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


class ReferenceError(ValueError):
    """A reference set that cannot be used (missing columns, no dated rows); the message names the field."""


def shingles(text: str) -> np.ndarray:
    """Sorted unique CRC-32 hashes (uint32) of the text's 5-token shingles; one shingle for shorter texts."""
    tokens = WORD_TOKEN.findall(text.casefold())
    if not tokens:
        return np.empty(0, dtype=np.uint32)
    k = min(SHINGLE_TOKENS, len(tokens))
    grams = (" ".join(tokens[i : i + k]).encode("utf-8") for i in range(len(tokens) - k + 1))
    return np.unique(np.fromiter((zlib.crc32(g) for g in grams), dtype=np.uint32))


RESOURCE_COLUMNS = ("resource", "url", "id")  # what names a reference row's resource, first found wins


def resource_column(names: Sequence[str], where: str = "reference") -> str:
    """The column of `names` that names each reference row's resource (RESOURCE_COLUMNS' first);
    ReferenceError naming `where` when there is none."""
    found = next((c for c in RESOURCE_COLUMNS if c in names), None)
    if found is None:
        raise ReferenceError(
            f"{where}: no {', '.join(RESOURCE_COLUMNS[:-1])} or {RESOURCE_COLUMNS[-1]} column"
        )
    return found


VERSION_KEY = pa.field("version_key", pa.string())  # what makes two reference texts one version


def version_key(text: str | None) -> str:
    """The key under which reference texts are one version, as ReferenceIndex groups them (the same shingle
    set, so case, punctuation and spacing aside, in any script): a hex digest, "" for a text without word
    tokens."""
    hashes = shingles(text) if text else np.empty(0, dtype=np.uint32)
    return hashlib.blake2b(hashes.tobytes(), digest_size=16).hexdigest() if len(hashes) else ""


def with_version_keys(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A kernel: `batch` with VERSION_KEY of each row's `text`."""
    keys = pa.array([version_key(t) for t in batch.column("text").to_pylist()], VERSION_KEY.type)
    return pa.RecordBatch.from_arrays([*batch.columns, keys], names=[*batch.schema.names, VERSION_KEY.name])


def _identity(value: int) -> int:
    return value


def minhash(hashes: np.ndarray) -> MinHash:
    """datasketch MinHash of precomputed 32-bit shingle hashes."""
    m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_identity)
    if len(hashes):
        m.update_batch(hashes.tolist())
    return m


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique hash arrays."""
    if not len(a) and not len(b):
        return 0.0
    both = len(np.intersect1d(a, b, assume_unique=True))
    return both / (len(a) + len(b) - both)


def month_of(value: datetime) -> datetime:
    """The first instant (UTC) of `value`'s month."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Version:
    """One distinct reference text: where it came from and the months it was current."""

    key: str
    first: datetime
    last: datetime
    shingles: np.ndarray


@dataclass(frozen=True)
class Match:
    version: Version
    similarity: float


class ReferenceIndex:
    """Distinct dated reference texts in a MinHash LSH index."""

    def __init__(self, versions: Sequence[Version]) -> None:
        self.versions = list(versions)
        self.lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        for i, version in enumerate(self.versions):
            if len(version.shingles):
                self.lsh.insert(i, minhash(version.shingles))

    @classmethod
    def from_table(cls, table: pa.Table) -> ReferenceIndex:
        """Build from a table with `text`, `created` and `resource` (else `url`). Rows without text or date
        are skipped; identical texts (same shingle set) become one version spanning their months."""
        names = table.schema.names
        for needed in ("text", "created"):
            if needed not in names:
                raise ReferenceError(f"reference column {needed!r} is missing")
        key_column = "resource" if "resource" in names else "url" if "url" in names else None
        if key_column is None:
            raise ReferenceError("reference column 'resource' (or 'url') is missing")
        try:
            texts, dates = input_values(table, "text"), input_values(table, "created")
        except (TypeError, ValueError) as error:
            raise ReferenceError(f"reference {error}") from None
        keys = table.column(key_column).to_pylist()
        grouped: dict[bytes, list] = {}
        for text, created, key in zip(texts, dates, keys, strict=True):
            if not text or created is None:
                continue
            hashes = shingles(text)
            if not len(hashes):
                continue
            digest = hashlib.blake2b(hashes.tobytes(), digest_size=16).digest()
            month = month_of(created)
            entry = grouped.get(digest)
            if entry is None:
                grouped[digest] = [key or "", month, month, hashes]
            else:
                if month < entry[1] or (month == entry[1] and (key or "") < entry[0]):
                    entry[0], entry[1] = key or "", month
                entry[2] = max(entry[2], month)
        if not grouped:
            raise ReferenceError("reference set has no rows with both 'text' and 'created'")
        # Sorted so that the index (and tie-breaking by position) does not depend on file order.
        ordered = sorted(grouped.items(), key=lambda item: (item[1][1], item[1][0], item[0]))
        return cls([Version(key, first, last, hashes) for _, (key, first, last, hashes) in ordered])

    @classmethod
    def from_files(cls, uris: Sequence[str]) -> ReferenceIndex:
        """Build from reference Parquet files (local paths or URIs pyarrow can open)."""
        tables = []
        for uri in uris:
            fs, path = _filesystem(uri)
            schema = pq.read_schema(path, filesystem=fs)
            wanted = [c for c in ("text", "created", "resource", "url") if c in schema.names]
            tables.append(pq.read_table(path, columns=wanted, filesystem=fs))
        if not tables:
            raise ReferenceError("reference set has no files")
        return cls.from_table(pa.concat_tables(tables, promote_options="default"))

    def match(self, text: str | None) -> Match | None:
        """The nearest version of `text` (highest exact Jaccard, ties to the earliest), or None below
        MIN_SIMILARITY."""
        if not text:
            return None
        hashes = shingles(text)
        if not len(hashes):
            return None
        best: Match | None = None
        for i in sorted(self.lsh.query(minhash(hashes))):
            version = self.versions[i]
            similarity = jaccard(hashes, version.shingles)
            if similarity < MIN_SIMILARITY:
                continue
            if (
                best is None
                or similarity > best.similarity
                or (similarity == best.similarity and version.first < best.version.first)
            ):
                best = Match(version, similarity)
        return best

    def match_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """`batch` with REF_FIELDS added from each row's `text`."""
        texts = batch.column("text").to_pylist() if "text" in batch.schema.names else [None] * batch.num_rows
        matches = [self.match(t) for t in texts]
        values = {
            "ref_created": [m.version.first if m else None for m in matches],
            "ref_last": [m.version.last if m else None for m in matches],
            "ref_similarity": [round(m.similarity, 6) if m else None for m in matches],
            "ref_key": [m.version.key if m else None for m in matches],
        }
        out = batch
        for field in REF_FIELDS:
            array = pa.array(values[field.name], field.type)
            if field.name in out.schema.names:
                out = out.set_column(out.schema.get_field_index(field.name), field.name, array)
            else:
                out = out.append_column(field.name, array)
        return out


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    return pafs.FileSystem.from_uri(uri) if "://" in uri else (pafs.LocalFileSystem(), uri)


def check_reference_file(uri: str) -> None:
    """Raise ReferenceError naming the column when a reference Parquet file cannot be matched against."""
    fs, path = _filesystem(uri)
    names = set(pq.read_schema(path, filesystem=fs).names)
    for needed in ("text", "created"):
        if needed not in names:
            raise ReferenceError(f"reference file {uri}: column {needed!r} is missing")
    if not names & {"resource", "url"}:
        raise ReferenceError(f"reference file {uri}: column 'resource' (or 'url') is missing")


class ReferenceMatcher:
    """A picklable batch kernel for Spark: carries only the reference file URIs and builds the index on its
    first batch, so each task builds it once (the files are read where the task runs)."""

    def __init__(self, uris: Sequence[str]) -> None:
        self.uris = tuple(uris)
        self._index: ReferenceIndex | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"uris": self.uris}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.uris = tuple(state["uris"])  # type: ignore[arg-type]
        self._index = None

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self._index is None:
            self._index = ReferenceIndex.from_files(self.uris)
        return self._index.match_batch(batch)
