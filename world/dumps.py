"""Crawl dumps: which pages each dump holds (the plan), and writing them as real WARC files.

A dump at month M holds, for each resource crawled at its own URL, the current version (`fresh` when it
changed since the resource's last crawl, else `recrawl`); stale mirrors of older versions on mirror hosts
(`stale`), whose ages follow the configured distribution truncated to the ages at which the version really
differs from the current one; news pages stating facts of popular entities (`mention`); and unrelated
`filler` pages, some of them unchanged re-crawls of earlier dumps' pages; and, when the config asks for them,
soft-404s (`soft404`): resource URLs the dump did not crawl answering with their host's "not found" text.

Dating signals come from host profiles, as on the web: some hosts send Last-Modified (the version's true
modification time; on rebuilt sites, one rebuild time shared by every page of the host; on re-rendering
sites, each page's own re-render time, after its content's), some carry HTML date metadata, some put dates
in URLs, some give nothing.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from analysis.months import month_index
from world.config import WorldConfig
from world.entities import World, month_start

# Namespace of the world's record ids: uuid5(WORLD_NAMESPACE, "<seed>/<dump>/<n>").
WORLD_NAMESPACE = uuid.UUID("6f1c5a3e-2b7d-5e0a-9c41-7d3b8e2f1a60")
CRAWL_WINDOW_FIRST_DAY = 10  # a dump's crawl window is [10th, 24th) of its month
CRAWL_WINDOW_DAYS = 14
HOST_WORDS = (
    "atlas",
    "orbit",
    "meridian",
    "harbor",
    "cedar",
    "summit",
    "lumen",
    "quarry",
    "willow",
    "signal",
)


@dataclass(frozen=True)
class Host:
    """A web site and its dating profile."""

    name: str
    kind: str  # resource | mirror | news | filler
    last_modified: bool  # sends an HTTP Last-Modified header
    rebuild: bool  # ... which is the site's last rebuild, shared by all its pages in a crawl
    rerender: bool  # ... which is each page's own last re-render, after its content's time
    html_meta: bool  # pages carry article:published_time or JSON-LD dates
    dated_urls: bool  # paths like /2019/05/12/slug
    opaque_urls: bool  # mirrors only: paths like /p/3fa9c1e2b0.html instead of a slug


@dataclass
class DocPlan:
    """One response record to write. Months are span-relative indices."""

    kind: str  # fresh | recrawl | stale | mention | filler | soft404
    lang: str
    host: Host
    crawl_time: datetime
    entity: int | None = None  # resource pages
    month: int | None = None  # version month (resource pages) or publication month (news)
    stated: list[tuple[int, list[str]]] = field(default_factory=list)  # news: (entity, relations)
    published: datetime | None = None  # news and filler
    words: int = 0  # filler
    render_seed: int = 0  # news and filler text
    url: str = ""  # filler and soft404


@dataclass
class DumpPlan:
    name: str  # CC-MAIN-YYYY-WW
    month: int  # span-relative
    window: tuple[datetime, datetime]
    docs: list[DocPlan]
    rebuild_times: dict[str, datetime]  # host name -> rebuild time shown as Last-Modified


def resource_url(host: str, name: str) -> str:
    """The URL of a resource's own page."""
    return f"https://{host}/wiki/{name}"


def resource_host(hosts: list[Host], entity: int) -> Host:
    """The resource host that serves an entity's own page."""
    return hosts[entity % len(hosts)]


def dump_name(month_absolute: int) -> str:
    """The Common Crawl-style name of the dump crawled in a month: ISO year and week of the window's last day.
    Common Crawl names a crawl by a week at or after its end (CC-MAIN-2024-22 was fetched in May 2024, weeks
    20-21), and dating takes the week's end as an upper bound on crawl time, so the name must not precede it."""
    _, end = crawl_window(month_absolute)
    year, week, _ = (end - timedelta(seconds=1)).isocalendar()
    return f"CC-MAIN-{year}-{week:02d}"


def crawl_window(month_absolute: int) -> tuple[datetime, datetime]:
    """[start, end) of a dump's crawl, UTC."""
    start = month_start(month_absolute).replace(day=CRAWL_WINDOW_FIRST_DAY)
    return start, start + timedelta(days=CRAWL_WINDOW_DAYS)


