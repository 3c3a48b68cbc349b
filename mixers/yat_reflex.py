"""The yat reflex: the one regular spelling difference between standard Serbian and Bosnian/Croatian.

Common Slavic *ě (yat) is written `e` in standard (ekavian) Serbian and `ije`/`je` in (ijekavian) Bosnian,
Croatian and Montenegrin: vreme/vrijeme, mesto/mjesto, deca/djeca, uvek/uvijek, gde/gdje. In Latin script the
three standards are otherwise written with the same letters, and the detectors that ship in their wheels all
but never say Serbian there (lingua's Serbian model is Cyrillic; bench/langid_eval.py prints the derived
`sr-Latn` set). A text holding ekavian yat words and no ijekavian one is therefore Serbian, whichever of
Bosnian or Croatian the detectors chose; a text without yat words says nothing, and keeps their answer.

The lists are whole, frequent word forms, not stems (a stem like `pre` or `let` also starts many unrelated
words), and leave out ekavian forms that are also other words in Croatian or Bosnian text: `sveta` ("holy"),
`vesti` ("to embroider"), `deci` ("decilitre"), the names `Bela`, `Beli`, `Nedelja`, `Lepa` (Brena), `reči`
and `cela` (common misspellings of `reći`, `čela`), and forms written alike in both (`vremena`, `reci`). The
ijekavian side also holds frequent words without an ekavian partner in the list (`prije`, `dvije`, `svijet`):
any one of them keeps the detectors' answer. Ijekavian Serbian (spoken in Bosnia and Montenegro) keeps the
detectors' answer too: it cannot be told from Bosnian by spelling. Kajkavian, the Zagreb region's dialect,
is ekavian (`dete`, `mleko`), so dialect writing in it would be called Serbian; standard Croatian is not.
"""

from __future__ import annotations

import re

