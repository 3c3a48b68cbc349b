"""Probes of a world: temporal probes (every month's version of the probed resources), the dating reference
(every month's version of other resources), fact probes, and the count of training documents that state each
probed (subject, relation, value), once a mixture is known.

`probes/temporal.parquet` and `probes/reference.parquet` are valid document batches: the first is scored by
the effective-cutoff probe (and read by the audit's predictor), the second is the dated reference for dating.
The two sets of resources are disjoint, so the scored resources are dated like any other page.
`probes/facts.parquet` has one row per probed fact with `n_train_docs` null until `fill_probe_frequencies`
fills it from `count_fact_mentions`.

A fact probe is built so that a model that never saw the fact cannot beat chance: its distractors are drawn
as the world draws that fact's value (for staff numbers, given both the subject's earlier and later counts,
which a model may have read; from the same pool otherwise) and none is a value the subject ever held; it
carries the same prompt about other subjects (`swap_prompts`), which calibrate each candidate's score
against its likelihood without the subject and give a subject-swapped baseline; and the sentence's text
after the value (`answer_suffix`), scored with every candidate.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis.months import month_name
from corpus.schema import TIMESTAMP
from world.entities import (
    RELATION_BY_NAME,
    STAFF_DRIFT,
    STAFF_FLOOR,
    Fact,
    World,
    draw_value,
    month_start,
    since_year,
    staff_initial_probability,
    staff_transition_probability,
)
from world.render import fact_prompt, fact_suffix, version_page

TEMPORAL_SOURCE = "world-reference"
FACT_PROBE_SCHEMA = pa.schema(
    [
        pa.field("probe_id", pa.string(), nullable=False),
        pa.field("fact_id", pa.string(), nullable=False),
        pa.field("subject", pa.string(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
        pa.field("month", pa.string(), nullable=False),  # YYYY-MM: the last month in which the fact holds
        pa.field("lang", pa.string(), nullable=False),
        pa.field("prompt", pa.string(), nullable=False),  # the fact's sentence up to the value
        pa.field("answer", pa.string(), nullable=False),
        pa.field("distractors", pa.list_(pa.string()), nullable=False),
        # The prompt about SWAP_SUBJECTS other subjects that never held any of the candidates.
        pa.field("swap_prompts", pa.list_(pa.string()), nullable=False),
        pa.field("answer_suffix", pa.string(), nullable=False),  # the sentence's text after the value
        pa.field("n_train_docs", pa.int64()),  # training rows stating (subject, relation, answer)
    ]
)
# All but the last calibrate (their mean likelihood of each candidate is its prior); the last is the baseline.
# With two, the prior's noise alone moved a replicate's zero-exposure accuracy 2 standard errors off chance.
SWAP_SUBJECTS = 9
TEMPORAL_PROBE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("added", TIMESTAMP, nullable=False),
        pa.field("created", TIMESTAMP),
        pa.field("lang", pa.string()),
        pa.field("resource", pa.string()),
        pa.field("month", pa.string()),
    ]
)


def _resource_order(world: World) -> list[int]:
    rng = np.random.Generator(np.random.PCG64([world.config.seed, 3]))
    return rng.permutation(len(world.entities)).tolist()


def probe_resources(world: World) -> list[int]:
    """The entities with temporal probes: a seeded sample of `probe_resources`, in popularity order."""
    return sorted(_resource_order(world)[: world.config.probe_resources])


def reference_resources(world: World) -> list[int]:
    """The entities whose versions are the dating reference: `reference_resources` others, disjoint from the
    probed ones, in popularity order."""
    config = world.config
    order = _resource_order(world)
    return sorted(order[config.probe_resources : config.probe_resources + config.reference_resources])


def temporal_probes(world: World, resources: Iterable[int], added: datetime) -> pa.Table:
    """One row per (resource, month) over the whole span: that month's version, as the page's main text."""
    config = world.config
    rows: dict[str, list[object]] = {name: [] for name in TEMPORAL_PROBE_SCHEMA.names}
    for e in resources:
        entity = world.entities[e]
        for month in range(config.n_months):
            label = month_name(config.start_index + month)
            page, _ = version_page(entity, month, config.start_index)
            rows["id"].append(f"probe:{entity.key}:{label}")
            rows["text"].append(page.text)
            rows["source"].append(TEMPORAL_SOURCE)
            rows["added"].append(added)
            rows["created"].append(month_start(config.start_index + month))
            rows["lang"].append(entity.lang)
            rows["resource"].append(entity.key)
            rows["month"].append(label)
    return pa.table(rows, schema=TEMPORAL_PROBE_SCHEMA)


def fact_probes(world: World) -> pa.Table:
    """One probe per fact (or a seeded sample of `max_fact_probes`): prompt, answer, distractors drawn as the
    fact's value was (never a value the subject held; a staff number given both its neighbours), and the
    prompt about other subjects. A fact for which no distractor can be drawn is not probed."""
    config = world.config
    rng = np.random.Generator(np.random.PCG64([config.seed, 4]))
    facts = world.facts()
    if 0 < config.max_fact_probes < len(facts):
        keep = np.sort(rng.choice(len(facts), size=config.max_fact_probes, replace=False))
        facts = [facts[i] for i in keep.tolist()]
    by_name = {e.name: e for e in world.entities}
    held_by = {(e.name, r): {f.value for f in e.facts[r]} for e in world.entities for r in RELATION_BY_NAME}
    rows: dict[str, list[object]] = {name: [] for name in FACT_PROBE_SCHEMA.names}
    for fact in facts:
        entity = by_name[fact.subject]
        timeline = entity.facts[fact.relation]
        position = next(i for i, f in enumerate(timeline) if f.fact_id == fact.fact_id)
        previous = timeline[position - 1].value if position else None
        following = timeline[position + 1].value if position + 1 < len(timeline) else None
        held = held_by[(fact.subject, fact.relation)] | {entity.name}
        if RELATION_BY_NAME[fact.relation].kind == "number" and following is not None:
            distractors = _staff_distractors(rng, previous, following, held, config.distractors)
        else:
            distractors = _distractors(rng, world, fact, previous, held, config.distractors)
        if not distractors:  # a choice of one tells nothing (a rating pool the subject has exhausted)
            continue
        candidates = {fact.value, *distractors}
        year = since_year(fact, config.start_index)
        last = config.n_months - 1 if fact.valid_until is None else fact.valid_until - 1
        rows["probe_id"].append(f"fact:{fact.fact_id}")
        rows["fact_id"].append(fact.fact_id)
        rows["subject"].append(fact.subject)
        rows["relation"].append(fact.relation)
        rows["month"].append(month_name(config.start_index + last))
        rows["lang"].append(entity.lang)
        rows["prompt"].append(fact_prompt(fact, entity.lang, year))
        rows["answer"].append(fact.value)
        rows["distractors"].append(distractors)
        others = _swap_subjects(rng, world, fact, candidates, held_by)
        rows["swap_prompts"].append([fact_prompt(fact, entity.lang, year, subject=o) for o in others])
        rows["answer_suffix"].append(fact_suffix(fact, entity.lang))
        rows["n_train_docs"].append(None)
    return pa.table(rows, schema=FACT_PROBE_SCHEMA)


def _distractors(
    rng: np.random.Generator, world: World, fact: Fact, previous: str | None, held: set[str], k: int
) -> list[str]:
    """Up to `k` distinct values drawn as `fact`'s value was drawn, none of them a value the subject held;
    fewer where the relation's pool runs out (the probe's chance is then 1 / its candidates)."""
    relation = RELATION_BY_NAME[fact.relation]
    chosen: list[str] = []
    for _ in range(50 * k):
        if len(chosen) == k:
            break
        value = draw_value(rng, relation, previous, fact.subject, world.pools)
        if value not in held and value not in chosen:
            chosen.append(value)
    return chosen


def _staff_distractors(
    rng: np.random.Generator, previous: str | None, following: str, held: set[str], k: int
) -> list[str]:
    """Up to `k` staff numbers drawn as the answer is distributed given both its neighbours in the subject's
    timeline, which a model may have read: P(v | previous, following) is proportional to P(v | previous)
    (the initial law for a first value) times P(following | v). A distractor drawn from the earlier value
    alone lands far from the later one, so the candidate nearest the later count would be the answer."""
    following_value = int(following)
    low, high = STAFF_DRIFT
    first = max(STAFF_FLOOR, int((following_value - 5) / high) // 10 * 10)
    last = int((following_value + 5) / low) // 10 * 10 + 10
    support = [v for v in range(first, last + 1, 10) if str(v) not in held]
    weights = np.array(
        [
            (
                staff_initial_probability(v)
                if previous is None
                else staff_transition_probability(int(previous), v)
            )
            * staff_transition_probability(v, following_value)
            for v in support
        ]
    )
    possible = int(np.count_nonzero(weights))
    if possible == 0:
        return []
    # Drawn without replacement, the likeliest values are taken first, so the answer is a little likelier than
    # chance to be the likeliest candidate: a rule that knows this law and both neighbours scores ~0.22
    # against ~0.21 (tests/world/test_staff_numbers.py). No draw of distractors alone removes that: the
    # answer's own law is fixed, and a set of distinct draws tilts every member away from likely values.
    picks = rng.choice(len(support), size=min(k, possible), replace=False, p=weights / weights.sum())
    return [str(support[i]) for i in picks.tolist()]


def _swap_subjects(
    rng: np.random.Generator,
    world: World,
    fact: Fact,
    candidates: set[str],
    held_by: Mapping[tuple[str, str], set[str]],
) -> list[str]:
    """Up to SWAP_SUBJECTS other entities that never held any candidate of the probe's relation and are none
    of its candidates (fewer only for relations with small pools, such as ratings)."""
    names = [e.name for e in world.entities]
    chosen: list[str] = []
    for index in rng.permutation(len(names)).tolist():
        name = names[index]
        if name == fact.subject or name in candidates or held_by[(name, fact.relation)] & candidates:
            continue
        chosen.append(name)
        if len(chosen) == SWAP_SUBJECTS:
            break
    return chosen


def count_fact_mentions(mixture_ids: Iterable[str], world_dir: str | os.PathLike[str]) -> dict[str, int]:
    """For every fact of the world, the number of mixture rows that state its (subject, relation, value), a
    row repeated counting again: a value that the subject held twice (a leader who came back) is exposure to
    both facts.

    `mixture_ids` are the `id`s of the mixture's rows, repeats included; they are joined with
    `truth/documents.parquet` on `id`. Ids that are not documents of this world (e.g. rows from another
    corpus mixed in) state no world fact and add nothing. Facts no row states have count 0.
    """
    root = Path(world_dir)
    ids = pa.array(list(mixture_ids), pa.string()) if not isinstance(mixture_ids, pa.Array) else mixture_ids
    rows = pa.table({"id": ids}).group_by("id").aggregate([("id", "count")]).rename_columns(["id", "rows"])
    documents = pq.read_table(root / "truth" / "documents.parquet", columns=["id", "fact_ids"])
    # Rows per world document (0 when the mixture lacks it), then spread over the facts each one states.
    position = pc.index_in(documents.column("id"), value_set=rows.column("id").combine_chunks())
    per_document = pc.fill_null(pc.take(rows.column("rows").combine_chunks(), position), 0)
    fact_ids = documents.column("fact_ids").combine_chunks()
    parents = pc.list_parent_indices(fact_ids)
    per_mention = pa.table({"fact_id": pc.list_flatten(fact_ids), "rows": pc.take(per_document, parents)})
    summed = per_mention.group_by("fact_id").aggregate([("rows", "sum")])
    facts = pq.read_table(
        root / "truth" / "facts.parquet", columns=["fact_id", "subject", "relation", "value"]
    )
    per_fact = dict(
        zip(summed.column("fact_id").to_pylist(), summed.column("rows_sum").to_pylist(), strict=True)
    )
    triples = list(zip(*(facts.column(c).to_pylist() for c in ("subject", "relation", "value")), strict=True))
    per_triple: dict[tuple[str, str, str], int] = {}
    for fact_id, triple in zip(facts.column("fact_id").to_pylist(), triples, strict=True):
        per_triple[triple] = per_triple.get(triple, 0) + int(per_fact.get(fact_id) or 0)
    return {
        fact_id: per_triple[triple]
        for fact_id, triple in zip(facts.column("fact_id").to_pylist(), triples, strict=True)
    }


def fill_probe_frequencies(probes_path: str | os.PathLike[str], counts: Mapping[str, int]) -> pa.Table:
    """The fact probes at `probes_path` with `n_train_docs` set from `counts` (0 for facts not in it)."""
    table = pq.read_table(probes_path)
    if "fact_id" not in table.schema.names or "n_train_docs" not in table.schema.names:
        raise ValueError(f"{probes_path}: not a fact-probe table (needs columns fact_id and n_train_docs)")
    filled = pa.array([int(counts.get(f, 0)) for f in table.column("fact_id").to_pylist()], pa.int64())
    index = table.schema.get_field_index("n_train_docs")
    return table.set_column(index, table.schema.field(index), filled)
