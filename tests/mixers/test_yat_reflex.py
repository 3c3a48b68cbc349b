"""The yat-reflex rule: ekavian spelling marks standard Serbian; on hand-written and real sentences."""

from mixers.langid_evaluate import serbian_latin
from mixers.yat_reflex import EKAVIAN, IJEKAVIAN, is_ekavian, yat_counts
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


def test_real_bosnian_and_croatian_never_read_as_ekavian(data_dir) -> None:
    """lingua's sentences (100 a language): no Bosnian or Croatian sentence is spelled the ekavian way (the
    rule would call it Serbian), while a sixth of the Serbian ones, in Latin letters, are."""
    data = sentences(data_dir, ["bs", "hr", "sr"])
    assert sum(map(is_ekavian, data["bs"])) + sum(map(is_ekavian, data["hr"])) == 0
    assert sum(is_ekavian(serbian_latin(t)) for t in data["sr"]) >= 15
