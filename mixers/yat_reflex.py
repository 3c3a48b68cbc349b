"""The yat reflex: the one regular spelling difference between standard Serbian and Bosnian/Croatian.

Common Slavic *ě (yat) is written `e` in standard (ekavian) Serbian and `ije`/`je` in (ijekavian) Bosnian,
Croatian and Montenegrin: vreme/vrijeme, mesto/mjesto, deca/djeca, uvek/uvijek, gde/gdje. In Latin script the
three standards are otherwise written with the same letters, and the detectors that ship in their wheels all
but never say Serbian there (lingua's Serbian model is Cyrillic; bench/langid_eval.py prints the derived
`sr-Latn` set). A text holding ekavian yat words and no ijekavian one is therefore Serbian, whichever of
Bosnian or Croatian the detectors chose. Beside yat, a few loans are spelled as standard Croatian and
Bosnian do not (istorija, avgust, kriterijum) and mark Serbian the same way. A text with neither says
nothing, and keeps the detectors' answer.

The lists are whole, frequent word forms, and word beginnings (`nemač`, `uspeš`) chosen so that no standard
Croatian or Bosnian word we know of starts with one; a stem that does (`umetn`: umetnuti, "to insert";
`promen`: promenada; `lekov`: Leković; `spreč`: Croatian sprečavati; `vredn`: Croatian vrednovati) is listed
as whole forms or left out. Left out too are ekavian forms that are also other words or names in Croatian or
Bosnian text: `sveta` ("holy"), `vesti` ("to embroider"), `deci` ("decilitre"), `smeo` and `smela` (the past
of Croatian smesti), the names `Bela`, `Beli`, `Nedelja`, `Lepa` (Brena, in every case), `zvezda` (Crvena
zvezda, the club), `reči` and `cela` (common misspellings of `reći`, `čela`), forms written alike in both
(`vremena`, `reci`), and beginnings that start other words there (`procen`: Bosnian procenat, "percent";
`pesni`: Croatian pesnica, "fist"; `sever`: Severina). The ijekavian side also holds frequent words without an
ekavian partner in the list (`prije`, `dvije`, `svijet`): any one of them keeps the detectors' answer.
Ijekavian Serbian (spoken in Bosnia and Montenegro) keeps the detectors' answer too: it cannot be told from
Bosnian by spelling. Kajkavian, the Zagreb region's dialect, is ekavian (`dete`, `mleko`), so dialect writing
in it would be called Serbian; standard Croatian is not. Slovene writes many of these forms too (delu,
lepi, ceni, svetlo): the rule only ever turns a Bosnian or Croatian answer. Text is read in NFC, so a letter written with a
combining caron counts as the letter.
"""

from __future__ import annotations

