"""What a change to a ruleset does: its keys, and the prices of real carts.

:func:`ruleset_changes` compares two ruleset documents key by key: promotions matched by
``id`` (added, removed, or changed at each key), every other table by its keys.
:func:`price_impact` prices the same samples (cart files, or the rows of an order log)
under both engines and reports which carts change price and by how much, each funder's
cost and each floor's margin before and after.

Every sample is priced as it stands, with every counter available (stock, coupon uses,
budgets unlimited): the comparison is of the two rulesets' rules, not of a replay in
which the first orders use up what later ones would have had (that is ``simulate``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from fractions import Fraction
from pathlib import Path as FilePath
from typing import Any

import attrs

from promorules.cart import Cart, Context
from promorules.diagnostics import Path, PromorulesError
from promorules.engine import Engine
from promorules.reading import read_text
from promorules.ruleset import MAX_RULESET_BYTES, read_toml


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""The value of a key one side does not have."""


@attrs.frozen
class KeyChange:
    """One key that differs: ``old`` or ``new`` is :data:`ABSENT` where a side lacks it."""

    table: str
    """``promotion <id>``, or the top-level table (``campaign``, ``guardrails``, ...)."""
    key: str
    """The key's path inside it (``tiers[1].off``); empty for the whole table."""
    old: Any
    new: Any
    line: int | None
    """Its line in the new file (the old one for a removed key)."""


@attrs.frozen
class RulesetChanges:
    added: tuple[str, ...]
    """Ids of promotions only the new ruleset has."""
    removed: tuple[str, ...]
    changed: tuple[KeyChange, ...]
    """Key by key: promotions both have, and the other tables."""

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@attrs.frozen
class Sample:
    """A cart to price under both rulesets, named for the report (a file, an order)."""

    name: str
    cart: Cart
    context: Context


@attrs.frozen
class CartChange:
    name: str
    old: int
    """Payable under the old ruleset (minor units)."""
    new: int

    @property
    def delta(self) -> int:
        return self.new - self.old


@attrs.frozen
class FloorChange:
    """A guardrail floor over the samples: its lowest margin and how many broke it."""

    name: str
    """``order``, ``line`` (every line of every cart) or ``category:<name>``."""
    old_lowest: Fraction | None
    new_lowest: Fraction | None
    old_broken: int
    new_broken: int


BUCKETS: tuple[tuple[str, Fraction | None], ...] = (
    ("cheaper by over 10%", Fraction(-1, 10)),
    ("cheaper by 1-10%", Fraction(-1, 100)),
    ("cheaper by under 1%", Fraction(0)),
    ("dearer by under 1%", Fraction(1, 100)),
    ("dearer by 1-10%", Fraction(1, 10)),
    ("dearer by over 10%", None),
)
"""How far a changed cart's payable moved, as a share of its old payable."""


@attrs.frozen
class PriceImpact:
    carts: int
    changed: tuple[CartChange, ...]
    """The carts whose payable differs, in the order priced."""
    funders: Mapping[str, tuple[int, int]]
    """Each funder's discounts (minor units) over all samples: (old, new)."""
    floors: tuple[FloorChange, ...]

    def worst(self, count: int) -> list[CartChange]:
        """The ``count`` largest moves either way (ties: the order priced)."""
        return sorted(self.changed, key=lambda c: -abs(c.delta))[:count]

    def buckets(self) -> list[tuple[str, int]]:
        """How many changed carts fall in each of :data:`BUCKETS`."""
        counts = [0] * len(BUCKETS)
        for change in self.changed:
            share = Fraction(change.delta, change.old) if change.old else Fraction(1)
            for k, (_, below) in enumerate(BUCKETS):
                if below is None or share < below:
                    counts[k] += 1
                    break
        return [(label, n) for (label, _), n in zip(BUCKETS, counts, strict=True)]


def ruleset_changes(old_path: str | FilePath, new_path: str | FilePath) -> RulesetChanges:
    """The two ruleset files compared key by key (both are read, not checked: load them
    as engines first to have their problems reported)."""
    old, old_positions = _document(old_path)
    new, new_positions = _document(new_path)
    changed: list[KeyChange] = []

    def line(path: Path, positions: Mapping[Path, tuple[int, int]]) -> int | None:
        found = positions.get(path)
        return found[0] if found is not None else None

    def compare(table: str, where: Path, a: Any, b: Any) -> None:
        for key, before, after in _differences(a, b):
            path = where + key
            at = line(path, new_positions) if after is not ABSENT else line(path, old_positions)
            changed.append(KeyChange(table, _key_text(key), before, after, at))

    for name in sorted(set(old) | set(new)):
        if name == "promotion":
            continue
        compare(name, (name,), old.get(name, ABSENT), new.get(name, ABSENT))
    old_promotions = _by_id(old.get("promotion", []))
    new_promotions = _by_id(new.get("promotion", []))
    added = tuple(pid for pid in new_promotions if pid not in old_promotions)
    removed = tuple(pid for pid in old_promotions if pid not in new_promotions)
    for pid, (position, after) in new_promotions.items():
        if pid in old_promotions:
            before = old_promotions[pid][1]
            compare(f"promotion {pid}", ("promotion", position), before, after)
    return RulesetChanges(added, removed, tuple(changed))


