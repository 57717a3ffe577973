"""Where each key of a JSON document stands, so diagnostics can say ``file:line:col``.

The standard JSON parser gives values, not positions. This module walks text the parser
has already accepted a second time and records, for every key path such as
``("lines", 1, "quantity")``, the line and column of the key (of the value, for array
items): the same paths and convention as :mod:`promorules.tomlpos`. The walk keeps its
own stack, so it never recurses however deep the document nests.
"""

from __future__ import annotations

import bisect
import json
import re

from promorules.diagnostics import Path

Position = tuple[int, int]

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"[^\s,:\[\]{}]+")
_BLANK = re.compile(r"\s*")


def key_positions(text: str) -> dict[Path, Position]:
    """The position of every key path of ``text`` (valid JSON), 1-based line and column."""
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(offset: int) -> Position:
        line = bisect.bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    positions: dict[Path, Position] = {}
    # one frame per open container: its path, whether it is an object, and the path
    # element its next value takes (the key just read, or the next array index)
    paths: list[Path] = []
    objects: list[bool] = []
    elements: list[str | int] = []
    expecting_key = False
    i = _end(_BLANK, text, 0)
    size = len(text)
    while i < size:
        ch = text[i]
        if ch in ",:":
            if ch == "," and objects:
                if objects[-1]:
                    expecting_key = True
                else:
                    elements[-1] = int(elements[-1]) + 1
            i += 1
        elif ch in "]}":
            paths.pop()
            objects.pop()
            elements.pop()
            i += 1
        elif expecting_key:
            end = _end(_STRING, text, i)
            key = json.loads(text[i:end])
            positions[(*paths[-1], key)] = at(i)
            elements[-1] = key
            expecting_key = False
            i = end
        else:  # a value
            path: Path = (*paths[-1], elements[-1]) if paths else ()
            if objects and not objects[-1]:
                positions[path] = at(i)  # an array item: where its value starts
            if ch in "[{":
                paths.append(path)
                objects.append(ch == "{")
                elements.append(0)
                expecting_key = ch == "{"
                i += 1
            elif ch == '"':
                i = _end(_STRING, text, i)
            else:
                i = _end(_SCALAR, text, i)
        i = _end(_BLANK, text, i)
        if expecting_key and i < size and text[i] == "}":  # an empty object
            expecting_key = False
    return positions


def _end(pattern: re.Pattern[str], text: str, start: int) -> int:
    """Where ``pattern``, which the (valid JSON) text holds at ``start``, ends."""
    found = pattern.match(text, start)
    assert found is not None, "key_positions reads only text json.loads accepted"
    return found.end()
