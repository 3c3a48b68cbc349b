"""Close language groups: which languages fastText lid.176 confuses, and the tie-break that decides within one.

A close group is a set of languages that first-pass identifiers mix up (bench/langid_eval.py prints the
confusion within each group on both labelled sets): Malay/Indonesian, the Serbo-Croatian standards and
Slovene in Latin script, the Slavic languages in Cyrillic (Serbian/Macedonian/Bulgarian, Russian/Ukrainian/
Belarusian), Bokmål/Nynorsk/Danish and Czech/Slovak. Where the first pass lands in a group, every second
opinion is asked *restricted to the group's members*: lingua (a detector built from the group only), CLD2
(`pycld2`, whose answer is kept only where it names a member) and langid.py (`py3langid`, restricted to the
members), together with fastText's own probabilities. Their log-probabilities are summed with a weight per
detector and a bias per language (both chosen on the even lines of the two labelled sets by
bench/langid_tune.py) and the best member wins.

Script decides before any detector does: Serbian is written in Cyrillic and in Latin, so a Serbian (or Bosnian,
Croatian) first-pass label on mostly Cyrillic text opens the Cyrillic group (where Croatian is not a
candidate) and on Latin text the Latin group. There lingua (whose Serbian model is Cyrillic) all but vetoes
Serbian; langid.py (`srl`) and CLD2 see Serbian Latin but also call much Bosnian Serbian. Tried on the even
lines: making lingua neutral on Serbian in Latin script took Serbian Latin (transliterated sentences) from
~2% to 42-54% but Bosnian from 50% to 32% and eld's Croatian from 91% to 85%. The labelled languages won.
Spelling decides instead where it can: a Bosnian or Croatian answer on a text that writes yat the ekavian way
or spells a loan as Serbian does and Croatian and Bosnian do not (istorija, avgust), with no ijekavian word
(mixers/yat_reflex.py), becomes Serbian. On the held-out lines that took Serbian Latin from 0% to 30%
(lingua's sentences, 15 of 50) and 37.6% (eld's, 188 of 500), and the words' inflected forms (2026-12-05) to
34% (17) and 40.4% (202); no Bosnian or Croatian sentence became Serbian; the rest of Serbian Latin, with no such word, is still called Bosnian or Croatian
(bench/langid_eval.py prints it as `sr-Latn`).

Words decide the same way between Malay and Indonesian and between Croatian and Bosnian: a text holding words
that only one standard writes (kerana/karena, bahagian/bagian, universiti/universitas; tijekom,
siječanj/januar, Europa/Evropa) and none of the other's gets that standard (mixers/standard_markers.py),
before the Serbian spelling rule runs. On the held-out lines it moved eld's Malay from 95.0% to 95.4% and
Croatian from 90.6% to 91.4%, lingua's Indonesian from 84% to 86% and Bosnian from 44% to 46%, and lingua's
Malay from 38% to 32%: that file holds more sentences with Indonesian words only (28 of 100) than with Malay
words only (4; bench/langid_ceiling.py), and three of them are now called Indonesian.

Every model used here ships inside its wheel; nothing downloads at run time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mixers.standard_markers import (
    BOSNIAN_SERBIAN,
    CROATIAN,
    INDONESIAN,
    MALAY,
    StandardMarkers,
    marked_standard,
)
from mixers.yat_reflex import is_serbian_spelling

# Detector names as recorded in `lang_detector`.
FASTTEXT, LINGUA, CLD2, PY3LANGID = "fasttext", "lingua", "cld2", "py3langid"
SPELLING = "spelling"  # not a detector: spelling or words decided (mixers/yat_reflex.py, standard_markers.py)
SECOND_OPINIONS: tuple[str, ...] = (LINGUA, CLD2, PY3LANGID)


@dataclass(frozen=True)
class CloseGroup:
    """Languages (record codes) that are told apart by the tie-break. `script` is the script the members
    share here: `Latn` or `Cyrl`. `ask_below`: the tie-break runs only where fastText's top probability is
    below it (1.0 = always); groups holding a very common language (Russian) ask only where fastText is
    unsure, so the common case costs nothing extra."""

    name: str
    members: tuple[str, ...]
    script: str = "Latn"
    ask_below: float = 1.0
    opened_by: tuple[str, ...] = ()  # first-pass labels, beyond the members, that open the group
    # Bosnian or Croatian turned to Serbian where the text is spelled as Serbian (mixers/yat_reflex.py)
    serbian_spelling: bool = False
    # Two members' own words (mixers/standard_markers.py): a text with one side's and not the other's is in it
    standard_markers: tuple[StandardMarkers, StandardMarkers] | None = None


CLOSE_GROUPS: tuple[CloseGroup, ...] = (
    CloseGroup("malay", ("id", "ms"), standard_markers=(MALAY, INDONESIAN)),
    CloseGroup(
        "south-slavic-latin",
        ("bs", "hr", "sl", "sr"),
        opened_by=("sh",),
        serbian_spelling=True,
        standard_markers=(CROATIAN, BOSNIAN_SERBIAN),
    ),
    CloseGroup(
        "slavic-cyrillic",
        ("be", "bg", "mk", "ru", "sr", "uk"),
        script="Cyrl",
        ask_below=0.9,
        opened_by=("bs", "hr", "sh"),  # Serbo-Croatian labels on Cyrillic text: Serbian is the candidate
    ),
    CloseGroup("scandinavian", ("da", "nb", "nn"), opened_by=("no",)),
    CloseGroup("czech-slovak", ("cs", "sk")),
)
_OPENERS = frozenset(c for g in CLOSE_GROUPS for c in (*g.members, *g.opened_by))
# Labels that first-pass models give for a macrolanguage: lid.176's `no` (Norwegian) and `sh` (Serbo-Croatian).
MACRO_MEMBERS: dict[str, tuple[str, ...]] = {"no": ("nb", "nn"), "sh": ("bs", "hr", "sr")}
# Codes the second opinions use where the record's differ (CLD2 and langid.py say `no` for Bokmål; CLD2
# `sr-ME` is Montenegrin, written like Serbian, and keeps ISO 639's withdrawn `jw` for Javanese and `iw` for
# Hebrew).
SECOND_OPINION_ALIASES: dict[str, str] = {"no": "nb", "sr-ME": "sr", "sh": "hr", "jw": "jv", "iw": "he"}


_NOT_CYRILLIC = re.compile("[^\u0400-\u052f]")
_NOT_LATIN = re.compile("[^\x00-\u024f]")


def letters_of(text: str) -> str:
    """The letters of `text` (str.isalpha), in order."""
    return "".join(filter(str.isalpha, text))


def cyrillic_share(text: str) -> float:
    """Share of the letters of `text` that are Cyrillic (U+0400..U+052F); 0 for a text without letters."""
    if text.isascii():  # the common case, and no Cyrillic letter
        return 0.0
    letters = letters_of(text)
    return len(_NOT_CYRILLIC.sub("", letters)) / len(letters) if letters else 0.0


def latin_share(text: str) -> float:
    """Share of the letters of `text` that are Latin (U+0041..U+024F); 1 for a text without letters."""
    if text.isascii():  # every ASCII letter is Latin
        return 1.0
    letters = letters_of(text)
    return len(_NOT_LATIN.sub("", letters)) / len(letters) if letters else 1.0


def group_of(code: str, text: str) -> CloseGroup | None:
    """The close group a first-pass `code` opens for `text`, chosen by script: a Cyrillic text opens a
    Cyrillic group, a Latin one a Latin group. None where `code` is in no group of the text's script."""
    if code not in _OPENERS:  # the common case: no script to look at
        return None
    script = "Cyrl" if cyrillic_share(text) >= 0.5 else "Latn"
    for group in CLOSE_GROUPS:
        if group.script == script and (code in group.members or code in group.opened_by):
            return group
    return None