YAT_PAIRS: tuple[tuple[str, str], ...] = (
    ("vreme", "vrijeme"),
    ("mesto", "mjesto"),
    ("mesta", "mjesta"),
    ("mestu", "mjestu"),
    ("reč", "riječ"),
    ("deca", "djeca"),
    ("dece", "djece"),
    ("decu", "djecu"),
    ("lepo", "lijepo"),
    ("lep", "lijep"),
    ("pesma", "pjesma"),
    ("pesme", "pjesme"),
    ("pesmu", "pjesmu"),
    ("svetski", "svjetski"),
    ("svetske", "svjetske"),
    ("svetskog", "svjetskog"),
    ("vek", "vijek"),
    ("veka", "vijeka"),
    ("mleko", "mlijeko"),
    ("dete", "dijete"),
    ("deteta", "djeteta"),
    ("sneg", "snijeg"),
    ("leto", "ljeto"),
    ("ceo", "cio"),
    ("celi", "cijeli"),
    ("cele", "cijele"),
    ("celog", "cijelog"),
    ("primer", "primjer"),
    ("posle", "poslije"),
    ("mera", "mjera"),
    ("mere", "mjere"),
    ("meru", "mjeru"),
    ("mesec", "mjesec"),
    ("meseca", "mjeseca"),
    ("meseci", "mjeseci"),
    ("verovatno", "vjerovatno"),
    ("videti", "vidjeti"),
    ("želeti", "željeti"),
    ("živeti", "živjeti"),
    ("hteo", "htio"),
    ("htela", "htjela"),
    ("uvek", "uvijek"),
    ("gde", "gdje"),
    ("ovde", "ovdje"),
    ("negde", "negdje"),
    ("deo", "dio"),
    ("telo", "tijelo"),
    ("tela", "tijela"),
    ("cena", "cijena"),
    ("cene", "cijene"),
    ("cenu", "cijenu"),
    ("devojka", "djevojka"),
    ("devojke", "djevojke"),
    ("sused", "susjed"),
    ("suseda", "susjeda"),
    ("rešenje", "rješenje"),
    ("rešenja", "rješenja"),
    ("rešen", "riješen"),
    ("rešiti", "riješiti"),
    ("promena", "promjena"),
    ("promene", "promjene"),
    ("promenu", "promjenu"),
    ("zamena", "zamjena"),
    ("podela", "podjela"),
    ("belo", "bijelo"),
    ("reka", "rijeka"),
    ("reke", "rijeke"),
    ("reku", "rijeku"),
    ("pevati", "pjevati"),
    ("pevač", "pjevač"),
    ("vetar", "vjetar"),
    ("delo", "djelo"),
    ("sećanje", "sjećanje"),
    ("seća", "sjeća"),
    ("deliti", "dijeliti"),
    ("lekar", "ljekar"),
    ("savet", "savjet"),
    ("saveta", "savjeta"),
    ("savetnik", "savjetnik"),
    ("izveštaj", "izvještaj"),
    ("uspeh", "uspjeh"),
    ("uspešno", "uspješno"),
    ("predsednik", "predsjednik"),
    ("predsednika", "predsjednika"),
    ("predsedništvo", "predsjedništvo"),
    ("poslednji", "posljednji"),
    ("poslednje", "posljednje"),
    ("poslednjih", "posljednjih"),
    ("sedeo", "sjedio"),
    ("sedeti", "sjedjeti"),
    ("sedište", "sjedište"),
    ("obaveštenje", "obavještenje"),
    ("vest", "vijest"),
    ("odeljenje", "odjeljenje"),
    ("razumeti", "razumjeti"),
    ("voleti", "voljeti"),
    ("voleo", "volio"),
    ("smeh", "smijeh"),
    ("posetio", "posjetio"),
    ("posetila", "posjetila"),
    ("posetili", "posjetili"),
    ("posetilo", "posjetilo"),
    ("pre", "prije"),
    ("dve", "dvije"),
    ("nigde", "nigdje"),
    ("onde", "ondje"),
    ("svetlo", "svjetlo"),
    ("svetlost", "svjetlost"),
    ("pobeda", "pobjeda"),
    ("pobede", "pobjede"),
    ("pobedio", "pobijedio"),
    ("pobedila", "pobijedila"),
    ("procena", "procjena"),
    ("ocena", "ocjena"),
    ("ocene", "ocjene"),
    ("smer", "smjer"),
    ("namera", "namjera"),
    ("izmena", "izmjena"),
    ("izmene", "izmjene"),
    ("verovati", "vjerovati"),
    ("verujem", "vjerujem"),
    ("vernik", "vjernik"),
    ("prevod", "prijevod"),
    ("cveće", "cvijeće"),
    ("cvet", "cvijet"),
    ("zvezda", "zvijezda"),
    ("zvezde", "zvijezde"),
    ("lečenje", "liječenje"),
    ("mestima", "mjestima"),
    ("delimično", "djelomično"),
    ("delovi", "dijelovi"),
    ("delova", "dijelova"),
    ("pesnik", "pjesnik"),
    ("poseta", "posjeta"),
    ("videli", "vidjeli"),
    ("želeo", "želio"),
    ("hteli", "htjeli"),
    ("razumeo", "razumio"),
    ("pevao", "pjevao"),
)
# Frequent ijekavian words, and Croatian words of another root, that veto the rule without a pair above.
IJEKAVIAN_ONLY: frozenset[str] = frozenset(
    """
    svijet svijeta svijetu bijeli bijelog bijela bijelo lijepi lijepa lijepe lijepu vrijednost
    vrijedi vrijednosti tijekom lijevo lijevi vjera vjere riječi djeci cijela
    cijelo cijelu primjera vijesti vjerojatno liječnik sjediti mjesecu mjesece tijela pjesmom vjetra
    """.split()  # noqa: SIM905 - a word list reads better as text
)
EKAVIAN: frozenset[str] = frozenset(e for e, _ in YAT_PAIRS)
IJEKAVIAN: frozenset[str] = frozenset(i for _, i in YAT_PAIRS) | IJEKAVIAN_ONLY
_WORD = re.compile(r"\w+")


def yat_counts(text: str) -> tuple[int, int]:
    """(ekavian, ijekavian) yat words in `text` (whole words, case-insensitive)."""
    ekavian = ijekavian = 0
    for word in _WORD.findall(text.lower()):
        if word in EKAVIAN:
            ekavian += 1
        elif word in IJEKAVIAN:
            ijekavian += 1
    return ekavian, ijekavian


def is_ekavian(text: str) -> bool:
    """True where `text` holds ekavian yat words and no ijekavian one: written in standard Serbian."""
    ekavian, ijekavian = yat_counts(text)
    return ekavian > 0 and ijekavian == 0