def make_hosts(rng: np.random.Generator, config: WorldConfig) -> dict[str, list[Host]]:
    """Host pools by kind, each host with a profile drawn from the config's shares."""
    tlds = {"resource": "org", "mirror": "net", "news": "com", "filler": "blog"}
    counts = {
        "resource": config.resource_hosts,
        "mirror": config.mirror_hosts,
        "news": config.news_hosts,
        "filler": config.filler_hosts,
    }
    hosts: dict[str, list[Host]] = {}
    for kind, count in counts.items():
        pool = []
        for i in range(count):
            word = HOST_WORDS[int(rng.integers(0, len(HOST_WORDS)))]
            sends = bool(rng.random() < config.last_modified_share)
            rebuild = sends and bool(rng.random() < config.rebuild_share)
            # Drawn only where the share is set, so the presets' worlds keep their random streams.
            rerender = sends and not rebuild and config.rerender_share > 0
            rerender = rerender and bool(rng.random() < config.rerender_share)
            pool.append(
                Host(
                    name=f"{word}-{kind}{i}.{tlds[kind]}",
                    kind=kind,
                    last_modified=sends,
                    rebuild=rebuild,
                    rerender=rerender,
                    html_meta=bool(rng.random() < config.html_meta_share),
                    # Resource pages live at stable article URLs, as on a wiki; other kinds may be dated.
                    dated_urls=kind != "resource" and bool(rng.random() < config.dated_url_share),
                    opaque_urls=kind == "mirror" and bool(rng.random() < 0.5),
                )
            )
        hosts[kind] = pool
    return hosts


def stale_age_pmf(config: WorldConfig, low: int, high: int) -> np.ndarray:
    """Probabilities of ages low..high months under the configured distribution, renormalised (truncation).

    Ages outside [1, stale_age_max_months] are impossible; an empty range gives an empty array.
    """
    high = min(high, config.stale_age_max_months)
    low = max(low, 1)
    if high < low:
        return np.zeros(0)
    ages = np.arange(low, high + 1, dtype=np.float64)
    if config.stale_age_distribution == "geometric":
        p = 1.0 / config.stale_age_mean_months
        weights = p * (1 - p) ** (ages - 1)
    else:
        weights = np.ones_like(ages)
    return weights / weights.sum()


def _soft_404s(
    world: World,
    hosts: list[Host],
    crawled: np.ndarray,
    window: tuple[datetime, datetime],
    rng: np.random.Generator,
) -> list[DocPlan]:
    """Soft-404s of one dump: each resource page the dump did not crawl answers, with probability
    soft_404_share, at its own URL with its host's not-found text."""
    entities = world.entities
    missed = np.setdiff1d(np.arange(len(entities)), crawled)
    docs = []
    for e in missed[rng.random(len(missed)) < world.config.soft_404_share].tolist():
        host = resource_host(hosts, e)
        when = window[0] + timedelta(seconds=int(rng.integers(0, CRAWL_WINDOW_DAYS * 86400)))
        docs.append(DocPlan("soft404", "en", host, when, url=resource_url(host.name, entities[e].name)))
    return docs


