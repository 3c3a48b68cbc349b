"""How well a dataset's own n-gram counts fit each dated reference version: a model-free stand-in for the
probe's per-version NLL, from which the audit predicts the effective cutoff of a model trained on the data.

A model fits best the word sequences it saw most. Each reference version is scored by the mean, over its
n-grams (`NGRAM` tokens, the dating matcher's tokens), of -log(count in the dataset + `ALPHA`): a smoothed
n-gram surprisal, lower meaning the data covers that version's wording better. Unlike the share of documents
that copy a version, it also counts the news pages and mirrors that state some of a version's facts. The
dataset is only counted on n-grams that occur in the reference (`ReferenceNgrams.vocabulary`), so the counts
stay as small as the reference whatever the dataset's size; `NgramCounter` is the Spark kernel that counts a
batch, and counts of batches add up.

Bigrams are the default: measured against trained tiny models (the experiment grid's audit validation), the
bigram surprisal predicts their cutoff far better than copy shares do; longer n-grams are sparser and
over-weight exact copies.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dating.reference import WORD_TOKEN, resource_column

NGRAM = 2
ALPHA = 0.5
COUNT_SCHEMA = pa.schema([pa.field("ngram", pa.int64()), pa.field("count", pa.int64())])


def ngram_hashes(text: str | None, n: int = NGRAM) -> np.ndarray:
    """CRC-32 hashes (as int64) of the text's n-token windows, repeats kept; one window for shorter texts."""
    tokens = WORD_TOKEN.findall((text or "").casefold())
    if not tokens:
        return np.empty(0, dtype=np.int64)
    k = min(n, len(tokens))
    grams = (" ".join(tokens[i : i + k]).encode("utf-8") for i in range(len(tokens) - k + 1))
    return np.fromiter((zlib.crc32(g) for g in grams), dtype=np.int64)


class ReferenceNgrams:
    """The n-grams of every reference version, and the scoring of versions against a dataset's counts."""

    def __init__(self, versions: Sequence[tuple[str, str, str]], n: int = NGRAM) -> None:
        self.n = n
        self.keys = [(resource, month) for resource, month, _ in versions]
        texts = [text for _, _, text in versions]
        distinct = list(dict.fromkeys(texts))
        self._grams = {text: ngram_hashes(text, n) for text in distinct}
        self._text_of = texts
        self.vocabulary = np.unique(
            np.concatenate([g for g in self._grams.values()] or [np.empty(0, np.int64)])
        )

    @classmethod
    def from_file(cls, path: str | Sequence[str], n: int = NGRAM) -> ReferenceNgrams:
        """From reference Parquet (one file or several): resource (or url), month (or created) and text."""
        paths = [path] if isinstance(path, str) else list(path)
        table = pa.concat_tables([pq.read_table(p) for p in paths], promote_options="default")
        key = resource_column(table.column_names, f"reference {', '.join(paths)}")
        months = (
            table.column("month").to_pylist()
            if "month" in table.column_names
            else pc.strftime(table.column("created"), format="%Y-%m").to_pylist()
        )
        versions = list(
            zip(table.column(key).to_pylist(), months, table.column("text").to_pylist(), strict=True)
        )
        return cls(versions, n)

    def count(self, texts: Iterable[str | None]) -> dict[int, int]:
        """Occurrences in `texts` of the reference's n-grams (the others are not counted)."""
        grams = [ngram_hashes(t, self.n) for t in texts]
        flat = np.concatenate(grams) if grams else np.empty(0, np.int64)
        flat = flat[np.isin(flat, self.vocabulary)]
        values, counts = np.unique(flat, return_counts=True)
        return dict(zip(values.tolist(), counts.tolist(), strict=True))

    def scores(self, counts: Mapping[int, int], alpha: float = ALPHA) -> dict[str, dict[str, float]]:
        """Per resource and month, the version's mean n-gram surprisal -log(count + alpha) (lower = the data
        fits it better)."""
        by_text: dict[str, float] = {}
        for text, grams in self._grams.items():
            if len(grams):
                by_text[text] = float(np.mean([-math.log(counts.get(g, 0) + alpha) for g in grams.tolist()]))
        out: dict[str, dict[str, float]] = {}
        for (resource, month), text in zip(self.keys, self._text_of, strict=True):
            if text in by_text:
                out.setdefault(resource, {})[month] = by_text[text]
        return out


class NgramCounter:
    """A picklable Spark batch kernel: a batch of documents (`text`) -> (ngram, count) rows of the reference's
    n-grams; the job sums them by n-gram. Builds the reference's vocabulary on its first batch."""

    def __init__(self, reference: str | Sequence[str], n: int = NGRAM) -> None:
        self.reference = reference if isinstance(reference, str) else tuple(reference)
        self.n = n
        self._vocabulary: np.ndarray | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"reference": self.reference, "n": self.n}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.reference, self.n = state["reference"], int(state["n"])  # type: ignore[assignment,call-overload]
        self._vocabulary = None

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self._vocabulary is None:
            self._vocabulary = ReferenceNgrams.from_file(self.reference, self.n).vocabulary
        grams = [ngram_hashes(t, self.n) for t in batch.column("text").to_pylist()]
        flat = np.concatenate(grams) if grams else np.empty(0, np.int64)
        values, counts = np.unique(flat[np.isin(flat, self._vocabulary)], return_counts=True)
        return pa.RecordBatch.from_arrays(
            [pa.array(values, pa.int64()), pa.array(counts, pa.int64())], schema=COUNT_SCHEMA
        )
