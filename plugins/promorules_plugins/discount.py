"""The ``discount`` kind: a direct cut on the lines in scope.

"10% off beauty" or "20.00 off each unit of SKU-1": by default each line in scope gets
its own discount, measured on the line's amount at the start of the lane: ``percent``
of it (rounded by the ruleset's rounding mode, per line), ``off_each`` per unit or
``off_line`` per line, never more than the line. Lives in the item lane by default (a
direct cut on the item).

The rest states the model's conditions, pools and limits in the planner's words:

- ``threshold`` / ``min_quantity`` / ``max_amount``: what the lines must come to (at
  the start of the lane) and how many units they must hold; both must hold when both
  are given, and a pool above ``max_amount`` gets nothing ("small orders only");
- ``scope``: ``"order"`` (the default: every line in scope measured together),
  ``"store"`` (each merchant's lines) or ``"line"`` (each line on its own: "buy 3 of
  one item, 10% off it");
- ``cap``: the most it gives per pool; ``max_units``: how many units of each line an
  ``off_each`` reaches;
- ``cheapest = N``: only the N cheapest units of each pool (``dearest = true``: the
  dearest) get ``percent`` or ``off_each`` ("the cheapest 2 items half price");
- ``round = "pool"``: a percent worked out once on the pool and split over its lines
  (default ``"line"``: rounded on each line); ``leftover``: where a split's leftover
  minor units go (``"largest-remainder"``, ``"first-line"``, ``"last-line"``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from fractions import Fraction

import attrs

from promorules import hookimpl
from promorules.diagnostics import Problem
from promorules.kind import CompileEnv, Kind, Lane
from promorules.model import AmountOff, Cheapest, Condition, Leftover, Per, PercentOff, Pool, Rule
from promorules.ruleset import Amount, Promotion, Rate


class Round(str, enum.Enum):
    LINE = "line"
    POOL = "pool"


@attrs.frozen
class DiscountConfig:
    percent: Rate | None = None
    """A share off each line in scope (give this or ``off_each``)."""
    off_each: Amount | None = None
    """A fixed amount off each unit."""
    off_line: Amount | None = None
    """A fixed amount off each line."""
    threshold: Amount | None = None
    """What the lines of a pool must come to at the start of the lane."""
    min_quantity: int | None = None
    """How many units the lines of a pool must hold."""
    max_amount: Amount | None = None
    """A pool coming to more gets nothing ("small orders only")."""
    scope: Pool = Pool.ORDER
    """The pools: every line in scope together, each store's lines, or each line alone."""
    cap: Amount | None = None
    """The most it gives per pool."""
    max_units: int | None = None
    """How many units of each line ``off_each`` reaches."""
    round: Round = Round.LINE
    """A percent rounded on each line, or once on the pool and split over its lines."""
    leftover: Leftover = Leftover.LARGEST_REMAINDER
    """Where a split leaves its last minor units."""
    cheapest: int | None = None
    """Only the N cheapest units of each pool get ``percent`` or ``off_each``."""
    dearest: bool = False
    """With ``cheapest``: the N dearest units instead."""
    with_shipping: bool = False
    """With ``round = "pool"`` and ``scope = "order"``: the shipping fee counts in the
    pool (threshold, percent and cap on goods plus shipping; its share comes off the
    fee)."""


class Discount(Kind):
    name = "discount"
    config_type = DiscountConfig
    lanes = (Lane.ITEM, Lane.STORE, Lane.PLATFORM)
    summary = "direct cut: a percent off each line, or an amount off each unit or line"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: DiscountConfig = promotion.config
        rewards = [config.percent, config.off_each, config.off_line]
        if sum(r is not None for r in rewards) != 1:
            yield Problem("PR203", "give exactly one of percent, off_each or off_line")
        if config.percent is not None and not (0 < config.percent <= 1):
            yield Problem("PR203", "percent must lie in (0%, 100%]", ("percent",))
        for key in ("off_each", "off_line", "cap"):
            value = getattr(config, key)
            if value is not None and value <= 0:
                yield Problem("PR203", f"{key} must be positive", (key,))
        for key in ("threshold", "max_amount"):
            value = getattr(config, key)
            if value is not None and value < 0:
                yield Problem("PR203", f"{key} must not be negative", (key,))
        if config.min_quantity is not None and config.min_quantity < 1:
            yield Problem("PR203", "min_quantity must be at least 1", ("min_quantity",))
        if config.max_units is not None:
            if config.off_each is None:
                yield Problem("PR203", "max_units limits off_each", ("max_units",))
            elif config.max_units < 1:
                yield Problem("PR203", "max_units must be at least 1", ("max_units",))
        if config.cheapest is not None:
            if config.cheapest < 1:
                yield Problem("PR203", "cheapest must be at least 1", ("cheapest",))
            if config.off_line is not None or config.round is Round.POOL:
                yield Problem(
                    "PR203", "the cheapest units take a percent or off_each", ("cheapest",)
                )
            if config.max_units is not None:
                yield Problem(
                    "PR203",
                    "the cheapest units are counted by cheapest, not max_units",
                    ("max_units",),
                )
        elif config.dearest:
            yield Problem("PR203", "dearest picks with cheapest = N", ("dearest",))
        if config.round is Round.POOL and config.percent is None:
            yield Problem("PR203", 'round = "pool" rounds a percent', ("round",))
        if config.with_shipping and not (
            config.round is Round.POOL and config.scope is Pool.ORDER and config.cheapest is None
        ):
            yield Problem(
                "PR203",
                'with_shipping measures one pool of the order: give round = "pool" and '
                'scope = "order"',
                ("with_shipping",),
            )
        if (
            config.max_amount is not None
            and config.threshold is not None
            and config.max_amount < config.threshold
        ):
            yield Problem(
                "PR203", "max_amount is below threshold: it never applies", ("max_amount",)
            )

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule:
        config: DiscountConfig = promotion.config
        benefit: PercentOff | AmountOff | Cheapest
        if config.percent is not None:
            benefit = PercentOff(Fraction(config.percent), per_line=config.round is Round.LINE)
        elif config.off_line is not None:
            benefit = AmountOff(config.off_line, Per.LINE)
        else:
            benefit = AmountOff(config.off_each or 0, Per.UNIT)
        if config.cheapest is not None:
            reward = PercentOff(benefit.rate) if isinstance(benefit, PercentOff) else benefit
            benefit = Cheapest(config.cheapest, reward, config.dearest)
        condition = Condition(
            min_amount=config.threshold or 0,
            min_quantity=config.min_quantity or 0,
            max_amount=config.max_amount,
        )
        return Rule(
            benefit,
            condition,
            pool=config.scope,
            cap=config.cap,
            units_per_line=config.max_units,
            leftover=config.leftover,
            with_shipping=config.with_shipping,
        )


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Discount())
