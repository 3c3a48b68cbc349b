"""Generate a whole world into a directory: WARC dumps, truth tables, probes, config and summary.

Layout (other stages code against it):
    world.yaml                      the resolved config
    summary.json                    sizes per dump and in total, generation seconds
    dumps/<dump>/<dump>-00000.warc.gz
    truth/documents.parquet         one row per response record
    truth/facts.parquet             one row per fact
    probes/temporal.parquet         every month's version of the probed resources (a document batch)
    probes/reference.parquet        every month's version of other resources: the dating reference
    probes/facts.parquet            fact probes

Every file except summary.json's `seconds` is a function of the config: the same seed gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.months import month_name
from world.config import WorldConfig
from world.dumps import (
    DocPlan,
    DumpPlan,
    Host,
    WarcWriter,
    make_hosts,
    plan_dumps,
    record_id,
    resource_url,
    slugify,
    warc_path,
)
from world.entities import Fact, World, build_world, fact_month_name, month_start, since_year
from world.probes import fact_probes, probe_resources, reference_resources, temporal_probes
from world.render import Page, filler_page, news_page, page_html, soft_404_page, version_page

DOCUMENTS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),  # WARC-Record-ID without <>: the id ingest gives it
        pa.field("dump", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # fresh | recrawl | stale | mention | filler | soft404
        pa.field("resource", pa.string()),  # entity key for resource pages; null for the other kinds
        pa.field("version_month", pa.string()),  # YYYY-MM the text renders; null for filler and soft404
        # When the text was written: the version's last change (resource pages), the publication (news,
        # filler); null for soft404. What `created` estimates.
        pa.field("content_time", pa.timestamp("us", tz="UTC")),
        pa.field("lang", pa.string(), nullable=False),
        # A mirror's copy of a version older than its resource's at the mirror's crawl (kind "stale"). It is not
        # "stale in the corpus": where the resource's own page is not crawled again, the copy may be the newest
        # text of it the corpus holds (16 of 2,237 in seed 0); dedup.evaluate.truly_stale asks the corpus.
        pa.field("is_stale_copy", pa.bool_(), nullable=False),
        pa.field("fact_ids", pa.list_(pa.string()), nullable=False),
    ]
)
FACTS_SCHEMA = pa.schema(
    [
        pa.field("fact_id", pa.string(), nullable=False),
        pa.field("subject", pa.string(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
        pa.field("value", pa.string(), nullable=False),
        pa.field("valid_from", pa.string(), nullable=False),
        pa.field("valid_until", pa.string()),  # exclusive; null = still valid at the span's end
    ]
)
RESOURCE_KINDS = ("fresh", "recrawl", "stale")


@dataclass
class DumpSummary:
    dump: str
    month: str
    files: int
    documents: int
    tokens: int  # whitespace words of the main texts
    resource_pages: int
    stale_pages: int
    stale_share: float  # stale pages / resource pages
    kinds: dict[str, int] = field(default_factory=dict)


@dataclass
class WorldSummary:
    output_dir: str
    preset: str
    seed: int
    documents: int
    tokens: int
    facts: int
    temporal_probes: int
    fact_probes: int
    # Facts not probed, by reason: left out of the seeded sample of max_fact_probes, or left with no value
    # to offer as a distractor (a rating pool the subject has exhausted; a staff count its neighbours fix).
    facts_unprobed: dict[str, int]
    dumps: list[DumpSummary]
    seconds: float

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("output_dir")
        return data


def generate_world(config: WorldConfig, output_dir: str | os.PathLike[str]) -> WorldSummary:
    """Write the world of `config` into `output_dir` (created; must be absent or empty).

    The summary's `seconds` is the wall time of the generation."""
    began = time.perf_counter()
    config.validate()
    root = Path(output_dir)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root}: not empty; the world is written into a new directory")
    root.mkdir(parents=True, exist_ok=True)
    world = build_world(config)
    hosts = make_hosts(np.random.Generator(np.random.PCG64([config.seed, 5])), config)
    plans = plan_dumps(world, hosts)
    truth: dict[str, list[object]] = {name: [] for name in DOCUMENTS_SCHEMA.names}
    dump_summaries = [_write_dump(world, plan, root, truth) for plan in plans]
    (root / "truth").mkdir()
    _write_parquet(pa.table(truth, schema=DOCUMENTS_SCHEMA), root / "truth" / "documents.parquet")
    _write_parquet(_facts_table(world), root / "truth" / "facts.parquet")
    (root / "probes").mkdir()
    added = month_start(config.end_index + 1)  # fixed, so the file is reproducible
    temporal = temporal_probes(world, probe_resources(world), added)
    _write_parquet(temporal, root / "probes" / "temporal.parquet")
    reference = temporal_probes(world, reference_resources(world), added)
    _write_parquet(reference, root / "probes" / "reference.parquet")
    facts_probes = fact_probes(world)
    _write_parquet(facts_probes, root / "probes" / "facts.parquet")
    (root / "world.yaml").write_text(config.to_yaml())
    summary = WorldSummary(
        output_dir=str(root),
        preset=config.preset,
        seed=config.seed,
        documents=sum(d.documents for d in dump_summaries),
        tokens=sum(d.tokens for d in dump_summaries),
        facts=len(world.facts()),
        temporal_probes=temporal.num_rows,
        fact_probes=facts_probes.num_rows,
        facts_unprobed=_unprobed(config, len(world.facts()), facts_probes.num_rows),
        dumps=dump_summaries,
        seconds=round(time.perf_counter() - began, 3),
    )
    (root / "summary.json").write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


