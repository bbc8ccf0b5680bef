"""YAML for files people edit by hand (prompt files, rubrics).

In: safe YAML that refuses a key given twice in one mapping (PyYAML would silently keep the last),
since a repeated key is a mistake to report, not to resolve. Out: block style, multi-line text as
literal blocks, lists indented under their key, no line folding, keys in the order given.
"""

from __future__ import annotations

from typing import Any

import yaml


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with duplicate mapping keys refused."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in out
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
    return out


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_strict(text: str | bytes) -> Any:
    """Parse ``text``; raises ``yaml.YAMLError`` (duplicate keys included) for the caller to explain."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass


class BlockDumper(yaml.SafeDumper):
    """Safe YAML out; multi-line strings as literal blocks; lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


BlockDumper.add_representer(str, _represent_str)


def dump_block(data: Any, dumper: type[yaml.SafeDumper] = BlockDumper) -> str:
    """``data`` as hand-editable YAML (``dumper``: ``BlockDumper`` or a subclass of it)."""
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100_000, default_flow_style=False)
