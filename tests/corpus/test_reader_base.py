"""The checks every reader shares: a row whose id was already seen in its file is kept under a new id."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.reader_base import DUPLICATE_ID_RENAMED, DocumentChecks, ReadContext
from corpus.readers import ReadOptions, read_documents, read_schema, stable_id
from corpus.schema import validate
from corpus.stats import RejectLog


def read(path: Path) -> tuple[list[dict], RejectLog, Counter[str]]:
    options = ReadOptions()
    rejects, counters = RejectLog(), Counter()
    batches = list(read_documents(str(path), options, rejects, counters))
    for batch in batches:
        validate(batch)  # ids unique within the batch, among the rest
    return pa.Table.from_batches(batches, schema=read_schema(options)).to_pylist(), rejects, counters


def test_a_repeated_id_takes_the_next_suffix_no_row_has_yet() -> None:
    counters: Counter[str] = Counter()
    checks = DocumentChecks(ReadContext("x.jsonl", ReadOptions(), RejectLog(), counters), "x")
    given = ["a", "b", "a", "a~2", "a", "a~3", "b"]
    assert [checks.unique_id(i) for i in given] == ["a", "b", "a~2", "a~2~2", "a~3", "a~3~2", "b~2"]
    assert counters == Counter({DUPLICATE_ID_RENAMED: 5})
    # an id the file gave before is never taken by a renamed row: a~2 is given, so the copy of a is a~3
    counters.clear()
    checks = DocumentChecks(ReadContext("y.jsonl", ReadOptions(), RejectLog(), counters), "y")
    assert [checks.unique_id(i) for i in ["a~2", "a", "a", "a"]] == ["a~2", "a", "a~3", "a~4"]
    assert counters == Counter({DUPLICATE_ID_RENAMED: 2})


def test_exact_copies_without_ids_are_kept_under_renamed_hash_ids(tmp_path: Path) -> None:
    """Rows without an id get a hash of source, URL and text, so exact copies share it: they were rejected
    as duplicate_id, and dedup never saw them (an audit reported a 0% exact duplicate rate)."""
    texts = ["the same page", "another page", "the same page", "the same page"]
    path = tmp_path / "plain.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    docs, rejects, counters = read(path)
    same, other = stable_id("plain", None, texts[0]), stable_id("plain", None, texts[1])
    assert [(d["id"], d["text"]) for d in docs] == [
        (same, "the same page"),
        (other, "another page"),
        (f"{same}~2", "the same page"),
        (f"{same}~3", "the same page"),
    ]
    assert not rejects.items and counters[DUPLICATE_ID_RENAMED] == 2


def test_given_ids_repeated_in_a_parquet_file_keep_every_row(tmp_path: Path) -> None:
    """A dataset that numbers rows per part can repeat an id within one file: every text stays, the first
    row of an id keeps it and the later ones are renamed in file order."""
    path = tmp_path / "train-00000-of-00001.parquet"
    table = pa.table({"id": [0, 1, 0, 2, 0, 1], "text": [f"text number {i}" for i in range(6)]})
    pq.write_table(table, path)
    docs, rejects, counters = read(path)
    assert [(d["id"], d["text"]) for d in docs] == [
        ("0", "text number 0"),
        ("1", "text number 1"),
        ("0~2", "text number 2"),
        ("2", "text number 3"),
        ("0~3", "text number 4"),
        ("1~2", "text number 5"),
    ]
    assert not rejects.items and counters[DUPLICATE_ID_RENAMED] == 3
