"""The rendering of pages to main text and HTML, from the sentence templates of world/templates.py.

Every fact is stated as a full sentence in which the subject comes before the value (so a probe's prompt is
the sentence up to the value) and the value is often repeated. Which template states a fact is fixed by the
fact's id, so a resource page's text is a pure function of the facts valid in a month: its versions differ
where a fact changed (but for a value that comes back to an earlier one: world.entities). The main text is the title and the paragraphs joined by blank lines, which is
what resiliparse's main-content extraction returns for the HTML written here.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from world.entities import Entity, Fact, invented_words, since_year
from world.templates import (
    FACT_TEMPLATES,
    FILLER_PREDICATES,
    FILLER_PREPOSITIONS,
    FILLER_SUBJECTS,
    FILLER_TAILS,
    FILLER_TITLES,
    NEWS_HEADLINES,
    NEWS_OPENERS,
    SITE_FOOTERS,
)


@dataclass(frozen=True)
class Page:
    """A rendered page: `text` is its main text (title, blank line, paragraphs separated by blank lines)."""

    title: str
    paragraphs: tuple[str, ...]
    lang: str

    @property
    def text(self) -> str:
        return "\n\n".join((self.title, *self.paragraphs))


def stable_index(key: str, n: int) -> int:
    """A deterministic index in [0, n) from a string (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") % n


def fact_sentence(fact: Fact, lang: str, year: int, template: int | None = None) -> str:
    """The sentence stating `fact` in `lang`; `year` is the year the value became true.

    The template is chosen by the fact id unless given, so a fact always reads the same on its own page.
    """
    templates = FACT_TEMPLATES[lang][fact.relation]
    index = stable_index(fact.fact_id, len(templates)) if template is None else template % len(templates)
    return templates[index].format(s=fact.subject, v=fact.value, y=year)


def _own_template(fact: Fact, lang: str) -> str:
    """The template of the fact's own sentence (on its resource page), chosen by the fact id."""
    templates = FACT_TEMPLATES[lang][fact.relation]
    return templates[stable_index(fact.fact_id, len(templates))]


def fact_prompt(fact: Fact, lang: str, year: int, subject: str | None = None) -> str:
    """The fact's own sentence up to (not including) the first mention of the value, stripped; with
    `subject`, the same sentence about another subject (a probe's subject-swapped baseline)."""
    head = _own_template(fact, lang).split("{v}", 1)[0]
    return head.format(s=fact.subject if subject is None else subject, y=year).rstrip()


# What follows a value in its sentence, up to the end of the next word or run of punctuation.
_AFTER_VALUE = re.compile(r"[^\s\w]+|\s+\S+")


def fact_suffix(fact: Fact, lang: str) -> str:
    """The text that follows the value in the fact's own sentence: the punctuation run attached to it (".",
    ";"), else the next word with its space (" employees."), or "" where the sentence ends with it. A probe
    scores each candidate with this text after it, so that a candidate is cut into tokens as in training
    (byte-level BPE's pre-tokenizer keeps the "+" of "AA+" and the "." after it in one piece) and a
    candidate that is a prefix of another (" AA" of " AA+") does not collect the longer one's probability."""
    after = _own_template(fact, lang).split("{v}", 1)[1]
    match = _AFTER_VALUE.match(after)
    return match.group(0) if match else ""


def resource_page(name: str, facts: Sequence[Fact], lang: str, years: Sequence[int]) -> Page:
    """A resource page: the entity's name as title and one sentence per fact, three sentences a paragraph."""
    sentences = [fact_sentence(f, lang, y) for f, y in zip(facts, years, strict=True)]
    paragraphs = tuple(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
    return Page(name, paragraphs, lang)


def version_page(entity: Entity, month: int, start_index: int) -> tuple[Page, list[Fact]]:
    """An entity's resource page as of a span-relative month, and the facts it states."""
    facts = entity.facts_at(month)
    return resource_page(entity.name, facts, entity.lang, [since_year(f, start_index) for f in facts]), facts


def news_page(
    rng: np.random.Generator, lang: str, stated: Sequence[tuple[str, Sequence[Fact], Sequence[int]]]
) -> Page:
    """A news page stating, for each (entity name, facts, years), an opening line and the facts."""
    headline = _pick(rng, NEWS_HEADLINES[lang]).format(s=stated[0][0])
    paragraphs = []
    for name, facts, years in stated:
        sentences = [_pick(rng, NEWS_OPENERS[lang]).format(s=name)]
        templates = int(rng.integers(0, 3))
        sentences += [
            fact_sentence(f, lang, y, template=templates + k)
            for k, (f, y) in enumerate(zip(facts, years, strict=True))
        ]
        paragraphs.append(" ".join(sentences))
    paragraphs.append(" ".join(filler_sentences(rng, lang, int(rng.integers(2, 5)))))
    return Page(headline, tuple(paragraphs), lang)


def filler_page(rng: np.random.Generator, lang: str, words: int) -> Page:
    """Unrelated everyday prose of about `words` whitespace words, in paragraphs of 3-6 sentences, about
    three invented places of its own (hyphenated, so never an entity's name)."""
    places = tuple("-".join(pair) for pair in zip(*[iter(invented_words(rng, 6))] * 2, strict=True))
    paragraphs: list[str] = []
    total = 0
    while total < words:
        sentences = filler_sentences(rng, lang, int(rng.integers(3, 7)), places)
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        total += len(paragraph.split())
    return Page(_pick(rng, FILLER_TITLES[lang]), tuple(paragraphs), lang)


def soft_404_page(site: str) -> Page:
    """The one "page not found" text a site answers with at every URL it no longer serves (in English, as
    many sites do whatever the page's language): a fixed apology, then three sentences of the site's own
    that no other site's not-found page shares, as each site's own 404 page differs."""
    rng = np.random.Generator(np.random.PCG64(stable_index(site, 2**62)))
    own = " ".join(filler_sentences(rng, "en", 3, places=(site,)))
    return Page(
        "Page not found",
        (f"Sorry, {site} has no page at this address. It may have been moved or deleted.", own),
        "en",
    )


def filler_sentences(rng: np.random.Generator, lang: str, n: int, places: Sequence[str] = ()) -> list[str]:
    """`n` filler sentences in `lang`; with `places`, each subject is placed in one of them."""
    sentences = []
    for _ in range(n):
        subject = _pick(rng, FILLER_SUBJECTS[lang])
        if places:
            subject += f" {FILLER_PREPOSITIONS[lang]} {_pick(rng, places)}"
        predicate = _pick(rng, FILLER_PREDICATES[lang])
        sentences.append(f"{subject} {predicate}{_pick(rng, FILLER_TAILS[lang])}.")
    return sentences


def page_html(
    page: Page,
    site: str,
    *,
    published_meta: datetime | None = None,
    json_ld: tuple[datetime, datetime] | None = None,
) -> str:
    """The page as an HTML document: site navigation and footer around an `<article>` holding the main text.

    `published_meta` adds `<meta property="article:published_time">`; `json_ld` = (published, modified) adds a
    schema.org JSON-LD block with datePublished and dateModified.
    """
    head = [
        '<meta charset="utf-8">',
        f"<title>{html.escape(page.title)} | {html.escape(site)}</title>",
    ]
    if published_meta is not None:
        head.append(f'<meta property="article:published_time" content="{_iso(published_meta)}">')
    if json_ld is not None:
        data = {
            "@context": "https://schema.org",
            "@type": "Article",
            "headline": page.title,
            "datePublished": _iso(json_ld[0]),
            "dateModified": _iso(json_ld[1]),
        }
        head.append(f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>')
    body = "".join(f"<p>{html.escape(p, quote=False)}</p>\n" for p in page.paragraphs)
    return (
        f'<!DOCTYPE html>\n<html lang="{page.lang}">\n<head>\n' + "\n".join(head) + "\n</head>\n<body>\n"
        f'<header><nav><a href="/">{html.escape(site)}</a></nav></header>\n'
        f"<main><article>\n<h1>{html.escape(page.title, quote=False)}</h1>\n{body}</article></main>\n"
        f"<footer><p>{html.escape(site)} · {SITE_FOOTERS[page.lang]}</p></footer>\n</body>\n</html>\n"
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(0, len(options)))]
