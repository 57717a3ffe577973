"""The message tables of docs/quote.md, generated from the catalogues.

``python -m promorules.messages.doc`` rewrites every block marked
``<!-- messages: notes -->`` ... ``<!-- /messages -->`` (``notes``, ``reasons``,
``sentences``, ``payments``) in docs/quote.md; ``tests/unit/test_messages.py`` fails
while the file is out of date.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

from promorules.messages import NOTES, PAYMENTS, REASONS, SENTENCES, ParamType, catalogue, locales

BLOCK = re.compile(r"(<!-- messages: (\w+) -->\n)(.*?)(<!-- /messages -->)", re.S)


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`" if text else ""


def block(section: str) -> list[str]:
    """The Markdown table of one section: a row per code, its parameters, and its words
    in every bundled locale."""
    names = locales()
    specs: Mapping[str, Mapping[str, ParamType]]
    if section == "notes":
        specs = NOTES
    elif section == "sentences":
        specs = SENTENCES
    elif section == "reasons":
        specs = {code: {} for code in REASONS}
    elif section == "payments":
        specs = {label: {} for label in PAYMENTS}
    else:
        raise ValueError(f"no message section {section!r}")
    head = "| code | parameters | " + " | ".join(names) + " |"
    rows = [head, "|" + "---|" * (2 + len(names))]
    for code, params in specs.items():
        described = ", ".join(f"`{name}` ({kind.value})" for name, kind in params.items())
        words = []
        for name in names:
            found = catalogue(name)
            table = {
                "notes": found.notes,
                "sentences": found.sentences,
                "reasons": found.reasons,
                "payments": found.payments,
            }[section]
            words.append(_cell(table.get(code, "")))
        rows.append(f"| `{code}` | {described} | " + " | ".join(words) + " |")
    return rows


def render(text: str) -> str:
    """``text`` with every marked block regenerated."""

    def fill(match: re.Match[str]) -> str:
        return match.group(1) + "\n".join(block(match.group(2))) + "\n" + match.group(4)

    return BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "docs/quote.md")
    text = path.read_text(encoding="utf-8")
    path.write_text(render(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
