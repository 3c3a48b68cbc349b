"""Reference matching on real version chains: MediaWiki monthly snapshots and Wikipedia revisions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from dating.combine import date_batch
from dating.reference import ReferenceError, ReferenceIndex, ReferenceMatcher, shingles
from tests.dating.helpers import version_month, wikipedia_versions
from tests.shared_data import shared_data

CRAWL = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def commons_snapshots(data_dir: Path) -> pa.Table:
    """Monthly snapshots of the Commons page (the page as of the first of each month), via corpus.readers."""
    path = data_dir / "versions" / "wmf_commonswiki_File13327093_revisions.xml"
    options = ReadOptions(mediawiki_monthly=True, added=CRAWL)
    return pa.Table.from_batches(list(read_documents(str(path), options, RejectLog())))


@pytest.fixture(scope="module")
def wiki() -> list[tuple[str, int, str]]:
    return wikipedia_versions(shared_data())


def _same_text_months(table: pa.Table, text: str) -> list[datetime]:
    key = shingles(text).tobytes()
    return sorted(
        c
        for t, c in zip(table.column("text").to_pylist(), table.column("created").to_pylist(), strict=True)
        if shingles(t).tobytes() == key
    )


def test_commons_monthly_snapshots(commons_snapshots: pa.Table) -> None:
    index = ReferenceIndex.from_table(commons_snapshots)
    texts = commons_snapshots.column("text").to_pylist()
    assert len(index.versions) < len(texts)  # unchanged months collapse into one version
    copies = [texts[i] for i in range(0, len(texts), 17)]
    docs = pa.RecordBatch.from_pydict(
        {
            "id": [f"copy{i}" for i in range(len(copies))],
            "text": ["Scraped from Wikimedia Commons.\n" + t for t in copies],
            "crawl_date": pa.array([CRAWL] * len(copies), pa.timestamp("us", tz="UTC")),
        }
    )
    out = date_batch(index.match_batch(docs)).to_pylist()
    for text, row in zip(copies, out, strict=True):
        months = _same_text_months(commons_snapshots, text)
        # tie rule: identical text across months -> its earliest month, upper bound its latest month
        assert row["created"] == row["ref_created"] == months[0]
        assert row["date_upper"] == row["ref_last"] == months[-1]
        assert row["date_source"] == "reference"
        assert 0.5 <= row["date_confidence"] <= 1.0


def test_wikipedia_copy_of_version_k_is_dated_to_version_k(wiki: list[tuple[str, int, str]]) -> None:
    reference = pa.table(
        {
            "text": [t for _, _, t in wiki],
            "created": pa.array([version_month(k) for _, k, _ in wiki], pa.timestamp("us", tz="UTC")),
            "resource": [a for a, _, _ in wiki],
        }
    )
    index = ReferenceIndex.from_table(reference)
    # every version of every article, as a scraped copy with a header line
    copies = pa.RecordBatch.from_pydict(
        {
            "id": [f"{a}/{k}" for a, k, _ in wiki],
            "text": [
                f"From Wikipedia, the free encyclopedia\n{t}\nRetrieved from Wikipedia" for _, _, t in wiki
            ],
            "crawl_date": pa.array([CRAWL] * len(wiki), pa.timestamp("us", tz="UTC")),
        }
    )
    out = date_batch(index.match_batch(copies)).to_pylist()
    exact = 0
    for (article, k, text), row in zip(wiki, out, strict=True):
        assert row["ref_key"] == article
        same = [kk for a, kk, t in wiki if a == article and shingles(t).tobytes() == shingles(text).tobytes()]
        # version k's month, or the earliest month of the identical text (tie rule)
        assert row["created"] == version_month(min(same)), (article, k)
        assert row["date_source"] == "reference"
        exact += min(same) == k
    assert exact >= 0.9 * len(wiki)


def test_no_match_for_unrelated_or_empty_text(commons_snapshots: pa.Table, data_dir: Path) -> None:
    index = ReferenceIndex.from_table(commons_snapshots)
    sentences = (data_dir / "langid" / "sentences" / "af.txt").read_text(encoding="utf-8").splitlines()[:3]
    batch = pa.RecordBatch.from_pydict({"id": ["a", "b", "c", "d"], "text": [*sentences[:2], "", None]})
    out = index.match_batch(batch)
    assert out.column("ref_created").to_pylist() == [None] * 4
    assert out.column("ref_similarity").to_pylist() == [None] * 4


def test_matcher_builds_from_files_and_survives_pickling(commons_snapshots: pa.Table, tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "ref.parquet"
    pq.write_table(commons_snapshots.select(["text", "created", "resource"]), path)
    matcher = pickle.loads(pickle.dumps(ReferenceMatcher([str(path)])))
    text = commons_snapshots.column("text")[30].as_py()
    out = matcher(pa.RecordBatch.from_pydict({"id": ["x"], "text": [text]}))
    assert out.column("ref_created").to_pylist() == [_same_text_months(commons_snapshots, text)[0]]
    assert len(pickle.dumps(matcher)) < 1000  # the index is never shipped, only the file list


def test_bad_reference_sets() -> None:
    with pytest.raises(ReferenceError, match="'created'"):
        ReferenceIndex.from_table(pa.table({"text": ["a b c"], "resource": ["r"]}))
    with pytest.raises(ReferenceError, match="'resource'"):
        ReferenceIndex.from_table(pa.table({"text": ["a"], "created": pa.array([CRAWL])}))
    with pytest.raises(ReferenceError, match="no rows"):
        ReferenceIndex.from_table(pa.table({"text": [None], "created": pa.array([CRAWL]), "resource": ["r"]}))


def test_cjk_characters_are_tokens_even_beside_digits_and_latin_letters() -> None:
    # Before, \w+ carried a CJK run along with the digits or letters it touched: "2019年のiphone" was one
    # token, so a page and its copy with one space more shared no shingle there.
    from dating.reference import WORD_TOKEN
    from dating.reference_ngrams import ngram_hashes

    assert WORD_TOKEN.findall("2019年のiphone 東京abc def_1") == [
        "2019", "年", "の", "iphone", "東", "京", "abc", "def_1",
    ]  # fmt: skip
    text, spaced = (
        "2019年の新型iPhone発表会は東京で開催",
        "2019 年 の 新 型 iPhone 発 表 会 は 東 京 で 開 催",
    )
    assert shingles(text).tolist() == shingles(spaced).tolist() and len(shingles(text)) == 11  # 15 tokens
    assert ngram_hashes(text).tolist() == ngram_hashes(spaced).tolist()
    # half-width katakana, an ideograph outside the Basic Multilingual Plane and an iteration mark too
    assert WORD_TOKEN.findall("ｶﾀｶﾅ2024 𠮷野家 人々") == [
        "ｶ",
        "ﾀ",
        "ｶ",
        "ﾅ",
        "2024",
        "𠮷",
        "野",
        "家",
        "人",
        "々",
    ]
