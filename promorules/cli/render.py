"""Shared helpers for terminal output: safe text and tables."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any


def safe(text: object, limit: int = 80) -> str:
    """Text from input files made safe for a terminal or log line: control characters
    (escape sequences, newlines) shown as ``?``, and long text cut short."""
    out = "".join(
        "?" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(text)
    )
    return out if len(out) <= limit else out[: limit - 3] + "..."


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    from tabulate import tabulate

    text: str = tabulate(
        list(rows), headers=list(headers), tablefmt="simple", disable_numparse=True
    )
    return text
