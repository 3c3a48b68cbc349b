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
    assert is_ekavian("Deca su posetila muzej.") and not is_ekavian("Djeca su posjetila muzej.")
    assert not is_ekavian("Deca i djeca.")  # one ijekavian word is enough to keep the detectors' answer
    assert not EKAVIAN & IJEKAVIAN


def test_real_bosnian_and_croatian_almost_never_read_as_ekavian(data_dir) -> None:
    """lingua's sentences (100 a language): at most one Bosnian or Croatian sentence spelled the ekavian way
    (the rule's false alarms), while a sixth of the Serbian ones, in Latin letters, are."""
    data = sentences(data_dir, ["bs", "hr", "sr"])
    assert sum(map(is_ekavian, data["bs"])) + sum(map(is_ekavian, data["hr"])) <= 1
    assert sum(is_ekavian(serbian_latin(t)) for t in data["sr"]) >= 15
