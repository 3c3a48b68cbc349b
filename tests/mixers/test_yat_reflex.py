"""The yat-reflex rule: ekavian spelling marks standard Serbian; on hand-written and real sentences."""

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
    # names written alike in Croatian text are left out
    assert not any(
        map(is_ekavian, ["Crvena zvezda je pobijedila.", "Izlet na Medvednicu.", "Cvetković je rekao."])
    )


def test_serbian_only_loans_mark_serbian_unless_an_ijekavian_word_vetoes() -> None:
    assert serbian_only_words("Istorija opštine i praistorija") == 3
    assert serbian_only_words("Historija općine, povijest") == 0
    assert is_serbian_spelling("Opština je otvorena.") and not is_ekavian("Opština je otvorena.")
    assert not is_serbian_spelling("Istorija opštine prije rata.")
    assert not is_serbian_spelling("Historija općine.")


def test_real_bosnian_and_croatian_never_read_as_ekavian(data_dir) -> None:
    """lingua's sentences (100 a language): no Bosnian or Croatian sentence is spelled the ekavian way (the
    rule would call it Serbian), while a sixth of the Serbian ones, in Latin letters, are."""
    data = sentences(data_dir, ["bs", "hr", "sr"])
    assert sum(map(is_serbian_spelling, data["bs"])) + sum(map(is_serbian_spelling, data["hr"])) == 0
    assert sum(is_serbian_spelling(serbian_latin(t)) for t in data["sr"]) >= 25
