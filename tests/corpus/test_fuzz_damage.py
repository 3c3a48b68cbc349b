"""Fault injection over crafted WARC, WET, JSONL and MediaWiki files, plain and compressed: byte flips,
overwrites, insertions, deletions, member splices and truncation at random offsets. Properties: no exception
escapes the reader, every record the damage left intact is kept and kept unaltered, nothing is counted twice,
and in a compressed (checksummed) file a loss is never silent. Bounded and seeded for CI;
bench/fuzz_readers.py runs the same check for longer."""

from __future__ import annotations

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests import crafted
from tests.damage import check, samples

position = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
damage_op = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(1, 255)),
    st.tuples(st.just("overwrite"), position, st.binary(min_size=1, max_size=48)),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=120) | st.just(crafted.PROXY_PAGE)),
    st.tuples(st.just("delete"), position, st.integers(1, 400)),
    st.tuples(st.just("splice"), position, st.tuples(position, st.integers(1, 3000))),
)
damage_ops = st.lists(damage_op, min_size=1, max_size=3)
cut = st.none() | st.floats(min_value=0.0, max_value=0.999, allow_nan=False)
file_name = st.sampled_from(sorted(samples()))


@seed(18)
@settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=file_name, ops=damage_ops, cut=cut)
def test_damage_costs_only_the_damaged_records(name: str, ops: list[tuple], cut: float | None) -> None:
    sample = samples()[name]
    outcome = check(sample, ops, cut)
    assert not outcome.lost, f"{name}: intact records lost: {sorted(outcome.lost)}"
    assert not outcome.altered, f"{name}: intact records kept altered: {sorted(outcome.altered)}"
    if not sample.checksummed:  # a damaged member may decode garbage lines before its error: each is a reject
        assert outcome.counted <= outcome.limit, (
            f"{name}: {outcome.counted} counted of at most {outcome.limit}"
        )
    if outcome.kept != set(sample.texts) and not outcome.silent_possible:
        assert outcome.reported, f"{name}: records lost without a reject or skipped span"


def test_every_sample_reads_whole_when_intact() -> None:
    for name, sample in samples().items():
        outcome = check(sample, [], None)
        assert outcome.kept == outcome.intact == set(sample.texts), name
        assert outcome.counted == len(sample.texts) and not outcome.reported, name
