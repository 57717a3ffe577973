"""Key positions in JSON text: every path of the document, pointing at the right character."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from promorules.diagnostics import Path
from promorules.jsonpos import key_positions

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


def paths(value: Any, prefix: Path = ()) -> dict[Path, Any]:
    """Every key path of ``value`` below the root, with what it holds."""
    out: dict[Path, Any] = {}
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        out[(*prefix, key)] = item
        if isinstance(item, dict | list):
            out.update(paths(item, (*prefix, key)))
    return out


def offset(text: str, position: tuple[int, int]) -> int:
    line, column = position
    return sum(len(row) + 1 for row in text.split("\n")[: line - 1]) + column - 1


@given(VALUES.filter(lambda v: isinstance(v, dict | list)), st.integers(0, 2))
def test_every_path_points_at_its_key_or_array_item(value: Any, indent: int) -> None:
    text = json.dumps(value, indent=indent or None, ensure_ascii=False)
    found = key_positions(text)
    expected = paths(value)
    assert set(found) == set(expected)
    for path, position in found.items():
        rest = text[offset(text, position) :]
        if isinstance(path[-1], str):  # an object member: its key, quoted
            decoded, end = json.JSONDecoder().raw_decode(rest)
            assert decoded == path[-1]
            assert rest[end:].lstrip().startswith(":")
        else:  # an array item: its value
            decoded, _ = json.JSONDecoder().raw_decode(rest)
            assert decoded == expected[path]


def test_positions_are_one_based_lines_and_columns() -> None:
    text = '{\n  "lines": [\n    {"sku": "A"},\n    7\n  ],\n  "e": {}, "a": []\n}'
    assert key_positions(text) == {
        ("lines",): (2, 3),
        ("lines", 0): (3, 5),
        ("lines", 0, "sku"): (3, 6),
        ("lines", 1): (4, 5),
        ("e",): (6, 3),
        ("a",): (6, 12),
    }


def test_deep_nesting_does_not_recurse() -> None:
    depth = 5_000  # past the interpreter's recursion limit; json.loads itself cannot
    text = "[" * depth + "]" * depth
    found = key_positions(text)
    assert found[(0,) * (depth - 1)] == (1, depth)
