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
proportion to their amounts, exactly.
"""

from __future__ import annotations

import enum
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
    Upsell,
)
from promorules.money import allocate, apply_rate, format_amount, format_percent
from promorules.ruleset import Amount, Promotion, Rate, Ruleset


class Mode(str, enum.Enum):
    LADDER = "ladder"
    EVERY = "every"


class Scope(str, enum.Enum):
    STORE = "store"
    CROSS_STORE = "cross-store"


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

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        shape = _Shape.of(promotion, self)
        per_store, by_quantity, every = shape.per_store, shape.by_quantity, shape.every
        cap, ladder, first = shape.cap, shape.ladder, shape.first
        step_measure, step_off = shape.step_measure, shape.step_off
        rounding = env.rounding
        currency = env.currency

        def money(minor: int) -> str:
            return format_amount(minor, currency)

        def reward_text(off: int | None, ratio: tuple[int, int] | None) -> str:
            if ratio is not None:
                return f"{format_percent(Fraction(*ratio))} off"
            return f"{money(off or 0)} off"

        def reached_text(measure: int) -> str:
            return f"{measure} items" if by_quantity else money(measure)

        # explanation texts worked out once, not on every cart
        every_note = f" x {reward_text(step_off, None)} per {reached_text(step_measure)}"
        tier_notes = [f"tier {reached_text(t)}: {reward_text(o, r)}" for t, o, r in ladder]
        tier_rewards = [reward_text(o, r) for _, o, r in ladder]
        below_first = f"below the first threshold ({reached_text(first)})"

        def earned(measure: int, base: int) -> tuple[int, bool]:
            """The discount one pool earns (its cap and its base applied), and whether
            the cap cut it."""
            if every:
                off = measure // step_measure * step_off
            else:
                for threshold, tier_off, ratio in ladder:
                    if measure >= threshold:
                        if tier_off is not None:
                            off = tier_off
                        elif ratio is not None:
                            off = apply_rate(base, ratio[0], ratio[1], rounding)
                        else:
                            off = 0
                        break
                else:
                    return 0, False
            capped = False
            if cap is not None and off > cap:
                off, capped = cap, True
            return (off if off < base else base), capped

        def account(measure: int, capped: bool) -> tuple[str, Upsell | None]:
            """A note on what one pool reached, and the upsell towards the next step."""
            if every:
                times = measure // step_measure
                hint = None
                if not capped:
                    hint = env.upsell(
                        (times + 1) * step_measure - measure,
                        step_measure,
                        lambda: f"{money((times + 1) * step_off)} off",
                        by_quantity,
                    )
                return f"{times}{every_note}" + (" (capped)" if capped else ""), hint
            for position, (threshold, _, _) in enumerate(ladder):
                if measure >= threshold:
                    note = tier_notes[position] + (" (capped)" if capped else "")
                    hint = None
                    if position > 0:
                        higher = ladder[position - 1][0]
                        hint = env.upsell(
                            higher - measure, higher, tier_rewards[position - 1], by_quantity
                        )
                    return note, hint
            lowest = ladder[-1][0]
            return "", env.upsell(lowest - measure, lowest, tier_rewards[-1], by_quantity)

        # one store's promotion pools every line it reaches: no pooling per cart
        pooled_per_store = per_store and len(promotion.merchants) != 1

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            amounts = state.amounts
            if not state.explain and not pooled_per_store:
                # the hot path's figures for one pool: the discount alone, no account. A
                # pool measuring less than the first step earns nothing (``earned`` gives
                # 0 for it in both modes), so it is told apart before ``earned`` is called
                weights = [amounts[i] for i in lines]
                base = sum(weights)
                if by_quantity:
                    qty = state.qty
                    measure = sum([qty[i] for i in lines])
                else:
                    measure = base
                if measure < first:
                    return QUIET
                off = earned(measure, base)[0]
                if off <= 0:
                    return QUIET
                return Offer(lines, allocate(off, weights))
            explain = state.explain
            if pooled_per_store:
                pools: dict[str, list[int]] = {}
                for i in lines:
                    pools.setdefault(state.lines[i].merchant, []).append(i)
                groups: Iterable[Sequence[int]] = pools.values()
            else:
                groups = (lines,)
            out_lines: list[int] = []
            out_amounts: list[int] = []
            total_base = 0
            notes: list[str] = []
            best_hint: Upsell | None = None
            for group in groups:
                weights = [amounts[i] for i in group]
                base = sum(weights)
                total_base += base
                measure = sum(state.qty[i] for i in group) if by_quantity else base
                off, capped = earned(measure, base)
                if explain:
                    note, hint = account(measure, capped)
                    if hint is not None and (
                        best_hint is None or hint.shortfall < best_hint.shortfall
                    ):
                        best_hint = hint
                if off <= 0:
                    continue
                if explain:
                    notes.append(note)
                out_lines.extend(group)
                out_amounts.extend(allocate(off, weights))
            if not out_lines:
                if not explain:
                    return QUIET
                return NotApplied(Reason.BELOW_THRESHOLD, below_first, best_hint)
            return Offer(
                out_lines, out_amounts, base=total_base, detail="; ".join(notes), hint=best_hint
            )

        return evaluate

    def source(self, promotion: Promotion, env: CompileEnv) -> Source | None:
        shape = _Shape.of(promotion, self)
        if shape.per_store and len(promotion.merchants) != 1:
            return None  # pools per store, worked out per cart
        names: dict[str, object] = {"allocate": allocate}
        code = []
        measure = "$base"
        if shape.by_quantity:
            code.append("$qty = $state.qty")
            code.append("$measure = sum([$qty[i] for i in $lines])")
            measure = "$measure"
        code.append(f"if {measure} < {shape.first}:")
        code.append("    $off = None")
        code.append("else:")
        if shape.every:
            code.append(f"    $given = {measure} // {shape.step_measure} * {shape.step_off}")
        else:
            names.update(rate=apply_rate, rounding=env.rounding)
            for position, (threshold, off, ratio) in enumerate(shape.ladder):
                test = "if" if position == 0 else "elif"
                code.append(f"    {test} {measure} >= {threshold}:")
                if off is not None:
                    code.append(f"        $given = {off}")
                elif ratio is not None:
                    code.append(f"        $given = $rate($base, {ratio[0]}, {ratio[1]}, $rounding)")
                else:
                    code.append("        $given = 0")
            code.append("    else:")  # not reached: the lowest tier is the first step
            code.append("        $given = 0")
        if shape.cap is not None:
            code.append(f"    if $given > {shape.cap}:")
            code.append(f"        $given = {shape.cap}")
        code.append("    if $given > $base:")
        code.append("        $given = $base")
        code.append("    $off = $allocate($given, $weights) if $given > 0 else None")
        return Source("\n".join(code), names=names)

    def threshold(self, promotion: Promotion) -> int:
        config: TieredConfig = promotion.config
        # tiers all count the same way: by amount, the lowest tier (or the step) is it
        amounts = [t.threshold for t in config.steps() if t.threshold is not None]
        return min(amounts) if amounts else 0

    def bound(self, promotion: Promotion) -> Bound:
        config: TieredConfig = promotion.config
        rates: list[Fraction] = []
        for tier in config.steps():
            if tier.percent is not None:
                rates.append(Fraction(tier.percent))
            elif tier.threshold is not None and tier.off is not None:
                rates.append(Fraction(tier.off, tier.threshold))
            else:  # a fixed amount per number of items: cheap items can be discounted fully
                rates.append(Fraction(1))
        rate = min(max(rates), Fraction(1))
        thresholds = [t.threshold for t in config.steps() if t.threshold is not None]
        lane = promotion.effective_lane(self)
        pooled = (config.scope or _default_scope(lane)) is Scope.CROSS_STORE
        return Bound(
            rate=rate,
            # the cap holds per pool: per order only when the order is one pool
            cap=config.cap if pooled else None,
            note=f"at most {_share(rate)} of its base",
            # a pool's discount is spread in proportion to its lines' amounts
            line_rate=rate,
            min_base=min(thresholds) if thresholds else 0,
        )


@attrs.frozen
class _Shape:
    """What a promotion's tiers come to, for its evaluator and its source alike."""

    per_store: bool
    by_quantity: bool
    every: bool
    cap: int | None
    ladder: Sequence[tuple[int, int | None, tuple[int, int] | None]]
    """The tiers as (measure, off, (num, den) or None), highest first."""
    step_measure: int
    step_off: int
    first: int
    """The least measure that earns anything."""

    @classmethod
    def of(cls, promotion: Promotion, kind: Kind) -> _Shape:
        config: TieredConfig = promotion.config
        scope = config.scope or _default_scope(promotion.effective_lane(kind))
        steps = config.steps()
        every = config.mode is Mode.EVERY
        ladder = sorted(
            ((_measure(t), t.off, _ratio(t.percent)) for t in steps),
            key=lambda t: t[0],
            reverse=True,
        )
        step_measure = _measure(steps[0])
        return cls(
            per_store=scope is Scope.STORE,
            by_quantity=steps[0].quantity is not None,
            every=every,
            cap=config.cap,
            ladder=ladder,
            step_measure=step_measure,
            step_off=steps[0].off or 0,
            first=step_measure if every else ladder[-1][0],
        )


def _default_scope(lane: Lane) -> Scope:
    return Scope.CROSS_STORE if lane is Lane.PLATFORM else Scope.STORE


def _share(rate: Fraction) -> str:
    shown = Fraction(round(rate * 10000), 10000)
    return format_percent(shown) if shown == rate else f"about {format_percent(shown)}"


def _reward_at(tier: Tier, measure: int) -> Fraction:
    """What a tier gives on a base of ``measure`` (a quantity tier's percent compares as is)."""
    if tier.off is not None:
        return Fraction(tier.off)
    rate = Fraction(tier.percent or 0)
    return rate if tier.quantity is not None else rate * measure


def _measure(tier: Tier) -> int:
    return tier.quantity if tier.quantity is not None else (tier.threshold or 0)


def _ratio(rate: Rate | None) -> tuple[int, int] | None:
    return None if rate is None else (rate.numerator, rate.denominator)


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Tiered())