@dataclass(frozen=True)
class TieBreak:
    """How the members of a group are weighed: log-probability weight per detector, bias per language."""

    weights: Mapping[str, float]
    bias: Mapping[str, float]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - {FASTTEXT, *SECOND_OPINIONS})
        if unknown:
            raise ValueError(f"tie-break weights {unknown}: no such detector")
        if any(w < 0 or not math.isfinite(w) for w in self.weights.values()):
            raise ValueError(f"tie-break weights {dict(self.weights)}: must be finite and >= 0")
        if not any(w > 0 for w in self.weights.values()):
            raise ValueError("tie-break weights: at least one must be positive")

    def key(self) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float], ...]]:
        return tuple(sorted(self.weights.items())), tuple(sorted(self.bias.items()))


# Chosen per group by bench/langid_tune.py on the even lines of lingua's sentences and of eld's test file; the
# odd lines are reported by bench/langid_eval.py and were not looked at while choosing.
DEFAULT_TIE_BREAKS: dict[str, TieBreak] = {
    "malay": TieBreak({FASTTEXT: 1.0, LINGUA: 1.0, CLD2: 0.25, PY3LANGID: 0.25}, {"ms": 2.0}),
    "south-slavic-latin": TieBreak({FASTTEXT: 0.25, LINGUA: 1.0, CLD2: 0.0, PY3LANGID: 1.0}, {"bs": 0.25}),
    "slavic-cyrillic": TieBreak({FASTTEXT: 0.25, LINGUA: 1.0, CLD2: 0.0, PY3LANGID: 0.25}, {"sr": 0.75}),
    "scandinavian": TieBreak({FASTTEXT: 0.25, LINGUA: 0.5, CLD2: 0.0, PY3LANGID: 0.25}, {"nb": 0.25}),
    "czech-slovak": TieBreak({FASTTEXT: 0.0, LINGUA: 0.0, CLD2: 0.25, PY3LANGID: 0.0}, {}),
}
_EPS = 1e-3  # floor under every probability, so one detector's 0 is a strong vote, not a veto
_LINGUA_GROUP: dict[frozenset[str], Any] = {}
_PY3LANGID: dict[tuple[str, ...], Any] = {}


