"""Reading the docs' Markdown in tests: fenced code blocks and the keys of a table."""

from __future__ import annotations

import re

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def fenced(text: str, language: str) -> list[tuple[int, str]]:
    """The code blocks fenced as ``language``, each with the line its code starts on."""
    return [
        (text[: m.start()].count("\n") + 2, m.group(2))
        for m in FENCE.finditer(text)
        if m.group(1) == language
    ]


def table_keys(text: str, heading: str) -> list[str]:
    """The first column (its backquoted key) of the first table after ``heading``."""
    start = text.index(heading + "\n")
    keys = []
    in_table = False
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            in_table = True
            match = re.match(r"\|\s*`([^`]+)`", line)
            if match:
                keys.append(match.group(1))
        elif in_table:
            break
    return keys
