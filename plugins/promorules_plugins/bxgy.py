"""The ``bxgy`` kind: buy X get Y ("buy 2 get 1 free", "buy 1 get 1 half price").

Units of every line in scope are pooled. For every ``buy + get`` units the customer
has, ``get`` units are free (or ``percent`` off), repeating up to ``max_repeats``
times. The discounted units are the cheapest units of the pool (by their current
amount at the start of the lane; ties go to the earlier line): the customer never
gets a dearer unit free than the ones paid for, which keeps the discount at most
``get / (buy + get)`` of the pool, whatever the prices.

A line's amount need not divide by its quantity: units are split exactly (see
:mod:`promorules_plugins.units`), and with ``percent`` the rate is applied once per
line, to the amount of its discounted units, through the ruleset's rounding.
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
)
from promorules.money import apply_rate, format_percent
from promorules.ruleset import Promotion, Rate
from promorules_plugins.units import runs, take_cheapest


@attrs.frozen
class BxgyConfig:
    buy: int
    """X: units paid for in each group."""
    get: int = 1
    """Y: units discounted in each group (the cheapest)."""
    percent: Rate | None = None
    """Discount on the Y units; None: they are free."""
    max_repeats: int | None = None
    """Most groups per order; None: as many as the cart holds."""


class Bxgy(Kind):
    name = "bxgy"
    config_type = BxgyConfig
    lanes = (Lane.ITEM, Lane.STORE, Lane.PLATFORM)
    summary = "buy X get Y: the cheapest units in scope free or at a percent off, repeating"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: BxgyConfig = promotion.config
        if config.buy <= 0:
            yield Problem("PR203", "buy must be at least 1", ("buy",))
        if config.get <= 0:
            yield Problem("PR203", "get must be at least 1", ("get",))
        if config.percent is not None and not (0 < config.percent <= 1):
            yield Problem("PR203", "percent must lie in (0%, 100%]", ("percent",))
        if config.max_repeats is not None and config.max_repeats <= 0:
            yield Problem("PR203", "max_repeats must be at least 1", ("max_repeats",))

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: BxgyConfig = promotion.config
        buy, get = config.buy, config.get
        group = buy + get
        rate = Fraction(config.percent) if config.percent is not None else Fraction(1)
        num, den = rate.numerator, rate.denominator
        rounding = env.rounding
        repeats = config.max_repeats
        how = "free" if rate == 1 else f"at {format_percent(rate)} off"
        name = f"buy {buy} get {get} {how}"

        free = num == den  # apply_rate(amount, 1, 1, mode) is the amount, in every mode

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            qty = state.qty
            count = sum([qty[i] for i in lines])  # the units of the runs of these lines
            times = count // group
            if repeats is not None:
                times = min(times, repeats)
            if times == 0:
                if not state.explain:
                    return QUIET
                shortfall = group - count
                return NotApplied(
                    Reason.BELOW_THRESHOLD,
                    f"{count} eligible units; {name} needs {group}",
                    env.upsell(shortfall, group, f"{get} {how}", by_quantity=True),
                )
            chosen = take_cheapest(runs(state.amounts, qty, lines), times * get)
            out_lines: list[int] = []
            out_amounts: list[int] = []
            for i in sorted(chosen):
                off = chosen[i] if free else apply_rate(chosen[i], num, den, rounding)
                if off > 0:
                    out_lines.append(i)
                    out_amounts.append(off)
            if not state.explain and out_lines:
                return Offer(out_lines, out_amounts)
            hint = None
            if state.explain and (repeats is None or times < repeats):
                shortfall = group - count % group
                hint = env.upsell(shortfall, group, f"{get} more {how}", by_quantity=True)
            if not out_lines:
                return NotApplied(
                    Reason.NOTHING_LEFT, "the cheapest units are already at 0.00", hint
                )
            base = state.base(lines)
            return Offer(
                out_lines,
                out_amounts,
                base=base,
                detail=f"{name}, {times} x (cheapest {times * get} of {count} units)",
                hint=hint,
            )

        return evaluate

    def bound(self, promotion: Promotion) -> Bound:
        config: BxgyConfig = promotion.config
        rate = Fraction(config.get, config.buy + config.get)
        if config.percent is not None:
            rate *= Fraction(config.percent)
        return Bound(
            rate=rate,
            note=f"at most {format_percent(rate)} of the units in scope (the cheapest are "
            "discounted); half-up rounding may add under one minor unit per line",
        )


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Bxgy())
