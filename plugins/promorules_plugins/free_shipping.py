"""The ``free_shipping`` kind: the shipping fee waived above a threshold.

When the goods in scope reach ``threshold`` (their amount at the start of the lane)
and ``quantity`` (units; both must hold when both are given), the promotion takes the
shipping fee left by earlier lanes off: all of it (the default), at most ``off``, a
``percent`` of it, or down to a fixed ``price``. The engine caps every shipping discount at the
fee still left, so however many free-shipping promotions stack, shipping never goes
below zero: a second one finds nothing left and says so.

The threshold measures goods in scope, so the kind does not set ``without_lines``:
a cart with none of those goods is told ``no-eligible-lines``, which is the more
useful explanation. Shipping is excluded from the goods margin the guardrail keeps,
so the kind's bound has rate 0 (it never discounts goods) and ``off`` as its cap.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import attrs

from promorules import hookimpl
from promorules.diagnostics import Problem
from promorules.kind import CompileEnv, Kind, Lane
from promorules.model import Condition, Rule, ShippingOff
from promorules.ruleset import Amount, Promotion, Rate


@attrs.frozen
class FreeShippingConfig:
    threshold: Amount | None = None
    """Goods amount in scope needed; with neither threshold nor quantity: always."""
    quantity: int | None = None
    """Units in scope needed."""
    off: Amount | None = None
    """Most taken off the fee; None: the whole fee."""
    percent: Rate | None = None
    """A share of the fee taken off instead."""
    price: Amount | None = None
    """Shipping at this fixed price instead (the fee, if lower, stays as it is)."""


class FreeShipping(Kind):
    name = "free_shipping"
    config_type = FreeShippingConfig
    lanes = (Lane.PLATFORM, Lane.STORE)
    summary = "shipping fee waived (or reduced) above a goods amount or quantity"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: FreeShippingConfig = promotion.config
        if sum(v is not None for v in (config.off, config.percent, config.price)) > 1:
            yield Problem("PR203", "give at most one of off, percent and price")
        if config.percent is not None and not (0 < config.percent <= 1):
            yield Problem("PR203", "percent must lie in (0%, 100%]", ("percent",))
        if config.price is not None and config.price < 0:
            yield Problem("PR203", "price must not be negative", ("price",))
        if config.threshold is not None and config.threshold < 0:
            yield Problem("PR203", "a threshold must not be negative", ("threshold",))
        if config.quantity is not None and config.quantity <= 0:
            yield Problem("PR203", "quantity must be at least 1", ("quantity",))
        if config.off is not None and config.off <= 0:
            yield Problem("PR203", "off must be positive", ("off",))

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule:
        config: FreeShippingConfig = promotion.config
        condition = Condition(min_amount=config.threshold or 0, min_quantity=config.quantity or 0)
        percent = Fraction(config.percent) if config.percent is not None else None
        return Rule(ShippingOff(config.off, percent, config.price), condition)


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(FreeShipping())
