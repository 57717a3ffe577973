"""Reference-price rules: "was" prices and event prices checked against a price history.

A ruleset's ``[price_rules]`` (see :class:`promorules.ruleset.PriceRules`) sets how many
days before a promotion the reference price looks back (7 under China's 2020 rules,
30 under the EU Omnibus directive) and optionally a minimum cut below it. Given a
price history (CSV with columns ``sku,date,price``: the prices a sku actually sold at,
by day), :func:`check_price_rules` prices one unit of each catalogue sku when each
price- or item-lane promotion starts and flags:

- ``PR601`` (error): the "was" price shown (the catalogue's list price) is above the
  lowest price of the reference days;
- ``PR602`` (error): the event price (after price- and item-lane promotions) is not at
  least ``min_cut`` below that lowest price;
- ``PR603`` (warning): a discounted sku has no price in the reference days.

Store- and platform-lane reductions are order-level and do not make a sku's event
price. The diagnostics point at the history row that set the reference price.
``promorules validate`` and ``promorules simulate --price-history`` call this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path as FilePath
from typing import TYPE_CHECKING

import attrs

from promorules.diagnostics import Collector, Diagnostic, RulesetError, Severity
from promorules.kind import Lane
from promorules.money import MoneyError, format_amount, parse_amount
from promorules.reading import csv_records

if TYPE_CHECKING:
    from promorules.cartfile import CatalogItem
    from promorules.engine import Engine

MAX_HISTORY_BYTES = 256 * 1024 * 1024


@attrs.frozen
class PricePoint:
    day: date
    price: int
    line: int


@attrs.frozen
class PriceHistory:
    """Daily prices per sku, from a history file."""

    source: str
    prices: Mapping[str, tuple[PricePoint, ...]]

    def lowest(self, sku: str, first: date, last: date) -> PricePoint | None:
        """The lowest price of ``sku`` from ``first`` to ``last`` (inclusive)."""
        best = None
        for point in self.prices.get(sku, ()):
            if first <= point.day <= last and (best is None or point.price < best.price):
                best = point
        return best


def load_price_history(path: str | FilePath, currency: str) -> PriceHistory:
    """Read ``sku,date,price`` rows; every bad row reported, located, at once."""
    source = str(path)
    out = Collector(source)
    records = csv_records(path, "price history", MAX_HISTORY_BYTES, "PR305")
    _, header = next(records, (1, []))
    if set(header) != {"sku", "date", "price"} or len(header) != 3:
        out.add("PR305", "a price history is CSV with the columns sku,date,price")
        raise RulesetError(out.diagnostics())
    prices: dict[str, list[PricePoint]] = {}
    for number, fields in records:
        if not fields:
            continue  # a blank line
        path_key = ("row", number)
        out.positions[path_key] = (number, 1)
        if len(fields) != 3:
            out.add("PR305", f"row has {len(fields)} fields; the header names 3", path_key)
            continue
        row = dict(zip(header, fields, strict=True))
        sku, day_text, price_text = row.get("sku"), row.get("date"), row.get("price")
        if not sku:
            out.add("PR305", "every row needs a sku", path_key)
            continue
        try:
            day = date.fromisoformat(day_text or "")
        except ValueError:
            out.add("PR305", f"not a date: {str(day_text)[:40]!r} (write 2026-11-04)", path_key)
            continue
        try:
            price = parse_amount(price_text or "", currency)
        except MoneyError as exc:
            out.add("PR305", str(exc), path_key)
            continue
        prices.setdefault(sku, []).append(PricePoint(day, price, number))
    out.raise_if_errors()
    return PriceHistory(source, {k: tuple(v) for k, v in prices.items()})


def _moments(engine: Engine) -> list[datetime]:
    """When each price- or item-lane promotion starts (campaign start if always on)."""
    ruleset = engine.ruleset
    phases = ruleset.campaign.phases
    campaign_start = min((w.start for w in phases.values()), default=None)
    moments: set[datetime] = set()
    for promotion in ruleset.promotions:
        lane = promotion.effective_lane(engine.kinds[promotion.kind])
        if lane not in (Lane.PRICE, Lane.ITEM):
            continue
        windows = ruleset.windows(promotion)
        if windows:
            moments.update(w.start for w in windows)
        elif campaign_start is not None:
            moments.add(campaign_start)
    return sorted(moments)


def check_price_rules(
    engine: Engine,
    history: PriceHistory,
    catalog: Mapping[str, CatalogItem],
    segments: Sequence[str] = (),
) -> list[Diagnostic]:
    """Flag "was" and event prices that break the ruleset's reference-price rule.

    One unit of every catalogue sku is priced at the start of each price- or item-lane
    promotion (for a customer in ``segments``: member prices need ``("member",)``).
    Returns no diagnostic when the ruleset declares no rule.
    """
    from promorules.cart import Cart, Context, Customer, Line

    rules = engine.ruleset.price_rules
    days = rules.days
    if days is None:
        return []
    currency = engine.currency
    customer = Customer("price-check", frozenset(segments))
    found: list[Diagnostic] = []
    seen: set[tuple[str, str, date]] = set()

    def money(minor: int) -> str:
        return format_amount(minor, currency)

    def flag(code: str, message: str, line: int, severity: Severity = Severity.ERROR) -> None:
        found.append(Diagnostic(code, message, (), history.source, line, 1, severity))

    for moment in _moments(engine):
        day = moment.date()
        first, last = day - timedelta(days=days), day - timedelta(days=1)
        for item in catalog.values():
            if item.price is None:
                continue
            line = Line(
                item.sku,
                1,
                item.price,
                item.cost or 0,
                item.category,
                item.brand,
                item.merchant,
                item.tags,
                item.title,
            )
            quote = engine.price(Cart((line,), customer, currency), Context(moment))
            cut = sum(
                a.amount for a in quote.lines[0].adjustments if a.lane in (Lane.PRICE, Lane.ITEM)
            )
            if cut <= 0:
                continue
            event = item.price - cut
            reference = history.lowest(item.sku, first, last)
            window = f"{first.isoformat()} to {last.isoformat()}"
            if reference is None:
                key = ("PR603", item.sku, day)
                if key not in seen:
                    seen.add(key)
                    flag(
                        "PR603",
                        f"sku {item.sku}: discounted to {money(event)} on "
                        f"{day.isoformat()} but the history has no price from {window}",
                        1,
                        Severity.WARNING,
                    )
                continue
            if item.price > reference.price and ("PR601", item.sku, day) not in seen:
                seen.add(("PR601", item.sku, day))
                flag(
                    "PR601",
                    f'sku {item.sku}: "was" price {money(item.price)} on '
                    f"{day.isoformat()} is above the lowest price of the {days} days before "
                    f"({money(reference.price)} on {reference.day.isoformat()})",
                    reference.line,
                )
            if rules.min_cut is not None:
                ceiling = reference.price - reference.price * rules.min_cut
                if event > ceiling and ("PR602", item.sku, day) not in seen:
                    seen.add(("PR602", item.sku, day))
                    promised = f"{float(rules.min_cut) * 100:g}%"
                    flag(
                        "PR602",
                        f"sku {item.sku}: event price {money(event)} on "
                        f"{day.isoformat()} is not {promised} below the lowest price of the "
                        f"{days} days before ({money(reference.price)} on "
                        f"{reference.day.isoformat()})",
                        reference.line,
                    )
    return found
