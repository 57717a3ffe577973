"""The ``member_price`` kind: a price for a customer segment, in the price lane.

``prices = { "LUMI-SERUM" = "299.00" }`` per sku and/or ``percent = "10%"`` off list
for every sku in scope; the common ``segments`` field says who gets it (required).
Each unit pays the lowest price offered in the price lane, so a flash price below the
member price wins those units (see ``[stacking] price``).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from promorules import hookimpl
from promorules.diagnostics import Problem
from promorules.kind import CompileEnv, Kind, Lane
from promorules.model import Rule
from promorules.ruleset import Amount, Promotion, Rate
from promorules_plugins.unitprice import check_prices, unit_prices


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

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule:
        config: MemberPriceConfig = promotion.config
        return Rule(unit_prices(config.prices, config.percent))

    def reach(self, promotion: Promotion) -> frozenset[str] | None:
        config: MemberPriceConfig = promotion.config
        # fixed prices alone: no other sku has one
        return frozenset(config.prices) if config.percent is None else None


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(MemberPrice())
