"""corpus.config_yaml: YAML as yaml.safe_load reads it, except that a key given twice in one mapping is an
error naming the key and both lines (safe_load kept the last value without a word)."""

from __future__ import annotations

import pytest
import yaml

from corpus.config_yaml import DuplicateKeyError, load_config_yaml


@pytest.mark.parametrize(
    "text",
    [
        "seed: 1\nname: s\nlist: [1, 1]\nnested: {a: 1, b: {a: 2}}\n",
        "",
        "- a: 1\n- a: 2\n",
        "base: &base {a: 1, b: 2}\nother:\n  <<: *base\n  a: 3\n",  # a key over a merged one is YAML's intent
    ],
)
def test_documents_without_repeated_keys_load_as_safe_load_reads_them(text: str) -> None:
    assert load_config_yaml(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: s\nseed: 1\nbudget_tokens: 2K\nseed: 2\n", "key 'seed' given twice (lines 2 and 4)"),
        ("top:\n  inner: 1\n  inner: 2\n", "key 'inner' given twice (lines 2 and 3)"),
        ("weights: {en: 0.5, en: 0.5}\n", "key 'en' given twice on line 1"),
        ("yes: 1\non: 2\n", "key True given twice (lines 1 and 2)"),  # both true in YAML 1.1
        ("- a: 1\n- b: 1\n  b: 2\n", "key 'b' given twice (lines 2 and 3)"),
    ],
)
def test_a_key_given_twice_is_refused_naming_it_and_its_lines(text: str, message: str) -> None:
    with pytest.raises(DuplicateKeyError) as raised:
        load_config_yaml(text)
    assert str(raised.value) == message
    assert isinstance(raised.value, yaml.YAMLError)  # callers that catch YAML errors catch it too


def test_what_is_not_yaml_is_still_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError):
        load_config_yaml("budget_tokens: [1,\n")
    with pytest.raises(yaml.YAMLError):
        load_config_yaml("!!python/object:os.system {}\n")  # a SafeLoader: no Python objects


def _laughs(levels: int) -> str:
    """A "billion laughs": each level a list of ten aliases of the one before (10**levels values)."""
    lines = ["description:", "  a0: &a0 lol"]
    lines += [f"  a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels + 1)]
    return "\n".join([*lines, f"stages: [{{kind: world, bomb: *a{levels}}}]"]) + "\n"


def test_aliases_expanding_past_the_limit_are_refused_before_anything_walks_them(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """677 bytes of nine levels held `chronomix run` for minutes, in its walk of the expanded stages."""
    from corpus.config_yaml import MAX_EXPANDED_VALUES, expanded_size
    from jobs.contract import UsageError
    from jobs.pipeline import load_pipeline

    # the root, its two keys, `description` (4 keys; a0..a3 of 1, 11, 111, 1,111) and `stages`
    # (its list, one mapping, 2 keys, "world" and a3's 1,111)
    assert expanded_size(yaml.compose(_laughs(3))) == (
        3 + (5 + 1 + 11 + 111 + 1111) + (5 + 1111),
        3 + 5 + 3 * 1 + 1 + 5,
    )
    assert load_config_yaml(_laughs(3))["stages"][0]["bomb"][0][0] == ["lol"] * 10  # 1,000 values: a config
    text = _laughs(9)
    assert len(text) < 1000
    with pytest.raises(
        yaml.YAMLError, match=f"aliases expand .* values to .*more than {MAX_EXPANDED_VALUES:,}"
    ):
        load_config_yaml(text)
    # a long list without aliases is a config, however long: past a limit lowered to 1,000 values (PyYAML
    # takes ~8 s for a list past the real one)
    monkeypatch.setattr("corpus.config_yaml.MAX_EXPANDED_VALUES", 1_000)
    hosts = [f"host{i}.example" for i in range(1_200)]
    assert load_config_yaml(yaml.safe_dump({"exclude_hosts": hosts}))["exclude_hosts"] == hosts
    monkeypatch.undo()
    deep = "a: " + "[" * 50_000 + "]" * 50_000  # nesting, not aliases
    with pytest.raises(yaml.YAMLError, match="nested deeper"):  # PyYAML composes it recursively
        load_config_yaml(deep)
    with pytest.raises(yaml.YAMLError, match="refers to a value that holds it"):
        load_config_yaml("a: &x [1, {b: *x}]")  # safe_load builds it; a walk of it never ends
    pipeline = tmp_path / "bomb.yaml"
    pipeline.write_text(text)
    with pytest.raises(UsageError, match="aliases expand"):
        load_pipeline(pipeline)
