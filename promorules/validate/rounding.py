"""How much rounding may put on one line beyond a promotion's share: the validator's
rounding allowance, per promotion, derived from the rule and the ruleset's rounding.

A share bound (:class:`promorules.kind.Bound`) says a promotion takes at most ``r`` of a
line of amount ``a``; the engine works in whole minor units, so the part it really puts
on the line, ``part``, may exceed ``a * r`` by an *excess* ``e = part - a * r``. The
validator subtracts an allowance of at least the largest excess from what a unit pays.

Let ``R`` be the ruleset's rounding (:func:`promorules.money.apply_rate`) and
``d = R(x) - x`` its error on a non-negative ``x``: ``-1 < d <= 0`` rounding down,
``-1/2 < d <= 1/2`` half-up and ``-1/2 <= d <= 1/2`` half-even; write ``d+`` for its
largest value (``0`` down, ``1/2`` half-up and half-even).

- **A rate rounded on each line** (``round = "line"``, a cheapest-unit percent, a unit
  price at a percent): ``part = R(a * r)``, so ``e <= d+``. A cap splits the parts
  again in proportion to themselves, never giving a line more than its own part (see
  :func:`promorules.interpret.split`), so the bound stands.
- **A fixed amount split over a pool** (a tier's or a coupon's amount, ``every``): the
  amount ``A`` is exact and at most ``B * r`` for a pool of base ``B``. Largest
  remainder gives a line at most ``ceil(A * a / B) < A * a / B + 1``, so ``e < 1``.
- **A rate rounded once on a pool, split by largest remainder** (``round = "pool"``, a
  percent tier, a percent coupon): ``off = R(B * r) = B * r + d`` (a cap or the base
  only lower it), and the line receives at most ``ceil(off * a / B)``, so
  ``e < 1 + d * a / B <= 1 + d+``. The bound is the least upper bound: a line holding
  almost all of a pool whose rounded-up half unit it carries, with enough small lines
  beside it that its remainder is still among the largest, comes as close to
  ``1 + d+`` as one likes (``3/2`` minor units half-up and half-even, ``1`` rounding
  down).
- **Split to the first or last line** (``leftover = "first-line"`` / ``"last-line"``):
  up to one minor unit per line of the pool lands on one line, so no constant holds;
  the model's bound already promises no per-line share then (a line may lose all of it,
  :func:`promorules.model.bound`), and the pool's total exceeds ``B * r`` by at most
  ``d+ <= 1``, which the order bound allows per line.

So one minor unit covers every case but one: a rate rounded once on a pool and split by
largest remainder under half-up or half-even rounding, whose allowance is ``3/2``. A
kind that states no rule in the model keeps the kind contract (one minor unit per line,
:class:`promorules.kind.Bound`). Allowances are whole numbers of :data:`SCALE`-ths of a
minor unit, so the validator sums them in integers.
"""

from __future__ import annotations

from fractions import Fraction

from promorules.model import Leftover, PercentOff, Rule, Tiers
from promorules.money import Rounding

SCALE = 2
"""Allowances are counted in halves of a minor unit."""

_MOST_ERROR = {
    Rounding.DOWN: Fraction(0),
    Rounding.HALF_UP: Fraction(1, 2),
    Rounding.HALF_EVEN: Fraction(1, 2),
}


def rounding_error(mode: Rounding) -> Fraction:
    """``d+``: the most ``R(x) - x`` can be under ``mode`` (see the module docstring)."""
    return _MOST_ERROR[mode]


def rounds_a_pool(rule: Rule) -> bool:
    """Whether ``rule`` rounds a rate once on a pool and splits the result over its lines
    by largest remainder."""
    if not rule.pooled or rule.leftover is not Leftover.LARGEST_REMAINDER:
        return False
    benefit = rule.benefit
    if isinstance(benefit, PercentOff):
        return True
    return isinstance(benefit, Tiers) and any(
        isinstance(step.reward, PercentOff) for step in benefit.steps
    )


def line_excess(rule: Rule | None, mode: Rounding) -> Fraction:
    """The allowance for one line of a promotion stated by ``rule`` (``None``: a kind
    outside the model) under ``mode``: the least upper bound of what rounding puts on the
    line beyond its share, or the kind contract's one minor unit where that is more."""
    if rule is not None and rounds_a_pool(rule):
        return 1 + rounding_error(mode)
    return Fraction(1)


def allowance(rule: Rule | None, mode: Rounding) -> int:
    """:func:`line_excess` in :data:`SCALE`-ths of a minor unit (rounded up)."""
    excess = line_excess(rule, mode)
    return -(-excess.numerator * SCALE // excess.denominator)
