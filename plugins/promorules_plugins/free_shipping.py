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
from promorules.money import format_amount
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

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: FreeShippingConfig = promotion.config
        by_quantity = config.quantity is not None
        need = config.quantity if config.quantity is not None else (config.threshold or 0)
        cap = config.off
        currency = env.currency
        reward = "free shipping" if cap is None else f"{format_amount(cap, currency)} off shipping"
        need_text = f"{need} items" if by_quantity else format_amount(need, currency)
        below = f"below the threshold ({need_text})"
        above = f" above {need_text}" if need else ""

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            if by_quantity:
                qty = state.qty
                measure = sum([qty[i] for i in lines])
            else:
                measure = state.base(lines)
            if measure < need:
                if not state.explain:
                    return QUIET
                shortfall = need - measure
                return NotApplied(
                    Reason.BELOW_THRESHOLD,
                    below,
                    env.upsell(shortfall, need, reward, by_quantity),
                )
            fee = state.shipping
            if fee <= 0:
                return NotApplied(Reason.NOTHING_LEFT, "no shipping fee left to waive")
            off = fee if cap is None else min(cap, fee)
            if not state.explain:
                return Offer(shipping_off=off)
            base = state.base(lines) if by_quantity else measure
            what = "shipping waived" if off == fee else "off shipping"
            return Offer(
                base=base,
                detail=f"{format_amount(off, currency)} {what}{above}",
                shipping_off=off,
            )

        return evaluate

    def source(self, promotion: Promotion, env: CompileEnv) -> Source | None:
        config: FreeShippingConfig = promotion.config
        if config.quantity is not None:
            measure, need = "sum([$state.qty[i] for i in $lines])", config.quantity
        else:
            measure, need = "$base", config.threshold or 0
        fee = "$state.shipping" if config.off is None else f"min({config.off}, $state.shipping)"
        return Source(f"$shipping_off = {fee} if {measure} >= {need} else 0", shipping=True)

    def threshold(self, promotion: Promotion) -> int:
        config: FreeShippingConfig = promotion.config
        return config.threshold or 0 if config.quantity is None else 0

    def bound(self, promotion: Promotion) -> Bound:
        config: FreeShippingConfig = promotion.config
        return Bound(
            rate=Fraction(0),
            cap=config.off,
            note="reduces the shipping fee only (never below zero); shipping is excluded "
            "from the goods margin, so goods are not discounted",
        )


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(FreeShipping())