def plan_dumps(world: World, hosts: dict[str, list[Host]]) -> list[DumpPlan]:
    """Decide every dump's documents, in order; stateful across dumps (last crawled versions, filler pool)."""
    config = world.config
    rng = np.random.Generator(np.random.PCG64([config.seed, 2]))
    # Mirrors draw from a stream of their own: worlds that differ only in stale_share hold the same resource
    # captures, news and filler, and differ in their mirrors alone (the dose-response grid relies on it).
    mirror_rng = np.random.Generator(np.random.PCG64([config.seed, 2, 1]))
    soft_404_rng = np.random.Generator(np.random.PCG64([config.seed, 2, 3]))  # likewise
    entities = world.entities
    last_crawled = np.full(len(entities), -1, dtype=np.int64)
    filler_pool: list[DocPlan] = []
    mirror_weights = config.mirror_popularity_mix * world.popularity + (
        1 - config.mirror_popularity_mix
    ) / len(entities)
    plans: list[DumpPlan] = []
    previous_month = 0
    for month_str in config.dump_months():
        absolute = month_index(month_str)
        month = absolute - config.start_index
        window = crawl_window(absolute)
        docs: list[DocPlan] = []

        def crawl_time(window: tuple[datetime, datetime] = window) -> datetime:
            return window[0] + timedelta(seconds=int(rng.integers(0, CRAWL_WINDOW_DAYS * 86400)))

        # Resource pages at their own URLs.
        crawled = np.flatnonzero(rng.random(len(entities)) < config.crawl_share)
        for e in crawled.tolist():
            entity = entities[e]
            version = entity.version_at(month)
            kind = "fresh" if version != last_crawled[e] else "recrawl"
            last_crawled[e] = version
            host = resource_host(hosts["resource"], e)
            when = crawl_time()  # drawn either way, so the control differs from its world in this alone
            if kind == "fresh" or config.recrawl_unchanged:
                docs.append(DocPlan(kind, entity.lang, host, when, entity=e, month=month))
        if config.soft_404_share > 0:
            docs += _soft_404s(world, hosts["resource"], crawled, window, soft_404_rng)
        # Stale mirrors: older versions, with ages from the configured distribution truncated to the ages at
        # which the mirrored version differs from the current one.
        lowest_age = np.array([month - e.version_start(e.version_at(month)) + 1 for e in entities])
        eligible = lowest_age <= min(month, config.stale_age_max_months)
        n_stale = 0
        if config.stale_share > 0 and eligible.any():
            n_stale = round(config.stale_share * len(crawled) / (1 - config.stale_share))
        if n_stale:
            weights = np.where(eligible, mirror_weights, 0.0)
            chosen = mirror_rng.choice(len(entities), size=n_stale, p=weights / weights.sum())
            for e in chosen.tolist():
                pmf = stale_age_pmf(config, int(lowest_age[e]), month)
                age = int(lowest_age[e]) + int(mirror_rng.choice(len(pmf), p=pmf))
                host = hosts["mirror"][int(mirror_rng.integers(0, len(hosts["mirror"])))]
                when = window[0] + timedelta(seconds=int(mirror_rng.integers(0, CRAWL_WINDOW_DAYS * 86400)))
                docs.append(DocPlan("stale", entities[e].lang, host, when, entity=e, month=month - age))
        # News pages stating current facts of popular entities, published since the previous dump.
        codes = list(config.languages)
        shares = np.array([config.languages[c] for c in codes])
        docs += _mention_pages(rng, world, hosts, codes, shares, month, previous_month, crawl_time)
        # Filler: new pages and unchanged re-crawls of earlier ones.
        n_recrawl = min(len(filler_pool), round(config.filler_pages * config.filler_recrawl_share))
        for index in sorted(rng.choice(len(filler_pool), size=n_recrawl, replace=False).tolist()):
            old = filler_pool[index]
            docs.append(DocPlan("filler", old.lang, old.host, crawl_time(), published=old.published,
                                words=old.words, render_seed=old.render_seed, url=old.url))  # fmt: skip
        for _ in range(config.filler_pages - n_recrawl):
            crawl = crawl_time()
            published = window[0] - timedelta(
                days=int(rng.integers(1, 3 * 365)), seconds=int(rng.integers(0, 86400))
            )
            host = hosts["filler"][int(rng.integers(0, len(hosts["filler"])))]
            slug = f"note-{int(rng.integers(0, 2**40)):010x}"
            path = f"{published:%Y/%m/%d}/{slug}" if host.dated_urls else f"posts/{slug}"
            plan = DocPlan(
                "filler",
                codes[int(rng.choice(len(codes), p=shares / shares.sum()))],
                host,
                crawl,
                published=published,
                words=int(rng.integers(config.filler_words[0], config.filler_words[1] + 1)),
                render_seed=int(rng.integers(0, 2**63)),
                url=f"https://{host.name}/{path}",
            )
            docs.append(plan)
            filler_pool.append(plan)
        # Shuffled with a stream of its own: its draws depend on how many documents the dump holds.
        order = np.random.Generator(np.random.PCG64([config.seed, 2, 2, month])).permutation(len(docs))
        docs = [docs[i] for i in order.tolist()]
        rebuild_times = {
            host.name: window[0] - timedelta(hours=int(rng.integers(1, 13)))
            for pool in hosts.values()
            for host in pool
            if host.rebuild
        }
        plans.append(DumpPlan(dump_name(absolute), month, window, docs, rebuild_times))
        previous_month = month
    return plans


