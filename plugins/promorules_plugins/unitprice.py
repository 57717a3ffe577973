"""Per-sku prices and a percent price: what the price-lane kinds (flash, member) share.

A price-lane kind names a fixed unit price per sku (``prices = { "SKU-1" = "199.00" }``)
and/or a percent off list for every sku in its scope (``percent = "30%"``); a listed
sku takes its own price, the percent covers the others. This module checks those
fields, turns them into a unit price for a cart line, and states their bound.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction

from promorules.diagnostics import Problem
from promorules.kind import Bound, PricingState, Source
from promorules.money import Rounding, apply_rate, format_amount, format_percent
from promorules.ruleset import Amount, Rate


def check_prices(prices: Mapping[str, Amount], percent: Rate | None) -> Iterator[Problem]:
    if not prices and percent is None:
        yield Problem("PR203", "give prices (per sku) and/or percent", ())
    for sku, price in prices.items():
        if price <= 0:
            yield Problem("PR203", "a price must be above zero", ("prices", sku))
    if percent is not None and not (0 < percent < 1):
        yield Problem("PR203", "percent must lie in (0%, 100%)", ("percent",))


class PriceTable:
    """The unit price a promotion offers for a sku at a given list price."""

    __slots__ = ("_currency", "_den", "_num", "_prices", "_rounding")

    def __init__(
        self, prices: Mapping[str, Amount], percent: Rate | None, rounding: Rounding, currency: str
    ) -> None:
        self._prices = dict(prices)
        self._num, self._den = (percent.numerator, percent.denominator) if percent else (0, 1)
        self._rounding = rounding
        self._currency = currency

    def price(self, sku: str, list_unit: int) -> int | None:
        """The unit price offered, or None when the sku has none. May be >= list."""
        fixed = self._prices.get(sku)
        if fixed is not None:
            return fixed
        if self._num:
            # the rate rounds the discount (down by default), never the price, so a
            # percent price never gives more than declared
            return list_unit - apply_rate(list_unit, self._num, self._den, self._rounding)
        return None

    def below_list(self, state: PricingState, lines: Sequence[int]) -> list[tuple[int, int, int]]:
        """``(line, unit price, quantity)`` for each of ``lines`` whose sku has a price
        below its list price (what :meth:`price` gives, checked as the kinds check it):
        the unit prices of an offer capping no line's units, for the figures alone."""
        price_of = self.price
        cart, list_unit, qty = state.lines, state.list_unit, state.qty
        offered: list[tuple[int, int, int]] = []
        for i in lines:
            unit = list_unit[i]
            price = price_of(cart[i].sku, unit)
            if price is not None and price < unit:
                offered.append((i, price, qty[i]))
        return offered

    def source(self) -> Source:
        """:meth:`price` as a hot-path expression (see :class:`Source`): the price of
        every unit of line ``$i``, for an offer capping no line's units."""
        sku, list_unit = "$state.lines[$i].sku", "$state.list_unit[$i]"
        if not self._num:
            return Source(unit_price=f"$prices.get({sku})", names={"prices": self._prices})
        if self._prices or self._rounding is not Rounding.DOWN:
            return Source(unit_price=f"$price({sku}, {list_unit})", names={"price": self.price})
        num, den = self._num, self._den
        return Source(unit_price=f"{list_unit} - {list_unit} * {num} // {den}")

    def money(self, minor: int) -> str:
        return format_amount(minor, self._currency)


def price_bound(prices: Mapping[str, Amount], percent: Rate | None, what: str) -> Bound:
    """Percent only: the rate. Fixed prices: depth needs the list price (a catalogue),
    so the catalogue-free rate is 1 and the prices go in ``unit_prices``."""
    rate = Fraction(percent) if percent is not None else Fraction(0)
    if not prices:
        return Bound(rate=rate, note=f"{what} at most {format_percent(rate)} off list")
    note = f"{what} at fixed prices for {len(prices)} sku(s): depth depends on list prices"
    if percent is not None:
        note += f"; {format_percent(rate)} off list for other skus"
    return Bound(
        rate=Fraction(1),
        note=note,
        unit_prices=dict(prices),
        other_rate=rate if percent is not None else None,
    )
