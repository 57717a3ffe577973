"""Hypothesis strategies that break the bundled input files the way the world does.

A mutant starts from a real file (a bundled ruleset, cart, catalogue, order log or
price history) and takes one to three mutations: a byte flipped, the file cut short,
a value swapped for one of the wrong type, a huge number, deep nesting, a control or
bidi character, a very long field, a line deleted or repeated. Starting from real
files keeps most mutants close enough to valid to reach past the parser into the
checks, the engine and the renderers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"

HOSTILE_TOKENS: tuple[str, ...] = (
    "9" * 30,  # past Decimal's 28 significant digits
    "9" * 4301,  # past Python's int digit limit
    '"' + "9" * 40 + '.99"',
    "-1",
    '"-0.01"',
    "0",
    "1.5",
    "1e309",
    "nan",
    "inf",
    "true",
    '""',
    '"x"',
    "[]",
    "[1, 2]",
    "{}",
    "{ a = 1 }",
    "[" * 200 + "]" * 200,
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59",
    "1979-05-27T07:32:00Z",
    '"Asia"',
    '"' + "A" * 300 + '"',
    '"\x1b[31mred\x1b[0m"',
    '"\u202eevil"',
    '"a\x00b"',
    '"' + "x" * 200_000 + '"',
)
"""Values written where a planner's value stood (TOML-flavoured; most are JSON too)."""

INSERTS: tuple[str, ...] = (
    "\x00",
    "\x1b[2J",
    "\u202e",
    "\u2028",
    "\r",
    "\x0b",
    "\ufeff",
    '"',
    "'",
    ",",
    ";",
    "|",
    "*",
    "@",
    "=",
    "[[",
    "]]",
    "{",
    "}",
    "\n",
    "\n[[lines]]\n",
    "\n[[promotion]]\n",
    "\n" + "[" * 1000,
    "9" * 5000,
    "x" * 140_000,
)
"""Text spliced in at a random offset."""

_VALUE = re.compile(rb"(=\s*|:\s*|,)([^,\n\]}]*)")


@st.composite
def mutate(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with one to three mutations applied."""
    data = original
    for _ in range(draw(st.integers(1, 3))):
        data = draw(_one(data))
    return data


def _one(data: bytes) -> st.SearchStrategy[bytes]:
    size = max(len(data), 1)
    offset = st.integers(0, size - 1)
    return st.one_of(
        st.tuples(offset, st.integers(0, 255)).map(
            lambda t: data[: t[0]] + bytes([t[1]]) + data[t[0] + 1 :]
        ),
        offset.map(lambda at: data[:at]),
        st.tuples(offset, st.sampled_from(INSERTS)).map(
            lambda t: data[: t[0]] + t[1].encode("utf-8") + data[t[0] :]
        ),
        st.tuples(st.integers(0, 10_000), st.sampled_from(HOSTILE_TOKENS)).map(
            lambda t: _swap_value(data, t[0], t[1])
        ),
        st.tuples(st.integers(0, 10_000), st.sampled_from(("drop", "repeat"))).map(
            lambda t: _line_edit(data, t[0], t[1])
        ),
    )


def _swap_value(data: bytes, pick: int, token: str) -> bytes:
    """The ``pick``-th value (after ``=``, ``:`` or ``,``) replaced by ``token``."""
    found = list(_VALUE.finditer(data))
    if not found:
        return data + token.encode("utf-8")
    match = found[pick % len(found)]
    return data[: match.start(2)] + token.encode("utf-8") + data[match.end(2) :]


def _line_edit(data: bytes, pick: int, how: str) -> bytes:
    lines = data.split(b"\n")
    at = pick % len(lines)
    if how == "drop":
        del lines[at]
    else:
        lines.insert(at, lines[at])
    return b"\n".join(lines)


def files(paths: Sequence[Path]) -> st.SearchStrategy[tuple[str, bytes]]:
    """One of ``paths``, as (its suffix, its mutated bytes)."""
    return st.sampled_from(tuple(paths)).flatmap(
        lambda p: mutate(p.read_bytes()).map(lambda b: (p.suffix, b))
    )


def mutants(suffix: str, original: str) -> st.SearchStrategy[tuple[str, bytes]]:
    """A mutant of ``original`` text (an input the suite writes, not a bundled file)."""
    return mutate(original.encode("utf-8")).map(lambda b: (suffix, b))


HOSTILE_ARGUMENTS: tuple[str, ...] = (
    "",
    " ",
    "-",
    "--",
    "0",
    "-1",
    "9" * 5000,
    "0001-01-01T00:00:00",
    "9999-12-31T00:00:00",
    "9999-12-31T23:59:59+14:00",
    "2026-11-11T10:00:00",
    "2026-11-11",
    "\x1b[31m",
    "\u202e",
    "A" * 300,
)
"""Command-line values tried where a time, a code or a count goes."""
