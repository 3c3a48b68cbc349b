"""The long-tail probe: does a model know facts in proportion to how often its training data stated them?

A fact probe is a prompt (the fact's sentence up to its value), the correct value and distractors. Each
candidate is scored by the log-likelihood of its tokens after the prompt (the sum of token log-probs: the
log-probability of the whole string; `length_norm="chars"` divides by the candidate's characters instead).
Where the probe gives the sentence's text after the value (`answer_suffix`), it is scored with every
candidate: a rating such as "AA+" is then cut into tokens as in training (where "+." is one pre-token), and
"AA" no longer collects the probability of "AA+" and "AA-".

Calibration. A model may prefer a candidate for reasons that have nothing to do with the subject: the string
is frequent in training, or its format fits the sentence. Where a probe carries `swap_prompts` (the same
sentence about other subjects, none of which ever held any candidate), each candidate's score is its
log-likelihood after the prompt minus its mean log-likelihood after the swapped prompts kept for calibration
(all but the last): the pointwise mutual information between the subject and the value, in nats. The last
swapped prompt is the subject-swapped baseline: the same calibrated rule applied to a subject that has none
of the candidates, which a model can only answer at chance. Probes without swap prompts are scored raw.

A probe is correct when the correct value scores strictly above every distractor (a tie counts as wrong).
Accuracy is reported per log-spaced bucket of n_train_docs (rows of the mixture the run read that state the
fact's subject, relation and value: 0, 1, 2-3, 4-7, ... for base 2) with a 95% Wilson interval, beside the bucket's chance (the mean of
1 / candidates) and its baseline, and the rank correlation of bucket accuracy with bucket order; and for the
head and tail thirds of probes by n_train_docs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis.intervals import spearman, wilson_interval
from trainers.scoring import LoadedLM, encode, token_logprobs
from trainers.shards import iter_rows, list_shards
from world.probes import count_fact_mentions

LENGTH_NORMS = ("none", "chars")
# Buckets of fewer probes say little (at 10 probes a 95% interval spans ~50 points); the rank correlation of
# accuracy with exposure is taken over the buckets with at least this many.
MIN_BUCKET_PROBES = 30
# A mixture may mix rows of other corpora in with a world's documents (they count toward no fact), but where
# fewer than this share of its rows are documents of the probes' world, the probes are more likely another
# world's (whose ids some rows happen to share) than the world the mixture was made from: a warning.
MIN_WORLD_SHARE = 0.1


def score_choices(
    lm: LoadedLM,
    prompts: Sequence[str],
    choices: Sequence[Sequence[str]],
    batch_size: int = 16,
    length_norm: str = "none",
    suffixes: Sequence[str] | None = None,
) -> list[list[float]]:
    """For each prompt, the log-likelihood (nats) of each of its choices as the continuation: the sum of the
    choice's token log-probs after the prompt (or that sum per character with `length_norm="chars"`).
    The choice follows the prompt after exactly one space, which starts the choice's first token (where
    byte-level BPE puts it), so every choice is scored after the same context tokens (a prompt too long for
    the model keeps the same end for all its choices: as much as its longest choice leaves room for). With
    `suffixes` (one per prompt: the sentence's text after the value, world.render.fact_suffix), each choice
    is scored together with it, so that the choice's last token is cut as in training and a choice that is a
    prefix of another does not collect the longer one's probability; `length_norm="chars"` then divides by
    the characters of the choice and suffix together (by the choice's alone, the shared suffix's log-prob
    would weigh more on a short choice than on a long one)."""
    if length_norm not in LENGTH_NORMS:
        raise ValueError(f"length_norm: unknown {length_norm!r} (choose from {', '.join(LENGTH_NORMS)})")
    suffixes = [""] * len(prompts) if suffixes is None else [suffix or "" for suffix in suffixes]
    contexts, continuations, lengths, owner = [], [], [], []
    for index, (prompt, options, suffix) in enumerate(zip(prompts, choices, suffixes, strict=True)):
        for option in options:
            contexts.append(prompt.rstrip(" "))
            continuation = " " + option.lstrip(" ") + suffix
            continuations.append(continuation)
            lengths.append(len(continuation.strip()))
            owner.append(index)
    context_ids = encode(lm, contexts)
    option_ids = encode(lm, continuations)
    longest = [0] * len(prompts)
    for index, opt in zip(owner, option_ids, strict=True):
        longest[index] = max(longest[index], len(opt))
    sequences, starts = [], []
    for index, ctx, opt in zip(owner, context_ids, option_ids, strict=True):
        room = lm.max_len - len(lm.context) - longest[index]
        if room < 1:
            raise ValueError(
                f"a choice of {longest[index]} tokens does not fit the model's {lm.max_len} positions"
            )
        ctx = ctx[-room:]  # keep the end of a long prompt: it is what the answer follows
        sequences.append(lm.context + ctx + opt)
        starts.append(max(1, len(lm.context) + len(ctx)))
    logprobs = token_logprobs(lm, sequences, starts, batch_size)
    scores = [float(lp.sum()) for lp in logprobs]
    if length_norm == "chars":
        scores = [s / max(1, n) for s, n in zip(scores, lengths, strict=True)]
    out, i = [], 0
    for options in choices:
        out.append(scores[i : i + len(options)])
        i += len(options)
    return out


def calibrated_scores(
    lm: LoadedLM,
    prompts: Sequence[str],
    swaps: Sequence[Sequence[str]],
    choices: Sequence[Sequence[str]],
    batch_size: int = 16,
    length_norm: str = "none",
    suffixes: Sequence[str] | None = None,
) -> tuple[list[list[float]], list[list[float] | None], list[list[float]]]:
    """(calibrated scores, subject-swapped baseline scores, raw scores) per probe (see the module doc). A
    probe with fewer than two swapped prompts has no baseline (None), and with none is not calibrated.
    `suffixes` as in score_choices, one per probe (its swapped prompts share it)."""
    suffixes = [suffix or "" for suffix in suffixes] if suffixes is not None else [""] * len(prompts)
    if len(suffixes) != len(prompts):
        raise ValueError(f"suffixes: {len(suffixes)} for {len(prompts)} prompts")
    flat_prompts, flat_choices, owner = list(prompts), list(choices), list(range(len(prompts)))
    flat_suffixes = list(suffixes)
    for i, (others, options) in enumerate(zip(swaps, choices, strict=True)):
        flat_prompts += list(others)
        flat_choices += [options] * len(others)
        flat_suffixes += [suffixes[i]] * len(others)
        owner += [i] * len(others)
    scored = score_choices(lm, flat_prompts, flat_choices, batch_size, length_norm, flat_suffixes)
    raw = scored[: len(prompts)]
    swapped: list[list[list[float]]] = [[] for _ in prompts]
    for i, row in zip(owner[len(prompts) :], scored[len(prompts) :], strict=True):
        swapped[i].append(row)
    calibrated: list[list[float]] = []
    baseline: list[list[float] | None] = []
    for own, others in zip(raw, swapped, strict=True):
        if not others:
            calibrated.append(own)
            baseline.append(None)
            continue
        reference = others[:-1] if len(others) > 1 else others
        prior = np.mean(np.asarray(reference), axis=0)
        calibrated.append((np.asarray(own) - prior).tolist())
        baseline.append((np.asarray(others[-1]) - prior).tolist() if len(others) > 1 else None)
    return calibrated, baseline, raw


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
    n_train_docs: Sequence[int],
    correct: Sequence[bool],
    base: int = 2,
    chance: Sequence[float] | None = None,
    baseline: Sequence[bool | None] | None = None,
) -> list[dict[str, Any]]:
    """Per frequency bucket, ascending: label, lo, hi, probes, accuracy (0..1) with its 95% Wilson interval
    (`low`, `high`), and, when given, the bucket's chance (mean of the per-probe chances) and the accuracy
    of the subject-swapped baseline with its interval."""
    buckets: dict[tuple[int, int], list[int]] = {}
    for i, n in enumerate(n_train_docs):
        buckets.setdefault(frequency_bucket(int(n), base), []).append(i)
    rows = []
    for (lo, hi), index in sorted(buckets.items()):
        hits = sum(bool(correct[i]) for i in index)
        low, high = wilson_interval(hits, len(index))
        row: dict[str, Any] = {
            "bucket": bucket_label(lo, hi),
            "lo": lo,
            "hi": hi,
            "n_probes": len(index),
            "accuracy": hits / len(index),
            "low": low,
            "high": high,
        }
        if chance is not None:
            row["chance"] = float(np.mean([chance[i] for i in index]))
        if baseline is not None:
            known = [bool(baseline[i]) for i in index if baseline[i] is not None]
            if known:
                row["baseline"] = sum(known) / len(known)
                row["baseline_low"], row["baseline_high"] = wilson_interval(sum(known), len(known))
        rows.append(row)
    return rows


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
    facts: pa.Table,
    mixture_dir: str | Path | None,
    world_dir: str | Path | None,
    warn: Callable[[str], None] | None = None,
    docs_read: int | None = None,
) -> list[int]:
    """n_train_docs per fact probe: the column when it is filled in, else counted over the mixture's rows
    (repeats count) with the world's `world.probes.count_fact_mentions(ids, world_dir)`. `docs_read` (the
    run's run.json: documents whose tokens training reached, over all epochs) keeps the count to the rows
    training read, in the order it reads them (shards by name, rows in order): a run that stopped before
    the end of its mixture never saw the rest. ValueError where it cannot be counted, and where none of the
    mixture's rows is a document of the world (probes of another world than the one the model was trained
    on: every fact would count 0); `warn` (default: warnings.warn) hears where fewer than MIN_WORLD_SHARE of
    them are."""
    if "n_train_docs" in facts.column_names and facts.column("n_train_docs").null_count == 0:
        return [int(n) for n in facts.column("n_train_docs").to_pylist()]
    if mixture_dir is None:
        raise ValueError(
            "facts: n_train_docs is not filled in, and no training mixture is known to count it from (the "
            "model is no chronomix run whose run.json names its mixture): pass --mixture, the mixture the "
            "model was trained on, or probe the effective cutoff alone with --probes WORLD/probes/"
            "temporal.parquet"
        )
    if world_dir is None:
        raise ValueError(
            "facts: n_train_docs is not filled in and no world is known to count it in: pass --world"
        )
    if not (Path(world_dir) / "truth" / "documents.parquet").is_file():
        raise ValueError(
            f"facts: n_train_docs is not filled in and {world_dir} is no world to count it from (no "
            "truth/documents.parquet); pass --world, the world the probes come from"
        )
    ids = pa.array([row["id"] for row in iter_rows(list_shards(mixture_dir), columns=("id",))], pa.string())
    if docs_read is not None:
        if isinstance(docs_read, bool) or not isinstance(docs_read, int) or docs_read < 0:
            raise ValueError(f"docs_read {docs_read!r}: expected a count of documents, 0 or more")
        ids = ids[: min(docs_read, len(ids))]
    _check_world_share(ids, mixture_dir, world_dir, warn)
    counts = count_fact_mentions(ids, Path(world_dir))
    key = "fact_id" if "fact_id" in facts.column_names else "probe_id"
    return [int(counts.get(fact, 0)) for fact in facts.column(key).to_pylist()]


def _check_world_share(
    ids: pa.Array, mixture_dir: str | Path, world_dir: str | Path, warn: Callable[[str], None] | None
) -> None:
    """ValueError where none of the mixture's rows (`ids`) is a document of the world; a warning where
    fewer than MIN_WORLD_SHARE of them are."""
    documents = pq.read_table(Path(world_dir) / "truth" / "documents.parquet", columns=["id"]).column("id")
    in_world = pc.sum(pc.is_in(ids, value_set=documents.combine_chunks())).as_py() or 0
    if in_world == 0:
        raise ValueError(
            f"facts: none of the {len(ids):,} rows of the mixture {mixture_dir} is a document of the world "
            f"{world_dir} the probes come from, so every fact would count 0 training documents; probe with "
            "the probes of the world the mixture was made from (or pass --world, that world)"
        )
    share = in_world / len(ids)
    if share < MIN_WORLD_SHARE:
        message = (
            f"facts: only {share:.1%} of the rows of the mixture {mixture_dir} are documents of the world "
            f"{world_dir} the probes come from; are they the probes of the world the mixture was made from?"
        )
        if warn is not None:
            warn(message)
        else:
            warnings.warn(message, stacklevel=3)


def longtail_summary(
    buckets: Sequence[Mapping[str, Any]], counts: Sequence[int], correct: Sequence[bool]
) -> dict[str, Any]:
    """The probe's headline figures: accuracy with its interval, whether the 0-exposure bucket is within
    its interval of chance, and the rank correlation of bucket accuracy with bucket order over the buckets
    of at least MIN_BUCKET_PROBES probes (NaN with fewer than three of them: two are always ±1)."""
    hits = sum(bool(c) for c in correct)
    interval = wilson_interval(hits, len(correct))
    zero = next((b for b in buckets if b["hi"] == 0), None)
    counted = [b for b in buckets if b["n_probes"] >= MIN_BUCKET_PROBES]
    return {
        "accuracy": hits / len(correct) if correct else None,
        "accuracy_interval": list(interval) if interval else None,
        "zero_exposure_at_chance": (
            bool(zero["low"] <= zero["chance"] <= zero["high"]) if zero and "chance" in zero else None
        ),
        "bucket_rank_correlation": spearman(range(len(counted)), [b["accuracy"] for b in counted]),
        "buckets_in_rank_correlation": len(counted),
        **head_tail(counts, correct),
    }
