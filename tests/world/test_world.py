"""The synthetic world checked against its own WARC files: truth ids, stale rate and ages, versions,
dating signals, languages, and reading the dumps with the corpus readers. The probes are checked in
test_world_probes.py, worlds of other seeds and settings in test_world_variants.py."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import datetime
from email.utils import parsedate_to_datetime

import numpy as np
from resiliparse.extract.html2text import extract_plain_text

from tests.world.helpers import valid_in
from world import preset_config
from world.config import month_index
from world.dumps import crawl_window, dump_name


def _months(facts: dict[str, dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    by_resource: dict[str, list[dict[str, object]]] = defaultdict(list)
    for fact_id, row in facts.items():
        by_resource[fact_id.split("/")[0]].append(row)
    return by_resource


def test_every_truth_row_is_a_warc_record_with_its_url_dump_and_window(records, truth) -> None:
    assert len(truth) == len(records) > 3000
    for row in truth:
        record = records[row["id"]]
        assert record["warc"]["WARC-Target-URI"] == row["url"]
        assert record["dump"] == record["dir"] == row["dump"]
        assert record["http"]["Content-Type"] == "text/html; charset=utf-8"
        window = _windows()[row["dump"]]
        assert window[0] <= record["date"] < window[1], (row["dump"], record["date"])
    assert len({(r["dump"], r["url"]) for r in truth}) == len(truth), "a URL appears twice in one dump"


def test_page_text_is_the_rendered_version_and_states_its_facts(records, truth, facts, temporal) -> None:
    checked = 0
    for row in truth:
        text = extract_plain_text(records[row["id"]]["html"], main_content=True)
        if row["kind"] in ("fresh", "recrawl", "stale"):
            for fact_id in row["fact_ids"]:
                fact = facts[fact_id]
                assert fact["value"] in text and fact["subject"] in text
                assert valid_in(fact, row["version_month"]), (fact_id, row["version_month"])
            assert len(row["fact_ids"]) == 8  # one fact per relation
            key = (row["resource"], row["version_month"])
            if key in temporal:
                assert text == temporal[key]
                checked += 1
        elif row["kind"] == "mention":
            assert row["fact_ids"]
            for fact_id in row["fact_ids"]:
                assert facts[fact_id]["value"] in text and valid_in(facts[fact_id], row["version_month"])
        else:
            assert row["fact_ids"] == [] and row["resource"] is None and row["version_month"] is None
    assert checked > 100


_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def test_no_resource_page_states_a_year_after_its_content_time(records, truth, facts) -> None:
    """A page is written no earlier than the years it states: its founding year and every "since <year>"."""
    stating = 0
    for row in truth:
        if row["kind"] not in ("fresh", "recrawl", "stale"):
            continue
        text = extract_plain_text(records[row["id"]]["html"], main_content=True)
        for fact_id in row["fact_ids"]:  # staff numbers such as 1870 are not years
            if facts[fact_id]["relation"] == "employees":
                text = text.replace(facts[fact_id]["value"], "")
        years = [int(y) for y in _YEAR.findall(text)]
        assert years, row["id"]  # every page states its founding year
        assert max(years) <= row["content_time"].year, (row["id"], row["version_month"], years)
        stating += max(years) == row["content_time"].year
    assert stating > 100  # the version the span starts with is often written in the year it states


def test_stale_share_per_dump_is_as_configured(truth) -> None:
    config = preset_config("tiny")
    per_dump: dict[str, Counter[str]] = defaultdict(Counter)
    for row in truth:
        per_dump[row["dump"]][row["kind"]] += 1
        assert row["is_stale_copy"] == (row["kind"] == "stale")
    assert len(per_dump) == len(config.dump_months()) == 16
    for dump, kinds in per_dump.items():
        resource = kinds["fresh"] + kinds["recrawl"] + kinds["stale"]
        assert abs(kinds["stale"] / resource - config.stale_share) <= 1 / resource, dump
        assert kinds["mention"] == config.mention_pages and kinds["filler"] == config.filler_pages


def test_stale_ages_follow_the_configured_distribution_truncated_to_differing_versions(truth, facts) -> None:
    """Ages are geometric(mean 12) truncated to [first age whose version differs, min(month, 48)]: compare
    the observed mean age with the expected mean, and every stale text with the current version."""
    config = preset_config("tiny")
    p = 1 / config.stale_age_mean_months
    by_resource = _months(facts)
    start = month_index(config.start)
    observed, expected, variance = [], [], []
    for row in truth:
        if row["kind"] != "stale":
            continue
        dump_month = next(m for m in config.dump_months() if row["dump"] == _dump_of(m))
        m = month_index(dump_month) - start
        age = month_index(dump_month) - month_index(row["version_month"])
        changes = [month_index(f["valid_from"]) - start for f in by_resource[row["resource"]]]
        current_start = max(c for c in changes if c <= m)
        low, high = m - current_start + 1, min(m, config.stale_age_max_months)
        assert low <= age <= high, (row["id"], age, low, high)
        ages = np.arange(low, high + 1)
        pmf = p * (1 - p) ** (ages - 1)
        pmf /= pmf.sum()
        mean = float((ages * pmf).sum())
        observed.append(age)
        expected.append(mean)
        variance.append(float((ages**2 * pmf).sum()) - mean**2)
    n = len(observed)
    assert n > 1000
    standard_error = np.sqrt(np.sum(variance)) / n
    assert abs(np.mean(observed) - np.mean(expected)) < 4 * standard_error
    assert 6 < np.mean(observed) < 20


def _dump_of(month: str) -> str:
    return dump_name(month_index(month))


def _windows() -> dict[str, tuple[datetime, datetime]]:
    return {_dump_of(m): crawl_window(month_index(m)) for m in preset_config("tiny").dump_months()}


def test_versions_differ_exactly_where_a_fact_changed(temporal, facts) -> None:
    by_resource = _months(facts)
    resources = sorted({r for r, _ in temporal})
    months = sorted({m for _, m in temporal})
    assert len(resources) == 200 and len(months) == 96
    changes_seen = 0
    for resource in resources:
        change_months = {f["valid_from"] for f in by_resource[resource]} - {months[0]}
        for before, after in itertools.pairwise(months):
            differs = temporal[(resource, before)] != temporal[(resource, after)]
            assert differs == (after in change_months), (resource, after)
            changes_seen += differs
    assert changes_seen > 40 * 10  # several facts per page change over the span


def test_kinds_fresh_recrawl_follow_changes(truth) -> None:
    last: dict[str, str] = {}
    for row in sorted((r for r in truth if r["kind"] in ("fresh", "recrawl")), key=lambda r: r["dump"]):
        previous = last.get(row["resource"])
        if row["kind"] == "recrawl":
            assert previous is not None
        last[row["resource"]] = row["version_month"]
    kinds = Counter(r["kind"] for r in truth)
    assert kinds["recrawl"] > 50 and kinds["fresh"] > kinds["recrawl"]


def test_dating_signals_some_present_some_absent_and_consistent(records, truth) -> None:
    with_last_modified = 0
    rebuilt: dict[tuple[str, str], set[str]] = defaultdict(set)
    kinds = {r["id"]: r for r in truth}
    for rid, record in records.items():
        html = record["html"]
        modified = record["http"].get("Last-Modified")
        if modified is not None:
            with_last_modified += 1
            assert parsedate_to_datetime(modified) <= record["date"]
            host = record["warc"]["WARC-Target-URI"].split("/")[2]
            rebuilt[(record["dump"], host)].add(modified)
        assert ('"dateModified"' in html) == ('"datePublished"' in html)
        assert kinds[rid]["kind"] in ("fresh", "recrawl", "stale", "mention", "filler")
    n = len(records)
    assert 0.2 * n < with_last_modified < 0.9 * n
    assert any(len(values) == 1 for values in rebuilt.values())  # a rebuilt site shares one time
    metas = sum("article:published_time" in r["html"] for r in records.values())
    json_ld = sum("application/ld+json" in r["html"] for r in records.values())
    dated = sum(
        bool(re.search(r"/\d{4}/\d{2}/\d{2}/", r["warc"]["WARC-Target-URI"])) for r in records.values()
    )
    nothing = sum(
        "Last-Modified" not in r["http"] and "ld+json" not in r["html"] and "published_time" not in r["html"]
        for r in records.values()
    )
    assert metas > 100 and json_ld > 100 and dated > 100 and nothing > 100
    # Last-Modified is the content's time, or one rebuild time a host's pages share in a dump
    stamps: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for rid, record in records.items():
        if "Last-Modified" in record["http"]:
            host = record["warc"]["WARC-Target-URI"].split("/")[2]
            content = kinds[rid]["content_time"].replace(microsecond=0)
            stamps[(record["dump"], host)].append(
                parsedate_to_datetime(record["http"]["Last-Modified"]) == content
            )
    assert all(all(same) or len(rebuilt[key]) == 1 for key, same in stamps.items())
    assert sum(all(same) for same in stamps.values()) > 10
    # Mirrors live on other hosts than the resource's own page.
    canonical_hosts = {r["url"].split("/")[2] for r in truth if r["kind"] == "fresh"}
    assert not canonical_hosts & {r["url"].split("/")[2] for r in truth if r["kind"] == "stale"}


def test_languages_are_long_tailed_and_fixed_per_resource(truth) -> None:
    langs = Counter(r["lang"] for r in truth)
    assert set(langs) >= {"en", "de", "fr", "es"}
    assert langs["en"] > langs["de"] > langs["fr"] and langs["en"] / len(truth) > 0.4
    per_resource: dict[str, set[str]] = defaultdict(set)
    for row in truth:
        if row["resource"]:
            per_resource[row["resource"]].add(row["lang"])
    assert all(len(v) == 1 for v in per_resource.values())


def test_read_documents_gives_zero_rejects_and_the_truth_ids(world_dir, truth) -> None:
    import corpus.readers as readers
    from corpus.stats import RejectLog

    rejects = RejectLog()
    ids, dumps = [], set()
    for path in sorted((world_dir / "dumps").glob("*/*.warc.gz")):
        for batch in readers.read_documents(str(path), readers.ReadOptions(), rejects):
            ids += batch.column("id").to_pylist()
            dumps |= set(batch.column("dump").to_pylist())
            assert batch.column("crawl_date").null_count == 0
    assert len(rejects) == 0, rejects.counts
    assert sorted(ids) == sorted(r["id"] for r in truth)
    assert dumps == {r["dump"] for r in truth}
