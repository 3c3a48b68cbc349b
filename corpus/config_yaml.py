"""Strict YAML for configuration files: a mapping key given twice is an error, not a silent overwrite.

PyYAML's SafeLoader keeps the last value of a repeated key. In a hand-written config (a mixture spec, a
pipeline, an experiment grid, a world config) a second `seed:` further down is almost always a mistake
(a block pasted twice, an edit that missed the first one), and the first value then vanishes without a
word. `load_config_yaml` reads YAML as SafeLoader does and raises DuplicateKeyError, naming the key and
both lines, instead.

Keys are compared as YAML builds them, so `on` and `yes` (both true in YAML 1.1) or `1` and `1.0` are one key
twice. Merge keys (`<<: *defaults`) are not duplicates: the mapping's own keys override merged ones, as YAML
says; only keys written twice in one mapping are refused. It lives in corpus, the lowest layer, so that
every package's config reader can use it.
"""

from __future__ import annotations

from typing import IO, Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.YAMLError):
    """A mapping of a YAML document gives one key twice; the message names the key and both lines."""

    def __init__(self, key: Any, line: int, first_line: int) -> None:
        self.key = key
        self.line = line  # 1-based, the second time the key is given
        self.first_line = first_line  # 1-based, the first time
        where = f"on line {line}" if line == first_line else f"(lines {first_line} and {line})"
        super().__init__(f"key {key!r} given twice {where}")


class StrictSafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader whose mappings refuse a key given twice (DuplicateKeyError)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # Checked on the node's own pairs, before SafeLoader flattens merge keys into them: an explicit key
        # overriding a merged one is YAML's intent, not a repeat.
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise DuplicateKeyError(key, line, seen[key])
                    seen[key] = line
                except TypeError:  # an unhashable key: SafeLoader names it below
                    continue
        return super().construct_mapping(node, deep=deep)


# Values a config may hold once its aliases are expanded. Aliases share one object, but whatever walks the
# config visits each use: nine levels of `&a [*b, *b, ...]` in 677 bytes held `chronomix run` for minutes
# (a "billion laughs"), before any key was checked. A real config holds a few hundred.
MAX_EXPANDED_VALUES = 100_000
# ... and more than this many times the values it writes out: a long list without aliases (a block list of
# hosts) is a config, however long.
ALIAS_GROWTH = 10


def load_config_yaml(stream: str | bytes | IO[str] | IO[bytes]) -> Any:
    """The document in `stream`, as yaml.safe_load reads it; DuplicateKeyError (a yaml.YAMLError) where a
    mapping gives a key twice, other yaml.YAMLError for what is not YAML or what expands past
    MAX_EXPANDED_VALUES values through its aliases."""
    loader = StrictSafeLoader(stream)  # a SafeLoader: builds no Python objects
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:  # PyYAML composes recursively: a few thousand `[` deep ends its stack
            raise yaml.YAMLError("nested deeper than Python's recursion limit: not a config") from None
        if node is None:
            return None
        expanded, distinct = expanded_size(node)
        if expanded > MAX_EXPANDED_VALUES and expanded > ALIAS_GROWTH * distinct:
            raise yaml.YAMLError(
                f"its aliases expand {distinct:,} values to {expanded:,} (more than {MAX_EXPANDED_VALUES:,}, "
                f"and {ALIAS_GROWTH} times its own): not a config"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def expanded_size(root: yaml.Node) -> tuple[int, int]:
    """(expanded, distinct): how many nodes the tree under `root` has with every alias expanded, and how
    many it has written out (each node's size counted once; no recursion, so a deeply nested document
    cannot exhaust the stack). yaml.YAMLError where an alias refers to a value that holds it."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # nodes whose children are being sized: met again below, a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        children = _children(node)
        if children_done:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            open_nodes.discard(id(node))
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise yaml.YAMLError(
                "an alias refers to a value that holds it (a value without end): not a config"
            )
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children)
    return sizes[id(root)], len(sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
