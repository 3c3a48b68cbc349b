"""The yat reflex: the one regular spelling difference between standard Serbian and Bosnian/Croatian.

Common Slavic *ě (yat) is written `e` in standard (ekavian) Serbian and `ije`/`je` in (ijekavian) Bosnian,
Croatian and Montenegrin: vreme/vrijeme, mesto/mjesto, deca/djeca, uvek/uvijek, gde/gdje. In Latin script the
three standards are otherwise written with the same letters, and the detectors that ship in their wheels all
but never say Serbian there (lingua's Serbian model is Cyrillic; bench/langid_eval.py prints the derived
`sr-Latn` set). A text holding ekavian yat words and no ijekavian one is therefore Serbian, whichever of
Bosnian or Croatian the detectors chose; a text without yat words says nothing, and keeps their answer.

The lists are whole, frequent word forms, not stems (a stem like `pre` or `let` also starts many unrelated
words), and leave out forms that are also other words (`sveta` is Croatian for "holy", `beli`/`nedelja` are
place names, `vremena` and `reci` are written alike in both). Ijekavian Serbian (spoken in Bosnia and
Montenegro) keeps the detectors' answer: it cannot be told from Bosnian by spelling.
"""

from __future__ import annotations

import re

YAT_PAIRS: tuple[tuple[str, str], ...] = (
    ("vreme", "vrijeme"),
    ("mesto", "mjesto"),
    ("mesta", "mjesta"),
    ("mestu", "mjestu"),
    ("reč", "riječ"),
    ("reči", "riječi"),
    ("deca", "djeca"),
    ("dece", "djece"),
    ("deci", "djeci"),
    ("decu", "djecu"),
    ("lepo", "lijepo"),
    ("lepa", "lijepa"),
    ("lep", "lijep"),
    ("lepe", "lijepe"),
    ("lepu", "lijepu"),
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
    ("ceo", "cijeli"),
    ("cela", "cijela"),
    ("celo", "cijelo"),
    ("cele", "cijele"),
    ("celog", "cijelog"),
    ("celu", "cijelu"),
    ("primer", "primjer"),
    ("primera", "primjera"),
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
    ("bela", "bijela"),
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
    ("sedeti", "sjediti"),
    ("sedište", "sjedište"),
    ("obaveštenje", "obavještenje"),
    ("vest", "vijest"),
    ("vesti", "vijesti"),
    ("odeljenje", "odjeljenje"),
    ("razumeti", "razumjeti"),
    ("voleti", "voljeti"),
    ("voleo", "volio"),
    ("smeh", "smijeh"),
    ("posetio", "posjetio"),
    ("posetila", "posjetila"),
    ("posetili", "posjetili"),
    ("posetilo", "posjetilo"),
    ("verovatno", "vjerojatno"),
    ("lekar", "liječnik"),  # Croatian forms beside the Bosnian ones
)
EKAVIAN: frozenset[str] = frozenset(e for e, _ in YAT_PAIRS)
IJEKAVIAN: frozenset[str] = frozenset(i for _, i in YAT_PAIRS)
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
