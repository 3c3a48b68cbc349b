"""Words that one standard of a close pair writes and the other does not: Malay against Indonesian, Croatian
against Bosnian (and Serbian).

Malaysian Malay and Indonesian are one language with two spelling reforms and two loan traditions: the
same word is often spelled apart (kerana/karena, bahagian/bagian, sedar/sadar, the months Ogos/Agustus,
Disember/Desember), and English loans end in -iti where Dutch ones end in -itas (universiti/universitas).
Croatian and Bosnian share their spelling, but Croatian keeps its own words where Bosnian (and Serbian) took
the international or the older one: the months (siječanj against januar), unatoč/uprkos, povijest/historija,
znanost/nauka, Europa/Evropa, točno/tačno, financirati/finansirati; `tijekom` (Bosnian and Serbian tokom,
which Croatian web text writes too, so only the Croatian side is listed).

Left out: forms one standard admits beside its own (Bosnian tisuća, općina, nogomet, uvjet, tko, vlak, and
Croatian tokom, šta in web text); words that are other words in the other standard (Indonesian `pejabat`
"an official", Malay `polisi` "policy", Indonesian `cukai` "excise", Malay `bisa` "venom", Croatian
`naučnik` "apprentice" and `historijat`, Serbian `točak` "wheel"); forms that Indonesian writing of the
Islamic register shares with Malay (isteri, fikir, faham, kaedah); and words that are also names or English
(Wang, Jun, Mac, film, hospital, Europe, financial). A stem of one side begins no marker of the other
(tests/mixers/test_standard_markers.py).

A text holding words of one standard and none of the other is written in it, whichever member of the pair
the detectors chose (mixers/langid_groups.by_standard_words); a text with neither, or with both, keeps the
detectors' answer, and so does an answer outside the pair (Slovene, or Serbian). The lists are whole
lower-case word forms, word beginnings (`siječnj` covers siječnja, siječnju) and, for Indonesian, the ending
-itas; text is read in NFC.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class StandardMarkers:
    """Whole word forms and word beginnings (lower case) that mark `lang` against the other member(s)."""

    lang: str
    words: frozenset[str]
    stems: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()  # word endings, for words of at least 3 more letters


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MALAY = StandardMarkers(
    "ms",
    _words(
        """
        kerana bahawa iaitu julai ogos disember isnin khamis jumaat nombor inggeris eropah jepun sepanyol
        syarikat projek peratus bilion kelab filem muzik muzium televisyen stesen kenderaan telefon bahagian
        sebahagian jadual ubat eksport sahaja mahu manakala menerusi selepas pelbagai antarabangsa
        kakitangan basikal jurulatih berkongsi dikongsi perkongsian mencuba dicuba universiti kualiti
        komuniti aktiviti identiti majoriti minoriti realiti fakulti populariti integriti prioriti
        kreativiti produktiviti publisiti fasiliti kapasiti autoriti komoditi entiti personaliti
        sensitiviti mobiliti kredibiliti solidariti validiti intensiti sedar tentera ketenteraan pengsan
        gabenor kerusi sukan senaman kempen teksi bajet akhbar jambatan rasmi kerosakan rosak
        """
    ),
    stems=("kesedar", "menyedar", "disedar", "ketepikan"),
)
INDONESIAN = StandardMarkers(
    "id",
    _words(
        """
        karena bahwa yaitu uang maret juli agustus desember juni senin kamis jumat nomor inggris eropa
        jepang spanyol serikat proyek persen miliar klub musik televisi stasiun kendaraan pikir berpikir
        pikiran dipikirkan paham telepon istri bagian sebagian jadwal obat dokter ekspor impor kantor
        sepeda gratis coba mencoba dicoba provinsi kabupaten kecamatan kelurahan apotek bandara dukungan
        berbagi tiongkok direktur nggak gak enggak banget aja udah sih sadar tentara pingsan gubernur kursi
        kampanye taksi jembatan resmi kerusakan rusak kebutuhan membutuhkan dibutuhkan metode
        """
    ),
    stems=("kesadar", "menyadar", "disadar"),
    suffixes=("itas",),
)
CROATIAN = StandardMarkers(
    "hr",
    _words(
        """
        tjedan tjedna tjednu tjedno tjedana unatoč ravnatelj ravnateljica mirovina mirovine momčad momčadi
        prosvjed prosvjeda prosvjedi obitelj obitelji obiteljski kazalište kazališta kazalištu kolodvor
        kolodvora travanj travnja travnju listopad listopada listopadu točno točan točna točni
        """
    ),
    stems=tuple(
        sorted(
            _words(
                """
                siječanj siječnj veljač ožuj svibanj svibnj lipanj lipnj srpanj srpnj prosinac prosinc tijekom
                povijes znanost znanstven financij financira sveučilišt glazb zrakoplov tvrtk izvješć
                veleposlan županij mirovin umirovlj milijun demokracij birokracij aristokracij tajnik
                zapovjedn časnik izbornik unutarnj
                """
            )
        )
    ),
)
BOSNIAN_SERBIAN = StandardMarkers(
    "bs",
    _words(
        """
        uprkos januar januara februar februara mart juni juna juli jula septembar septembra oktobar oktobra
        novembar novembra decembar decembra hljeb historija historije historiji historiju historijom
        naučni naučna naučno naučne naučnu naučnih naučnim naučnom naučnog naučnoj
        """
    ),
    stems=tuple(
        sorted(
            _words(
                """
                hiljad evrop tačk tačn tačan finans učestvova učestvuj univerzitet fudbal pozorišt uslov
                organizova informisa reagova definisa kontrolisa kahv preduzeć demokratij birokratij milion
                """
            )
        )
    ),
)
_WORD = re.compile(r"\w+")


def marker_count(text: str, markers: StandardMarkers) -> int:
    """How many words of `text` (NFC, case-insensitive) are whole forms, beginnings or endings of
    `markers`."""
    count = 0
    for word in _WORD.findall(unicodedata.normalize("NFC", text).lower()):
        if (
            word in markers.words
            or (markers.stems and word.startswith(markers.stems))
            or any(len(word) >= len(s) + 3 and word.endswith(s) for s in markers.suffixes)
        ):
            count += 1
    return count


def marked_standard(text: str, pair: tuple[StandardMarkers, StandardMarkers]) -> str | None:
    """The language of the one member of `pair` whose markers `text` holds, None where it holds both or
    neither."""
    first, second = (marker_count(text, m) for m in pair)
    if first and not second:
        return pair[0].lang
    if second and not first:
        return pair[1].lang
    return None
