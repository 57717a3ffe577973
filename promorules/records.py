"""Records of the input files around a ruleset, structured with cattrs like rulesets.

A cart file's line and a catalogue's item are attrs classes here; :func:`structure`
turns an untrusted table (from TOML, JSON or a CSV row) into one, with unknown keys
refused and every problem collected with its key path, as :mod:`promorules.ruleset`
does for rulesets. The field types say how each value is read (an amount through
:func:`promorules.money.parse_amount`, a quantity within bounds, text, a list of
names), so a cart file and an order log read a line's keys from one list
(:data:`LINE_KEYS`).
"""

from __future__ import annotations

import functools
from typing import Any, NewType, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn

from promorules.diagnostics import Collector, Path
from promorules.money import MoneyError, parse_amount

MAX_QUANTITY = 10**6
"""Most units on one line."""
MAX_ID_LENGTH = 128
"""Longest sku (and customer id) read from a file."""

Sku = NewType("Sku", str)
Quantity = NewType("Quantity", int)
Money = NewType("Money", int)
"""A non-negative amount in minor units, written "299.00" or 299."""
Text = NewType("Text", str)
Names = NewType("Names", tuple[str, ...])
"""A list of strings; in a catalogue also ``a|b`` text (as CSV writes tags)."""


@attrs.frozen
class LineRecord:
    """A line of a cart file, or a line object of an order log row."""

    sku: Sku
    quantity: Quantity = Quantity(1)
    unit_price: Money | None = None
    unit_cost: Money | None = None
    category: Text | None = None
    brand: Text | None = None
    merchant: Text | None = None
    tags: Names | None = None
    title: Text | None = None
    deposit_paid: Money | None = None


@attrs.frozen
class CatalogRecord:
    """An item of a catalogue (a CSV row by its header, or a TOML ``[[item]]``)."""

    sku: Sku
    price: Money | None = None
    cost: Money | None = None
    category: Text = Text("")
    brand: Text = Text("")
    merchant: Text = Text("")
    tags: Names = Names(())
    title: Text = Text("")


LINE_KEYS = tuple(f.name for f in attrs.fields(LineRecord))
"""The keys of a line, in a cart file and in an order log row alike."""
CATALOG_KEYS = tuple(f.name for f in attrs.fields(CatalogRecord))

R = TypeVar("R")


class _Problem(ValueError):
    """A value a hook refuses; ``{key}`` in the message is the key it was found under."""


@functools.lru_cache(maxsize=64)
def converter(currency: str, noun: str) -> cattrs.Converter:
    """A strict converter for records in ``currency``; ``noun`` names what holds a sku
    ("line", "item") in the message for a missing one."""
    conv = cattrs.Converter(forbid_extra_keys=True)

    def sku(value: object, _: object) -> Sku:
        if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
            raise _Problem(
                f"every {noun} needs a sku (a string of at most {MAX_ID_LENGTH} characters)"
            )
        return Sku(value)

    def quantity(value: object, _: object) -> Quantity:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
            raise _Problem(f"quantity must be a whole number from 1 to {MAX_QUANTITY}")
        return Quantity(value)

    def money(value: object, _: object) -> Money:
        try:
            minor = parse_amount(value, currency)
        except MoneyError as exc:
            raise _Problem(str(exc).replace("{", "{{").replace("}", "}}")) from None
        if minor < 0:
            raise _Problem("must not be negative")
        return Money(minor)

    def text(value: object, _: object) -> Text:
        if not isinstance(value, str):
            raise _Problem("{key} must be a string")
        return Text(value)

    def names(value: object, _: object) -> Names:
        if isinstance(value, str) and noun == "item":
            return Names(tuple(t for t in value.split("|") if t))
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return Names(tuple(value))
        raise _Problem(
            'tags are a list of strings (or "a|b" text)'
            if noun == "item"
            else "expected a list of strings"
        )

    conv.register_structure_hook(Sku, sku)
    conv.register_structure_hook(Quantity, quantity)
    conv.register_structure_hook(Money, money)
    conv.register_structure_hook(Text, text)
    conv.register_structure_hook(Names, names)
    for cls in (LineRecord, CatalogRecord):
        conv.register_structure_hook(
            cls, make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)
        )
    return conv


def structure(
    data: object,
    cls: type[R],
    currency: str,
    path: Path,
    out: Collector,
    *,
    code: str,
    noun: str,
    unknown: str = "",
    first_only: bool = False,
) -> R | None:
    """``data`` as a ``cls`` record, or None with its problems added to ``out``.

    ``unknown``: appended to the message for an unknown key (the keys known, say).
    ``first_only``: of the problems with values, report the first (in field order)
    and every unknown key; a cart line's later values often fail only because of an
    earlier one, and a planner fixes one line at a time.
    """
    if not isinstance(data, dict):
        out.add(code, f"a {noun} is a table", path)
        return None
    try:
        return converter(currency, noun).structure(data, cls)
    except Exception as exc:  # every structuring failure becomes located problems
        found = Collector(out.file)
        _explain(exc, cls, path, found, code, noun, unknown)
        problems = found.problems
        if first_only:
            keys = [p for p in problems if p.message.startswith("unknown key")]
            values = [p for p in problems if not p.message.startswith("unknown key")]
            problems = keys + values[:1]
        out.extend(problems)
        return None


def _explain(
    exc: BaseException,
    cls: type[Any],
    path: Path,
    out: Collector,
    code: str,
    noun: str,
    unknown: str,
) -> None:
    if isinstance(exc, ClassValidationError | IterableValidationError):
        for sub in exc.exceptions:
            where = path
            for note in getattr(sub, "__notes__", ()):
                if isinstance(note, AttributeValidationNote):
                    where = (*path, note.name)
            _explain(sub, cls, where, out, code, noun, unknown)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            out.add(code, f"unknown key {str(key)[:40]!r}{unknown}", (*path, key))
    elif isinstance(exc, KeyError):  # the one required key: the sku
        where = path if path[-1:] == ("sku",) else (*path, "sku")
        out.add(
            code,
            f"every {noun} needs a sku (a string of at most {MAX_ID_LENGTH} characters)",
            where,
        )
    elif isinstance(exc, _Problem):
        out.add(code, str(exc).format(key=path[-1] if path else ""), path)
    else:
        out.add(code, str(exc)[:200] or type(exc).__name__, path)
