"""The yat-reflex rule: ekavian spelling marks standard Serbian; on hand-written and real sentences."""

import unicodedata

from mixers.langid_evaluate import serbian_latin
from mixers.yat_reflex import (
    EKAVIAN,
    EKAVIAN_STEMS,
    IJEKAVIAN,
    IJEKAVIAN_STEMS,
    is_ekavian,
    is_serbian_spelling,
    serbian_only_words,
    yat_counts,
)
from tests.mixers.conftest import sentences

# Serbian sentences of lingua's set spelled the Serbian way once in Latin letters: 32 of 100 (2026-12-05).
FLOOR = 30


def test_counts_whole_words_of_each_reflex() -> None:
    assert yat_counts("Gde je bilo to vreme? Uvek ovde.") == (4, 0)
    assert yat_counts("Gdje je bilo to vrijeme? Uvijek ovdje.") == (0, 4)
    # stems inside other words do not count: `prema` is not `pre`, `letjeti` not `leto`
    assert yat_counts("Prema Zagrebu letjeti, Vremenska prognoza") == (0, 0)
    assert yat_counts("") == (0, 0)
    assert yat_counts("Pre dve godine, nigde.") == (3, 0) and yat_counts("Prije dvije godine, nigdje.") == (
        0,
        3,
    )
    assert is_ekavian("Deca su posetila muzej.") and not is_ekavian("Djeca su posjetila muzej.")
    assert not is_ekavian("Deca i djeca.")  # one ijekavian word is enough to keep the detectors' answer
    assert not EKAVIAN & IJEKAVIAN
    # names and other words spelled like ekavian forms are left out: Croatian text with them stays Croatian
    assert not any(
        map(is_ekavian, ["Kralj Bela IV. izdao je bulu.", "Dva deci vina.", "Koncert Lepe Brene."])
    )
    assert not is_ekavian("Prije dvije godine deca su bila ovdje.")  # a veto-only ijekavian word suffices


def test_stems_cover_inflections_and_never_meet_the_other_reflex() -> None:
    assert yat_counts("Nemačka je najuspešnija, a Njemačka najuspješnija.") == (2, 2)
    assert yat_counts("Sledeće godine lekari i čovekova deca") == (4, 0)
    # a beginning counts only at the start of a word
    assert yat_counts("uspešan neuspešan") == (2, 0) and yat_counts("preuspešan") == (0, 0)
    # no ekavian beginning starts an ijekavian word or form, and no ijekavian one an ekavian
    assert not [s for s in EKAVIAN_STEMS if any(w.startswith(s) for w in IJEKAVIAN | set(IJEKAVIAN_STEMS))]
    assert not [s for s in IJEKAVIAN_STEMS if any(w.startswith(s) for w in EKAVIAN | set(EKAVIAN_STEMS))]
    # words and names of Croatian text that begin like an ekavian stem are not counted
    croatian = [
        "Crvena zvezda je igrala.",
        "Izlet na Medvednicu.",
        "Cvetković je rekao.",
        "Kliknite Umetni pa odaberite sliku.",
        "Šetali smo promenadom uz more.",
        "Leković je postigao gol.",
        "Uvjeti su dosad sprečavali gradnju.",
        "Vrednovanje radova traje.",
        "Nije se smeo.",
    ]
    assert [yat_counts(t) for t in croatian] == [(0, 0)] * len(croatian)
    # the other reflex of a stem's derivations vetoes: djelovanje beside dijelovi, promijeniti beside promjena
    assert yat_counts("Delovi su promenili djelovanje.") == (2, 1)
    assert not is_ekavian("Delovi se promijenili.") and is_ekavian("Delovi su se promenili.")
    # inflected and derived forms (2026-12-05): the case endings of pesma, uspeh, lep; verbs' participles
    assert yat_counts("Zbirka pesama o uspehu, usledilo je, doneli su poverljive lepih svetlih") == (7, 0)
    assert yat_counts("Zbirka pjesama o uspjehu, uslijedilo je, donijeli su povjerljive lijepih") == (0, 6)
    # Bosnian `procenat` and Croatian `pesnica` begin like ekavian stems and are not counted
    assert yat_counts("Procenat je porastao, a pesnica udarila.") == (0, 0)
    assert not is_ekavian("Koncert Lepe Brene, sa Lepom Brenom, za Lepu Brenu.")
    # decomposed letters (c + combining caron) are read as the composed ones
    assert yat_counts(unicodedata.normalize("NFD", "Nemačka i čovek")) == (2, 0)


def test_serbian_only_loans_mark_serbian_unless_an_ijekavian_word_vetoes() -> None:
    assert serbian_only_words("Istorija avgusta i praistorija, kriterijumi") == 4
    assert serbian_only_words("Historija augusta, povijest, kriteriji, opština") == 0
    assert is_serbian_spelling("Istorija je otvorena.") and not is_ekavian("Istorija je otvorena.")
    assert not is_serbian_spelling("Istorija grada prije rata.")
    assert not is_serbian_spelling("Historija općine.")


def test_real_bosnian_and_croatian_never_read_as_serbian(data_dir) -> None:
    """lingua's sentences (100 a language): no Bosnian or Croatian sentence is spelled the Serbian way (the
    rule would call it Serbian), while about a third of the Serbian ones, in Latin letters, are."""
    data = sentences(data_dir, ["bs", "hr", "sr"])
    assert sum(map(is_serbian_spelling, data["bs"])) + sum(map(is_serbian_spelling, data["hr"])) == 0
    assert sum(is_serbian_spelling(serbian_latin(t)) for t in data["sr"]) >= FLOOR