def fasttext_in_group(top_k: Sequence[tuple[str, float]], members: Sequence[str]) -> dict[str, float]:
    """fastText's probabilities of `members`, a macrolanguage label's mass shared among its members."""
    out = dict.fromkeys(members, 0.0)
    for code, prob in top_k:
        for member in MACRO_MEMBERS.get(code, (code,)):
            if member in out:
                out[member] += prob / len(MACRO_MEMBERS.get(code, (code,)))
    return out


def lingua_in_group(texts: list[str], members: Sequence[str]) -> list[dict[str, float]]:
    """lingua's confidence of each member, from a detector built from the members only."""
    if not texts:
        return []
    key = frozenset(members)
    detector = _LINGUA_GROUP.get(key)
    if detector is None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in sorted(key)]
        detector = LanguageDetectorBuilder.from_languages(*languages).build()
        _LINGUA_GROUP[key] = detector
    rows = [
        detector.compute_language_confidence_values(text) for text in texts
    ]  # serial: see _lingua_confidences
    return [{v.language.iso_code_639_1.name.lower(): float(v.value) for v in row} for row in rows]


def cld2_in_group(texts: list[str], members: Sequence[str]) -> list[dict[str, float] | None]:
    """CLD2's share of each member among the (up to three) languages it reports; None where it names no
    member (it then abstains). CLD2 cannot be restricted, so its other languages are dropped."""
    import pycld2

    out: list[dict[str, float] | None] = []
    for text in texts:
        try:
            details = pycld2.detect(text, bestEffort=True)[2]
        except (pycld2.error, UnicodeEncodeError):  # invalid UTF-8 (lone surrogates) and the like: no opinion
            out.append(None)
            continue
        shares = dict.fromkeys(members, 0.0)
        for _, code, percent, _ in details:
            code = SECOND_OPINION_ALIASES.get(code, code)
            if code in shares:
                shares[code] += float(percent)
        total = sum(shares.values())
        out.append({c: v / total for c, v in shares.items()} if total > 0 else None)
    return out


def py3langid_in_group(texts: list[str], members: Sequence[str]) -> list[dict[str, float]]:
    """langid.py's (py3langid) normalised probabilities of the members, restricted to them. Its Serbian
    label covers its Cyrillic and Latin (`srl`) models."""
    key = tuple(sorted(members))
    identifier = _PY3LANGID.get(key)
    if identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        theirs = {"nb": "no"}
        identifier.set_languages([theirs.get(c, c) for c in key if theirs.get(c, c) in identifier.labels])
        _PY3LANGID[key] = identifier
    out = []
    for text in texts:
        ranked = identifier.rank(text)
        out.append({SECOND_OPINION_ALIASES.get(c, c): float(p) for c, p in ranked})
    return out


@dataclass(frozen=True)
class GroupDecision:
    lang: str
    share: float  # the winner's fused probability among the members, in [0, 1]
    detector: str  # the detector whose vote contributed most to the winner's lead, or SPELLING (by_spelling)


Votes = dict[str, dict[str, float] | None]  # detector -> probability of each member, None = abstained


