"""A page's own statement of its language (`<html lang>`, else HTTP Content-Language: the record's
`declared_lang`, corpus.warc) as the last word where the detectors cannot give one.

Declarations are often wrong. Of the 200 real news pages in ../shared/data/dating, 167 declare a language
and 12 disagree with the detectors (`python bench/langid_declared.py`). Ten of the 12 are template defaults
(`en`, `en-US`, `en_IN`) on pages written in Tagalog, Thai, Albanian, Romanian, Georgian, Gujarati, Spanish
and Arabic. So a declaration never outvotes the detectors on which language family a page is in. It
decides only in two cases, where they cannot tell:
- **Close groups.** The text went to a close group's tie-break (mixers/langid_groups.py: fastText under the
  group's ask_below, which is 1.0 for most groups: every text fastText puts there), the detectors decided
  it (not the text's own spelling or words: mixers/yat_reflex.py, standard_markers.py), and the declaration
  names a member of that group that fastText ranks at DECLARED_FLOOR or above. A detector tells Danish from
  Bokmål, or Malay from Indonesian, at 50-90%; the page's author knows which one they write. The score is then the group's mass: the
  probability that the text is in the group, not in the declared member alone.
- **Languages no second opinion knows.** fastText ranks the declared language at DECLARED_FLOOR or above,
  and neither lingua nor CLD2 can name it. No detector exists that could confirm it, and the big neighbour
  wins by default: the Aragonese Wikipedia capture in ../shared/data/warc (which declares `an` both in its
  HTML and in its Content-Language header) reads as Spanish, fastText 0.22 against 0.21 for Aragonese.
A declared `en` never decides: English is in no close group, and every detector knows it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from mixers.langcodes import UND, normalise_code
from mixers.langid_groups import MACRO_MEMBERS, CloseGroup

DECLARED = "declared"  # lang_detector where the page's declaration decided
# fastText's probability under which a declared language does not decide: a page that names a language its
# text shows no trace of (a template's tag on a page in another language) is not in it.
DECLARED_FLOOR = 0.01


def declared_code(tag: str | None) -> str | None:
    """The record code (mixers.langcodes) of a BCP 47 tag or a Content-Language value ("en-US", "pt_BR",
    "de, en": the first); None for an empty or unreadable one."""
    if not tag:
        return None
    first = tag.split(",")[0].strip().replace("_", "-")
    primary = first.split("-")[0].lower()
    if not primary.isalpha() or not 2 <= len(primary) <= 3:
        return None
    return normalise_code(primary)


def declared_decision(
    declared: str | None,
    decided: str,
    top_k: list[tuple[str, float]],
    group: CloseGroup | None,
    group_mass: float,
    known_to_second_opinions: Collection[str],
) -> tuple[str, float] | None:
    """(language, score) where the page's declaration decides (see the module docstring), else None.

    `declared` is a record code (declared_code), `decided` the detectors' answer, `top_k` fastText's ranked
    (code, probability) pairs, `group` the close group whose tie-break decided (None where none did) and
    `group_mass` the probability that the text is in that group. The score is the probability of the set
    the declaration chose within: the group's mass, or fastText's for the declared language and the decided
    one together."""
    if declared is None or declared == decided or declared in MACRO_MEMBERS:
        return None  # a macrolanguage (`sh`, `no`) does not say which of its members the page is in
    probabilities = dict(top_k)
    # lid.176 says `no` and `sh` for the macrolanguages: their mass is also their members'
    declared_p = probabilities.get(declared, 0.0) + sum(
        probabilities.get(macro, 0.0) for macro, members in MACRO_MEMBERS.items() if declared in members
    )
    if declared_p < DECLARED_FLOOR:
        return None
    if group is not None and declared in group.members:
        return declared, group_mass
    if declared in known_to_second_opinions:
        return None
    return declared, min(1.0, declared_p + probabilities.get(decided, 0.0))


def declared_overrides(
    tags: Sequence[str | None],
    decided: Sequence[str],
    top_ks: Sequence[list[tuple[str, float]]],
    groups: Mapping[int, CloseGroup],
    group_mass: Mapping[int, float],
    known_to_second_opinions: Collection[str],
) -> dict[int, tuple[str, float]]:
    """{row: (language, score)} for the rows whose declaration decides (declared_decision): `tags` are the
    pages' declared tags, `decided` the detectors' answers (`und` rows are left alone), `groups` the close
    group that decided each row where one did."""
    overrides: dict[int, tuple[str, float]] = {}
    for i, tag in enumerate(tags):
        if decided[i] == UND:
            continue
        verdict = declared_decision(
            declared_code(tag),
            decided[i],
            top_ks[i],
            groups.get(i),
            group_mass.get(i, 0.0),
            known_to_second_opinions,
        )
        if verdict is not None:
            overrides[i] = verdict
    return overrides
