"""Bounds on a config file before it is parsed: size, nesting depth, alias expansion.

A config file is small and shallow. Without bounds a 425-byte "billion laughs" (aliases
of aliases) expands to billions of values, 50,000 nested brackets overflow the parser's
recursion, and a 50 MB file makes every call's prompt huge. Each bound gives one
`(line, reason)`; the loader turns it into a file:line error, never a traceback.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_FILE_BYTES = 1024 * 1024  # a business file is a few kB; a large FAQ a few hundred
MAX_DEPTH = 32  # nesting of mappings and lists; business files use about 5
MAX_VALUES = 100_000  # scalars, lists and mappings after aliases are expanded

_OPEN = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


class LimitExceeded(ValueError):
    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise LimitExceeded(f"file is {size} bytes; config files may be at most {MAX_FILE_BYTES}")


def check_depth(text: str, loader: type[yaml.SafeLoader]) -> None:
    """Nesting deeper than MAX_DEPTH, found by the scanner (which does not recurse)."""
    depth = 0
    for token in yaml.scan(text, Loader=loader):
        if isinstance(token, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                line = token.start_mark.line + 1
                raise LimitExceeded(f"nested more than {MAX_DEPTH} levels deep", line)
        elif isinstance(token, _CLOSE):
            depth -= 1


def check_expansion(node: yaml.Node | None) -> None:
    """More than MAX_VALUES values, or deeper than MAX_DEPTH, once aliases are expanded.

    The composed graph shares aliased nodes, so each node is measured once (memoised by
    identity): the check costs the file's size, not the expansion's.
    """
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, height)
    open_nodes: set[int] = set()

    def measure(node: yaml.Node, depth: int) -> tuple[int, int]:
        line = node.start_mark.line + 1
        known = measured.get(id(node))
        if known is None:
            if id(node) in open_nodes:
                raise LimitExceeded("an alias (*name) refers to a value that contains it", line)
            open_nodes.add(id(node))
            values, height = 1, 1
            for child in _children(node):
                child_values, child_height = measure(child, depth + 1)
                values += child_values
                height = max(height, child_height + 1)
                if values > MAX_VALUES:
                    reason = f"aliases (*name) expand to more than {MAX_VALUES} values"
                    raise LimitExceeded(reason, line)
            open_nodes.discard(id(node))
            known = measured[id(node)] = (values, height)
        if depth + known[1] - 1 > MAX_DEPTH:
            raise LimitExceeded(f"aliases (*name) nest more than {MAX_DEPTH} levels deep", line)
        return known

    if node is not None:
        measure(node, 1)


def _children(node: yaml.Node) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
