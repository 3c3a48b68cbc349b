"""Probes of what a causal LM learned: effective cutoff (Cheng et al., "Dated Data", COLM 2024) and long-tail
fact accuracy (trainers/longtail.py), on a chronomix run directory or any local Hugging Face causal LM
directory.

Effective cutoff. For each resource (a page with one version per month), the mean token negative
log-likelihood (NLL, nats/token) of every month's version: its first `k_tokens` tokens, by default the whole
version (as far as the model's context reaches; versions cut short are counted). Each distinct text is
scored once. Resources differ in how predictable their text is at all, so each resource's NLLs are normalised
across its months (`analysis.cutoff.CurveMethod`: a z-score by default, or only centred); a resource with
fewer than 2 months or the same NLL in every month says nothing about time and is dropped (counted). Per
month, the trimmed mean of the normalised values over resources (2.5% off each tail) is the curve; the
effective cutoff is its argmin month (the earliest on a tie).

The argmin of a flat curve is unstable, so every cutoff comes with a percentile-bootstrap interval over
resources (resources resampled with replacement, the curve and its argmin recomputed), and with a statistic
that does not hinge on one argmin: the share of resources whose own best-fitting version is the one in effect
at the newest month of the training data, with its bootstrap interval.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis.cutoff import (
    NORMALISATIONS,
    TRIM,
    CurveMethod,
    best_columns,
    bootstrap_abs_deviation,
    bootstrap_cutoffs,
    newest_version_share,
)
from analysis.intervals import bootstrap_rows, percentile_interval
from analysis.months import month_index, months_between
from analysis.probe_plots import plot_cutoff, plot_longtail
from analysis.spreadsheet import write_csv
from corpus.jsonl import finite_json
from dating.reference import resource_column
from trainers.longtail import (
    accuracy_by_bucket,
    calibrated_scores,
    fact_frequencies,
    is_correct,
    longtail_summary,
)
from trainers.probe_output import staged_output
from trainers.scoring import LoadedLM, encode, load_lm, token_logprobs

LENGTH_NORMS = ("none", "chars")
# What `run_probes` writes into its output folder (an earlier probe's are replaced, or removed where this
# probe writes no such file). probe.json, the file that says the results are complete, comes first.
PROBE_FILES = (
    "probe.json",
    "cutoff_curve.csv",
    "cutoff_resources.csv",
    "version_nll.parquet",
    "cutoff.png",
    "longtail.csv",
    "longtail.png",
    "longtail_probes.csv",
)


# ------------------------------------------------------------------------------------- effective cutoff


@dataclass
class DropCounts:
    """Records and resources left out, per reason."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, n: int = 1) -> None:
        if n:
            self.counts[reason] = self.counts.get(reason, 0) + n


