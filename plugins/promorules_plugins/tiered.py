"""The ``tiered`` kind: full reduction ("spend 300 get 30 off") and "every X off Y".

Modes:

- ``ladder``: the highest tier reached applies ("300 off 30, 500 off 60").
- ``every``: the reward repeats, ``floor(base / threshold) * off``, up to an optional
  ``cap`` ("every 300 off 50").

A tier is reached by amount (``threshold = "300.00"``) or by number of items
(``quantity = 3``); its reward is an amount (``off``) or a share of the base
(``percent``; ladder only). ``scope = "store"`` measures each merchant's lines
separately; ``"cross-store"`` pools every line in scope (the default in the platform
lane; ``"store"`` elsewhere). The discount of a pool is spread over its lines in
proportion to their amounts, exactly (``leftover`` says where the last minor units go).
``scope = "line"`` lets each line reach the tiers by its own amount or quantity ("buy 2
of one item, 10% off it; 3, 20% off").
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from fractions import Fraction

import attrs

from promorules import hookimpl
from promorules.diagnostics import Problem
from promorules.kind import CompileEnv, Kind, Lane
from promorules.model import AmountOff, Every, Leftover, PercentOff, Pool, Rule, Step, Tiers
from promorules.ruleset import Amount, Promotion, Rate, Ruleset


class Mode(str, enum.Enum):
    LADDER = "ladder"
    EVERY = "every"


class Scope(str, enum.Enum):
    STORE = "store"
    CROSS_STORE = "cross-store"
    LINE = "line"
    """Each line reaches its tiers by its own amount or quantity."""


@attrs.frozen
class Tier:
    """One step: reached at ``threshold`` (amount) or ``quantity`` (items)."""

    threshold: Amount | None = None
    """Reached when the pool's amount is at least this (give this or ``quantity``)."""
    quantity: int | None = None
    """Reached when the pool holds at least this many units."""
    off: Amount | None = None
    """A fixed amount off the pool (give this or ``percent``)."""
    percent: Rate | None = None
    """A share off the pool."""


@attrs.frozen
class TieredConfig:
    mode: Mode = Mode.LADDER
    """``ladder``: the highest tier reached applies; ``every``: ``floor(base / threshold) *
    off``, repeating."""
    scope: Scope | None = None
    """``store``: each merchant's lines are a pool of their own; ``cross-store``: the lines
    of every store pooled. None: ``cross-store`` in the platform lane, ``store`` elsewhere."""
    tiers: tuple[Tier, ...] = ()
    """The steps, lowest first: ``[{ threshold = "300.00", off = "30.00" }, ...]`` or
    ``[{ quantity = 2, percent = "10%" }, ...]``."""
    threshold: Amount | None = None
    """Shorthand for a single tier (and the step of ``every`` mode)."""
    quantity: int | None = None
    """Shorthand for a single tier reached by units (in place of ``threshold``)."""
    off: Amount | None = None
    """The single tier's amount off (and what each step of ``every`` gives)."""
    percent: Rate | None = None
    """The single tier's share off (in place of ``off``)."""
    cap: Amount | None = None
    """Most the promotion gives per pool (per store, or per order when cross-store)."""
    leftover: Leftover = Leftover.LARGEST_REMAINDER
    """Where the minor units left over when a pool's discount is split go."""

    def steps(self) -> tuple[Tier, ...]:
        if self.tiers:
            return self.tiers
        return (Tier(self.threshold, self.quantity, self.off, self.percent),)