def group_votes(
    texts: list[str],
    top_ks: Sequence[Sequence[tuple[str, float]]],
    members: Sequence[str],
    detectors: Sequence[str] = SECOND_OPINIONS,
) -> list[Votes]:
    """Each text's votes over `members`: fastText's (from `top_ks`) and those of `detectors`."""
    columns: dict[str, Sequence[dict[str, float] | None]] = {
        FASTTEXT: [fasttext_in_group(top_k, members) for top_k in top_ks]
    }
    ask = {LINGUA: lingua_in_group, CLD2: cld2_in_group, PY3LANGID: py3langid_in_group}
    for name in detectors:
        columns[name] = ask[name](texts, members)
    return [{name: rows[i] for name, rows in columns.items()} for i in range(len(texts))]


def decide_group(
    texts: list[str],
    top_ks: Sequence[Sequence[tuple[str, float]]],
    group: CloseGroup,
    tie_break: TieBreak,
) -> list[GroupDecision]:
    """The member of `group` each text is written in, from fastText's `top_ks` and the second opinions, then
    from the words of one standard (`by_standard_words`) and, in a group with `serbian_spelling`, from the
    spelling (`by_spelling`)."""
    asked = [name for name in SECOND_OPINIONS if tie_break.weights.get(name, 0.0) > 0]
    votes = group_votes(texts, top_ks, group.members, asked)
    decided = [fuse(row, group.members, tie_break) for row in votes]
    if group.standard_markers is not None:
        decided = [
            by_standard_words(d, text, row, group.standard_markers, group.members, tie_break)
            for d, text, row in zip(decided, texts, votes, strict=True)
        ]
    if not group.serbian_spelling:
        return decided
    return [
        by_spelling(d, text, row, group.members, tie_break)
        for d, text, row in zip(decided, texts, votes, strict=True)
    ]


def by_standard_words(
    decision: GroupDecision,
    text: str,
    votes: Mapping[str, Mapping[str, float] | None],
    pair: tuple[StandardMarkers, StandardMarkers],
    members: Sequence[str],
    tie_break: TieBreak,
) -> GroupDecision:
    """`decision` turned to the other member of `pair` where the detectors chose one of the pair but `text`
    holds only the other's own words (mixers/standard_markers.marked_standard); its share is then the
    fused share of the pair among `members`. A decision outside the pair (Slovene in the South Slavic
    group) is kept."""
    langs = (pair[0].lang, pair[1].lang)
    if decision.lang not in langs:
        return decision
    marked = marked_standard(text, pair)
    if marked is None or marked == decision.lang:
        return decision
    return GroupDecision(marked, fused_share(votes, members, tie_break, langs), SPELLING)


def by_spelling(
    decision: GroupDecision,
    text: str,
    votes: Mapping[str, Mapping[str, float] | None],
    members: Sequence[str],
    tie_break: TieBreak,
) -> GroupDecision:
    """`decision` turned to Serbian where the detectors chose Bosnian or Croatian but `text` is spelled as
    Serbian (mixers/yat_reflex.is_serbian_spelling: ekavian yat, or a loan spelled the Serbian way, and no
    ijekavian word); its share is then the fused share of the three Serbo-Croatian
    standards among `members` (how sure the detectors were of the family, which the spelling splits)."""
    if decision.lang not in ("bs", "hr") or "sr" not in members or not is_serbian_spelling(text):
        return decision
    return GroupDecision("sr", fused_share(votes, members, tie_break, ("bs", "hr", "sr")), SPELLING)


def spelled_member(text: str, group: CloseGroup) -> str | None:
    """The member of `group` that `text`'s own words or spelling name (the evidence of by_standard_words
    and by_spelling), None where they name none."""
    if group.serbian_spelling and "sr" in group.members and is_serbian_spelling(text):
        return "sr"
    if group.standard_markers is not None:
        return marked_standard(text, group.standard_markers)
    return None


