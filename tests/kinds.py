"""Test-only promotion kinds: the shapes the validator must handle before the real kinds
(coupon, flash sale, presale, gift, bxgy) land. Never registered through entry points;
tests pass this module in their plugin list.

- ``test_price``: price lane, a percent off the unit price (a deep flash price).
- ``test_coupon``: a code unlocks an amount or percent off above a threshold.
- ``test_gift``: a gift line with a cost above a threshold (no discount).
- ``test_bonus``: a fixed amount off per unit (a pre-sale deposit bonus), optionally only
  in its final-payment window.
- ``test_cheapest``: "buy N, the cheapest unit is free" pooled over its lines; its
  discount lands on one line, so it promises no per-line share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from fractions import Fraction

import attrs

from promorules import hookimpl
from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec
from promorules.diagnostics import Problem
from promorules.kind import (
    Bound,
    CompileEnv,
    Evaluator,
    Gift,
    Kind,
    Lane,
    NotApplied,
    Offer,
    PricingState,
    Reason,
)
from promorules.money import allocate, apply_rate
from promorules.ruleset import Amount, Promotion, Rate, Ruleset, Window


def _normal(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum() and ch.isascii())


@attrs.frozen
class PriceConfig:
    percent: Rate


class PricePercent(Kind):
    name = "test_price"
    config_type = PriceConfig
    lanes = (Lane.PRICE,)

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        rate: Fraction = promotion.config.percent

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            prices = []
            for i in lines:
                unit = state.list_unit[i]
                off = apply_rate(unit, rate.numerator, rate.denominator, env.rounding)
                prices.append((i, unit - off, state.qty[i]))
            return Offer(unit_prices=prices, base=sum(state.amounts[i] for i in lines))

        return evaluate

    def bound(self, promotion: Promotion) -> Bound:
        return Bound(rate=Fraction(promotion.config.percent), note="percent off the price")


@attrs.frozen
class CouponConfig:
    code: str
    threshold: Amount = attrs.field(default=Amount(0))
    off: Amount | None = None
    percent: Rate | None = None
    cap: Amount | None = None
    uses: int | None = None
    per_customer: int | None = None


class Coupon(Kind):
    name = "test_coupon"
    config_type = CouponConfig
    lanes = (Lane.PLATFORM, Lane.STORE, Lane.ITEM)

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: CouponConfig = promotion.config
        code = _normal(config.code)

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            if code not in state.coupons:
                return NotApplied(Reason.NOT_PRESENTED)
            weights = [state.amounts[i] for i in lines]
            base = sum(weights)
            if base <= 0 or base < config.threshold:
                return NotApplied(Reason.BELOW_THRESHOLD)
            if config.off is not None:
                off = int(config.off)
            else:
                rate = Fraction(config.percent or 0)
                off = apply_rate(base, rate.numerator, rate.denominator, env.rounding)
            if config.cap is not None:
                off = min(off, config.cap)
            off = min(off, base)
            return Offer(list(lines), allocate(off, weights), base=base)

        return evaluate

    def bound(self, promotion: Promotion) -> Bound:
        config: CouponConfig = promotion.config
        if config.percent is not None:
            rate = Fraction(config.percent)
        elif config.off is not None and config.threshold > 0:
            rate = Fraction(config.off, config.threshold)
        else:
            rate = Fraction(1)
        rate = min(rate, Fraction(1))
        return Bound(
            rate=rate,
            cap=config.cap,
            line_rate=rate,
            min_base=config.threshold,
            note=f"coupon {config.code}",
        )

    def example_codes(self, promotion: Promotion) -> Iterable[str]:
        return (promotion.config.code,)

    def counters(self, promotion: Promotion) -> Iterable[CounterSpec]:
        config: CouponConfig = promotion.config
        if config.uses is not None:
            yield CounterSpec(CounterKey(CounterKind.COUPON_USES, promotion.id), config.uses)
        if config.per_customer is not None:
            key = CounterKey(CounterKind.COUPON_CUSTOMER_USES, promotion.id, ANY_SUBJECT)
            yield CounterSpec(key, config.per_customer)

    def lint(self, promotion: Promotion, ruleset: Ruleset) -> Iterable[Problem]:
        config: CouponConfig = promotion.config
        if config.off is not None and config.threshold and config.off >= config.threshold:
            yield Problem("PR402", "the discount is at or above its threshold", ("off",))


@attrs.frozen
class GiftConfig:
    threshold: Amount
    gift_sku: str
    gift_cost: Amount = attrs.field(default=Amount(0))


class GiftAbove(Kind):
    name = "test_gift"
    config_type = GiftConfig
    lanes = (Lane.PLATFORM, Lane.STORE)

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: GiftConfig = promotion.config
        gift = Gift(config.gift_sku, int(config.gift_cost))

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            base = sum(state.amounts[i] for i in lines)
            if base < config.threshold:
                return NotApplied(Reason.BELOW_THRESHOLD)
            return Offer(base=base, gifts=[gift])

        return evaluate

    def bound(self, promotion: Promotion) -> Bound:
        config: GiftConfig = promotion.config
        return Bound(
            rate=Fraction(0),
            extra_cost=int(config.gift_cost),
            min_base=int(config.threshold),
            note=f"gift {config.gift_sku}",
        )

    def lint(self, promotion: Promotion, ruleset: Ruleset) -> Iterable[Problem]:
        if promotion.config.gift_cost == 0:
            yield Problem(
                "PR411", "the gift has no cost: its margin impact is invisible", ("gift_cost",)
            )


@attrs.frozen
class BonusConfig:
    bonus: Amount
    deposit: Amount = attrs.field(default=Amount(0))
    deposit_window: Window | None = None
    final_window: Window | None = None


class Bonus(Kind):
    name = "test_bonus"
    config_type = BonusConfig
    lanes = (Lane.ITEM,)

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: BonusConfig = promotion.config
        final = config.final_window

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            if final is not None and not final.contains(state.at):
                return NotApplied(Reason.OUT_OF_WINDOW)
            amounts = [min(config.bonus * state.qty[i], state.amounts[i]) for i in lines]
            return Offer(list(lines), amounts, base=sum(state.amounts[i] for i in lines))

        return evaluate

    def bound(self, promotion: Promotion) -> Bound:
        # an absolute amount per unit: its share of a price is unknown without the price
        return Bound(note=f"bonus {promotion.config.bonus} per unit")

    def lint(self, promotion: Promotion, ruleset: Ruleset) -> Iterable[Problem]:
        config: BonusConfig = promotion.config
        deposit, final = config.deposit_window, config.final_window
        if deposit is not None and final is not None and final.start <= deposit.end:
            yield Problem(
                "PR404",
                "the final-payment window opens before the deposit window closes",
                ("final_window",),
            )


@attrs.frozen
class CheapestConfig:
    buy: int


class CheapestFree(Kind):
    name = "test_cheapest"
    config_type = CheapestConfig
    lanes = (Lane.ITEM, Lane.STORE)

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        buy: int = promotion.config.buy

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            units = sum(state.qty[i] for i in lines)
            if units < buy or buy < 1:
                return NotApplied(Reason.BELOW_THRESHOLD)
            # the cheapest unit (on what is left of its line) is free
            cheapest = min(lines, key=lambda i: (state.amounts[i] // state.qty[i], i))
            off = state.amounts[cheapest] // state.qty[cheapest]
            return Offer([cheapest], [off], base=sum(state.amounts[i] for i in lines))

        return evaluate

    def bound(self, promotion: Promotion) -> Bound:
        buy = max(int(promotion.config.buy), 1)
        # one unit of at least `buy` is free: at most 1/buy of the pool, all of one line
        return Bound(rate=Fraction(1, buy), note=f"cheapest of {buy} free")


KINDS: tuple[Kind, ...] = (PricePercent(), Coupon(), GiftAbove(), Bonus(), CheapestFree())


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    for kind in KINDS:
        register(kind)


def at(text: str) -> datetime:
    from tests.helpers import SHANGHAI

    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