import re
import unicodedata

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
    ("sused", "susjed"),
    ("suseda", "susjeda"),
    ("rešen", "riješen"),
    ("rešiti", "riješiti"),
    ("belo", "bijelo"),
    ("reka", "rijeka"),
    ("reke", "rijeke"),
    ("reku", "rijeku"),
    ("pevati", "pjevati"),
    ("vetar", "vjetar"),
    ("delo", "djelo"),
    ("seća", "sjeća"),
    ("deliti", "dijeliti"),
    ("savet", "savjet"),
    ("saveta", "savjeta"),
    ("uspeh", "uspjeh"),
    ("sedeo", "sjedio"),
    ("sedeti", "sjedjeti"),
    ("sedište", "sjedište"),
    ("vest", "vijest"),
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
    ("pobedio", "pobijedio"),
    ("pobedila", "pobijedila"),
    ("procena", "procjena"),
    ("ocena", "ocjena"),
    ("ocene", "ocjene"),
    ("smer", "smjer"),
    ("verujem", "vjerujem"),
    ("prevod", "prijevod"),
    ("cveće", "cvijeće"),
    ("cvet", "cvijet"),
    ("mestima", "mjestima"),
    ("pesnik", "pjesnik"),
    ("poseta", "posjeta"),
    ("videli", "vidjeli"),
    ("želeo", "želio"),
    ("hteli", "htjeli"),
    ("razumeo", "razumio"),
    ("pevao", "pjevao"),
    ("želela", "željela"),
    ("želeli", "željeli"),
    ("volela", "voljela"),
    ("voleli", "voljeli"),
    ("živeo", "živio"),
    ("živela", "živjela"),
    ("živeli", "živjeli"),
    ("videla", "vidjela"),
    ("umeo", "umio"),
    ("umela", "umjela"),
    ("leteo", "letio"),
    ("trpeo", "trpio"),
    ("primeru", "primjeru"),
    ("primere", "primjere"),
    ("primerima", "primjerima"),
    ("umesto", "umjesto"),
    ("napred", "naprijed"),
    ("detetu", "djetetu"),
    ("veku", "vijeku"),
    ("vekova", "vjekova"),
    ("dečji", "dječji"),
    ("dečje", "dječje"),
    ("dečjeg", "dječjeg"),
    ("rešio", "riješio"),
    ("rešila", "riješila"),
    ("rešili", "riješili"),
    ("uspeo", "uspio"),
    ("uspela", "uspjela"),
    ("uspeli", "uspjeli"),
    ("uspelo", "uspjelo"),
    ("hteti", "htjeti"),
    ("podneti", "podnijeti"),
    ("predlog", "prijedlog"),
    ("predloga", "prijedloga"),
    ("predlogu", "prijedlogu"),
    ("dvesta", "dvjesta"),
    ("prevoz", "prijevoz"),
    ("teraju", "tjeraju"),
    ("terati", "tjerati"),
    ("promena", "promjena"),
    ("promene", "promjene"),
    ("promenu", "promjenu"),
    ("promeni", "promjeni"),
    ("promenom", "promjenom"),
    ("promenama", "promjenama"),
    ("promenio", "promijenio"),
    ("promenila", "promijenila"),
    ("promenili", "promijenili"),
    ("zamena", "zamjena"),
    ("zamene", "zamjene"),
    ("zamenu", "zamjenu"),
    ("zameni", "zamjeni"),
    ("lekovi", "lijekovi"),
    ("lekova", "lijekova"),
    ("lekovima", "lijekovima"),
    ("severni", "sjeverni"),
    ("severna", "sjeverna"),
    ("severno", "sjeverno"),
    ("severne", "sjeverne"),
    ("severnog", "sjevernog"),
    ("severnoj", "sjevernoj"),
    ("severnom", "sjevernom"),
    ("severnih", "sjevernih"),
    ("severu", "sjeveru"),
    ("umetnost", "umjetnost"),
    ("umetnosti", "umjetnosti"),
    ("pesama", "pjesama"),
    ("pesmom", "pjesmom"),
    ("pesmama", "pjesmama"),
    ("uspeha", "uspjeha"),
    ("uspehu", "uspjehu"),
    ("uspehom", "uspjehom"),
    ("mestom", "mjestom"),
    ("lepi", "lijepi"),
    ("lepog", "lijepog"),
    ("lepih", "lijepih"),
    ("lepim", "lijepim"),
    ("rečima", "riječima"),
    ("belog", "bijelog"),
    ("beloj", "bijeloj"),
    ("belom", "bijelom"),
    ("belih", "bijelih"),
    ("celu", "cijelu"),
    ("celoj", "cijeloj"),
    ("celom", "cijelom"),
    ("celim", "cijelim"),
    ("celih", "cijelih"),
    ("delu", "dijelu"),
    ("delom", "dijelom"),
    ("mleka", "mlijeka"),
    ("snega", "snijega"),
    ("snegu", "snijegu"),
    ("merama", "mjerama"),
    ("merom", "mjerom"),
    ("telu", "tijelu"),
    ("telom", "tijelom"),
    ("cenom", "cijenom"),
    ("cenama", "cijenama"),
    ("ceni", "cijeni"),
    ("susedi", "susjedi"),
    ("peva", "pjeva"),
    ("vetra", "vjetra"),
    ("sećam", "sjećam"),
    ("sedi", "sjedi"),
    ("smeje", "smije"),
    ("smejao", "smijao"),
    ("sme", "smije"),
    ("smeju", "smiju"),
    ("retko", "rijetko"),
    ("levo", "lijevo"),
    ("levog", "lijevog"),
    ("levoj", "lijevoj"),
    ("levom", "lijevom"),
    ("levica", "ljevica"),
    ("levice", "ljevice"),
    ("doneo", "donio"),
    ("uneo", "unio"),
    ("preneo", "prenio"),
    ("odneo", "odnio"),
    ("izneo", "iznio"),
    ("decom", "djecom"),
    ("hleb", "hljeb"),
    ("hleba", "hljeba"),
    ("slede", "slijede"),
    ("sledi", "slijedi"),
    ("usledi", "uslijedi"),
    ("predlozi", "prijedlozi"),
    ("smera", "smjera"),
    ("smeru", "smjeru"),
)
# Word beginnings (long enough that no unrelated word starts with one) that cover a stem's
# inflections and derivations: Nemačka, nemačkog, nemački; uspešan, uspešno, uspešnih. Left out for names
# written alike in Croatian text: `zvezd` (Crvena zvezda, the club's name), `medved` (Medvednica,
# Medvedgrad, Medvedev), `cvet` (Cvetković).
YAT_STEMS: tuple[tuple[str, str], ...] = (
    ("nemač", "njemač"),
    ("uspeš", "uspješ"),
    ("najuspeš", "najuspješ"),
    ("neuspeš", "neuspješ"),
    ("proseč", "prosječ"),
    ("srazmer", "srazmjer"),
    ("punolet", "punoljet"),
    ("pomeša", "pomiješa"),
    ("prelep", "prelijep"),
    ("primen", "primjen"),
    ("primet", "primijet"),
    ("posledic", "posljedic"),
    ("posledn", "posljedn"),
    ("sledeć", "sljedeć"),
    ("svetsk", "svjetsk"),
    ("mesec", "mjesec"),
    ("meseč", "mjeseč"),
    ("dečak", "dječak"),
    ("dečac", "dječac"),
    ("devojk", "djevojk"),
    ("devojč", "djevojč"),
    ("lečen", "liječen"),
    ("lekar", "ljekar"),
    ("verova", "vjerova"),
    ("veroispov", "vjeroispov"),
    ("bezbed", "bezbjed"),
    ("sednic", "sjednic"),
    ("odeljen", "odjeljen"),
    ("predsed", "predsjed"),
    ("savetn", "savjetn"),
    ("izvešta", "izvješta"),
    ("obavešt", "obavješt"),
    ("rečnik", "rječnik"),
    ("rešenj", "rješenj"),
    ("rešava", "rješava"),
    ("pobed", "pobjed"),
    ("procenjen", "procijenjen"),
    ("smernic", "smjernic"),
    ("namer", "namjer"),
    ("izmen", "izmjen"),
    ("podel", "podjel"),
    ("delov", "dijelov"),
    ("delimičn", "djelomičn"),
    ("deljen", "dijeljen"),
    ("delatn", "djelatn"),
    ("cveća", "cvijeća"),
    ("lepot", "ljepot"),
    ("lepš", "ljepš"),
    ("čovek", "čovjek"),
    ("čoveč", "čovječ"),
    ("venčan", "vjenčan"),
    ("svedok", "svjedok"),
    ("svedoč", "svjedoč"),
    ("pešač", "pješač"),
    ("pešak", "pješak"),
    ("veštin", "vještin"),
    ("veštač", "vještač"),
    ("belešk", "bilješk"),
    ("vežb", "vježb"),
    ("razume", "razumije"),
    ("detinj", "djetinj"),
    ("svesn", "svjesn"),
    ("svestan", "svjestan"),
    ("nameštaj", "namještaj"),
    ("cenovn", "cjenovn"),
    ("pevač", "pjevač"),
    ("sećanj", "sjećanj"),
    ("vrednost", "vrijednost"),
    ("zahtev", "zahtjev"),
    ("obelež", "obiljež"),
    ("vernik", "vjernik"),
    ("ponedelj", "ponedjelj"),
    ("celokupn", "cjelokupn"),
    ("izvesn", "izvjesn"),
    ("uveren", "uvjeren"),
    ("letnj", "ljetnj"),
    ("pevanj", "pjevanj"),
    ("promenj", "promjenj"),
    ("zamenj", "zamjenj"),
    ("zamenik", "zamjenik"),
    ("lekovit", "ljekovit"),
    ("severoist", "sjeveroist"),
    ("severozap", "sjeverozap"),
    ("umetnik", "umjetnik"),
    ("umetnič", "umjetnič"),
    ("usled", "uslijed"),
    ("donel", "donijel"),
    ("donet", "donijet"),
    ("unel", "unijel"),
    ("prenel", "prenijel"),
    ("iznel", "iznijel"),
    ("poverlj", "povjerlj"),
    ("poveren", "povjeren"),
    ("umesn", "umjesn"),
    ("neumesn", "neumjesn"),
    ("pesak", "pijesak"),
    ("peska", "pijeska"),
    ("pesku", "pijesku"),
    ("odmeren", "odmjeren"),
    ("izmeren", "izmjeren"),
    ("neuspel", "neuspjel"),
    ("povređ", "povrijeđ"),
    ("celin", "cjelin"),
    ("susedn", "susjedn"),
    ("savet", "savjet"),
    ("poset", "posjet"),
    ("svetl", "svjetl"),
    ("ocen", "ocjen"),
    ("veruj", "vjeruj"),
    ("pesm", "pjesm"),
    ("podnet", "podnijet"),
    ("oseć", "osjeć"),
    ("podset", "podsjet"),
    ("podseć", "podsjeć"),
    ("obezbeđ", "obezbjeđ"),
    ("obezbed", "obezbjed"),
    ("primeć", "primijeć"),
    ("uspeva", "uspijeva"),
    ("nasled", "nasljed"),
    ("svešten", "svješten"),
)
# Ijekavian beginnings without an ekavian partner above: the other reflex of a stem's derivations (djelovati
# beside dijelovi, promijeniti beside promjena, ...) and variant spellings; each keeps the detectors' answer.
IJEKAVIAN_ONLY_STEMS: tuple[str, ...] = (
    "djelov",
    "promijen",
    "izmijen",
    "zamijen",
    "podijel",
    "pobijed",
    "djelimičn",
    "primjet",
    "slijedeć",
    "obaviješt",
    "obavijest",
    "odijeljen",
    "cvjećar",
)
# Loans that standard Croatian and Bosnian spell otherwise and Serbian (and Montenegrin, which this group
# labels Serbian) spells so: istorija (Bosnian historija, Croatian povijest), avgust (Bosnian august, Croatian
# kolovoz), kriterijum (kriterij). Like an ekavian word, each one marks Serbian. Left out: opština, which
# Bosnian usage has beside općina.
SERBIAN_ONLY_STEMS: tuple[str, ...] = ("istorij", "praistorij", "istorič", "avgust", "kriterijum")
# Frequent ijekavian words, and Croatian words of another root, that veto the rule without a pair above.
IJEKAVIAN_ONLY: frozenset[str] = frozenset(
    """
    svijet svijeta svijetu bijeli bijelog bijela bijelo lijepi lijepa lijepe lijepu
    vrijedi tijekom lijevo lijevi vjera vjere riječi djeci cijela
    cijelo cijelu primjera vijesti vjerojatno liječnik sjediti tijela pjesmom vjetra
    """.split()  # noqa: SIM905 - a word list reads better as text
)
EKAVIAN: frozenset[str] = frozenset(e for e, _ in YAT_PAIRS)
IJEKAVIAN: frozenset[str] = frozenset(i for _, i in YAT_PAIRS) | IJEKAVIAN_ONLY
EKAVIAN_STEMS: tuple[str, ...] = tuple(e for e, _ in YAT_STEMS)
IJEKAVIAN_STEMS: tuple[str, ...] = tuple(i for _, i in YAT_STEMS) + IJEKAVIAN_ONLY_STEMS
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


