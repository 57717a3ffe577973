"""The field tables of docs/rulesets.md, generated from the classes the loader reads.

Each table is written between marker comments in a Markdown file::

    <!-- fields: kind tiered -->
    ...generated, do not edit...
    <!-- /fields -->

``kind NAME`` renders the config class of an installed promotion kind (its own keys:
the fields every promotion shares are documented once); ``table NAME`` renders a
top-level table of a ruleset (a field of :class:`~promorules.ruleset.Ruleset`). Types,
defaults and meanings come from the attrs fields and their docstrings, the source the
JSON Schema (:mod:`promorules.schema`) is built from, so the docs, the schema and the
loader cannot disagree. Everything outside the markers is left as written.

``python -m promorules.fieldtables`` rewrites docs/rulesets.md; with ``--check`` it
changes nothing and exits 1 if the file is out of date (the test suite runs the check).
"""

from __future__ import annotations

import argparse
import enum
import re
import sys
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

from promorules.kind import Kind
from promorules.money import format_percent
from promorules.ruleset import (
    COMMON_KEYS,
    Amount,
    Promotion,
    Rate,
    Ruleset,
    Window,
    resolve_types,
)
from promorules.schema import field_docs

BLOCK = re.compile(r"(<!-- fields: (kind|table) ([\w.-]+) -->\n)(.*?)(<!-- /fields -->)", re.S)
DEFAULT_FILE = Path("docs/rulesets.md")


class StaleDocs(Exception):
    """A marker names a kind or table that does not exist."""


def type_text(tp: Any) -> str:
    """How a planner writes a value of ``tp`` in TOML, in a few words."""
    if tp is Amount:
        return "amount"
    if tp is Rate:
        return "percent"
    if tp is bool:
        return "true / false"
    if tp is int:
        return "integer"
    if tp is str:
        return "text"
    if tp is datetime:
        return "date-time"
    if tp is Window:
        return "`{ start, end }`"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " / ".join(f"`{m.value}`" for m in tp)
    if isinstance(tp, type) and attrs.has(tp):
        return "table (below)"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        options = [type_text(a) for a in args if a is not type(None)]
        return " or ".join(options)
    if origin is tuple:
        item = type_text(args[0]) if args else "values"
        return f"list of {'tables (below)' if item == 'table (below)' else item}"
    if origin is dict:
        key, value = args if len(args) == 2 else (str, Any)
        name = "name" if key is str else type_text(key)
        return f"table of {name} = {type_text(value)}"
    return "value"


def default_text(field: attrs.Attribute[Any]) -> str:
    default: Any = field.default
    if default is attrs.NOTHING:
        return "required"
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    if isinstance(default, enum.Enum):
        return f"`{default.value}`"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, int):
        return f"`{default}`"
    if default is None or default in ("", (), {}):
        return "none"
    if isinstance(default, tuple) and all(isinstance(d, enum.Enum) for d in default):
        return "`[" + ", ".join(f'"{d.value}"' for d in default) + "]`"
    if isinstance(default, Fraction):  # a Rate
        return f'`"{format_percent(default)}"`'
    return f"`{default!r}`"


_ROLE = re.compile(r":(?:class|func|meth|data|attr):`~?(?:[\w.]+\.)?([\w]+)`")


def _markdown(doc: str) -> str:
    """A docstring as one table cell: reST literals as Markdown code, pipes escaped."""
    return _ROLE.sub(r"`\1`", doc).replace("``", "`").replace("|", "\\|")


def _nested(tp: Any) -> list[type[Any]]:
    """The attrs classes (but Window, written inline) a field's type holds."""
    if isinstance(tp, type) and attrs.has(tp):
        return [] if tp is Window else [tp]
    return [c for arg in typing.get_args(tp) for c in _nested(arg)]


def field_table(cls: type[Any], skip: frozenset[str] = frozenset()) -> list[str]:
    """The Markdown table of ``cls``'s fields, then one for each table class they hold."""
    resolve_types(cls)
    docs = field_docs(cls)
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    nested: dict[type[Any], list[str]] = {}  # a class held by several fields: one table
    for field in attrs.fields(cls):
        if field.name in skip:
            continue
        meaning = _markdown(docs.get(field.name, ""))
        rows.append(
            f"| `{field.name}` | {type_text(field.type)} | {default_text(field)} | {meaning} |"
        )
        for inner in _nested(field.type):
            nested.setdefault(inner, []).append(f"`{field.name}`")
    for inner, names in nested.items():
        rows += ["", f"Each of {' and '.join(names)}:", "", *field_table(inner)]
    return rows


def kind_block(kind: Kind) -> list[str]:
    first, *others = [f"`{lane.value}`" for lane in kind.lanes]
    lanes = ", ".join([f"{first} (default)", *others])
    head = f"`{kind.name}`: {kind.summary}." if kind.summary else f"`{kind.name}`."
    return [
        f"{head} Lanes: {lanes}.",
        "",
        *field_table(kind.config_type, COMMON_KEYS),
    ]


def table_block(name: str) -> list[str]:
    resolve_types(Ruleset)
    fields = {f.name: f.type for f in attrs.fields(Ruleset)}
    cls = Promotion if name == "promotion" else fields.get(name)
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise StaleDocs(f"no ruleset table {name!r} made of fields")
    return field_table(cls, frozenset({"config"}) if name == "promotion" else frozenset())


def render(text: str, kinds: Mapping[str, Kind]) -> str:
    """``text`` with every marked block regenerated."""

    def block(match: re.Match[str]) -> str:
        what, name = match.group(2), match.group(3)
        if what == "kind":
            if name not in kinds:
                raise StaleDocs(f"no installed promotion kind {name!r}")
            lines = kind_block(kinds[name])
        else:
            lines = table_block(name)
        return match.group(1) + "\n".join(lines) + "\n" + match.group(5)

    return BLOCK.sub(block, text)


def documented(text: str) -> dict[str, set[str]]:
    """The kinds and tables ``text`` has marked blocks for."""
    found: dict[str, set[str]] = {"kind": set(), "table": set()}
    for match in BLOCK.finditer(text):
        found[match.group(2)].add(match.group(3))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m promorules.fieldtables",
        description="Regenerate the field tables between <!-- fields: ... --> markers.",
    )
    parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE))
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    from promorules.plugins import PluginHost

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
        fresh = render(text, PluginHost.default().kinds)
    except (OSError, StaleDocs) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    if fresh == text:
        return 0
    if args.check:
        print(f"{path} is out of date: run python -m promorules.fieldtables", file=sys.stderr)
        return 1
    path.write_text(fresh, encoding="utf-8")
    print(f"{path}: field tables regenerated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
