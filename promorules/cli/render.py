"""Shared helpers for terminal output: safe text, tables, and printing them.

Everything a command shows comes, in part, from untrusted input: names in rulesets,
skus and customer ids in carts and order logs, counter keys in a ledger that checkout
wrote, names third-party plugins give. :func:`safe` is the one function that makes such
text fit for a terminal; :func:`table` applies it to every cell and :func:`echo` to the
whole of a command's text output, so a renderer that forgets a field still cannot put
an escape sequence on the screen.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable, Sequence
from typing import IO, Any

_REPLACED = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
"""Unicode categories shown as ``?``: controls (C0 and C1, so NUL and ESC, which starts
every terminal escape sequence), format characters (bidi embeddings, overrides and
isolates U+202A-202E and U+2066-2069, marks such as U+200E, zero-width spaces and
joiners, the soft hyphen), lone surrogates (which cannot even be encoded for output),
private-use and unassigned code points, and line and paragraph separators."""

_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u3164\uffa0")
"""Default-ignorable characters outside those categories, drawn as nothing at all
(Hangul fillers, the combining grapheme joiner, Khmer inherent vowels, Mongolian
selectors): a name made of them looks empty or like another name."""


def safe(text: object, limit: int | None = 80, *, lines: bool = False) -> str:
    """``text`` made safe for a terminal or a log line.

    Every character of :data:`_REPLACED` or :data:`_INVISIBLE` becomes ``?``, so no
    escape sequence, bidi reordering, NUL or invisible character reaches the screen.
    With ``lines``, line feeds are kept (for a block of text such as a rendered
    table); otherwise they are replaced too, so one value stays on one line. Text
    longer than ``limit`` characters (per line with ``lines``; None: no limit) is cut
    short with ``...``. Safe text passes through unchanged, so applying this twice is
    harmless.
    """
    if lines:
        return "\n".join(safe(part, limit) for part in str(text).split("\n"))
    out = str(text)
    # printable text has no C* or Z[lp] character: only the few invisible letters and
    # marks are left to look for, and ASCII has none of them
    if not (out.isprintable() and (out.isascii() or _INVISIBLE.isdisjoint(out))):
        out = "".join(
            "?" if ch in _INVISIBLE or unicodedata.category(ch) in _REPLACED else ch for ch in out
        )
    if limit is None or len(out) <= limit:
        return out
    return out[: limit - 3] + "..."


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain-text table; every cell through :func:`safe`, its line breaks kept (a
    cell may list several adjustments, one a line)."""
    from tabulate import tabulate

    text: str = tabulate(
        [[_cell(cell) for cell in row] for row in rows],
        headers=[safe(h, None) for h in headers],
        tablefmt="simple",
        disable_numparse=True,
    )
    return text


def _cell(value: Any) -> Any:
    # numbers and gaps stay as they are, for tabulate to align and show as before
    if value is None or type(value) in (int, float):
        return value
    return safe(value, None, lines=True)


def echo(text: str, file: IO[str] | None = None) -> None:
    """Print a command's text output through :func:`safe` (line breaks kept): the last
    guard, whatever a renderer put in it."""
    print(safe(text, None, lines=True), file=sys.stdout if file is None else file)