def _counts(words: list[str]) -> tuple[int, int, int]:
    """(ekavian, ijekavian, Serbian-only) words among `words` (NFC, lower case)."""
    ekavian = ijekavian = serbian_only = 0
    for word in words:
        if word in EKAVIAN or word.startswith(EKAVIAN_STEMS):
            ekavian += 1
        elif word in IJEKAVIAN or word.startswith(IJEKAVIAN_STEMS):
            ijekavian += 1
        elif word.startswith(SERBIAN_ONLY_STEMS):
            serbian_only += 1
    return ekavian, ijekavian, serbian_only


def yat_counts(text: str) -> tuple[int, int]:
    """(ekavian, ijekavian) yat words in `text`: whole forms of YAT_PAIRS (and IJEKAVIAN_ONLY) and words
    beginning with a stem of YAT_STEMS (and IJEKAVIAN_ONLY_STEMS), case-insensitive."""
    return _counts(_words(text))[:2]


def serbian_only_words(text: str) -> int:
    """Words of `text` spelled as Serbian writes them and standard Croatian and Bosnian do not
    (SERBIAN_ONLY_STEMS), case-insensitive."""
    return _counts(_words(text))[2]


def is_ekavian(text: str) -> bool:
    """True where `text` holds ekavian yat words and no ijekavian one: written in standard Serbian."""
    ekavian, ijekavian = yat_counts(text)
    return ekavian > 0 and ijekavian == 0


def is_serbian_spelling(text: str) -> bool:
    """True where `text` holds ekavian yat words or Serbian-only spellings, and no ijekavian word (one pass
    over its words)."""
    ekavian, ijekavian, serbian_only = _counts(_words(text))
    return ijekavian == 0 and (ekavian > 0 or serbian_only > 0)
