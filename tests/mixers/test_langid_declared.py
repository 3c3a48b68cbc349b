"""A page's own language tag decides only where the detectors cannot (mixers/langid_declared.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from mixers.langid import LangIdConfig, LangIdKernel, cld2_detectable, identify, lingua_codes
from mixers.langid_declared import DECLARED, DECLARED_FLOOR, declared_code, declared_decision
from mixers.langid_groups import CLOSE_GROUPS

SCANDINAVIAN = next(g for g in CLOSE_GROUPS if g.name == "scandinavian")


def test_declared_code_reads_tags_and_header_values() -> None:
    assert declared_code("en-US") == "en"
    assert declared_code("pt_BR") == "pt"
    assert declared_code("AN") == "an"
    assert declared_code("de, en") == "de"
    assert declared_code("spa") == "es"  # ISO 639-2/3 to the record's 639-1
    for unreadable in (None, "", "x-default", "12", "english"):
        assert declared_code(unreadable) is None, unreadable


def test_the_declaration_decides_only_where_the_detectors_cannot() -> None:
    known = lingua_codes() | cld2_detectable()
    top_k = [("es", 0.67), ("gl", 0.12), ("ca", 0.04), ("an", 0.02), ("en", 0.011)]
    # a language no second opinion knows, which fastText ranks: the declaration names it
    assert "an" not in known
    lang, score = declared_decision("an", "es", top_k, None, 0.0, known) or ("", 0.0)
    assert lang == "an" and abs(score - 0.69) < 1e-9  # fastText's mass on the two
    # one fastText sees no trace of is not taken on the page's word
    assert declared_decision("an", "es", [("es", 0.99), ("an", DECLARED_FLOOR / 2)], None, 0.0, known) is None
    # a language the detectors know is theirs to judge: a template's `en` on a Spanish page stays Spanish
    assert declared_decision("en", "es", top_k, None, 0.0, known) is None
    # within a close group whose tie-break ran, a member the page names decides, with the group's mass
    assert declared_decision("da", "nb", [("da", 0.44), ("no", 0.2)], SCANDINAVIAN, 0.9, known) == ("da", 0.9)
    # ... but not a language outside the group, nor one the detectors would have to take on trust alone
    assert declared_decision("sv", "nb", [("sv", 0.3), ("no", 0.3)], SCANDINAVIAN, 0.9, known) is None
    assert declared_decision("nn", "nb", [("nb", 0.9), ("nn", 0.005)], SCANDINAVIAN, 0.9, known) is None
    # a macrolanguage does not say which member: `sh` on Croatian, `no` on Danish change nothing
    assert declared_decision("sh", "hr", [("sr", 0.36), ("sh", 0.11)], None, 0.0, known) is None
    assert declared_decision("no", "da", [("da", 0.5), ("no", 0.4)], SCANDINAVIAN, 0.9, known) is None
    # agreeing, or no tag: nothing to do
    assert declared_decision("es", "es", top_k, None, 0.0, known) is None
    assert declared_decision(None, "es", top_k, None, 0.0, known) is None


def test_identify_heeds_a_declared_close_group_member_and_nothing_else() -> None:
    # Danish by the tie-break; the page says Bokmål, which fastText ranks: within the group the page's word
    # stands (detectors tell these apart at 50-90%; its author knows)
    danish = "Norwegian-aktien åbner 2020 med et hop op i værdi. Stigningen er den første."
    english = "The council approved the new budget for the coming year after a long debate."
    texts = [danish, english, english]
    plain = identify(texts)
    heeded = identify(texts, declared=["nb", "de", None])
    assert plain[0].lang == "da"
    assert (heeded[0].lang, heeded[0].detector) == ("nb", DECLARED)
    # English declared as German (a template's tag): the detectors know both, so the text decides
    assert [d.lang for d in heeded[1:]] == [d.lang for d in plain[1:]] == ["en", "en"]
    # without second opinions the page's tag is not read either: fastText alone
    alone = identify(texts, LangIdConfig(second_opinion=False), declared=["nb", "de", None])
    assert [d.lang for d in alone] == [d.lang for d in identify(texts, LangIdConfig(second_opinion=False))]


def test_a_tag_does_not_overrule_a_text_whose_own_words_name_its_language() -> None:
    # Croatian by lingua, and by its words (tijekom: Bosnian and Serbian write tokom); a page template's `sr`
    # does not turn it, where the same tag turns a Danish text that nothing in its words marks
    croatian = (
        "Vlada Republike Hrvatske usvojila je danas novi zakon o obrazovanju, koji predviđa povećanje plaća "
        "učiteljima i bolju opremu u školama tijekom iduće godine."
    )
    danish = "Norwegian-aktien åbner 2020 med et hop op i værdi. Stigningen er den første."
    plain = identify([croatian, danish])
    tagged = identify([croatian, danish], declared=["sr", "nb"])
    assert [d.lang for d in plain] == ["hr", "da"]
    assert [(d.lang, d.detector) for d in tagged] == [("hr", plain[0].detector), ("nb", DECLARED)]
    assert tagged[0].score == pytest.approx(plain[0].score, abs=1e-9)  # lingua sums in its own order


def test_the_aragonese_capture_is_aragonese_where_its_html_says_so(data_dir: Path) -> None:
    """The one real Common Crawl capture in the sample: Aragonese Wikipedia, `<html lang="an">` and
    Content-Language `an`. Its WARC form carries the tag and is identified as Aragonese; its WET form has
    no markup, and the detectors alone call it Spanish (as Common Crawl's own label does)."""
    rows = []
    for name in ("cc-whirlwind_whirlwind.warc.gz", "cc-whirlwind_whirlwind.warc.wet.gz"):
        for batch in read_documents(str(data_dir / "warc" / name), ReadOptions(), RejectLog()):
            rows += batch.to_pylist()
    assert [r["declared_lang"] for r in rows] == ["an", None]
    out = LangIdKernel()(pa.RecordBatch.from_pylist(rows)).to_pylist()
    warc, wet = out
    assert (warc["lang"], warc["lang_detector"]) == ("an", DECLARED)
    assert 0.1 <= warc["lang_score"] <= 1.0
    assert wet["lang"] == "es" and wet["cc_lang"] == "spa"
