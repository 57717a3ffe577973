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
from promorules.messages import Note
from promorules.money import apply_rate, format_percent
from promorules.ruleset import Promotion, Rate
from promorules.units import runs, take_cheapest


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
    partial: bool = False
    """A last, incomplete group still gets ``max(0, units - buy)`` units (buy 2 get 1
    with 2 units: nothing; some platforms count 3 of a "buy 2 get 2" as 1 free)."""
    get_skus: tuple[str, ...] = ()
    """Buy from one scope, get from another: the units discounted are those of these skus
    (or ``get_categories``, within the promotion's scope), the units bought the others."""
    get_categories: tuple[str, ...] = ()
    """The categories of the units discounted, as ``get_skus``."""


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
        if config.partial and (config.get_skus or config.get_categories):
            yield Problem(
                "PR203", "a partial group counts one scope: not with get_skus", ("partial",)
            )

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: BxgyConfig = promotion.config
        buy, get = config.buy, config.get
        group = buy + get
        rate = Fraction(config.percent) if config.percent is not None else Fraction(1)
        num, den = rate.numerator, rate.denominator
        rounding = env.rounding
        repeats = config.max_repeats
        if rate == 1:
            name = Note("buy-get-free", {"buy": buy, "get": get})
            reward = Note("units-free", {"units": get})
            more = Note("more-units-free", {"units": get})
        else:
            name = Note("buy-get-percent-off", {"buy": buy, "get": get, "percent": rate})
            reward = Note("units-percent-off", {"units": get, "percent": rate})
            more = Note("more-units-percent-off", {"units": get, "percent": rate})

        free = num == den  # apply_rate(amount, 1, 1, mode) is the amount, in every mode

        partial = config.partial
        get_skus, get_categories = frozenset(config.get_skus), frozenset(config.get_categories)
        split_scope = bool(get_skus or get_categories)

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            qty = state.qty
            getting: Sequence[int] = lines
            if split_scope:
                cart = state.lines
                getting = [
                    i
                    for i in lines
                    if cart[i].sku in get_skus or cart[i].category in get_categories
                ]
                got = set(getting)
                bought = sum([qty[i] for i in lines if i not in got])
                times = bought // buy
                count = bought
                units = min(times * get, sum([qty[i] for i in getting]))
                if repeats is not None:
                    times = min(times, repeats)
                    units = min(units, times * get)
            else:
                count = sum([qty[i] for i in lines])  # the units of the runs of these lines
                times = count // group
                if repeats is not None:
                    times = min(times, repeats)
                units = times * get
                if partial and (repeats is None or times < repeats):
                    units += max(0, count - times * group - buy)
            step = buy if split_scope else group
            if units == 0:
                if not state.explain:
                    return QUIET
                if split_scope and times:
                    return NotApplied(Reason.NO_ELIGIBLE_LINES, (_NO_UNIT_TO_GET,))
                shortfall = step - count
                return NotApplied(
                    Reason.BELOW_THRESHOLD,
                    (Note("units-short", {"units": count, "needed": step}),),
                    env.upsell(shortfall, step, reward, by_quantity=True),
                )
            chosen = take_cheapest(runs(state.amounts, qty, getting), units)
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
                shortfall = step - count % step
                hint = env.upsell(shortfall, step, more, by_quantity=True)
            if not out_lines:
                return NotApplied(Reason.NOTHING_LEFT, (_CHEAPEST_FREE,), hint)
            base = state.base(lines)
            return Offer(
                out_lines,
                out_amounts,
                base=base,
                notes=(
                    Note(
                        "bxgy-applied",
                        {"deal": name, "units": units, "count": sum([qty[i] for i in getting])},
                    ),
                ),
                hint=hint,
            )

        return evaluate

    def bound(self, promotion: Promotion) -> Bound:
        config: BxgyConfig = promotion.config
        # each unit it picks loses at most ``percent`` of itself (rounded once per line),
        # but it may pick every unit of a line: a line keeps a share only with a percent
        line_rate = Fraction(config.percent) if config.percent is not None else None
        if config.get_skus or config.get_categories:
            # the units got may be worth far more than the units bought
            return Bound(
                line_rate=line_rate,
                note="buy from one scope, get from another: up to the whole base",
            )
        # a partial last group of r units gets r - buy < get of them: no deeper
        rate = Fraction(config.get, config.buy + config.get)
        if config.percent is not None:
            rate *= Fraction(config.percent)
        return Bound(
            rate=rate,
            line_rate=line_rate,
            note=f"at most {format_percent(rate)} of the units in scope (the cheapest are "
            "discounted)"
            + (f", {format_percent(line_rate)} of any line" if line_rate is not None else ""),
        )


_NO_UNIT_TO_GET = Note("no-unit-to-get")
_CHEAPEST_FREE = Note("cheapest-already-free")


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Bxgy())