def _unprobed(config: WorldConfig, facts: int, probes: int) -> dict[str, int]:
    sampled = config.max_fact_probes if 0 < config.max_fact_probes < facts else facts
    return {"sampled_out": facts - sampled, "no_distractor": sampled - probes}


def _write_dump(world: World, plan: DumpPlan, root: Path, truth: dict[str, list[object]]) -> DumpSummary:
    config = world.config
    per_file = config.records_per_file
    kinds: Counter[str] = Counter()
    tokens = 0
    used_urls: set[str] = set()
    n_files = max(1, -(-len(plan.docs) // per_file))
    for part in range(n_files):
        path = warc_path(root, plan.name, part)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as stream:
            writer = WarcWriter(stream)
            info_id = record_id(config.seed, plan.name, -1 - part)
            writer.write_warcinfo(info_id, plan.window[0], path.name, plan.name)
            for n in range(part * per_file, min(len(plan.docs), (part + 1) * per_file)):
                doc = plan.docs[n]
                rid = record_id(config.seed, plan.name, n)
                page, facts, url, last_modified, meta = _render(world, plan, doc, rid, used_urls)
                html_text = page_html(page, doc.host.name, published_meta=meta[0], json_ld=meta[1])
                writer.write_response(rid, info_id, url, doc.crawl_time, html_text, last_modified)
                _add_truth(truth, world, plan, doc, rid, url, facts)
                kinds[doc.kind] += 1
                tokens += len(page.text.split())
    resource_pages = sum(kinds[k] for k in RESOURCE_KINDS)
    return DumpSummary(
        dump=plan.name,
        month=month_name(config.start_index + plan.month),
        files=n_files,
        documents=len(plan.docs),
        tokens=tokens,
        resource_pages=resource_pages,
        stale_pages=kinds["stale"],
        stale_share=round(kinds["stale"] / resource_pages, 4) if resource_pages else 0.0,
        kinds=dict(sorted(kinds.items())),
    )


def _render(
    world: World, plan: DumpPlan, doc: DocPlan, rid: str, used_urls: set[str]
) -> tuple[Page, list[Fact], str, datetime | None, tuple[datetime | None, tuple[datetime, datetime] | None]]:
    """Page, stated facts, URL, Last-Modified and (published meta, JSON-LD dates) of one planned document."""
    config = world.config
    host = doc.host
    published_meta: datetime | None = None
    json_ld: tuple[datetime, datetime] | None = None
    if doc.entity is not None:
        assert doc.month is not None
        entity = world.entities[doc.entity]
        page, facts = version_page(entity, doc.month, config.start_index)
        modified = entity.modified_at(doc.month, config.start_index)
        if doc.kind == "stale":
            token = hashlib.sha1(rid.encode()).hexdigest()[:12]
            if host.dated_urls:
                url = f"https://{host.name}/{modified:%Y/%m/%d}/{entity.key}"
            elif host.opaque_urls:
                url = f"https://{host.name}/p/{token}.html"
            else:
                url = f"https://{host.name}/copy/{entity.key}.html"
            if url in used_urls:  # one URL per dump, as in Common Crawl
                url = f"{url}?rev={token}"
        else:
            url = resource_url(host.name, entity.name)
        if host.html_meta:
            json_ld = (entity.created, modified)
        content_time = modified
    elif doc.stated:
        assert doc.month is not None and doc.published is not None
        stated = []
        facts = []
        for e, relations in doc.stated:
            entity = world.entities[e]
            now = {f.relation: f for f in entity.facts_at(doc.month)}
            chosen = [now[r] for r in relations]
            facts += chosen
            stated.append((entity.name, chosen, [since_year(f, config.start_index) for f in chosen]))
        page = news_page(np.random.Generator(np.random.PCG64(doc.render_seed)), doc.lang, stated)
        # From the page's own seed, not its record id: worlds that differ only in mirrors share their news URLs.
        slug = f"{slugify(page.title)[:60]}-{hashlib.sha1(str(doc.render_seed).encode()).hexdigest()[:8]}"
        url = (
            f"https://{host.name}/{doc.published:%Y/%m/%d}/{slug}"
            if host.dated_urls
            else f"https://{host.name}/news/{slug}"
        )
        if host.html_meta:
            published_meta = doc.published
        content_time = doc.published
    elif doc.kind == "soft404":
        page, facts, url, content_time = soft_404_page(host.name), [], doc.url, None
    else:
        assert doc.published is not None
        page = filler_page(np.random.Generator(np.random.PCG64(doc.render_seed)), doc.lang, doc.words)
        facts = []
        url = doc.url
        if host.html_meta:
            published_meta = doc.published
        content_time = doc.published
    used_urls.add(url)
    last_modified = None
    if host.last_modified:
        last_modified = plan.rebuild_times[host.name] if host.rebuild else content_time
        if host.rerender and content_time is not None:
            last_modified = rerender_time(content_time, doc.crawl_time, rid)
    return page, facts, url, last_modified, (published_meta, json_ld)


def rerender_time(content_time: datetime, crawl_time: datetime, record_id: str) -> datetime:
    """When a re-rendering host last rewrote a page: uniform between its content's time and a day before the
    crawl, drawn from the record id (seconds precision, as HTTP dates are)."""
    latest = crawl_time - timedelta(days=1)
    if latest <= content_time:
        return content_time
    share = int(hashlib.sha1(f"rerender:{record_id}".encode()).hexdigest()[:8], 16) / 16**8
    return (content_time + share * (latest - content_time)).replace(microsecond=0)


def _add_truth(
    truth: dict[str, list[object]],
    world: World,
    plan: DumpPlan,
    doc: DocPlan,
    rid: str,
    url: str,
    facts: list[Fact],
) -> None:
    config = world.config
    is_resource = doc.entity is not None
    truth["id"].append(rid)
    truth["dump"].append(plan.name)
    truth["url"].append(url)
    truth["kind"].append(doc.kind)
    truth["resource"].append(world.entities[doc.entity].key if doc.entity is not None else None)
    truth["version_month"].append(
        month_name(config.start_index + doc.month) if doc.month is not None and doc.kind != "filler" else None
    )
    if doc.entity is not None:
        assert doc.month is not None
        truth["content_time"].append(world.entities[doc.entity].modified_at(doc.month, config.start_index))
    else:
        truth["content_time"].append(doc.published if doc.kind != "soft404" else None)
    truth["lang"].append(doc.lang)
    truth["is_stale_copy"].append(is_resource and doc.kind == "stale")
    truth["fact_ids"].append([f.fact_id for f in facts])


def _facts_table(world: World) -> pa.Table:
    start = world.config.start_index
    rows: dict[str, list[object]] = {name: [] for name in FACTS_SCHEMA.names}
    for fact in world.facts():
        valid_from, valid_until = fact_month_name(fact, start)
        rows["fact_id"].append(fact.fact_id)
        rows["subject"].append(fact.subject)
        rows["relation"].append(fact.relation)
        rows["value"].append(fact.value)
        rows["valid_from"].append(valid_from)
        rows["valid_until"].append(valid_until)
    return pa.table(rows, schema=FACTS_SCHEMA)


def _write_parquet(table: pa.Table, path: Path) -> None:
    # Fixed writer settings: the same table gives the same bytes across runs.
    pq.write_table(table, path, compression="zstd", write_statistics=True, use_dictionary=True)


__all__ = ["DOCUMENTS_SCHEMA", "FACTS_SCHEMA", "DumpSummary", "Host", "WorldSummary", "generate_world"]