class Tiered(Kind):
    name = "tiered"
    config_type = TieredConfig
    lanes = (Lane.STORE, Lane.PLATFORM, Lane.ITEM)
    summary = "full reduction: ladder tiers or every-X-off-Y, by amount or quantity"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: TieredConfig = promotion.config
        shorthand = any(
            v is not None for v in (config.threshold, config.quantity, config.off, config.percent)
        )
        if config.tiers and shorthand:
            yield Problem(
                "PR203", "give tiers, or threshold/quantity with off/percent, not both", ("tiers",)
            )
            return
        if config.mode is Mode.EVERY and config.tiers:
            yield Problem(
                "PR203",
                "every mode takes one threshold (or quantity) and off, not tiers",
                ("tiers",),
            )
            return
        steps = config.steps()
        by_quantity = None
        previous: Tier | None = None
        for index, tier in enumerate(steps):
            path: tuple[str | int, ...] = ("tiers", index) if config.tiers else ()
            if (tier.threshold is None) == (tier.quantity is None):
                yield Problem(
                    "PR203", "give exactly one of threshold (amount) or quantity (items)", path
                )
                continue
            if (tier.off is None) == (tier.percent is None):
                yield Problem("PR203", "give exactly one reward: off (amount) or percent", path)
                continue
            tier_by_quantity = tier.quantity is not None
            if by_quantity is not None and tier_by_quantity != by_quantity:
                yield Problem(
                    "PR203", "all tiers must count the same way (amount or quantity)", path
                )
            by_quantity = tier_by_quantity
            step = tier.quantity if tier.quantity is not None else tier.threshold
            if step is None or step <= 0:
                yield Problem(
                    "PR203",
                    "a threshold must be positive",
                    (*path, "quantity" if tier_by_quantity else "threshold"),
                )
            if tier.off is not None and tier.off <= 0:
                yield Problem("PR203", "off must be positive", (*path, "off"))
            if tier.percent is not None and not (0 < tier.percent <= 1):
                yield Problem("PR203", "percent must lie in (0%, 100%]", (*path, "percent"))
            if tier.percent is not None and config.mode is Mode.EVERY:
                yield Problem(
                    "PR203",
                    "every mode repeats an amount: use off, not percent",
                    (*path, "percent"),
                )
            if (
                previous is not None
                and previous.quantity == tier.quantity
                and (_measure(previous) >= _measure(tier))
            ):
                yield Problem(
                    "PR203",
                    "must exceed the previous tier's threshold",
                    (*path, "quantity" if tier_by_quantity else "threshold"),
                )
            previous = tier
        if config.cap is not None and config.cap <= 0:
            yield Problem("PR203", "cap must be positive", ("cap",))

    def lint(self, promotion: Promotion, ruleset: Ruleset) -> Iterable[Problem]:
        config: TieredConfig = promotion.config
        steps = config.steps()
        for index, tier in enumerate(steps):
            path: tuple[str | int, ...] = ("tiers", index) if config.tiers else ()
            if tier.threshold is not None and tier.off is not None and tier.off >= tier.threshold:
                yield Problem(
                    "PR402",
                    "the discount is at or above its threshold: an order "
                    "that just reaches it is free",
                    (*path, "off"),
                )
            if tier.percent is not None and tier.percent >= 1:
                yield Problem(
                    "PR402", "100% off: an order that reaches this tier is free", (*path, "percent")
                )
            if index == 0:
                continue
            below = steps[index - 1]
            if tier.quantity is not None and (tier.off is None) != (below.off is None):
                continue  # an amount and a share of an unknown base do not compare
            # compare what both tiers give where the higher one starts
            at = _measure(tier)
            if _reward_at(tier, at) <= _reward_at(below, at):
                yield Problem(
                    "PR401",
                    "gives no more than the tier below it at its own "
                    "threshold: reaching it is no reward",
                    (*path,),
                )

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule:
        config: TieredConfig = promotion.config
        steps = config.steps()
        by_quantity = steps[0].quantity is not None
        scope = config.scope or _default_scope(promotion.effective_lane(self))
        # one store's promotion pools every line it reaches: no pooling per cart
        per_store = scope is Scope.STORE and len(promotion.merchants) != 1
        pool = Pool.LINE if scope is Scope.LINE else Pool.STORE if per_store else Pool.ORDER
        benefit: Tiers | Every
        if config.mode is Mode.EVERY:
            benefit = Every(_measure(steps[0]), steps[0].off or 0, by_quantity)
        else:
            ladder = sorted(steps, key=_measure)
            benefit = Tiers(
                tuple(
                    Step(
                        _measure(tier),
                        AmountOff(tier.off)
                        if tier.off is not None
                        else PercentOff(Fraction(tier.percent or 0)),
                    )
                    for tier in ladder
                ),
                by_quantity,
            )
        return Rule(benefit, pool=pool, cap=config.cap, leftover=config.leftover)


def _default_scope(lane: Lane) -> Scope:
    return Scope.CROSS_STORE if lane is Lane.PLATFORM else Scope.STORE


def _reward_at(tier: Tier, measure: int) -> Fraction:
    """What a tier gives on a base of ``measure`` (a quantity tier's percent compares as is)."""
    if tier.off is not None:
        return Fraction(tier.off)
    rate = Fraction(tier.percent or 0)
    return rate if tier.quantity is not None else rate * measure


def _measure(tier: Tier) -> int:
    return tier.quantity if tier.quantity is not None else (tier.threshold or 0)


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Tiered())
