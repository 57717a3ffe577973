"""The ``discount`` kind: a direct cut on every line in scope, no threshold.

"10% off beauty" or "20.00 off each unit of SKU-1": each line in scope gets its own
discount, measured on the line's amount at the start of the lane: ``percent`` of it
(rounded by the ruleset's rounding mode), or ``off_each`` per unit, never more than the
line. Lives in the item lane by default (a direct cut on the item).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import attrs

from promorules import hookimpl
from promorules.diagnostics import Problem
from promorules.kind import CompileEnv, Kind, Lane
from promorules.model import AmountOff, Per, PercentOff, Rule
from promorules.ruleset import Amount, Promotion, Rate


@attrs.frozen
class DiscountConfig:
    percent: Rate | None = None
    off_each: Amount | None = None
    """A fixed amount off each unit."""


class Discount(Kind):
    name = "discount"
    config_type = DiscountConfig
    lanes = (Lane.ITEM, Lane.STORE, Lane.PLATFORM)
    summary = "direct cut: a percent off each line, or an amount off each unit"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: DiscountConfig = promotion.config
        if (config.percent is None) == (config.off_each is None):
            yield Problem("PR203", "give exactly one of percent or off_each")
        if config.percent is not None and not (0 < config.percent <= 1):
            yield Problem("PR203", "percent must lie in (0%, 100%]", ("percent",))
        if config.off_each is not None and config.off_each <= 0:
            yield Problem("PR203", "off_each must be positive", ("off_each",))

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule:
        config: DiscountConfig = promotion.config
        if config.percent is not None:
            return Rule(PercentOff(Fraction(config.percent), per_line=True))
        return Rule(AmountOff(config.off_each or 0, Per.UNIT))


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Discount())
