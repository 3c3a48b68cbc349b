"""The synthetic world checked against its own WARC files: truth ids, stale rate and ages, versions,
dating signals, probes, determinism, and reading the dumps with the corpus readers."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text

from corpus.readers import ReadOptions, read_documents
from corpus.schema import validate
from corpus.stats import RejectLog
from jobs.experiment import PAGE_TYPES
from tests.world.sizes import SMALL_WORLD
from world import count_fact_mentions, fill_probe_frequencies, generate_world, preset_config
from world.config import WorldConfigError, month_index
from world.dumps import crawl_window, dump_name
from world.entities import staff_transition_probability
from world.probes import SWAP_SUBJECTS

SMALL = SMALL_WORLD


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world") / "tiny"
    generate_world(preset_config("tiny", seed=0), root)
    return root


@pytest.fixture(scope="module")
def records(world_dir: Path) -> dict[str, dict[str, object]]:
    return _records(world_dir)


def _records(world_dir: Path) -> dict[str, dict[str, object]]:
    """Every response record of every dump, parsed with fastwarc: id -> headers, HTTP headers, HTML, dump."""
    out: dict[str, dict[str, object]] = {}
    for path in sorted((world_dir / "dumps").glob("*/*.warc.gz")):
        dump = None
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, parse_http=True):
                if record.record_type == WarcRecordType.warcinfo:
                    fields = record.reader.read().decode()
                    dump = dict(line.split(": ", 1) for line in fields.strip().splitlines())["isPartOf"]
                    continue
                rid = record.headers["WARC-Record-ID"].strip("<>")
                out[rid] = {
                    "warc": dict(record.headers),
                    "http": dict(record.http_headers),
                    "html": record.reader.read().decode("utf-8"),
                    "dump": dump,
                    "dir": path.parent.name,
                    "date": record.record_date,
                }
    return out


@pytest.fixture(scope="module")
def truth(world_dir: Path) -> list[dict[str, object]]:
    return pq.read_table(world_dir / "truth" / "documents.parquet").to_pylist()


@pytest.fixture(scope="module")
def facts(world_dir: Path) -> dict[str, dict[str, object]]:
    return {row["fact_id"]: row for row in pq.read_table(world_dir / "truth" / "facts.parquet").to_pylist()}


@pytest.fixture(scope="module")
def temporal(world_dir: Path) -> dict[tuple[str, str], str]:
    table = pq.read_table(world_dir / "probes" / "temporal.parquet")
    return {(r["resource"], r["month"]): r["text"] for r in table.to_pylist()}


def _months(facts: dict[str, dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    by_resource: dict[str, list[dict[str, object]]] = defaultdict(list)
    for fact_id, row in facts.items():
        by_resource[fact_id.split("/")[0]].append(row)
    return by_resource


def _valid(fact: dict[str, object], month: str) -> bool:
    return fact["valid_from"] <= month and (fact["valid_until"] is None or month < fact["valid_until"])


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
                assert _valid(fact, row["version_month"]), (fact_id, row["version_month"])
            assert len(row["fact_ids"]) == 8  # one fact per relation
            key = (row["resource"], row["version_month"])
            if key in temporal:
                assert text == temporal[key]
                checked += 1
        elif row["kind"] == "mention":
            assert row["fact_ids"]
            for fact_id in row["fact_ids"]:
                assert facts[fact_id]["value"] in text and _valid(facts[fact_id], row["version_month"])
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


def test_fact_frequencies_follow_popularity_and_span_the_long_tail(world_dir, truth) -> None:
    counts = count_fact_mentions([r["id"] for r in truth], world_dir)
    values = np.array(list(counts.values()))
    assert values.min() == 0 and (values == 1).sum() > 100 and values.max() >= 100
    # The static facts of the most popular entity are stated far more often than those of the least.
    by_subject = defaultdict(int)
    for fact_id, n in counts.items():
        if fact_id.endswith("/founded/0"):
            by_subject[fact_id.split("/")[0]] = n
    ranked = sorted(by_subject.values())
    assert ranked[-1] > 5 * max(1, ranked[len(ranked) // 2])


def test_count_fact_mentions_counts_repeats_and_ignores_foreign_ids(world_dir, truth, facts) -> None:
    sample = [truth[0]["id"], truth[0]["id"], truth[5]["id"], "not-a-world-id"]
    counts = count_fact_mentions(sample, world_dir)
    stated: Counter[tuple[str, str, str]] = Counter()  # exposure is per (subject, relation, value)
    for rid in sample[:3]:
        for fact_id in next(r for r in truth if r["id"] == rid)["fact_ids"]:
            stated[tuple(facts[fact_id][c] for c in ("subject", "relation", "value"))] += 1
    expected = {
        fact_id: stated[(f["subject"], f["relation"], f["value"])]
        for fact_id, f in facts.items()
        if stated[(f["subject"], f["relation"], f["value"])]
    }
    assert {k: v for k, v in counts.items() if v} == expected
    probes = world_dir / "probes" / "facts.parquet"
    filled = fill_probe_frequencies(probes, counts)
    assert filled.column("n_train_docs").null_count == 0
    by_fact = dict(
        zip(filled.column("fact_id").to_pylist(), filled.column("n_train_docs").to_pylist(), strict=True)
    )
    assert all(by_fact[f] == n for f, n in expected.items() if f in by_fact)
    with pytest.raises(ValueError, match="fact-probe table"):
        fill_probe_frequencies(world_dir / "truth" / "facts.parquet", counts)


def test_a_value_held_twice_is_exposure_to_both_facts(world_dir, truth, facts) -> None:
    counts = count_fact_mentions([r["id"] for r in truth], world_dir)
    by_triple = defaultdict(list)
    for fact_id, f in facts.items():
        by_triple[(f["subject"], f["relation"], f["value"])].append(fact_id)
    repeated = [ids for ids in by_triple.values() if len(ids) > 1]
    assert repeated  # leaders come back, staff numbers return to an earlier count
    assert all(len({counts[i] for i in ids}) == 1 for ids in repeated)


def test_temporal_probes_are_a_valid_document_batch(world_dir) -> None:
    table = pq.read_table(world_dir / "probes" / "temporal.parquet")
    validate(table)
    row = table.slice(0, 1).to_pylist()[0]
    assert row["id"] == f"probe:{row['resource']}:{row['month']}" and row["source"] == "world-reference"
    assert row["created"] == datetime(2016, 1, 1, tzinfo=UTC)


def test_fact_probes_prompt_answer_and_distractors(world_dir, facts) -> None:
    probes = pq.read_table(world_dir / "probes" / "facts.parquet").to_pylist()
    # The tiny preset samples 5000 facts; the few whose relation has no value left to offer are not probed,
    # and the world's summary counts them under that reason.
    assert 4900 <= len(probes) <= 5000
    summary = json.loads((world_dir / "summary.json").read_text())
    assert summary["facts_unprobed"] == {
        "sampled_out": summary["facts"] - 5000,
        "no_distractor": 5000 - len(probes),
    }
    held: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in facts.values():
        held[(f["subject"], f["relation"])].add(f["value"])
    subjects = {f["subject"] for f in facts.values()}
    for probe in probes:
        fact = facts[probe["fact_id"]]
        assert probe["answer"] == fact["value"] and probe["subject"] in probe["prompt"]
        tail = probe["prompt"].split(probe["subject"])[-1]
        assert not re.search(rf"(?<!\w){re.escape(probe['answer'])}(?!\w)", tail), (
            probe["prompt"],
            probe["answer"],
        )
        distractors = probe["distractors"]
        assert 1 <= len(distractors) <= 4 and len(set(distractors)) == len(distractors)
        # No distractor is a value the subject ever held: never an earlier or later true answer.
        assert not set(distractors) & held[(probe["subject"], probe["relation"])]
        assert probe["n_train_docs"] is None
        assert _valid(fact, probe["month"])
        # The same prompt about (up to) SWAP_SUBJECTS other subjects, none of which held any candidate.
        assert (
            2 <= len(probe["swap_prompts"]) <= SWAP_SUBJECTS and probe["prompt"] not in probe["swap_prompts"]
        )
        # The text after the value in the fact's sentence: its punctuation, or the next word with its space.
        assert re.fullmatch(r"[^\s\w]+|\s+\S+|", probe["answer_suffix"]), probe["answer_suffix"]
        candidates = {probe["answer"], *distractors}
        for swapped in probe["swap_prompts"]:
            words = set(re.findall(r"\w+", swapped)) - set(re.findall(r"\w+", probe["prompt"]))
            (other,) = words & subjects
            assert not held[(other, probe["relation"])] & candidates
    assert sum(len(p["distractors"]) == 4 for p in probes) > 0.9 * len(probes)
    assert sum(len(p["swap_prompts"]) == SWAP_SUBJECTS for p in probes) > 0.9 * len(probes)


def test_staff_number_distractors_are_drawn_given_both_neighbouring_values(world_dir, facts) -> None:
    # A later staff count is the earlier one times 0.75-1.3, rounded to tens. Distractors are drawn given the
    # earlier and the later count, so "the candidate closest to a neighbouring count" is no better than
    # chance, for either neighbour, and every candidate could have led to the later count.
    probes = pq.read_table(world_dir / "probes" / "facts.parquet").to_pylist()
    closest_hits: Counter[str] = Counter()
    total = 0
    for probe in probes:
        if probe["relation"] != "employees":
            continue
        base, k = probe["fact_id"].rsplit("/", 1)
        neighbours = {
            side: int(facts[f"{base}/{j}"]["value"])
            for side, j in (("earlier", int(k) - 1), ("later", int(k) + 1))
            if f"{base}/{j}" in facts
        }
        candidates = [probe["answer"], *probe["distractors"]]
        if "earlier" in neighbours:
            for value in candidates:
                assert 0.74 * neighbours["earlier"] - 10 <= int(value) <= 1.31 * neighbours["earlier"] + 10
        if "later" in neighbours:
            for value in candidates:
                assert staff_transition_probability(int(value), neighbours["later"]) > 0, (value, neighbours)
        for side, neighbour in neighbours.items():
            closest = min(candidates, key=lambda v: abs(int(v) - neighbour))
            closest_hits[side] += closest == probe["answer"]
            closest_hits[side + " probes"] += 1
        total += 1
    assert total > 300 and closest_hits["later probes"] > 300 and closest_hits["earlier probes"] > 300
    for side in ("earlier", "later"):
        assert closest_hits[side] / closest_hits[side + " probes"] < 0.3, closest_hits  # chance is 0.2-0.25


def test_prompt_plus_answer_occurs_on_the_resource_page(world_dir, records, truth) -> None:
    probes = {p["fact_id"]: p for p in pq.read_table(world_dir / "probes" / "facts.parquet").to_pylist()}
    checked = 0
    for row in truth:
        if row["kind"] != "fresh":
            continue
        text = extract_plain_text(records[row["id"]]["html"], main_content=True)
        for fact_id in row["fact_ids"]:
            if fact_id not in probes:  # not in the sample of probed facts
                continue
            probe = probes[fact_id]
            assert f"{probe['prompt']} {probe['answer']}" in text, (probe["prompt"], text)
            checked += 1
    assert checked > 1000


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
    for rid, record in _records(tmp_path / "w").items():
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


def test_the_dating_reference_is_disjoint_from_the_probed_resources(world_dir) -> None:
    probed = set(pq.read_table(world_dir / "probes" / "temporal.parquet").column("resource").to_pylist())
    reference = pq.read_table(world_dir / "probes" / "reference.parquet")
    validate(reference)
    assert len(probed) == 200 and len(set(reference.column("resource").to_pylist())) == 40
    assert not probed & set(reference.column("resource").to_pylist())


def test_fact_suffix_is_the_sentence_after_the_value() -> None:
    from world.entities import Fact
    from world.render import fact_sentence, fact_suffix
    from world.templates import FACT_TEMPLATES

    languages = list(FACT_TEMPLATES)
    for relation, value in (("rating", "AA+"), ("employees", "1200"), ("headquarters", "Velora")):
        for index, lang in itertools.product(range(12), languages):
            fact = Fact(f"Kamito/{relation}/{index}", "Kamito", relation, value, 0, None, 0)
            sentence = fact_sentence(fact, lang, 2019)
            suffix = fact_suffix(fact, lang)
            assert f"{value}{suffix}" in sentence
            after = sentence.split(value, 1)[1]
            assert after.startswith(suffix) and (suffix.strip() or after == suffix == "")