def _mention_pages(
    rng: np.random.Generator,
    world: World,
    hosts: dict[str, list[Host]],
    codes: list[str],
    shares: np.ndarray,
    month: int,
    previous_month: int,
    crawl_time: Callable[[], datetime],
) -> list[DocPlan]:
    """News pages stating current facts of popular entities, published since the previous dump (drawn from
    `rng` in a fixed order, so a seed gives the same pages)."""
    config, entities = world.config, world.entities
    docs: list[DocPlan] = []
    for _ in range(config.mention_pages):
        published_month = (
            int(rng.integers(previous_month + 1, month + 1)) if month > previous_month else month
        )
        n_entities = int(rng.integers(config.mention_entities[0], config.mention_entities[1] + 1))
        chosen = rng.choice(
            len(entities), size=min(n_entities, len(entities)), replace=False, p=world.popularity
        )
        stated = []
        for e in chosen.tolist():
            n_facts = int(rng.integers(config.mention_facts[0], config.mention_facts[1] + 1))
            relations = sorted(
                rng.choice(len(entities[e].relation_order), size=n_facts, replace=False).tolist()
            )
            stated.append((e, [entities[e].relation_order[r] for r in relations]))
        # In the dump's own month: before the window opens and after the month's fact changes.
        day = int(rng.integers(6, 9)) if published_month == month else int(rng.integers(6, 29))
        published = month_start(config.start_index + published_month).replace(
            day=day, hour=int(rng.integers(0, 24)), minute=int(rng.integers(0, 60))
        )
        docs.append(
            DocPlan(
                "mention",
                codes[int(rng.choice(len(codes), p=shares / shares.sum()))],
                hosts["news"][int(rng.integers(0, len(hosts["news"])))],
                crawl_time(),
                month=published_month,
                stated=stated,
                published=published,
                render_seed=int(rng.integers(0, 2**63)),
            )
        )
    return docs


def record_id(seed: int, dump: str, n: int) -> str:
    """The WARC-Record-ID (without angle brackets) of the n-th record of a dump."""
    return f"urn:uuid:{uuid.uuid5(WORLD_NAMESPACE, f'{seed}/{dump}/{n}')}"


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens (accents dropped)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def http_date(moment: datetime) -> str:
    """RFC 7231 IMF-fixdate, e.g. `Sun, 12 May 2019 09:00:00 GMT`."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def warc_date(moment: datetime) -> str:
    """A WARC-Date value: the moment in UTC, to the second (2024-05-18T01:02:03Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WarcWriter:
    """Writes WARC/1.0 records, each as its own gzip member with mtime 0, so output is byte-reproducible.

    Written by hand (a few lines) because the bytes must not depend on the clock: gzip headers carry a
    timestamp unless it is pinned, and the records' digests and order must be ours.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.bytes_written = 0

    def write_record(self, headers: Iterable[tuple[str, str]], block: bytes) -> None:
        digest = "sha1:" + base64.b32encode(hashlib.sha1(block).digest()).decode("ascii")
        lines = ["WARC/1.0", *(f"{k}: {v}" for k, v in headers)]
        lines += [f"WARC-Block-Digest: {digest}", f"Content-Length: {len(block)}"]
        record = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + block + b"\r\n\r\n"
        member = gzip.compress(record, compresslevel=6, mtime=0)
        self.stream.write(member)
        self.bytes_written += len(member)

    def write_warcinfo(self, record_id: str, date: datetime, filename: str, dump: str) -> None:
        fields = (
            f"isPartOf: {dump}\r\npublisher: chronomix synthetic world\r\nformat: WARC File Format 1.0\r\n"
            f"description: synthetic crawl {dump} generated by chronomix world\r\n"
            "software: chronomix-world/1\r\n"
        ).encode()
        self.write_record(
            [
                ("WARC-Type", "warcinfo"),
                ("WARC-Date", warc_date(date)),
                ("WARC-Filename", filename),
                ("WARC-Record-ID", f"<{record_id}>"),
                ("Content-Type", "application/warc-fields"),
            ],
            fields,
        )

    def write_response(
        self,
        record_id: str,
        warcinfo_id: str,
        url: str,
        crawl_time: datetime,
        html_text: str,
        last_modified: datetime | None,
    ) -> None:
        payload = html_text.encode("utf-8")
        http = [
            "HTTP/1.1 200 OK",
            f"Date: {http_date(crawl_time)}",
            "Server: nginx",
            "Content-Type: text/html; charset=utf-8",
            f"Content-Length: {len(payload)}",
        ]
        if last_modified is not None:
            http.append(f"Last-Modified: {http_date(last_modified)}")
        block = ("\r\n".join(http) + "\r\n\r\n").encode("ascii") + payload
        payload_digest = "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode("ascii")
        self.write_record(
            [
                ("WARC-Type", "response"),
                ("WARC-Date", warc_date(crawl_time)),
                ("WARC-Record-ID", f"<{record_id}>"),
                ("WARC-Warcinfo-ID", f"<{warcinfo_id}>"),
                ("WARC-Target-URI", url),
                ("Content-Type", "application/http; msgtype=response"),
                ("WARC-Payload-Digest", payload_digest),
                ("WARC-Identified-Payload-Type", "text/html"),
            ],
            block,
        )


def warc_path(root: Path, dump: str, part: int) -> Path:
    """dumps/<dump>/<dump>-<part:05d>.warc.gz under the world directory."""
    return root / "dumps" / dump / f"{dump}-{part:05d}.warc.gz"
