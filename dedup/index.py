"""The cross-dump index: band keys, URL and host keys, sketches, exact-text hashes and dates of the documents
kept by earlier runs (everything a new document needs to be matched, and verified, against them). The row of
a text that was a hub on its host (dedup.lsh.hub_rows: a soft-404) has no URL key: a marker that keeps it one.

Layout of an index folder: `part-*.parquet` rows with INDEX_FIELDS, and `_index.json` with the settings
that made the keys. Keys are only comparable between runs with the same signature settings (MinHash
scheme, num_perm, ngram, seed, bands, rows, URL keys, hash version), so a run with other settings is refused
with a message naming the setting rather than silently matching nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.schema import TIMESTAMP
from dedup.kernel import BAND_KEYS, HOST_KEY, SKETCH, URL_KEY, DedupConfig
from dedup.local import url_rows
from dedup.lsh import hub_rows
from dedup.versions import DUMP_DATE, LENGTH, SEEN_DATE, TEXT_HASH, VERSION_DATE

META_FILE = "_index.json"
# Bump when normalisation or hashing changes: keys of different versions never match.
# 2: band keys, URL key and sketch in separate columns; 3: the MinHash scheme is named; 4: a host key per URL;
# 5: format characters (Cf) removed before tokenising; 6: no URL key for a string that names no web resource
# ("N/A", "mailto:..."), a host's trailing dot and a URL's trailing whitespace dropped
HASH_VERSION = 7
INDEX_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string()),
    pa.field("dump", pa.string()),
    pa.field(BAND_KEYS, pa.list_(pa.int64())),
    pa.field(URL_KEY, pa.int64()),
    pa.field(HOST_KEY, pa.int64()),
    pa.field(SKETCH, pa.binary()),
    pa.field(TEXT_HASH, pa.int64()),
    pa.field(LENGTH, pa.int64()),
    pa.field(VERSION_DATE, TIMESTAMP),
    pa.field(SEEN_DATE, TIMESTAMP),
    pa.field(DUMP_DATE, TIMESTAMP),
]
INDEX_COLUMNS = tuple(f.name for f in INDEX_FIELDS)
# Beside INDEX_FIELDS in the index's files: the cluster id each row was given. A run names a cluster that
# holds index rows by their cluster id (the smallest), so a resource keeps one cluster_id across the dumps
# deduplicated in turn; it was the smallest document id present, and changed whenever a new document's id was
# smaller (123 of 260 resources of the tiny world carried several ids over five dumps). Index files written
# before it lack the column: their rows read as their own id, which is what those runs named them.
INDEX_CLUSTER = "cluster_id"
# Also beside them: the dedup output whose run added the row; `_index.json` lists those outputs in the order
# they ran ("runs"). A rerun of one of them leaves out the rows it and every later run added, so it sees the
# index as it was before it ran: a pipeline that deduplicated dumps in turn reran one after its input changed
# against an index holding its own removed documents and the later dumps' (it kept 189 documents where a run
# from scratch kept 313). Rows of files written before carry none, and are never left out.
INDEX_ADDED_BY = "added_by"


class IndexMismatch(ValueError):
    """The index was built with settings that make its keys incomparable with this run's."""


@dataclass(frozen=True)
class IndexMeta:
    """Settings that determine the keys of an index."""

    scheme: str  # SignatureConfig.metadata["minhash_scheme"], e.g. "oph/1"
    num_perm: int
    ngram: int
    seed: int
    bands: int
    rows: int
    url_key: bool
    hash_version: int = HASH_VERSION

    @classmethod
    def of(cls, config: DedupConfig) -> IndexMeta:
        bands, rows = config.bands_rows
        sig = config.signature
        return cls(
            sig.metadata["minhash_scheme"], sig.num_perm, sig.ngram, sig.seed, bands, rows, config.lsh.url_key
        )

    def to_json(self, documents: int | None = None, runs: list[str] | None = None) -> str:
        data: dict[str, Any] = dict(self.__dict__)
        if documents is not None:
            data["documents"] = documents
        if runs is not None:
            data["runs"] = runs
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> IndexMeta:
        data = json.loads(text)
        data.pop("documents", None)
        data.pop("runs", None)
        known = set(cls.__dataclass_fields__)
        if "scheme" in data and set(data) - known:
            raise IndexMismatch(
                f"--index: written by a newer chronomix (it records {', '.join(sorted(set(data) - known))}); "
                "upgrade chronomix, or use a new index folder"
            )
        if set(data) - known or "scheme" not in data:
            version = data.get("hash_version", "unknown")
            raise IndexMismatch(
                f"--index: built by an older chronomix (hash_version={version!r}, this run uses "
                f"{HASH_VERSION}); use a new index folder"
            )
        return cls(**data)

    def check(self, other: IndexMeta) -> None:
        """Raise IndexMismatch naming the first setting that differs between this run and the index."""
        for name, ours in self.__dict__.items():
            theirs = getattr(other, name)
            if ours == theirs:
                continue
            if name == "hash_version":  # no setting of this run can match keys made the older way
                raise IndexMismatch(
                    f"--index: built by another chronomix (hash_version={theirs!r}, this run uses {ours!r}); "
                    "use a new index folder"
                )
            if name in ("bands", "rows"):  # what the user changed is more often the threshold than these
                raise IndexMismatch(
                    f"--index: built with bands={other.bands}, rows={other.rows} but this run uses "
                    f"bands={self.bands}, rows={self.rows}; they follow from --threshold (and --num-perm) "
                    "unless --bands/--rows are given: run with the threshold the index was built with, or use a new "
                    "index folder"
                )
            raise IndexMismatch(
                f"--index: built with {name}={theirs!r} but this run uses {name}={ours!r}; "
                "use a new index folder or the index's settings"
            )


def mark_hubs(index: pa.Table, universe: pa.Table) -> pa.Table:
    """`index` (rows of `universe`, by id) with the URL key of every row whose text is a hub on its host in
    `universe` (dedup.lsh.hub_rows) set to null: a marker. The index keeps one row of the hub's cluster, so
    without the marker a later run that sees the text under one or two more URLs of the host would count
    too few keys and join their resources through it again."""
    keys, hosts, nodes, marker = url_rows(universe)
    has_host = pc.is_valid(universe.column(HOST_KEY)).to_numpy(zero_copy_only=False)
    hub = np.zeros(universe.num_rows, bool)
    hub[has_host] = hub_rows(keys, hosts, nodes, marker)
    hub_ids = universe.column("id").filter(pa.array(hub))
    marked = pc.is_in(index.column("id"), value_set=pc.unique(hub_ids.combine_chunks()))
    at = index.schema.get_field_index(URL_KEY)
    url = pc.if_else(marked, pa.scalar(None, pa.int64()), index.column(URL_KEY))
    return index.set_column(at, index.schema.field(URL_KEY), url)
