"""The ``bundle`` kind: N units for a fixed price ("any 3 for 99.00"), repeating.

Units of every line in scope are pooled and grouped ``quantity`` at a time, the most
expensive units first (by their current amount at the start of the lane): that is
the grouping best for the customer, since each bundle replaces the dearest units
left. A bundle saves the sum of its units minus ``price``; bundles are formed while
they save something, up to ``max_repeats``. Units left over pay their own amount.

The discount (the sum of the savings) is spread over the lines of the bundled units
in proportion to those units' amounts, exactly (largest remainder), so no line gives
more than its bundled units. When even the dearest units cost no more than the
bundle price, the promotion is not applied (reason ``no-saving``).
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
from promorules.messages import Amount as Minor
from promorules.messages import Note
from promorules.money import allocate
from promorules.ruleset import Amount, Promotion
from promorules.units import runs

NO_SAVING = "no-saving"
"""Reason code when the units already cost no more than the bundle price."""


@attrs.frozen
class BundleConfig:
    quantity: int
    """N: units in one bundle."""
    price: Amount
    """What N units cost together."""
    max_repeats: int | None = None
    """Most bundles per order; None: as many as save something."""


class Bundle(Kind):
    name = "bundle"
    config_type = BundleConfig
    lanes = (Lane.ITEM, Lane.STORE, Lane.PLATFORM)
    summary = "N units in scope for a fixed price, repeating, dearest units first"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: BundleConfig = promotion.config
        if config.quantity < 2:
            yield Problem("PR203", "a bundle holds at least 2 units", ("quantity",))
        if config.price < 0:
            yield Problem("PR203", "price must not be negative", ("price",))
        if config.max_repeats is not None and config.max_repeats <= 0:
            yield Problem("PR203", "max_repeats must be at least 1", ("max_repeats",))

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: BundleConfig = promotion.config
        size, price, repeats = config.quantity, config.price, config.max_repeats
        name = Note("bundle", {"size": size, "price": Minor(price)})
        another = Note("another-bundle", {"size": size, "price": Minor(price)})

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            qty = state.qty
            count = sum([qty[i] for i in lines])  # the units of the runs of these lines
            if count < size:
                if not state.explain:
                    return QUIET
                shortfall = size - count
                return NotApplied(
                    Reason.BELOW_THRESHOLD,
                    (Note("units-short", {"units": count, "needed": size}),),
                    env.upsell(shortfall, size, name, by_quantity=True),
                )
            bundles, saving, chosen = _form(
                _dearest_first(state.amounts, qty, lines), size, price, repeats
            )
            if bundles == 0:
                if not state.explain:
                    return QUIET
                return NotApplied(NO_SAVING, (Note("bundle-no-saving", {"bundle": name}),))
            order = sorted(chosen)
            parts = allocate(saving, [chosen[i] for i in order])
            if 0 in parts:  # parts are never negative (a positive saving, weights >= 0)
                order = [i for i, part in zip(order, parts, strict=True) if part]
                parts = [part for part in parts if part]
            if not state.explain:
                return Offer(order, parts)
            hint = None
            left = count - bundles * size
            if (repeats is None or bundles < repeats) and left < size:
                shortfall = size - left
                hint = env.upsell(shortfall, size, another, by_quantity=True)
            return Offer(
                order,
                parts,
                base=state.base(lines),
                notes=(
                    Note(
                        "bundles-formed",
                        {
                            "bundles": bundles,
                            "bundle": name,
                            "units": bundles * size,
                            "count": count,
                        },
                    ),
                ),
                hint=hint,
            )

        return evaluate

    def bound(self, promotion: Promotion) -> Bound:
        # every bundle pays ``price`` for ``quantity`` units and the whole saving is
        # spread over the bundled units in proportion to their amounts (largest
        # remainder: within a minor unit a line), so each bundled unit loses the same
        # share of its amount, at most 1 - price / (quantity x the dearest unit)
        config: BundleConfig = promotion.config
        return Bound(
            rate=Fraction(1),
            note=(
                f"{config.quantity} units for {config.price} minor units: a unit loses at most "
                f"1 - {config.price} / ({config.quantity} x the dearest unit in scope)"
            ),
            group_price=(config.quantity, config.price),
            max_groups=config.max_repeats,
        )


def _dearest_first(
    amounts: Sequence[int], qty: Sequence[int], lines: Sequence[int]
) -> list[list[int]]:
    """The runs of ``lines`` as ``[value, line, units]`` lists for :func:`_form` to use
    up, dearest first, ties to the lower line (no two runs share value and line, so
    sorting on the negated value sorts by value down, then line up)."""
    order = sorted([(-value, line, units) for value, line, units in runs(amounts, qty, lines)])
    return [[-value, line, units] for value, line, units in order]


def _form(
    queue: list[list[int]], size: int, price: int, repeats: int | None
) -> tuple[int, int, dict[int, int]]:
    """Bundles formed from the runs of ``queue`` (dearest first; used up in place),
    their total saving, and the amount of bundled units per line. Groups of equal units
    are formed in bulk."""
    bundles, saving = 0, 0
    chosen: dict[int, int] = {}
    head = 0
    while head < len(queue) and (repeats is None or bundles < repeats):
        value, line, count = queue[head]
        if count >= size:  # whole bundles of this run's equal units
            many = count // size
            if repeats is not None:
                many = min(many, repeats - bundles)
            if value * size <= price:
                break
            bundles += many
            saving += many * (value * size - price)
            chosen[line] = chosen.get(line, 0) + many * size * value
            queue[head][2] -= many * size
            if queue[head][2] == 0:
                head += 1
            continue
        # one bundle across runs: the next ``size`` units in order
        total, taken, picks = 0, 0, []
        position = head
        while taken < size and position < len(queue):
            take = min(size - taken, queue[position][2])
            total += take * queue[position][0]
            picks.append((position, take))
            taken += take
            position += 1
        if taken < size or total <= price:
            break
        bundles += 1
        saving += total - price
        for position, take in picks:
            value, line, _ = queue[position]
            chosen[line] = chosen.get(line, 0) + take * value
            queue[position][2] -= take
        while head < len(queue) and queue[head][2] == 0:
            head += 1
    return bundles, saving, chosen


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Bundle())