def fused_scores(
    votes: Mapping[str, Mapping[str, float] | None], members: Sequence[str], tie_break: TieBreak
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Σ_detector weight·log(p + ε) + bias for each member, and each detector's term per member (a detector
    that abstained, None, or has weight 0 has no term)."""
    terms: dict[str, dict[str, float]] = {}
    for name, probs in votes.items():
        weight = tie_break.weights.get(name, 0.0)
        if probs is None or weight == 0:
            continue
        terms[name] = {c: weight * math.log(probs.get(c, 0.0) + _EPS) for c in members}
    scores = {c: sum(t[c] for t in terms.values()) + tie_break.bias.get(c, 0.0) for c in members}
    return scores, terms


def fused_share(
    votes: Mapping[str, Mapping[str, float] | None],
    members: Sequence[str],
    tie_break: TieBreak,
    langs: Sequence[str],
) -> float:
    """The fused probability, in [0, 1], that the text is in one of `langs` (those of them among `members`):
    how sure the detectors were of a family that spelling or words then split."""
    shares = softmax(fused_scores(votes, members, tie_break)[0])
    return sum(shares[c] for c in langs if c in shares)


def softmax(scores: Mapping[str, float]) -> dict[str, float]:
    """exp(score) normalised to sum to 1."""
    top = max(scores.values())
    weights = {c: math.exp(s - top) for c, s in scores.items()}
    total = sum(weights.values())
    return {c: w / total for c, w in weights.items()}


def fuse_where_known(
    votes: Mapping[str, Mapping[str, float] | None],
    candidates: Sequence[str],
    known: frozenset[str],
    tie_break: TieBreak,
) -> tuple[GroupDecision, dict[str, float]]:
    """`fuse` for a second opinion that knows only the `known` candidates (lingua's 75 of lid.176's 176):
    it splits fastText's mass on those, and leaves fastText's probability of each other candidate as it is,
    instead of voting ε for them (which no fastText probability can outweigh). So Aragonese, Galician or
    Javanese stay in the running where fastText ranks them, and lingua still decides among the languages it
    knows. Where fastText gives the known candidates no mass at all (a language lid.176 lacks, such as Zulu,
    brought in by lingua or CLD2 alone) or no candidate is unknown, it is `fuse`. Returns the decision and
    the shares (summing to 1) of the known candidates and of the unknown ones fastText ranks."""
    fasttext = votes[FASTTEXT] or {}
    unknown = [c for c in candidates if c not in known and fasttext.get(c, 0.0) > 0]
    inside = [c for c in candidates if c in known]
    inside_mass = sum(fasttext.get(c, 0.0) for c in inside)
    if not unknown or inside_mass <= 0:
        return fuse(votes, candidates, tie_break), softmax(fused_scores(votes, candidates, tie_break)[0])
    total = inside_mass + sum(fasttext[c] for c in unknown)
    inside_mass /= total
    shares = {c: inside_mass * p for c, p in softmax(fused_scores(votes, inside, tie_break)[0]).items()}
    shares |= {c: fasttext[c] / total for c in unknown}
    winner = min(shares, key=lambda c: (-shares[c], c))
    detector = fuse(votes, inside, tie_break).detector if winner in inside else FASTTEXT
    return GroupDecision(winner, shares[winner], detector), shares


def cld2_reweighed(
    shares: Mapping[str, float],
    inside: frozenset[str],
    cld2_first: str | None,
    cld2_known: frozenset[str],
    weight: float,
) -> dict[str, float]:
    """`shares` (candidate -> probability, summing to 1) after CLD2's vote between the candidates lingua
    decided among (`inside`, one block: lingua has ordered them) and each other candidate CLD2 can detect:
    each gets (1 if it is, or the block holds, CLD2's first language `cld2_first`, else 0, + ε)^`weight`,
    and their mass is kept. Candidates neither lingua nor CLD2 knows keep their shares."""
    outside = [c for c in shares if c not in inside and c in cld2_known]
    if not outside or weight == 0:
        return dict(shares)
    block = sum(p for c, p in shares.items() if c in inside)
    mass = block + sum(shares[c] for c in outside)

    def factor(named: bool) -> float:
        return (float(named) + _EPS) ** weight

    raw = {c: shares[c] * factor(c == cld2_first) for c in outside}
    raw_block = block * factor(cld2_first in inside)
    total = raw_block + sum(raw.values())
    if total <= 0:
        return dict(shares)
    out = dict(shares)
    for c in inside & shares.keys():
        out[c] = shares[c] / block * raw_block / total * mass if block > 0 else 0.0
    for c in outside:
        out[c] = raw[c] / total * mass
    return out


def fuse(
    votes: Mapping[str, Mapping[str, float] | None], members: Sequence[str], tie_break: TieBreak
) -> GroupDecision:
    """The best member by `fused_scores`, its softmax share, and the detector with the largest part in its
    lead over the runner-up (ties between members go to the smaller code, so dict order never matters)."""
    scores, terms = fused_scores(votes, members, tie_break)
    ranked = sorted(members, key=lambda c: (-scores[c], c))
    winner = ranked[0]
    share = softmax(scores)[winner]
    if len(ranked) == 1 or not terms:
        return GroupDecision(winner, share, FASTTEXT)
    leads = {name: t[winner] - t[ranked[1]] for name, t in terms.items()}
    detector = max(sorted(leads), key=lambda name: leads[name])
    return GroupDecision(winner, share, detector)
