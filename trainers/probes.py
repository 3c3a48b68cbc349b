"""Probes of what a causal LM learned: effective cutoff (Cheng et al., "Dated Data", COLM 2024) and long-tail
fact accuracy, on a chronomix run directory or any local Hugging Face causal LM directory.

Effective cutoff. For each resource (a page with one version per month), the mean token negative
log-likelihood (NLL, nats/token) of the first K tokens of every month's version. Resources differ in how
predictable their text is at all, so each resource's NLLs are normalised across its months: by default a
z-score, (nll - the resource's mean) / the resource's standard deviation (population, ddof 0), so that every
resource weighs the same whatever its baseline and however much its versions differ; `center` only subtracts
the mean. A resource with fewer than 2 months or the same NLL in every month says nothing about time and is
dropped (counted). Per month, the trimmed mean of the normalised values over resources, 2.5% cut off each
tail (as scipy.stats.trim_mean: int(0.025 * n) values from each end), is the curve; the effective cutoff is
its argmin month (the earliest on a tie).

Long-tail accuracy. A fact probe is a prompt, its correct value and distractors; each candidate is scored by
the log-likelihood of its tokens after the prompt (the sum of token log-probs, not length-normalised by
default: the sum is the log-probability of the whole string, which does not depend on how a tokenizer cuts
it, so runs with different tokenizers stay comparable, and the candidates are values of the same relation, of
similar lengths; `length_norm="chars"` divides by the candidate's characters instead). A probe is correct
when the correct value scores strictly above every distractor (a tie counts as wrong). Accuracy is reported
per log-spaced bucket of n_train_docs (0, 1, 2-3, 4-7, ... for base 2), and for the head and tail: the top and
bottom third of probes by n_train_docs (ties at the cut go to the same side, by probe order).
"""

from __future__ import annotations

import csv
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

from analysis.cutoff import NORMALISATIONS, TRIM, CurveMethod
from analysis.months import months_between
from analysis.probe_plots import plot_cutoff, plot_longtail
from trainers.scoring import LoadedLM, encode, load_lm, token_logprobs

LENGTH_NORMS = ("none", "chars")


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
    key = next((c for c in ("resource", "url", "id") if c in names), None)
    if key is None:
        raise ValueError(f"versions: {path} has none of the resource columns 'resource', 'url', 'id'")
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


