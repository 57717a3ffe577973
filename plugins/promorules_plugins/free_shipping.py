"""The ``free_shipping`` kind: the shipping fee waived above a threshold.

When the goods in scope reach ``threshold`` (their amount at the start of the lane)
or ``quantity`` (units), the promotion takes ``off`` (default: all of it) off the
shipping fee left by earlier lanes. The engine caps every shipping discount at the
fee still left, so however many free-shipping promotions stack, shipping never goes
below zero: a second one finds nothing left and says so.

The threshold measures goods in scope, so the kind does not set ``without_lines``:
a cart with none of those goods is told ``no-eligible-lines``, which is the more
useful explanation. Shipping is excluded from the goods margin the guardrail keeps,
so the kind's bound has rate 0 (it never discounts goods) and ``off`` as its cap.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from promorules import hookimpl
from promorules.diagnostics import Problem
from promorules.kind import CompileEnv, Kind, Lane
from promorules.model import Condition, Rule, ShippingOff
from promorules.ruleset import Amount, Promotion


@attrs.frozen
class FreeShippingConfig:
    threshold: Amount | None = None
    """Goods amount in scope needed; with neither threshold nor quantity: always."""
    quantity: int | None = None
    """Units in scope needed."""
    off: Amount | None = None
    """Most taken off the fee; None: the whole fee."""


class FreeShipping(Kind):
    name = "free_shipping"
    config_type = FreeShippingConfig
    lanes = (Lane.PLATFORM, Lane.STORE)
    summary = "shipping fee waived (or reduced) above a goods amount or quantity"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: FreeShippingConfig = promotion.config
        if config.threshold is not None and config.quantity is not None:
            yield Problem("PR203", "give threshold (amount) or quantity (items), not both")
        if config.threshold is not None and config.threshold < 0:
            yield Problem("PR203", "a threshold must not be negative", ("threshold",))
        if config.quantity is not None and config.quantity <= 0:
            yield Problem("PR203", "quantity must be at least 1", ("quantity",))
        if config.off is not None and config.off <= 0:
            yield Problem("PR203", "off must be positive", ("off",))

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule:
        config: FreeShippingConfig = promotion.config
        condition = Condition(min_amount=config.threshold or 0, min_quantity=config.quantity or 0)
        return Rule(ShippingOff(amount=config.off), condition)


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(FreeShipping())
