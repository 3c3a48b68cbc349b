"""Words that one standard of a close pair writes and the other does not: Malay against Indonesian, Croatian
against Bosnian (and Serbian).

Malaysian Malay and Indonesian are one language with two spelling reforms and two loan traditions: the
same word is often spelled apart (kerana/karena, wang/uang, bahagian/bagian, fikir/pikir, the months
Mac/Maret, Ogos/Agustus, Disember/Desember), English loans end in -iti where Dutch ones end in -itas
(universiti/universitas), and a few everyday words differ (boleh/bisa is not one: Indonesian says boleh too).
Croatian and Bosnian share their spelling, but Croatian keeps its own words where Bosnian (and Serbian) took
the international or the older one: the months (siječanj against januar), tisuća/hiljada, tijekom/tokom,
povijest/historija, znanost/nauka, Europa/Evropa, točka/tačka, financirati/finansirati, sudjelovati/
učestvovati. Bosnian standard admits some Croatian forms (tisuća, općina), so those are left out; so are words
that are also other words in the other standard (Indonesian `pejabat` is "an official", Malay `polisi` is
"policy", Indonesian `percuma` is "in vain", Croatian `nauka` is a form of `nauk`, "doctrine").

A text holding words of one standard and none of the other is written in it, whichever member the detectors
chose (mixers/langid_groups.py); a text with neither, or with both, keeps the detectors' answer. The lists are
whole lower-case word forms and word beginnings (`bahagian` covers sebahagian through its whole form only;
`financ` covers financirati, financijski), read in NFC.
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
        kerana bahawa iaitu wang mac julai ogos disember jun isnin khamis jumaat ahad nombor inggeris eropah
        jepun sepanyol syarikat projek peratus bilion kelab filem muzik muzium televisyen stesen kenderaan
        fikir berfikir fikiran difikirkan faham fahaman telefon isteri bahagian sebahagian jadual ubat
        doktor eksport sahaja mahu baharu manakala menerusi selepas pelbagai antarabangsa polis kakitangan
        hospital kedai basikal jurulatih sokongan menyokong disokong berkongsi dikongsi perkongsian
        mencuba dicuba universiti kualiti komuniti aktiviti identiti majoriti minoriti realiti fakulti
        populariti integriti prioriti kreativiti produktiviti publisiti fasiliti kapasiti autoriti
        komoditi entiti personaliti sensitiviti mobiliti kredibiliti solidariti validiti intensiti
        sedar tentera ketenteraan pengsan gabenor kerusi sukan senaman kempen teksi bajet cukai akhbar
        jambatan rasmi kerosakan rosak kaedah
        """
    ),
    stems=("kesedar", "menyedar", "disedar", "ketepikan", "menghala"),
)
INDONESIAN = StandardMarkers(
    "id",
    _words(
        """
        karena bahwa yaitu uang maret juli agustus desember juni senin kamis jumat nomor inggris eropa
        jepang spanyol serikat proyek persen miliar klub film musik televisi stasiun kendaraan pikir
        berpikir pikiran dipikirkan paham telepon istri bagian sebagian jadwal obat dokter ekspor impor
        bisa mau kantor sepeda mobil gratis coba mencoba dicoba provinsi kabupaten kecamatan kelurahan
        apotek bandara dukungan berbagi tiongkok direktur nggak gak enggak banget aja udah kok dong sih
        sadar tentara pingsan gubernur kursi olahraga kampanye taksi koran jembatan resmi kerusakan rusak
        kebutuhan membutuhkan dibutuhkan metode
        """
    ),
    stems=("kesadar", "menyadar", "disadar"),
    suffixes=("itas",),
)
CROATIAN = StandardMarkers(
    "hr",
    _words(
        """
        tisuću tjedan tjedna tjednu tjedno tjedana tko unatoč ravnatelj ravnateljica
        mirovina mirovine momčad momčadi prosvjed prosvjeda prosvjedi obitelj obitelji obiteljski
        kazalište kazališta kazalištu kolodvor kolodvora vlak vlaka vlakom
        """
    ),
    stems=tuple(
        sorted(
            _words(
                """
            siječ veljač ožuj travanj travnj svibanj svibnj lipanj lipnj srpanj srpnj listopad prosinac prosinc
            tijekom povijes znanost znanstven europ točk točn točan financ sudjelova sudjeluj sveučilišt nogomet
            glazb zrakoplov tvrtk uvjet izvješ veleposlan zastupni županij mirovin umirovlj milijun demokracij
            birokracij aristokracij tajnik zapovjedn časnik glasnogovorn iznimn izbornik unutarnj
            """
            )
        )
    ),
)
BOSNIAN_SERBIAN = StandardMarkers(
    "bs",
    _words(
        """
        šta uprkos januar januara februar februara mart marta juni juna juli jula septembar septembra
        oktobar oktobra novembar novembra decembar decembra hljeb sedmica sedmice sedmici sedmicu
        """
    ),
    stems=tuple(
        sorted(
            _words(
                """
            hiljad tokom historij naučn naučnik evrop tačk tačn tačan finans učestvova učestvuj univerzitet fudbal
            pozorišt uslov organizova informisa reagova definisa kontrolisa kahv lahk izvještaj ambasad poslanik
            preduzeć demokratij birokratij milion unutrašnj
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