def version_nll(lm: LoadedLM, versions: pa.Table, k_tokens: int = 128, batch_size: int = 16) -> pa.Table:
    """`versions` with `nll` (mean NLL in nats per token over the first `k_tokens` tokens of the text, the
    first one scored after the model's BOS/EOS) and `n_tokens` (how many tokens were scored)."""
    if k_tokens < 1:
        raise ValueError(f"k_tokens: must be positive, got {k_tokens}")
    k = min(k_tokens, lm.max_len - len(lm.context))
    ids = [lm.context + seq[:k] for seq in encode(lm, versions.column("text").to_pylist())]
    logprobs = token_logprobs(lm, ids, [len(lm.context) or 1] * len(ids), batch_size)
    nll = [float(-lp.mean()) if len(lp) else math.nan for lp in logprobs]
    return versions.append_column("nll", pa.array(nll, pa.float64())).append_column(
        "n_tokens", pa.array([len(lp) for lp in logprobs], pa.int64())
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
    for month in sorted(set(months)):
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


# ---------------------------------------------------------------------------------------- long tail


def load_facts(path: str | Path) -> pa.Table:
    """Fact probes: a Parquet file/dir with prompt, answer, distractors (list<string>) and n_train_docs
    (may be null until counted), plus probe_id/fact_id/lang when present."""
    table = _read_parquet(path)
    for column in ("prompt", "answer", "distractors"):
        if column not in table.column_names:
            raise ValueError(f"facts: column {column!r} missing from {path}")
    return table


def score_choices(
    lm: LoadedLM,
    prompts: Sequence[str],
    choices: Sequence[Sequence[str]],
    batch_size: int = 16,
    length_norm: str = "none",
) -> list[list[float]]:
    """For each prompt, the log-likelihood (nats) of each of its choices as the continuation: the sum of the
    choice's token log-probs after the prompt (or that sum per character with `length_norm="chars"`).
    The choice follows the prompt after exactly one space, which starts the choice's first token (where
    byte-level BPE puts it), so every choice is scored after the same context tokens."""
    if length_norm not in LENGTH_NORMS:
        raise ValueError(f"length_norm: unknown {length_norm!r} (choose from {', '.join(LENGTH_NORMS)})")
    contexts, continuations = [], []
    for prompt, options in zip(prompts, choices, strict=True):
        for option in options:
            contexts.append(prompt.rstrip(" "))
            continuations.append(" " + option.lstrip(" "))
    context_ids = encode(lm, contexts)
    option_ids = encode(lm, continuations)
    sequences, starts = [], []
    for ctx, opt in zip(context_ids, option_ids, strict=True):
        room = lm.max_len - len(lm.context) - len(opt)
        if room < 1:
            raise ValueError(f"a choice of {len(opt)} tokens does not fit the model's {lm.max_len} positions")
        ctx = ctx[-room:]  # keep the end of a long prompt: it is what the answer follows
        sequences.append(lm.context + ctx + opt)
        starts.append(max(1, len(lm.context) + len(ctx)))
    logprobs = token_logprobs(lm, sequences, starts, batch_size)
    scores = [float(lp.sum()) for lp in logprobs]
    if length_norm == "chars":
        scores = [s / max(1, len(c.strip())) for s, c in zip(scores, continuations, strict=True)]
    out, i = [], 0
    for options in choices:
        out.append(scores[i : i + len(options)])
        i += len(options)
    return out


def is_correct(scores: Sequence[float]) -> bool:
    """Whether the first score (the correct answer's) is strictly above all the others."""
    return all(scores[0] > s for s in scores[1:])


def frequency_bucket(n: int, base: int = 2) -> tuple[int, int]:
    """The log-spaced bucket [lo, hi] holding count `n`: [0, 0], [1, base-1], [base, base^2-1], ..."""
    if n < 0:
        raise ValueError(f"n_train_docs: must be >= 0, got {n}")
    if base < 2:
        raise ValueError(f"bucket_base: must be at least 2, got {base}")
    if n == 0:
        return 0, 0
    lo = 1
    while lo * base <= n:
        lo *= base
    return lo, lo * base - 1


def bucket_label(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def accuracy_by_bucket(
    n_train_docs: Sequence[int], correct: Sequence[bool], base: int = 2
) -> list[dict[str, Any]]:
    """Accuracy per frequency bucket, ascending: bucket label, lo, hi, probes and accuracy (0..1)."""
    buckets: dict[tuple[int, int], list[bool]] = {}
    for n, ok in zip(n_train_docs, correct, strict=True):
        buckets.setdefault(frequency_bucket(int(n), base), []).append(bool(ok))
    return [
        {"bucket": bucket_label(lo, hi), "lo": lo, "hi": hi, "n_probes": len(v), "accuracy": sum(v) / len(v)}
        for (lo, hi), v in sorted(buckets.items())
    ]


def head_tail(n_train_docs: Sequence[int], correct: Sequence[bool]) -> dict[str, Any]:
    """Accuracy of the top third (head) and bottom third (tail) of probes by n_train_docs, with the
    frequency range each covers. Probes are ordered by count, ties by their order in the input."""
    order = sorted(range(len(n_train_docs)), key=lambda i: (n_train_docs[i], i))
    third = len(order) // 3
    if third == 0:
        return {"head_accuracy": None, "tail_accuracy": None, "head_min_docs": None, "tail_max_docs": None}
    tail, head = order[:third], order[-third:]
    return {
        "head_accuracy": sum(bool(correct[i]) for i in head) / third,
        "tail_accuracy": sum(bool(correct[i]) for i in tail) / third,
        "head_min_docs": int(n_train_docs[head[0]]),
        "tail_max_docs": int(n_train_docs[tail[-1]]),
        "probes_per_third": third,
    }


def fact_frequencies(
    facts: pa.Table, mixture_dir: str | Path | None, world_dir: str | Path | None
) -> list[int]:
    """n_train_docs per fact probe: the column when it is filled in, else counted over the mixture's rows
    (repeats count) with the world's `world.probes.count_fact_mentions(ids, world_dir)`."""
    if "n_train_docs" in facts.column_names and facts.column("n_train_docs").null_count == 0:
        return [int(n) for n in facts.column("n_train_docs").to_pylist()]
    if mixture_dir is None or world_dir is None:
        raise ValueError(
            "facts: n_train_docs is not filled in and there is no mixture and world to count it from"
        )
    from trainers.data import iter_rows, list_shards

    try:
        from world.probes import count_fact_mentions  # the world generator (issue 7)
    except ImportError as error:
        raise ValueError(f"facts: n_train_docs is not filled in and cannot be counted ({error})") from error
    ids = [row["id"] for row in iter_rows(list_shards(mixture_dir), columns=("id",))]
    counts = count_fact_mentions(ids, Path(world_dir))
    if isinstance(counts, pa.Table):
        counts = dict(zip(counts.column(0).to_pylist(), counts.column(1).to_pylist(), strict=True))
    key = "fact_id" if "fact_id" in facts.column_names else "probe_id"
    return [int(counts.get(fact, 0)) for fact in facts.column(key).to_pylist()]


# ------------------------------------------------------------------------------------------ the probe


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
    k_tokens: int = 128,
    batch_size: int = 16,
    device: str = "auto",
    normalisation: str = "zscore",
    trim: float = TRIM,
    bucket_base: int = 2,
    length_norm: str = "none",
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the effective-cutoff probe on `versions` and the long-tail probe on `facts` (either may be None)
    with the model in `model_path`; write cutoff_curve.csv, cutoff.png, longtail.csv, longtail.png,
    longtail_probes.csv and probe.json into `output_dir`; return what probe.json holds. `progress` hears
    (what is scored, done, total) as the resources' versions and the facts' choices are scored."""
    if versions is None and facts is None:
        raise ValueError("probes: neither versions nor facts given")
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation: unknown method {normalisation!r}")
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    lm = load_lm(model_path, device)
    result: dict[str, Any] = {
        "model": str(model_path),
        "device": str(lm.device),
        "newest_month": newest_month,
    }
    if versions is not None:
        lm.on_scored = (lambda done, total: progress("resource versions", done, total)) if progress else None
        result["cutoff"] = _cutoff_probe(
            lm, versions, output, newest_month, k_tokens, batch_size, normalisation, trim
        )
    if facts is not None:
        lm.on_scored = (lambda done, total: progress("fact choices", done, total)) if progress else None
        result["longtail"] = _longtail_probe(
            lm, facts, output, mixture_dir, world_dir, batch_size, bucket_base, length_norm
        )
    (output / "probe.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _cutoff_probe(
    lm: LoadedLM,
    versions_path: str | Path,
    output: Path,
    newest_month: str | None,
    k_tokens: int,
    batch_size: int,
    normalisation: str,
    trim: float,
) -> dict[str, Any]:
    drops = DropCounts()
    versions = load_versions(versions_path, drops)
    nll = version_nll(lm, versions, k_tokens, batch_size)
    curve, dropped = cutoff_curve(nll, normalisation, trim)
    for reason in dropped.values():
        drops.add(f"resource_{reason}")
    cutoff = effective_cutoff(curve)
    _write_csv(output / "cutoff_curve.csv", curve, ["month", "score", "n_resources", "mean_nll"])
    plot_cutoff(curve, cutoff, newest_month, output / "cutoff.png")
    gap = months_between(cutoff, newest_month) if cutoff and newest_month else None
    return {
        "versions": str(versions_path),
        "effective_cutoff": cutoff,
        "gap_months": gap,  # newest training month minus effective cutoff
        "k_tokens": k_tokens,
        "normalisation": normalisation,
        "trim": trim,
        "resources": len(set(nll.column("resource").to_pylist())) - len(dropped),
        "versions_scored": nll.num_rows,
        "months": len(curve),
        "dropped": dict(sorted(drops.counts.items())),
    }


def _longtail_probe(
    lm: LoadedLM,
    facts_path: str | Path,
    output: Path,
    mixture_dir: str | Path | None,
    world_dir: str | Path | None,
    batch_size: int,
    bucket_base: int,
    length_norm: str,
) -> dict[str, Any]:
    facts = load_facts(facts_path)
    counts = fact_frequencies(facts, mixture_dir, world_dir)
    choices = [
        [a, *d]
        for a, d in zip(
            facts.column("answer").to_pylist(), facts.column("distractors").to_pylist(), strict=True
        )
    ]
    scores = score_choices(lm, facts.column("prompt").to_pylist(), choices, batch_size, length_norm)
    correct = [is_correct(s) for s in scores]
    buckets = accuracy_by_bucket(counts, correct, bucket_base)
    chance = float(np.mean([1.0 / len(c) for c in choices])) if choices else None
    _write_csv(output / "longtail.csv", buckets, ["bucket", "lo", "hi", "n_probes", "accuracy"])
    ids = (
        facts.column("probe_id").to_pylist()
        if "probe_id" in facts.column_names
        else list(range(facts.num_rows))
    )
    _write_csv(
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
        "facts": str(facts_path),
        "n_probes": len(correct),
        "accuracy": sum(correct) / len(correct) if correct else None,
        "chance": chance,
        "length_norm": length_norm,
        "bucket_base": bucket_base,
        "buckets": buckets,
        **head_tail(counts, correct),
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


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
