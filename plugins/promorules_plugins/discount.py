"""The ``discount`` kind: a direct cut on every line in scope, no threshold.

"10% off beauty" or "20.00 off each unit of SKU-1": each line in scope gets its own
discount, measured on the line's amount at the start of the lane: ``percent`` of it
(rounded by the ruleset's rounding mode), or ``off_each`` per unit, never more than the
line. Lives in the item lane by default (a direct cut on the item).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

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
from promorules.money import Rounding, apply_rate, apply_rate_each, format_amount, format_percent
from promorules.ruleset import Amount, Promotion, Rate


@attrs.frozen
class DiscountConfig:
    percent: Rate | None = None
    """A share off each line in scope (give this or ``off_each``)."""
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

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: DiscountConfig = promotion.config
        rounding = env.rounding
        if config.percent is not None:
            num, den = config.percent.numerator, config.percent.denominator
            detail = f"{format_percent(config.percent)} off each line"

            def percent_off(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
                amounts = state.amounts
                given = apply_rate_each(amounts, lines, num, den, rounding)
                if not any(given):
                    if not state.explain:
                        return QUIET
                    return NotApplied(Reason.NOTHING_LEFT, "nothing left to discount")
                if not state.explain:
                    return Offer(lines, given)
                return Offer(list(lines), given, base=state.base(lines), detail=detail)

            return percent_off
        each = config.off_each or 0
        detail = f"{format_amount(each, env.currency)} off each unit"

        def amount_off(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            amounts, qty = state.amounts, state.qty
            given = [min(each * qty[i], amounts[i]) for i in lines]
            if not any(given):
                return NotApplied(Reason.NOTHING_LEFT, "nothing left to discount")
            return Offer(list(lines), given, base=state.base(lines), detail=detail)

        return amount_off

    def source(self, promotion: Promotion, env: CompileEnv) -> Source | None:
        config: DiscountConfig = promotion.config
        if config.percent is not None:
            num, den = config.percent.numerator, config.percent.denominator
            if env.rounding is Rounding.DOWN:
                return Source(each=f"$amounts[$i] * {num} // {den}")
            return Source(
                each=f"$rate($amounts[$i], {num}, {den}, $rounding)",
                names={"rate": apply_rate, "rounding": env.rounding},
            )
        each = config.off_each or 0
        return Source(each=f"min({each} * $state.qty[$i], $amounts[$i])")

    def bound(self, promotion: Promotion) -> Bound:
        config: DiscountConfig = promotion.config
        if config.percent is not None:
            rate = Fraction(config.percent)
            return Bound(rate=rate, note=f"{format_percent(rate)} of each line")
        return Bound(note="a fixed amount per unit: up to the whole line on cheap items")


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Discount())
