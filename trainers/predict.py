"""The audit's predicted effective cutoff of a model, from the very rows it trained on (repeats included), by
the audit's two predictors: the n-gram fit of every reference version (dating/reference_ngrams.py; the
default) and the token shares of the versions the rows copy (documents matched to dated reference versions by
the dating matcher, analysis/predict.py's `curve` statistic). The experiment writes both beside each run's
probe, so predicted and measured cutoffs can be compared on the same data (`trainers/grid_summary.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis.reference import reference_figures, version_spans, with_ngram_prediction
from dating.reference import ReferenceIndex, resource_column, version_key
from dating.reference_ngrams import ReferenceNgrams
from trainers.shards import list_shards


def reference_versions(
    reference: str | Path,
) -> tuple[dict[str, list[str]], dict[str, dict[str, str]] | None]:
    """(resource -> its reference months, spans) of a reference Parquet file with resource, month or created,
    and text (texts are one version where the dating matcher takes them as one: dating.reference.version_key,
    as the audit does)."""
    table = pq.read_table(reference)
    key = resource_column(table.column_names, f"reference {reference}")
    if "month" in table.column_names:
        months = table.column("month").to_pylist()
    else:
        months = pc.strftime(table.column("created"), format="%Y-%m").to_pylist()
    texts = table.column("text").to_pylist() if "text" in table.column_names else None
    available: dict[str, list[str]] = {}
    rows = []
    for i, (resource, month) in enumerate(zip(table.column(key).to_pylist(), months, strict=True)):
        available.setdefault(resource, []).append(month)
        rows.append((resource, month, version_key(texts[i]) if texts else None))
    return available, version_spans(rows)


def predict_mixture_cutoff(
    mixture_dir: str | Path, reference: str | Path, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> dict[str, Any]:
    """The audit's `reference` figures (analysis.reference.reference_figures) for the rows of a mixture:
    documents matched, version months held, `predicted_cutoff` (the n-gram predictor) and
    `token_share_cutoff`, each with its `level` bootstrap interval."""
    index = ReferenceIndex.from_files([str(reference)])
    per_version: dict[tuple[str, str], tuple[int, int]] = {}
    for shard in list_shards(mixture_dir):
        table = pq.read_table(shard, columns=["text", "n_tokens"])
        for batch in table.to_batches(max_chunksize=2000):
            matched = index.match_batch(pa.RecordBatch.from_arrays([batch.column("text")], names=["text"]))
            created = matched.column("ref_created").to_pylist()
            keys = matched.column("ref_key").to_pylist()
            for resource, when, tokens in zip(
                keys, created, batch.column("n_tokens").to_pylist(), strict=True
            ):
                if resource is None or when is None:
                    continue
                cell = (resource, when.strftime("%Y-%m"))
                documents, total = per_version.get(cell, (0, 0))
                per_version[cell] = (documents + 1, total + int(tokens or 0))
    available, spans = reference_versions(reference)
    figures = reference_figures(str(reference), per_version, available, spans, "curve", n_boot, level, seed)
    scores = mixture_ngram_scores(mixture_dir, reference)
    return with_ngram_prediction(figures, scores, n_boot=n_boot, level=level, seed=seed)


def mixture_ngram_scores(mixture_dir: str | Path, reference: str | Path) -> dict[str, dict[str, float]]:
    """Per reference resource and month, the mean n-gram surprisal (nats) of that month's version in the
    mixture's texts (dating.reference_ngrams; lower = the data holds it more): the n-gram predictor's scores."""
    ngrams = ReferenceNgrams.from_file(str(reference))
    counts: dict[int, int] = {}
    for shard in list_shards(mixture_dir):
        texts = pq.read_table(shard, columns=["text"]).column("text").to_pylist()
        for gram, n in ngrams.count(texts).items():
            counts[gram] = counts.get(gram, 0) + n
    return ngrams.scores(counts)
