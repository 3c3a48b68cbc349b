"""Real-data helpers for the dating tests: WARC samples as document batches, version chains as tables."""

from __future__ import annotations

import gzip
import importlib
import json
import random
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import lxml.etree
import lxml.html
import pyarrow as pa
from dateparser.data.languages_info import language_order
from htmldate.extractors import DAY_TOKEN, DISCARD_PATTERNS, TEXT_DATE_PATTERN, custom_parse, has_date_cue
from htmldate.settings import MAX_SEGMENT_LEN
from htmldate.utils import trim_text

from corpus.html_text import decode_payload
from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from dating.hinted_dateparser import DATE_WORD_KEYS
from dating.html_meta import MarkupDater, _options, html_meta_date_batch

ADDED = datetime(2024, 6, 1, tzinfo=UTC)
# The crawl date and htmldate's extensive-search options under which the real sample pages are searched.
SAMPLE_CRAWL = datetime(2020, 12, 31, 23, 59, 59)
EXTENSIVE = _options(True, SAMPLE_CRAWL, extensive=True)


def warc_batch(path: Path, with_html_dates: bool = True, one_parse: bool = True) -> pa.RecordBatch:
    """All documents of one WARC file, read by corpus.readers with the HTML kept, as one batch; with the
    markup dates when `with_html_dates`: from the reader's one parse, through dating's page hook, as
    `chronomix ingest` does (`one_parse`), or by the batch kernel over the `html` column."""
    rejects = RejectLog()
    hook = MarkupDater() if with_html_dates and one_parse else None
    options = ReadOptions(keep_html=True, added=ADDED, page_hook=hook)
    batches = list(read_documents(str(path), options, rejects))
    batch = pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
    return html_meta_date_batch(batch) if with_html_dates and not one_parse else batch


def by_url(rows: list[dict]) -> dict[str, dict]:
    return {row["url"]: row for row in rows}


def wikipedia_versions(data_dir: Path) -> list[tuple[str, int, str]]:
    """(article, k, text) for every version of the 100 Wikipedia articles, k = 0 the oldest."""
    root = data_dir / "versions" / "wikipedia_versions" / "pages"
    versions = []
    for article in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(article.glob("*.txt"), key=lambda p: int(p.stem))
        versions.extend((article.name, int(f.stem), f.read_text(encoding="utf-8")) for f in files)
    return versions


def version_month(k: int) -> datetime:
    """The month given to version k of every article: January 2015 plus k months."""
    return datetime(2015 + k // 12, k % 12 + 1, 1, tzinfo=UTC)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def nested_page(depth: int) -> str:
    """A page dated in its head whose body nests `depth` elements deep."""
    head = '<head><meta name="date" content="2020-05-17"></head>'
    return f"<html>{head}<body>{'<div>' * depth}x{'</div>' * depth}</body></html>"


@cache
def gold_pages(data_dir: Path, n: int) -> tuple[str, ...]:
    """The first `n` of the 200 news pages with gold dates (../shared/data/dating), decoded as ingest does."""
    gold = json.loads((data_dir / "dating" / "eval_mediacloud_2020.json").read_text())
    return tuple(
        decode_payload(
            gzip.decompress((data_dir / "dating" / "pages" / f"{e['file']}.gz").read_bytes()), None
        ).text
        for e in list(gold.values())[:n]
    )


@cache
def sample_pages(data_dir: Path) -> tuple[str, ...]:
    """Every page of the sample WARCs (as ingest decodes them) and the 200 gold news pages."""
    pages = [
        html
        for path in sorted((data_dir / "warc").glob("*.warc.gz"))
        for html in warc_batch(path, with_html_dates=False).column("html").to_pylist()
        if html
    ]
    return (*pages, *gold_pages(data_dir, 200))


@cache
def dateparser_strings(data_dir: Path) -> tuple[str, ...]:
    """Every distinct text of the real sample pages' elements (its text, its tail and its first 300
    characters of text within) that htmldate's extensive search would hand to dateparser: a segment of the
    right length and count of digits, with a separator, a day token and a date cue, that htmldate's own
    patterns (custom_parse) do not read."""
    found: set[str] = set()
    for page in sample_pages(data_dir):
        try:
            tree = lxml.html.fromstring(page)
        except (ValueError, lxml.etree.ParserError):
            continue
        for element in tree.iter():
            if not isinstance(element.tag, str):  # comments and processing instructions
                continue
            for text in (element.text, element.tail, "".join(element.itertext())[:300]):
                if text and _reaches_dateparser(trim_text(text)[:MAX_SEGMENT_LEN]):
                    found.add(trim_text(text)[:MAX_SEGMENT_LEN])
    return tuple(sorted(found))


def _reaches_dateparser(segment: str) -> bool:
    """try_date_expr's conditions for a segment to go to its external parser (htmldate 1.11)."""
    low, high = datetime(1995, 1, 1), datetime(2024, 12, 31)
    return (
        bool(segment)
        and 4 <= sum(map(str.isdigit, segment)) <= 18
        and not DISCARD_PATTERNS.search(segment)
        and custom_parse(segment, "%Y-%m-%d", low, high) is None
        and bool(TEXT_DATE_PATTERN.search(segment))
        and bool(DAY_TOKEN.search(segment))
        and has_date_cue(segment, low, high)
    )


# Ways pages write a date; {w} a weekday name, {m} a month name. The last two are not whole dates.
DATE_TEMPLATES = (
    "{w}, {d} {m} {y}",
    "{d} {m} {y} {h}:{mi}",
    "{m} {d}, {y}",
    "{d}. {m} {y}",
    "{w} {d} de {m} de {y}",
    "{y} {m} {d}",
    "{w} {m} {d} {y}",
    "Posted by John Smith on {d} {m} {y}",
    "{d} {m} {y} | News",
)


def written_dates(per_language: int, seed: int = 0) -> tuple[str, ...]:
    """`per_language` dates written with DATE_TEMPLATES in every language of dateparser's data, month and
    weekday names (any of the forms it lists) and numbers drawn at random."""
    rng = random.Random(seed)
    names, weekdays = DATE_WORD_KEYS[:12], DATE_WORD_KEYS[12:]
    written = []
    for language in language_order:
        info = importlib.import_module(f"dateparser.data.date_translation_data.{language}").info
        for template in rng.sample(DATE_TEMPLATES, per_language):
            month, weekday = info.get(rng.choice(names)), info.get(rng.choice(weekdays))
            if not month or not weekday:
                continue
            written.append(
                template.format(
                    w=rng.choice(weekday),
                    m=rng.choice(month),
                    d=rng.randint(1, 28),
                    y=rng.randint(1998, 2023),
                    h=rng.randint(0, 23),
                    mi=f"{rng.randint(0, 59):02d}",
                )
            )
    return tuple(written)