def load_versions(path: str | Path, drops: DropCounts | None = None) -> pa.Table:
    """Dated versions as a table (resource, month 'YYYY-MM', text), one row per resource and month.

    `path` is a Parquet file or a directory of them with `text` and a month: `month` ('YYYY-MM') or `created`
    (timestamp). The resource is `resource`, else `url`, else `id`. Where a resource has several versions in
    a month, the newest (by `created`, else the last row) stands for the month, as a monthly snapshot does.
    Rows without text, month or resource are counted in `drops`."""
    drops = drops if drops is not None else DropCounts()
    table = _read_parquet(path)
    names = set(table.column_names)
    key = resource_column(list(names), f"versions: {path}")
    if "text" not in names:
        raise ValueError(f"versions: column 'text' missing from {path}")
    if "month" in names:
        months = table.column("month").cast(pa.string())
    elif "created" in names:
        months = pc.strftime(table.column("created"), format="%Y-%m")
    else:
        raise ValueError(f"versions: {path} has neither 'month' nor 'created'")
    created = table.column("created") if "created" in names else pa.nulls(table.num_rows, pa.timestamp("us"))
    rows = pa.table(
        {
            "resource": table.column(key).cast(pa.string()),
            "month": months,
            "text": table.column("text"),
            "created": created,
            "row": pa.array(np.arange(table.num_rows)),
        }
    )
    for column, reason in (("text", "no_text"), ("month", "no_month"), ("resource", "no_resource")):
        valid = pc.and_(pc.is_valid(rows.column(column)), pc.greater(pc.utf8_length(rows.column(column)), 0))
        drops.add(reason, rows.num_rows - pc.sum(valid).as_py() if rows.num_rows else 0)
        rows = rows.filter(valid)
    # a month in another spelling ("2023-9") would sort as text, after "2023-11"
    valid = pc.match_substring_regex(rows.column("month"), r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    drops.add("bad_month", rows.num_rows - (pc.sum(valid).as_py() or 0))
    rows = rows.filter(valid)
    rows = rows.sort_by(
        [("resource", "ascending"), ("month", "ascending"), ("created", "ascending"), ("row", "ascending")]
    )
    resource, month = rows.column("resource").to_pylist(), rows.column("month").to_pylist()
    # keep the last row of each (resource, month) run: the newest version of that month
    keep = [
        i + 1 == len(resource) or (resource[i], month[i]) != (resource[i + 1], month[i + 1])
        for i in range(len(resource))
    ]
    drops.add("older_in_same_month", keep.count(False))
    return rows.filter(pa.array(keep, pa.bool_())).select(["resource", "month", "text"])


def version_nll(
    lm: LoadedLM, versions: pa.Table, k_tokens: int | None = None, batch_size: int = 16
) -> pa.Table:
    """`versions` with `nll` (mean NLL in nats per token over the first `k_tokens` tokens of the text, all of
    it up to the model's context when None, the first one scored after the model's BOS/EOS), `n_tokens`
    (how many tokens were scored) and `truncated` (the text had more). Each distinct text is scored once."""
    if k_tokens is not None and k_tokens < 1:
        raise ValueError(f"k_tokens: must be positive, got {k_tokens}")
    room = lm.max_len - len(lm.context)
    k = room if k_tokens is None else min(k_tokens, room)
    texts = versions.column("text").to_pylist()
    distinct = list(dict.fromkeys(texts))
    encoded = encode(lm, distinct)
    ids = [lm.context + seq[:k] for seq in encoded]
    logprobs = token_logprobs(lm, ids, [len(lm.context) or 1] * len(ids), batch_size)
    by_text = {
        text: (float(-lp.mean()) if len(lp) else math.nan, len(lp), len(seq) > k)
        for text, lp, seq in zip(distinct, logprobs, encoded, strict=True)
    }
    scored = [by_text[t] for t in texts]
    return (
        versions.append_column("nll", pa.array([s[0] for s in scored], pa.float64()))
        .append_column("n_tokens", pa.array([s[1] for s in scored], pa.int64()))
        .append_column("truncated", pa.array([s[2] for s in scored], pa.bool_()))
    )


def normalise_per_resource(
    resources: Sequence[str], values: Sequence[float], method: str = "zscore"
) -> tuple[np.ndarray, dict[str, str]]:
    """Each value normalised against the other values of its resource (`analysis.cutoff.CurveMethod`):
    `zscore` (value - mean) / std with the population std, or `center` (value - mean). Returns the normalised
    values (NaN for values of dropped resources) and the dropped resources with their reason
    ('single_month', 'constant', 'no_tokens')."""
    return CurveMethod(normalisation=method).normalise_resources(resources, values)


def cutoff_curve(
    nll: pa.Table, method: str = "zscore", trim: float = TRIM
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The effective-cutoff curve from a `version_nll` table (`analysis.cutoff.CurveMethod`): per month
    (ascending) the trimmed mean of the normalised NLL (`score`), the resources counted and their plain mean
    NLL. Also the dropped resources."""
    curve_method = CurveMethod(normalisation=method, trim=trim)
    resources = nll.column("resource").to_pylist()
    months = nll.column("month").to_pylist()
    normalised, dropped = curve_method.normalise_resources(resources, nll.column("nll").to_pylist())
    raw = np.asarray(nll.column("nll").to_pylist(), dtype=np.float64)
    curve = []
    for month in sorted(set(months), key=month_index):
        index = [i for i, m in enumerate(months) if m == month and not np.isnan(normalised[i])]
        if not index:
            continue
        curve.append(
            {
                "month": month,
                "score": curve_method.point(normalised[index]),
                "n_resources": len(index),
                "mean_nll": float(raw[index].mean()),
            }
        )
    return curve, dropped


def effective_cutoff(curve: Sequence[Mapping[str, Any]]) -> str | None:
    """The month of the curve's minimum score (the earliest on a tie); None for an empty curve."""
    best = CurveMethod.argmin([row["score"] for row in curve])
    return None if best is None else str(curve[best]["month"])


# ------------------------------------------------------------------------------------------ the probe


def load_facts(path: str | Path) -> pa.Table:
    """Fact probes: a Parquet file/dir with prompt, answer, distractors (list<string>) and n_train_docs
    (may be null until counted), plus probe_id/fact_id/lang/swap_prompts/answer_suffix when present."""
    table = _read_parquet(path)
    for column in ("prompt", "answer", "distractors"):
        if column not in table.column_names:
            raise ValueError(f"facts: column {column!r} missing from {path}")
    return table


def find_probe_files(probes: str | Path) -> tuple[Path | None, Path | None]:
    """(versions, facts) for a probes argument: a world's `probes/` directory (temporal.parquet,
    facts.parquet), a world directory holding one, or any Parquet file/directory of dated versions."""
    path = Path(probes)
    if not path.exists():
        raise FileNotFoundError(f"probes: no such file or directory: {path}")
    for base in (path, path / "probes"):
        temporal, facts = base / "temporal.parquet", base / "facts.parquet"
        if base.is_dir() and (temporal.exists() or facts.exists()):
            return (temporal if temporal.exists() else None), (facts if facts.exists() else None)
    return path, None


def run_probes(
    model_path: str | Path,
    output_dir: str | Path,
    versions: str | Path | None = None,
    facts: str | Path | None = None,
    newest_month: str | None = None,
    mixture_dir: str | Path | None = None,
    world_dir: str | Path | None = None,
    k_tokens: int | None = None,
    batch_size: int = 16,
    device: str = "auto",
    normalisation: str = "zscore",
    trim: float = TRIM,
    bucket_base: int = 2,
    length_norm: str = "none",
    n_boot: int = 1000,
    progress: Callable[[str, int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    docs_read: int | None = None,
) -> dict[str, Any]:
    """Run the effective-cutoff probe on `versions` and the long-tail probe on `facts` (either may be None)
    with the model in `model_path`; write cutoff_curve.csv, cutoff_resources.csv, version_nll.parquet (every
    version's NLL, without its text, from which the curve and its bootstrap can be recomputed), cutoff.png,
    longtail.csv, longtail.png, longtail_probes.csv and probe.json into `output_dir` (trainers.probe_output:
    written beside it and moved in only once the probe succeeded); return what probe.json holds. `progress`
    hears (what is scored, done, total) as the resources' versions and the facts' choices are scored; `warn`
    hears doubts about the facts' exposure counts (longtail.fact_frequencies), which count only the first
    `docs_read` rows of the mixture where given (the documents the run read)."""
    if versions is None and facts is None:
        raise ValueError("probes: neither versions nor facts given")
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation: unknown method {normalisation!r}")
    # the facts' exposure is known, or countable, before any scoring: a probe that cannot count it fails now,
    # as does a model that does not load, before anything in the output folder is touched
    fact_table = load_facts(facts) if facts is not None else None
    counts = (
        fact_frequencies(fact_table, mixture_dir, world_dir, warn, docs_read)
        if fact_table is not None
        else []
    )
    lm = load_lm(model_path, device)
    result: dict[str, Any] = {
        "model": str(model_path),
        "device": str(lm.device),
        "newest_month": newest_month,
        # what decides the figures, so that a grid whose probe settings changed probes again
        "settings": dict(k_tokens=k_tokens, normalisation=normalisation, trim=trim, length_norm=length_norm)
        | dict(bucket_base=bucket_base, n_boot=n_boot, docs_read=docs_read),
    }
    with staged_output(output_dir, PROBE_FILES) as output:
        if versions is not None:
            method = CurveMethod(normalisation=normalisation, trim=trim)
            lm.on_scored = (
                (lambda done, total: progress("resource versions", done, total)) if progress else None
            )
            result["cutoff"] = _cutoff_probe(
                lm, versions, output, newest_month, k_tokens, batch_size, method, n_boot
            )
        if fact_table is not None:
            lm.on_scored = (lambda done, total: progress("fact choices", done, total)) if progress else None
            # A fact's choices are a sentence each, far shorter than a version: at least 64 a batch, for
            # speed, but never more than 4x the batch asked for, so a smaller --batch-size lowers the memory.
            fact_batch = min(max(batch_size, 64), 4 * batch_size)
            result["longtail"] = _longtail_probe(
                lm, fact_table, str(facts), counts, output, fact_batch, bucket_base, length_norm
            )
        (output / "probe.json").write_text(json.dumps(finite_json(result), indent=2) + "\n")
    return result


def resource_matrix(nll: pa.Table) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """(resources, months, nll[resource, month], version[resource, month]) from a `version_nll` table:
    NaN (and version -1) where a resource has no version that month; versions numbered per distinct text."""
    resources = sorted(set(nll.column("resource").to_pylist()))
    months = sorted(set(nll.column("month").to_pylist()), key=month_index)
    row = {r: i for i, r in enumerate(resources)}
    column = {m: j for j, m in enumerate(months)}
    values = np.full((len(resources), len(months)), np.nan)
    versions = np.full((len(resources), len(months)), -1, dtype=np.int64)
    numbers: dict[tuple[str, str], int] = {}
    for resource, month, text, score in zip(
        *(nll.column(c).to_pylist() for c in ("resource", "month", "text", "nll")), strict=True
    ):
        i, j = row[resource], column[month]
        values[i, j] = score
        versions[i, j] = numbers.setdefault((resource, text), len(numbers))
    return resources, months, values, versions


def _cutoff_probe(
    lm: LoadedLM,
    versions_path: str | Path,
    output: Path,
    newest_month: str | None,
    k_tokens: int | None,
    batch_size: int,
    method: CurveMethod,
    n_boot: int,
) -> dict[str, Any]:
    drops = DropCounts()
    versions = load_versions(versions_path, drops)
    nll = version_nll(lm, versions, k_tokens, batch_size)
    curve, dropped = cutoff_curve(nll, method.normalisation, method.trim)
    for reason in dropped.values():
        drops.add(f"resource_{reason}")
    cutoff = effective_cutoff(curve)
    resources, months, values, version_ids = resource_matrix(nll)
    keep = [i for i, r in enumerate(resources) if r not in dropped]
    _, _, normalised, _ = method.normalised_matrix(
        *(nll.column(c).to_pylist() for c in ("resource", "month", "nll"))
    )
    samples = bootstrap_cutoffs(normalised, method, n_boot)
    interval = None
    if n_boot and len(keep):
        low, high = percentile_interval(samples)
        interval = [months[int(low)], months[int(high)]]
    newest = _newest_column(months, newest_month)
    share = share_interval = None
    best = best_columns(values[keep]) if keep else np.zeros(0, np.int64)
    if newest is not None and keep:
        at_newest = newest_version_share(values[keep], version_ids[keep], newest)
        share = float(at_newest.mean())
        boots = bootstrap_rows(lambda index: float(at_newest[index].mean()), len(keep), n_boot, seed=1)
        share_interval = list(percentile_interval(boots)) if n_boot else None
    write_csv(output / "cutoff_curve.csv", curve, ["month", "score", "n_resources", "mean_nll"])
    # the texts are the world's (versions_path): kept out, the NLLs alone are a few hundred KB
    pq.write_table(
        nll.drop_columns([c for c in ("text",) if c in nll.column_names]), output / "version_nll.parquet"
    )
    write_csv(
        output / "cutoff_resources.csv",
        [{"resource": resources[i], "best_month": months[int(b)]} for i, b in zip(keep, best, strict=True)],
        ["resource", "best_month"],
    )
    plot_cutoff(curve, cutoff, newest_month, output / "cutoff.png")
    gap = months_between(cutoff, newest_month) if cutoff and newest_month else None
    gap_interval = (
        [months_between(interval[1], newest_month), months_between(interval[0], newest_month)]
        if interval and newest_month
        else None
    )
    truncated = int(sum(nll.column("truncated").to_pylist()))
    return {
        "versions": str(versions_path),
        "effective_cutoff": cutoff,
        "interval": interval,  # 95% percentile bootstrap over resources
        # mean |bootstrap cutoff - cutoff|: the bootstrap's estimate of how far the measurement itself falls
        "abs_deviation_months": bootstrap_abs_deviation(samples, months, cutoff),
        "gap_months": gap,  # newest training month minus effective cutoff
        "gap_interval": gap_interval,
        "newest_version_share": share,  # resources whose best-fitting version is the newest (ties shared)
        "newest_version_share_interval": share_interval,
        "bootstrap_samples": n_boot,
        # the tokens scored at most: k_tokens as far as the model's context reaches (None: whole versions)
        "k_tokens": None if k_tokens is None else min(k_tokens, lm.max_len - len(lm.context)),
        "truncated_versions": truncated,
        "normalisation": method.normalisation,
        "trim": method.trim,
        "resources": len(keep),
        "versions_scored": nll.num_rows,
        "distinct_texts": len(set(nll.column("text").to_pylist())),
        "months": len(curve),
        "dropped": dict(sorted(drops.counts.items())),
    }


def _newest_column(months: Sequence[str], newest_month: str | None) -> int | None:
    """The column of the newest training month, or of the last month before it; None when unknown."""
    if newest_month is None:
        return None
    before = [j for j, m in enumerate(months) if m <= newest_month]
    return before[-1] if before else None


def _longtail_probe(
    lm: LoadedLM,
    facts: pa.Table,
    facts_path: str,
    counts: list[int],
    output: Path,
    batch_size: int,
    bucket_base: int,
    length_norm: str,
) -> dict[str, Any]:
    choices = [
        [a, *d]
        for a, d in zip(
            facts.column("answer").to_pylist(), facts.column("distractors").to_pylist(), strict=True
        )
    ]
    swaps = (
        facts.column("swap_prompts").to_pylist()
        if "swap_prompts" in facts.column_names
        else [[] for _ in choices]
    )
    prompts = facts.column("prompt").to_pylist()
    suffixes = facts.column("answer_suffix").to_pylist() if "answer_suffix" in facts.column_names else None
    scores, baseline_scores, raw = calibrated_scores(
        lm, prompts, swaps, choices, batch_size, length_norm, suffixes
    )
    correct = [is_correct(s) for s in scores]
    baseline = [None if b is None else is_correct(b) for b in baseline_scores]
    chances = [1.0 / len(c) for c in choices]
    buckets = accuracy_by_bucket(counts, correct, bucket_base, chances, baseline)
    raw_buckets = accuracy_by_bucket(counts, [is_correct(s) for s in raw], bucket_base)
    for bucket, uncalibrated in zip(buckets, raw_buckets, strict=True):
        bucket["raw_accuracy"] = uncalibrated["accuracy"]
    chance = float(np.mean(chances)) if choices else None
    columns = ["bucket", "lo", "hi", "n_probes", "accuracy", "low", "high", "chance", "baseline"]
    write_csv(output / "longtail.csv", buckets, [*columns, "baseline_low", "baseline_high", "raw_accuracy"])
    ids = (
        facts.column("probe_id").to_pylist()
        if "probe_id" in facts.column_names
        else list(range(facts.num_rows))
    )
    write_csv(
        output / "longtail_probes.csv",
        [
            {"probe_id": i, "n_train_docs": n, "correct": int(ok), "margin": s[0] - max(s[1:], default=s[0])}
            for i, n, ok, s in zip(ids, counts, correct, scores, strict=True)
        ],
        ["probe_id", "n_train_docs", "correct", "margin"],
    )
    plot_longtail(buckets, chance, output / "longtail.png")
    by_lang: dict[str, list[bool]] = {}
    if "lang" in facts.column_names:
        for lang, ok in zip(facts.column("lang").to_pylist(), correct, strict=True):
            by_lang.setdefault(str(lang), []).append(ok)
    return {
        "facts": facts_path,
        "n_probes": len(correct),
        "chance": chance,
        "calibrated": any(swaps),
        "length_norm": length_norm,
        "bucket_base": bucket_base,
        "buckets": buckets,
        **longtail_summary(buckets, counts, correct),
        "accuracy_by_lang": {k: sum(v) / len(v) for k, v in sorted(by_lang.items())},
    }


def _read_parquet(path: str | Path) -> pa.Table:
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*.parquet")
            if not any(part.startswith(("_", ".")) for part in p.parts[len(path.parts) :])
        )
        if not files:
            raise FileNotFoundError(f"probes: no .parquet files in {path}")
        return pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    if not path.exists():
        raise FileNotFoundError(f"probes: no such file: {path}")
    return pq.read_table(path)
