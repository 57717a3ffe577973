"""The ``member_price`` kind: a price for a customer segment, in the price lane.

``prices = { "LUMI-SERUM" = "299.00" }`` per sku and/or ``percent = "10%"`` off list
for every sku in scope; the common ``segments`` field says who gets it (required).
Each unit pays the lowest price offered in the price lane, so a flash price below the
member price wins those units (see ``[stacking] price``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from promorules import hookimpl
from promorules.diagnostics import Problem
from promorules.kind import (
    QUIET,
    Bound,
    CompileEnv,
    Evaluator,
    Kind,
    Lane,
    NotApplied,
    Offer,
    PricingState,
    Reason,
    Source,
)
from promorules.ruleset import Amount, Promotion, Rate
from promorules_plugins.unitprice import PriceTable, check_prices, price_bound


@attrs.frozen
class MemberPriceConfig:
    prices: dict[str, Amount] = attrs.field(factory=dict)
    """The member unit price per sku: ``{ "GREEN-OIL" = "109.00" }``."""
    percent: Rate | None = None
    """A share off the list price of every other sku in scope."""


class MemberPrice(Kind):
    name = "member_price"
    config_type = MemberPriceConfig
    lanes = (Lane.PRICE,)
    summary = "member price: a unit price (per sku or percent off) for customer segments"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: MemberPriceConfig = promotion.config
        yield from check_prices(config.prices, config.percent)
        if not promotion.segments:
            yield Problem("PR203", "a member price needs the segments it is for", ("segments",))

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: MemberPriceConfig = promotion.config
        table = PriceTable(config.prices, config.percent, env.rounding, env.currency)
        money = table.money

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            if not state.explain:
                offered = table.below_list(state, lines)
                return Offer(unit_prices=offered) if offered else QUIET
            offered = []
            notes: list[str] = []
            base = 0
            for i in lines:
                list_unit = state.list_unit[i]
                price = table.price(state.lines[i].sku, list_unit)
                if price is None or price >= list_unit:
                    continue
                offered.append((i, price, state.qty[i]))
                base += state.amounts[i]
                notes.append(f"{state.lines[i].sku} {money(price)}")
            if not offered:
                return NotApplied(
                    Reason.NO_ELIGIBLE_LINES, "no member price below list for the skus in the cart"
                )
            return Offer(base=base, unit_prices=offered, detail="member price " + ", ".join(notes))

        return evaluate

    def source(self, promotion: Promotion, env: CompileEnv) -> Source | None:
        config: MemberPriceConfig = promotion.config
        return PriceTable(config.prices, config.percent, env.rounding, env.currency).source()

    def reach(self, promotion: Promotion) -> frozenset[str] | None:
        config: MemberPriceConfig = promotion.config
        # fixed prices alone: no other sku has one
        return frozenset(config.prices) if config.percent is None else None

    def bound(self, promotion: Promotion) -> Bound:
        config: MemberPriceConfig = promotion.config
        return price_bound(config.prices, config.percent, "member price")


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(MemberPrice())
