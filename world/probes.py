"""Probes of a world: temporal probes (every month's version of R resources) and fact probes, and the
per-fact count of training documents that state each fact, once a mixture is known.

`probes/temporal.parquet` is a valid document batch (it doubles as the dated reference versions for dating
and audit); `probes/facts.parquet` has one row per probed fact with `n_train_docs` null until
`fill_probe_frequencies` fills it from `count_fact_mentions`.
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
from world.entities import RELATION_BY_NAME, World, month_start, since_year
from world.render import fact_prompt, version_page

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
        pa.field("n_train_docs", pa.int64()),  # training documents stating the fact; null until known
    ]
)
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


def probe_resources(world: World) -> list[int]:
    """The entities with temporal probes: a seeded sample of `probe_resources`, in popularity order."""
    rng = np.random.Generator(np.random.PCG64([world.config.seed, 3]))
    chosen = rng.choice(len(world.entities), size=world.config.probe_resources, replace=False)
    return sorted(chosen.tolist())


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
    """One probe per fact (or a seeded sample of `max_fact_probes`): prompt, answer and distractors.

    Distractors are other values of the same relation that the subject never had (so no distractor is
    an older or newer true answer), falling back to any other value when the pool is too small.
    """
    config = world.config
    rng = np.random.Generator(np.random.PCG64([config.seed, 4]))
    facts = world.facts()
    if 0 < config.max_fact_probes < len(facts):
        keep = np.sort(rng.choice(len(facts), size=config.max_fact_probes, replace=False))
        facts = [facts[i] for i in keep.tolist()]
    by_name = {e.name: e for e in world.entities}
    rows: dict[str, list[object]] = {name: [] for name in FACT_PROBE_SCHEMA.names}
    for fact in facts:
        entity = by_name[fact.subject]
        pool = world.pools[RELATION_BY_NAME[fact.relation].kind]
        held = {f.value for f in entity.facts[fact.relation]} | {entity.name}
        last = config.n_months - 1 if fact.valid_until is None else fact.valid_until - 1
        rows["probe_id"].append(f"fact:{fact.fact_id}")
        rows["fact_id"].append(fact.fact_id)
        rows["subject"].append(fact.subject)
        rows["relation"].append(fact.relation)
        rows["month"].append(month_name(config.start_index + last))
        rows["lang"].append(entity.lang)
        rows["prompt"].append(fact_prompt(fact, entity.lang, since_year(fact, config.start_index)))
        rows["answer"].append(fact.value)
        rows["distractors"].append(_distractors(rng, pool, held, fact.value, config.distractors))
        rows["n_train_docs"].append(None)
    return pa.table(rows, schema=FACT_PROBE_SCHEMA)


def _distractors(rng: np.random.Generator, pool: list[str], held: set[str], answer: str, k: int) -> list[str]:
    preferred = [v for v in pool if v not in held] if len(pool) <= 4 * k + len(held) else None
    if preferred is None:
        # Large pool: rejection sampling avoids scanning it for every probe.
        chosen: list[str] = []
        while len(chosen) < k:
            value = pool[int(rng.integers(0, len(pool)))]
            if value not in held and value not in chosen:
                chosen.append(value)
        return chosen
    picked = [preferred[i] for i in rng.permutation(len(preferred))[:k].tolist()]
    if len(picked) < k:
        rest = [v for v in pool if v != answer and v not in picked]
        picked += [rest[i] for i in rng.permutation(len(rest))[: k - len(picked)].tolist()]
    return picked


def count_fact_mentions(mixture_ids: Iterable[str], world_dir: str | os.PathLike[str]) -> dict[str, int]:
    """For every fact of the world, the number of mixture rows that state it (a row repeated counts again).

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
    counts = dict.fromkeys(
        pq.read_table(root / "truth" / "facts.parquet", columns=["fact_id"]).column(0).to_pylist(), 0
    )
    for fact_id, n in zip(
        summed.column("fact_id").to_pylist(), summed.column("rows_sum").to_pylist(), strict=True
    ):
        counts[fact_id] = int(n)
    return counts


def fill_probe_frequencies(probes_path: str | os.PathLike[str], counts: Mapping[str, int]) -> pa.Table:
    """The fact probes at `probes_path` with `n_train_docs` set from `counts` (0 for facts not in it)."""
    table = pq.read_table(probes_path)
    if "fact_id" not in table.schema.names or "n_train_docs" not in table.schema.names:
        raise ValueError(f"{probes_path}: not a fact-probe table (needs columns fact_id and n_train_docs)")
    filled = pa.array([int(counts.get(f, 0)) for f in table.column("fact_id").to_pylist()], pa.int64())
    index = table.schema.get_field_index("n_train_docs")
    return table.set_column(index, table.schema.field(index), filled)