def price_impact(
    old: Engine,
    new: Engine,
    samples: Iterable[Sample],
    progress: Callable[[int], None] | None = None,
) -> PriceImpact:
    """Every sample priced under ``old`` and ``new`` (see the module's docstring)."""
    if old.currency != new.currency:
        raise PromorulesError(
            f"the rulesets price in different currencies ({old.currency}, {new.currency})"
        )
    changed: list[CartChange] = []
    funders: dict[str, list[int]] = {}
    floors: dict[str, list[Any]] = {}  # name -> [old lowest, new lowest, old broken, new broken]
    count = 0
    for sample in samples:
        for side, engine in enumerate((old, new)):
            quote = engine.price(sample.cart, sample.context)
            if side == 0:
                before = quote.payable
            else:
                after = quote.payable
            for funder, amount in quote.discounts_by_funder.items():
                funders.setdefault(funder.value, [0, 0])[side] += amount
            seen: dict[str, tuple[Fraction | None, bool]] = {}
            for floor in quote.guardrail.floors:
                if not floor.name.startswith("line["):  # the report lists broken lines only
                    seen[floor.name] = (floor.margin, not floor.held)
            minimum = engine.floors.line
            if minimum is not None:  # every line of the cart (gifts are the order's cost)
                lowest, broken = None, False
                for ql in quote.lines:
                    if ql.gift:
                        continue
                    cost = ql.unit_cost * ql.quantity
                    lowest = _lower(lowest, ql.margin)
                    broken = broken or (ql.payable - cost) < minimum * ql.payable
                seen["line"] = (lowest, broken)
            for name, (lowest, broken) in seen.items():
                tally = floors.setdefault(name, [None, None, 0, 0])
                tally[side] = _lower(tally[side], lowest)
                tally[2 + side] += broken
        if after != before:
            changed.append(CartChange(sample.name, before, after))
        count += 1
        if progress is not None:
            progress(count)
    return PriceImpact(
        count,
        tuple(changed),
        {name: (a, b) for name, (a, b) in sorted(funders.items())},
        tuple(FloorChange(name, *tally) for name, tally in sorted(floors.items())),
    )


def cart_samples(
    paths: Sequence[str | FilePath],
    engine: Engine,
    catalog: Any,
    at: datetime | None,
) -> Iterator[Sample]:
    """The cart files at ``paths`` (a directory stands for its ``*.toml`` and ``*.json``
    files, in name order); ``at`` overrides each cart's own time; a cart without one
    is refused (a comparison at "now" would change from run to run)."""
    from promorules.cartfile import load_cart

    tz = engine.ruleset.tz
    for path in _cart_files(paths):
        found = load_cart(path, engine.currency, tz, catalog)
        moment = at or found.at
        if moment is None:
            raise PromorulesError(f"{path}: the cart gives no 'at'; give --at")
        try:
            context = Context(moment, found.channel, tuple(found.coupons), choices=found.choices)
        except (TypeError, ValueError) as exc:
            raise PromorulesError(f"{path}: {exc}") from None
        yield Sample(str(path), found.cart, context)


def order_samples(path: str | FilePath, engine: Engine, catalog: Any) -> Iterator[Sample]:
    """The orders of an order log (CSV or JSON Lines, as ``simulate`` reads it)."""
    from promorules.simulate.orders import OrderReader, detect_format

    reader = OrderReader(
        str(path), detect_format(path), engine.currency, engine.ruleset.tz, catalog
    )
    for order in reader.read(path):
        context = Context(order.at, order.channel, order.coupons)
        yield Sample(order.id, order.cart, context)


def _cart_files(paths: Sequence[str | FilePath]) -> Iterator[FilePath]:
    for given in paths:
        path = FilePath(given)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".toml", ".json"))
            if not found:
                raise PromorulesError(f"{path}: no cart files (*.toml, *.json) in it")
            yield from found
        else:
            yield path


def _document(path: str | FilePath) -> tuple[dict[str, Any], Mapping[Path, tuple[int, int]]]:
    text = read_text(path, "ruleset", MAX_RULESET_BYTES)
    return read_toml(text, str(path))


def _by_id(promotions: Any) -> dict[str, tuple[int, Any]]:
    """Promotions by id, with their position in the file (``[[promotion]]`` order)."""
    out: dict[str, tuple[int, Any]] = {}
    if isinstance(promotions, list):
        for position, promotion in enumerate(promotions):
            if isinstance(promotion, dict) and isinstance(promotion.get("id"), str):
                out.setdefault(promotion["id"], (position, promotion))
    return out


def _differences(a: Any, b: Any, key: Path = ()) -> Iterator[tuple[Path, Any, Any]]:
    """``(key path, old, new)`` wherever ``a`` and ``b`` differ: tables key by key, lists
    of equal length item by item, anything else as a whole."""
    if isinstance(a, dict) and isinstance(b, dict):
        for name in list(a) + [k for k in b if k not in a]:
            yield from _differences(a.get(name, ABSENT), b.get(name, ABSENT), (*key, name))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for position, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differences(x, y, (*key, position))
    elif not _same(a, b):
        yield key, a, b


def _same(a: Any, b: Any) -> bool:
    # TOML's types are kept apart: 1 and 1.0, or 1 and true, are different values
    return type(a) is type(b) and a == b


def _key_text(key: Path) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _lower(a: Fraction | None, b: Fraction | None) -> Fraction | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def value_text(value: Any) -> str:
    """A TOML value as a planner wrote it (strings quoted), or ``(absent)``."""
    if value is ABSENT:
        return "(absent)"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {value_text(v)}" for k, v in value.items()) + " }"
    return str(value)


def json_value(value: Any) -> Any:
    """A TOML value as JSON holds it (times as ISO 8601 text)."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value
