"""Small worlds generated with other seeds and settings: one seed gives byte-identical files, the stale
share changes the mirrors alone, re-rendering hosts stamp pages between content and crawl, and soft 404s are
uncrawled resource URLs."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from jobs.experiment_worlds import PAGE_TYPES
from tests.world.helpers import read_records
from tests.world.sizes import SMALL_WORLD
from world import generate_world, preset_config
from world.config import WorldConfigError

SMALL = SMALL_WORLD


def _hashes(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "summary.json":  # all but the wall-clock seconds must match
            summary = json.loads(data)
            summary.pop("seconds")
            data = json.dumps(summary, sort_keys=True).encode()
        out[str(path.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return out


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    config = preset_config("tiny", seed=7, **SMALL)
    generate_world(config, tmp_path / "a")
    generate_world(config, tmp_path / "b")
    generate_world(preset_config("tiny", seed=8, **SMALL), tmp_path / "c")
    a, b, c = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert a == b
    assert len([k for k in a if k.endswith(".warc.gz")]) >= 3  # several files per dump at 40 records each
    assert {k for k in a if "warc" in k} and all(a[k] != c.get(k) for k in a if k.endswith(".parquet"))
    with pytest.raises(FileExistsError, match="not empty"):
        generate_world(config, tmp_path / "a")


def _documents(root: Path) -> Counter[tuple]:
    """Truth rows without their ids (ids number the records of a dump, which mirrors shift)."""
    table = pq.read_table(root / "truth" / "documents.parquet")
    return Counter((r["dump"], r["url"], r["kind"], r["version_month"], r["lang"]) for r in table.to_pylist())


def test_worlds_that_differ_in_stale_share_differ_in_their_mirrors_alone(tmp_path: Path) -> None:
    worlds = {}
    for name, overrides in (
        ("s0", {"stale_share": 0.0}),
        ("s4", {"stale_share": 0.4}),
        ("history", {"stale_share": 0.0, "recrawl_unchanged": False}),
    ):
        # Dumps three months apart, so that some pages are re-crawled unchanged.
        dumps = ("2017-03", "2017-06", "2017-09", "2017-12", "2018-03")
        config = preset_config("tiny", seed=3, **{**SMALL, "dumps": dumps}, **overrides)
        generate_world(config, tmp_path / name)
        worlds[name] = _documents(tmp_path / name)
    mirrors = Counter({k: n for k, n in worlds["s4"].items() if k[2] == "stale"})
    assert sum(mirrors.values()) > 20 and not any(k[2] == "stale" for k in worlds["s0"])
    assert worlds["s4"] - mirrors == worlds["s0"]  # everything but the mirrors is the same
    # The history-only control: every version crawled once, in its own time; nothing else changes.
    recrawls = Counter({k: n for k, n in worlds["s0"].items() if k[2] == "recrawl"})
    assert sum(recrawls.values()) > 10 and worlds["s0"] - recrawls == worlds["history"]
    assert pq.read_table(tmp_path / "s0" / "probes" / "facts.parquet").equals(
        pq.read_table(tmp_path / "s4" / "probes" / "facts.parquet")
    )


def test_rerendering_hosts_stamp_each_page_between_its_content_and_the_crawl(tmp_path: Path) -> None:
    generate_world(preset_config("tiny", seed=3, **SMALL, rerender_share=0.5), tmp_path / "w")
    truth = {r["id"]: r for r in pq.read_table(tmp_path / "w" / "truth" / "documents.parquet").to_pylist()}
    pages: dict[tuple[str, str], list[tuple[datetime, datetime, datetime]]] = defaultdict(list)
    for rid, record in read_records(tmp_path / "w").items():
        if "Last-Modified" in record["http"]:
            stamp = parsedate_to_datetime(record["http"]["Last-Modified"])
            host = record["warc"]["WARC-Target-URI"].split("/")[2]
            pages[(record["dump"], host)].append((stamp, truth[rid]["content_time"], record["date"]))
    rerendered = 0
    for stamped in pages.values():
        if len(stamped) > 1 and len({stamp for stamp, _, _ in stamped}) == 1:
            continue  # a rebuilt host: one time for all its pages
        for stamp, content, fetched in stamped:
            assert content.replace(microsecond=0) <= stamp <= max(content, fetched - timedelta(days=1))
            rerendered += stamp > content + timedelta(days=1)
    assert rerendered > 30  # each page its own time, so no rebuild is seen
    with pytest.raises(WorldConfigError, match="rerender_share"):
        preset_config("tiny", rerender_share=-0.1).validate()


def test_soft_404s_are_uncrawled_resource_urls_with_one_text_per_host(tmp_path: Path) -> None:
    for name, share in (("plain", 0.0), ("soft", 0.5)):
        generate_world(preset_config("tiny", seed=3, **SMALL, soft_404_share=share), tmp_path / name)
    plain, soft = _documents(tmp_path / "plain"), _documents(tmp_path / "soft")
    missing = Counter({k: n for k, n in soft.items() if k[2] == "soft404"})

    # A stream of its own: nothing else moves (but opaque mirror URLs, made from record ids, which shift).
    def opaque(docs: Counter[tuple]) -> Counter[tuple]:
        return Counter((k[0], re.sub(r"/p/\w+", "/p/", k[1]), *k[2:]) for k in docs.elements())

    assert opaque(soft - missing) == opaque(plain)
    own_urls = {(k[0], k[1]) for k in plain if k[2] in ("fresh", "recrawl")}
    resource_urls = {k[1] for k in plain if k[2] in ("fresh", "recrawl")}
    assert sum(missing.values()) > 10 and all(k[3] is None for k in missing)
    # At a resource's own URL, in a dump that did not crawl its page.
    assert all(k[1] in resource_urls and (k[0], k[1]) not in own_urls for k in missing)
    table = pq.read_table(tmp_path / "soft" / "truth" / "documents.parquet")
    ids = {r["id"]: r["url"] for r in table.to_pylist() if r["kind"] == "soft404"}
    # The experiment labels every kind the world writes with one of its three page types.
    page_types = {PAGE_TYPES.get(k, k) for k in set(table.column("kind").to_pylist())}
    assert page_types == {"resource", "news", "filler"}
    texts: dict[str, set[str]] = {}
    for path in sorted((tmp_path / "soft" / "dumps").glob("*/*.warc.gz")):
        for batch in read_documents(str(path), ReadOptions(), RejectLog()):
            for doc_id, text in zip(
                batch.column("id").to_pylist(), batch.column("text").to_pylist(), strict=True
            ):
                if doc_id in ids:
                    texts.setdefault(ids[doc_id].split("/")[2], set()).add(text)
    assert len(texts) > 1 and all(len(t) == 1 and "Page not found" in next(iter(t)) for t in texts.values())
    with pytest.raises(WorldConfigError, match="soft_404_share"):
        preset_config("tiny", soft_404_share=1.5).validate()
