"""ISO 639 language codes: the record's convention is ISO 639-1 where one exists, else the 639-3 code.

fastText lid.176 labels are mostly 639-1 already (plus 639-3/Wikipedia codes like `ceb`, `als`); GlotLID and
other models label in 639-3 with a script suffix (`eng_Latn`). No installed library carries the 639-3 to
639-1 table (lingua knows only its 75 languages), so the table of the 184 languages that have a 639-1 code is
written out here.
"""

from __future__ import annotations

import functools

UND = "und"  # no language: a text without a letter, or one under langid's threshold

# 639-3 (and 639-2/B where it differs) -> 639-1, for every language that has a 639-1 code.
_PAIRS = """
aar aa abk ab afr af aka ak amh am ara ar arg an asm as ava av ave ae aym ay aze az bak ba bam bm bel be
ben bn bis bi bod bo tib bo bos bs bre br bul bg cat ca ces cs cze cs cha ch che ce chu cu chv cv cor kw
cos co cre cr cym cy wel cy dan da deu de ger de div dv dzo dz ell el gre el eng en epo eo est et eus eu
baq eu ewe ee fao fo fas fa per fa fij fj fin fi fra fr fre fr fry fy ful ff gla gd gle ga glg gl glv gv
grn gn guj gu hat ht hau ha heb he her hz hin hi hmo ho hrv hr hun hu hye hy arm hy ibo ig ido io iii ii
iku iu ile ie ina ia ind id ipk ik isl is ice is ita it jav jv jpn ja kal kl kan kn kas ks kat ka geo ka
kau kr kaz kk khm km kik ki kin rw kir ky kom kv kon kg kor ko kua kj kur ku lao lo lat la lav lv lim li
lin ln lit lt ltz lb lub lu lug lg mah mh mal ml mar mr mkd mk mac mk mlg mg mlt mt mon mn mri mi mao mi
msa ms may ms mya my bur my nau na nav nv nbl nr nde nd ndo ng nep ne nld nl dut nl nno nn nob nb nor no
nya ny oci oc oji oj ori or orm om oss os pan pa pli pi pol pl por pt pus ps que qu roh rm ron ro rum ro
run rn rus ru sag sg san sa sin si slk sk slo sk slv sl sme se smo sm sna sn snd sd som so sot st spa es
sqi sq alb sq srd sc srp sr ssw ss sun su swa sw swe sv tah ty tam ta tat tt tel te tgk tg tgl tl tha th
tir ti ton to tsn tn tso ts tuk tk tur tr twi tw uig ug ukr uk urd ur uzb uz ven ve vie vi vol vo wln wa
wol wo xho xh yid yi yor yo zha za zho zh chi zh zul zu hbs sh
"""
# Individual languages that 639-1 folds into a macrolanguage code (GlotLID and NLLB use them).
_INDIVIDUAL = """
arb ar zsm ms pes fa prs fa swh sw ekk et lvs lv khk mn npi ne ory or pbt ps plt mg uzn uz ydd yi
cmn zh gaz om azj az quy qu als sq
"""


def _table(text: str) -> dict[str, str]:
    words = text.split()
    return dict(zip(words[::2], words[1::2], strict=True))


ISO639_3_TO_1: dict[str, str] = {**_table(_PAIRS), **_table(_INDIVIDUAL)}
ISO639_1: frozenset[str] = frozenset(ISO639_3_TO_1.values())
# lid.176 uses Wikipedia's code `als` for Alemannic, which ISO 639-3 gives to Tosk Albanian.
_WIKIPEDIA_CODES: dict[str, str] = {"als": "gsw"}


@functools.lru_cache(maxsize=4096)  # a model has a few hundred labels; each line asks for ten of them
def normalise_code(label: str) -> str:
    """A classifier label (`__label__en`, `__label__eng_Latn`, `eng`, `en`) as the record's code: ISO 639-1
    where one exists, else the lower-case 639-3 (or other) code. Empty labels give `und`."""
    code = label.removeprefix("__label__").strip()
    with_script = "_" in code  # GlotLID style `als_Latn`: a true ISO 639-3 code
    code = code.split("_", 1)[0].split("-", 1)[0].lower()
    if not code:
        return "und"
    if len(code) == 2:
        return code
    if not with_script:
        code = _WIKIPEDIA_CODES.get(code, code)
    return ISO639_3_TO_1.get(code, code)


def given_code(value: str | None) -> str | None:
    """A `lang` value a dataset brought, as the record's code (`EN`, `en-US` and `en_GB` give `en`,
    `zh_Hant` gives `zh`, `eng` gives `en`), or None where it names no language: null, blank, a two-letter
    code ISO 639-1 does not have (`xx`), or anything that is not two or three ASCII letters. `und` stays."""
    if value is None or not value.strip():
        return None
    code = normalise_code(value)
    if not (code.isascii() and code.isalpha()) or (code == "und" and value.strip().lower() != "und"):
        return None
    if len(code) == 2:
        return code if code in ISO639_1 or code in _WITHDRAWN_BUT_WRITTEN else None
    return code if len(code) == 3 else None


# Two-letter codes ISO 639-1 withdrew that lid.176 still writes (Bihari): langid's own output must pass.
_WITHDRAWN_BUT_WRITTEN = frozenset({"bh"})
