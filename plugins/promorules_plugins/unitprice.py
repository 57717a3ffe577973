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
from promorules.interpret import unit_price
from promorules.kind import PricingState
from promorules.model import UnitPrice
from promorules.money import Rounding
from promorules.ruleset import Amount, Rate


def check_prices(prices: Mapping[str, Amount], percent: Rate | None) -> Iterator[Problem]:
    if not prices and percent is None:
        yield Problem("PR203", "give prices (per sku) and/or percent", ())
    for sku, price in prices.items():
        if price <= 0:
            yield Problem("PR203", "a price must be above zero", ("prices", sku))
    if percent is not None and not (0 < percent < 1):
        yield Problem("PR203", "percent must lie in (0%, 100%)", ("percent",))


def unit_prices(prices: Mapping[str, Amount], percent: Rate | None) -> UnitPrice:
    """The model's unit prices for a price-lane kind's ``prices`` and ``percent``."""
    return UnitPrice(
        {sku: int(price) for sku, price in prices.items()},
        Fraction(percent) if percent is not None else None,
    )


class PriceTable:
    """The unit price a promotion offers for a sku at a given list price: the model's
    :func:`~promorules.interpret.unit_price`, for the evaluators of stateful kinds."""

    __slots__ = ("_benefit", "_rounding")

    def __init__(
        self, prices: Mapping[str, Amount], percent: Rate | None, rounding: Rounding
    ) -> None:
        self._benefit = unit_prices(prices, percent)
        self._rounding = rounding

    def price(self, sku: str, list_unit: int) -> int | None:
        """The unit price offered, or None when the sku has none. May be >= list."""
        return unit_price(self._benefit, sku, list_unit, self._rounding)

    def below_list(self, state: PricingState, lines: Sequence[int]) -> list[tuple[int, int, int]]:
        """``(line, unit price, quantity)`` for each of ``lines`` whose sku has a price
        below its list price: the unit prices of an offer capping no line's units."""
        price_of = self.price
        cart, list_unit, qty = state.lines, state.list_unit, state.qty
        offered: list[tuple[int, int, int]] = []
        for i in lines:
            unit = list_unit[i]
            price = price_of(cart[i].sku, unit)
            if price is not None and price < unit:
                offered.append((i, price, qty[i]))
        return offered
