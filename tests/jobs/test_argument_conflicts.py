"""Bad and conflicting options end at once with status 2 and one line naming the option, before Spark
starts: out-of-range MinHash seeds and permutation counts, an option the other options make meaningless
(--engine with --scheme rensa, --lingua-unknown with --no-second-opinion), a key given twice (--value,
--column) and an empty --spec. Each was accepted, silently resolved, or failed only once Spark ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs import dedup, label, langid
from jobs.contract import UsageError
from tests.jobs.cli_helpers import _documents, _refused

ENGINE_WITH_RENSA = (
    "only the oph and datasketch schemes have engines; --scheme rensa has one implementation "
    "(leave --engine out)"
)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--seed", "-1", "--scheme", "datasketch"], "--seed -1: expected 0 to 4294967295"),
        (["--seed", "4294967296"], "--seed 4294967296: expected 0 to 4294967295"),
        (["--seed", "-5", "--scheme", "rensa"], "--seed -5: expected 0 to 4294967295"),
        (["--num-perm", "100000000"], "--num-perm 100000000: expected at most 8192"),
        (["--scheme", "rensa", "--engine", "numba"], f"--engine 'numba': {ENGINE_WITH_RENSA}"),
        (["--scheme", "rensa", "--engine", "numpy"], f"--engine 'numpy': {ENGINE_WITH_RENSA}"),
    ],
)
def test_dedup_refuses_bad_signature_options_before_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None, extra: list[str], message: str
) -> None:
    """A seed outside 0..2**32-1 failed in the Spark task (datasketch's RandomState, rensa's unsigned
    seed), 10^8 permutations ran for minutes on three documents, and --engine was ignored under rensa."""
    documents = _documents(tmp_path / "docs")
    err = _refused(["dedup", str(documents), "-o", str(tmp_path / "o"), *extra], capsys)
    assert err == f"chronomix: error: {message}"


def test_a_dedup_stage_refuses_an_engine_under_rensa_but_takes_its_defaults() -> None:
    """`auto`, the default, cannot be told from no engine (the command's defaults are the stage's,
    test_runner): another engine is refused, the default taken, on the command line as in a pipeline."""
    params = dedup.DedupParams(input=["docs"], output="o", scheme="rensa", engine="numba")
    with pytest.raises(UsageError) as raised:
        dedup.settings(params)
    assert str(raised.value) == f"--engine 'numba': {ENGINE_WITH_RENSA}"
    job = dedup.settings(dedup.DedupParams(input=["docs"], output="o", scheme="rensa"))
    assert (job.config.signature.scheme, job.config.signature.engine) == ("rensa", "auto")
    edges = dedup.settings(dedup.DedupParams(input=["docs"], output="o", seed=2**32 - 1, num_perm=8192))
    assert (edges.config.signature.seed, edges.config.signature.num_perm) == (2**32 - 1, 8192)


def test_langid_refuses_lingua_unknown_without_second_opinions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """lingua votes only as a second opinion: --lingua-unknown with --no-second-opinion was ignored. Its
    default cannot be told from none given, so only another policy is refused."""
    documents = _documents(tmp_path / "docs")
    argv = ["langid", str(documents), "-o", str(tmp_path / "o"), "--no-second-opinion"]
    for policy in ("abstain", "rule_out"):
        err = _refused([*argv, "--lingua-unknown", policy], capsys)
        assert err == (
            f"chronomix: error: --lingua-unknown {policy!r}: lingua is a second opinion, which "
            "--no-second-opinion turns off; give one of them"
        )
    stage = langid.LangIdParams(input=["d"], output="o", second_opinion=False, lingua_unknown="rule_out")
    with pytest.raises(UsageError) as raised:
        langid.settings(stage)
    assert str(raised.value).startswith("--lingua-unknown 'rule_out': lingua is a second opinion")
    assert not langid.settings(
        langid.LangIdParams(input=["d"], output="o", second_opinion=False)
    ).second_opinion


def test_label_refuses_a_value_mapped_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`--value x=y --value x=z` mapped x to z, the first mapping dropped without a word."""
    documents = _documents(tmp_path / "docs")
    argv = ["label", str(documents), "-o", str(tmp_path / "o"), "--table", str(documents), "--column", "lang"]
    for pairs, repeated in (
        (["x=y", "x=z"], "'x=z': 'x' is mapped twice (x=y and x=z)"),
        (["a=", "a="], "'a=': 'a' is mapped twice (a= and a=)"),
    ):
        values = [arg for pair in pairs for arg in ("--value", pair)]
        err = _refused([*argv, *values], capsys)
        assert err == f"chronomix: error: --value {repeated}; give it once"
    assert label.parse_values(["x=y", "y=x", "z="]) == {"x": "y", "y": "x", "z": ""}


def test_ingest_refuses_a_record_column_mapped_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`--column text=a --column text=b` kept one of the two fields without a word."""
    source = tmp_path / "docs.jsonl"
    source.write_text('{"id": "a", "a": "one", "b": "two"}\n')
    argv = ["ingest", str(source), "-o", str(tmp_path / "o")]
    err = _refused([*argv, "--column", "text=a", "--column", "text =b"], capsys)
    assert err == (
        "chronomix: error: --column 'text =b': column 'text' is mapped twice (text=a and text =b); give it once"
    )


def test_mix_refuses_an_empty_spec_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`--spec ""` was read as the current folder: "cannot read it (Is a directory)"."""
    documents = _documents(tmp_path / "docs")
    for given in ("", " "):
        err = _refused(["mix", str(documents), "--spec", given, "--plan"], capsys)
        assert err == f"chronomix: error: --spec {given!r}: an empty path"
