"""The promotion model: what a promotion gives, stated once as data the core understands.

A kind translates its TOML config into a :class:`Rule` (:meth:`Kind.rule
<promorules.kind.Kind.rule>`); from that one value the core derives everything pricing
and validation need, so no kind states its rule twice:

- the interpreted evaluator, with explanations and upsell hints
  (:mod:`promorules.interpret`), which the explained pass calls;
- the compiled figures written into each activation plan's function
  (:mod:`promorules.hotpath`, the one writer);
- the threshold below which the hot path skips the promotion (:meth:`Rule.threshold`);
- the validator's bounds per order and per line (:meth:`Rule.bound`).

The vocabulary is the field's: a rule has a *condition* (what the cart must reach:
an amount, a number of units, a maximum amount, a code), a *benefit* (what it gives:
a percent off, an amount off per unit / line / pool, tiers, a repeating reward, a
shipping reduction, unit prices), a *pool* (the lines measured together: all of the
promotion's lines, each store's, or each line alone), *limits* (a cap per pool, the
units of each line reached, uses counted by the ledger) and an *allocation* (how a
pooled discount is split over its lines, and where the minor units left over go).

Every value here is checked when it is built: amounts are ``int`` minor units, rates
exact fractions in (0, 1], so nothing a ruleset says can reach generated code but
integers and fractions.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import attrs

from promorules.counters import CounterKey
from promorules.kind import Bound, Gift
from promorules.money import format_percent


class Pool(str, enum.Enum):
    """Which of a promotion's lines are measured together (and share its cap)."""

    ORDER = "order"
    """Every line in scope: one pool ("cross-store", a platform coupon)."""
    STORE = "store"
    """The lines of each merchant: one pool per store (a store ladder on a platform)."""
    LINE = "line"
    """Each line alone: its own amount and quantity reach the condition ("3 of one item")."""


class Per(str, enum.Enum):
    """What a fixed amount off is counted per."""

    UNIT = "unit"
    LINE = "line"
    POOL = "pool"


class Leftover(str, enum.Enum):
    """Where the minor units left over when a pooled discount is split over its lines go."""

    LARGEST_REMAINDER = "largest-remainder"
    FIRST_LINE = "first-line"
    LAST_LINE = "last-line"


def _amount(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative int of minor units: {value!r}")


def _optional_amount(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _amount(_, attribute, value)


def _rate(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not Fraction or not 0 < value <= 1:
        raise ValueError(f"{attribute.name} must be a Fraction in (0, 1]: {value!r}")


def _positive(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not int or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive int: {value!r}")


def _codes(value: Iterable[str]) -> frozenset[str]:
    codes = frozenset(value)
    for code in codes:
        if type(code) is not str or not code.isascii() or not code.isalnum():
            raise ValueError(f"a code is normalised ASCII letters and digits: {code!r}")
    return codes


@attrs.frozen
class Condition:
    """What a pool must reach for the rule to give anything."""

    min_amount: int = attrs.field(default=0, validator=_amount)
    """Least amount of the pool at the start of its lane (minor units)."""
    min_quantity: int = attrs.field(default=0, validator=_amount)
    """Least number of units in the pool."""
    max_amount: int | None = attrs.field(default=None, validator=_optional_amount)
    """Most the pool may come to (a "small orders only" offer); None: no maximum."""
    codes: frozenset[str] = attrs.field(default=frozenset(), converter=_codes)
    """Codes of which one must be presented (normalised); empty: none needed."""


@attrs.frozen
class PercentOff:
    """A share of the pool's amount, rounded once per pool, or per line (``per_line``:
    each line's own share rounded on its own, "10% off each item")."""

    rate: Fraction = attrs.field(validator=_rate)
    per_line: bool = False


@attrs.frozen
class AmountOff:
    """A fixed amount off each unit, each line, or the pool (never more than it has)."""

    amount: int = attrs.field(validator=_positive)
    per: Per = Per.POOL


@attrs.frozen
class Step:
    """One tier: reached at ``at`` (minor units, or units when the tiers count
    quantity), giving ``reward`` on the pool (an amount, or a percent rounded once)."""

    at: int = attrs.field(validator=_positive)
    reward: PercentOff | AmountOff = attrs.field()

    @reward.validator
    def _pooled(self, _: object, reward: PercentOff | AmountOff) -> None:
        if isinstance(reward, AmountOff) and reward.per is not Per.POOL:
            raise ValueError("a tier's amount is off the pool")
        if isinstance(reward, PercentOff) and reward.per_line:
            raise ValueError("a tier's percent is rounded once per pool")


@attrs.frozen
class Tiers:
    """A ladder: the highest step reached applies ("300 off 30, 500 off 60")."""

    steps: tuple[Step, ...] = attrs.field()
    by_quantity: bool = False

    @steps.validator
    def _ascending(self, _: object, steps: tuple[Step, ...]) -> None:
        if not steps:
            raise ValueError("a ladder has at least one step")
        if any(a.at >= b.at for a, b in itertools.pairwise(steps)):
            raise ValueError("a ladder's steps ascend strictly")


@attrs.frozen
class Every:
    """A repeating reward: ``off`` for every whole ``step`` reached ("every 300 off 50")."""

    step: int = attrs.field(validator=_positive)
    off: int = attrs.field(validator=_positive)
    by_quantity: bool = False


@attrs.frozen
class ShippingOff:
    """Off the shipping fee left by earlier lanes: all of it (the default), at most
    ``amount``, a ``percent`` of it, or down to a fixed ``price``."""

    amount: int | None = attrs.field(default=None, validator=_optional_amount)
    percent: Fraction | None = attrs.field(default=None)
    price: int | None = attrs.field(default=None, validator=_optional_amount)

    def __attrs_post_init__(self) -> None:
        given = [v is not None for v in (self.amount, self.percent, self.price)]
        if given.count(True) > 1:
            raise ValueError("shipping off: at most one of amount, percent and price")
        if self.percent is not None:
            _rate(self, attrs.fields(ShippingOff).percent, self.percent)


def _prices(value: Mapping[str, int]) -> dict[str, int]:
    return dict(value)


@attrs.frozen
class UnitPrice:
    """Price-lane unit prices: a fixed price per sku, and/or a percent off list for the
    other skus in scope (the discount rounded, never the price). Every unit of a line
    is offered the price; each unit pays the lowest price offered for it."""

    prices: Mapping[str, int] = attrs.field(factory=dict, converter=_prices)
    percent: Fraction | None = None

    def __attrs_post_init__(self) -> None:
        for sku, price in self.prices.items():
            if type(sku) is not str or type(price) is not int or price <= 0:
                raise ValueError(f"a unit price is a positive int per sku: {sku!r} = {price!r}")
        if self.percent is not None:
            _rate(self, attrs.fields(UnitPrice).percent, self.percent)
        if not self.prices and self.percent is None:
            raise ValueError("unit prices: give prices and/or percent")


@attrs.frozen
class Cheapest:
    """The ``count`` cheapest units of the pool (``dearest``: the dearest), each given
    ``reward``: a percent of the unit, or an amount off it (never more than the unit)."""

    count: int = attrs.field(validator=_positive)
    reward: PercentOff | AmountOff = attrs.field()
    dearest: bool = False

    @reward.validator
    def _per_unit(self, _: object, reward: PercentOff | AmountOff) -> None:
        if isinstance(reward, AmountOff) and reward.per is not Per.UNIT:
            raise ValueError("the cheapest units get an amount off each unit")


@attrs.frozen
class GiveGifts:
    """Gift lines added at price 0 (each with its cost, which counts against the order's
    margin); fixed gifts without stock (a gift counted by the ledger, or chosen by the
    customer, stays with its kind's own evaluator)."""

    gifts: tuple[Gift, ...] = attrs.field()

    @gifts.validator
    def _stockless(self, _: object, gifts: tuple[Gift, ...]) -> None:
        if not gifts or any(g.counter is not None for g in gifts):
            raise ValueError("give at least one gift, none counted by the ledger")


Benefit = PercentOff | AmountOff | Tiers | Every | ShippingOff | UnitPrice | Cheapest | GiveGifts
POOLED = (Tiers, Every)


@attrs.frozen
class Uses:
    """Uses of a code-redeemed promotion the ledger counts: the counters one quote
    takes one of (``per_customer`` and ``per_code`` are templates, their subject
    :data:`~promorules.counters.ANY_SUBJECT`: the customer's or the code's counter)."""

    total: CounterKey | None = None
    per_customer: CounterKey | None = None
    per_code: CounterKey | None = None

    @property
    def any(self) -> bool:
        return self.total is not None or self.per_customer is not None or self.per_code is not None


@attrs.frozen
class Rule:
    """One promotion's rule: condition, benefit, pool, limits and allocation."""

    benefit: Benefit
    condition: Condition = Condition()
    pool: Pool = Pool.ORDER
    cap: int | None = attrs.field(default=None, validator=_optional_amount)
    """Most the rule gives per pool (minor units); None: no cap."""
    units_per_line: int | None = None
    """An amount off each unit reaches at most this many units of each line."""
    leftover: Leftover = Leftover.LARGEST_REMAINDER
    uses: Uses = Uses()
    final_payment: bool = False
    """Applies at a pre-sale's final payment only (a coupon): never to a line whose
    balance is paid later, and only while the balance left to pay on its pool (the
    amounts less the deposits) covers what it gives."""
    with_shipping: bool = False
    """The shipping fee left at the start of the lane counts in the pool: with the
    goods it reaches the condition, the percent and the cap measure on both, and the
    discount is split over the lines and the fee alike (the fee's part comes off
    shipping). One pool of the order, measured by amount."""
    # what pricing reads on every cart, worked out once (see the properties below)
    _facts: tuple[bool, bool, int] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        pooled, counts = self._is_pooled(), self._counts_units()
        object.__setattr__(self, "_facts", (pooled, counts, 0))  # _least reads by_quantity
        object.__setattr__(self, "_facts", (pooled, counts, self._least()))
        benefit = self.benefit
        if self.units_per_line is not None:
            _positive(self, attrs.fields(Rule).units_per_line, self.units_per_line)
            if not (isinstance(benefit, AmountOff) and benefit.per is Per.UNIT):
                raise ValueError("units_per_line limits an amount off each unit")
        if isinstance(benefit, (ShippingOff, UnitPrice, GiveGifts)) and self.pool is not Pool.ORDER:
            raise ValueError("shipping, unit prices and gifts are not pooled per store or line")
        if isinstance(benefit, UnitPrice) and (
            attrs.evolve(self.condition, codes=()) != Condition()
            or self.cap is not None
            or self.uses.any
        ):
            raise ValueError("unit prices take no condition but codes, no cap and no uses")
        if self.with_shipping and not (pooled and self.pool is Pool.ORDER and not counts):
            raise ValueError("with_shipping: one pool of the order, measured by amount")

    @property
    def pooled(self) -> bool:
        """Whether one discount is worked out per pool and split over its lines (rather
        than per line)."""
        return self._facts[0]

    @property
    def by_quantity(self) -> bool:
        """Whether its steps count units (the pool's measure is its quantity)."""
        return self._facts[1]

    @property
    def first(self) -> int:
        """The least measure (amount, or units for a rule counting them) that can give
        anything: the condition's, or the benefit's first step, whichever is higher."""
        return self._facts[2]

    def _is_pooled(self) -> bool:
        benefit = self.benefit
        if isinstance(benefit, PercentOff):
            return not benefit.per_line
        if isinstance(benefit, AmountOff):
            return benefit.per is Per.POOL
        return isinstance(benefit, POOLED)  # Cheapest: per unit, so per line

    def _counts_units(self) -> bool:
        benefit = self.benefit
        return isinstance(benefit, (Tiers, Every)) and benefit.by_quantity

    def _least(self) -> int:
        benefit = self.benefit
        if isinstance(benefit, Tiers):
            step = benefit.steps[0].at
        elif isinstance(benefit, Every):
            step = benefit.step
        else:
            step = 0
        own = self.condition.min_quantity if self.by_quantity else self.condition.min_amount
        return max(step, own)

    def threshold(self) -> int:
        """The least amount the promotion's lines must come to at the start of its lane
        for it to give anything (0: none, or it counts units): what the hot path checks
        before looking at a promotion on every line. Every pool is part of the lines, so
        a pool's threshold is the lines' too. With the shipping fee in the pool the
        lines alone may come to less: no threshold then."""
        if self.with_shipping:
            return 0
        if self.by_quantity:
            return self.condition.min_amount
        return self.first


def bound(rule: Rule) -> Bound:
    """The most ``rule`` can take, per order and per line, for the validator: derived
    from the rule, so a kind never states it by hand.

    Shares hold per pool; a pooled discount is split in proportion to the lines'
    amounts, so each line's share is the pool's (plus the rounding of the split, which
    the validator allows for). A fixed amount is a share only against the least pool
    that reaches it; without a threshold it may take a whole cheap line, so it bounds a
    unit by the amount itself (``unit_off``) for a validator that knows list prices.
    """
    found = _bound(rule)
    if rule.pooled and rule.leftover is not Leftover.LARGEST_REMAINDER and found.line_rate:
        # the units left over by a split all go to one end, up to one per line of the
        # pool: no share of a line holds within the validator's unit of rounding
        return attrs.evolve(found, line_rate=None)
    return found


def _bound(rule: Rule) -> Bound:
    benefit = rule.benefit
    cap = rule.cap if rule.pool is Pool.ORDER else None  # per order only when one pool
    floor = rule.condition.min_amount
    if isinstance(benefit, UnitPrice):
        rate = benefit.percent if benefit.percent is not None else Fraction(0)
        if not benefit.prices:
            return Bound(rate=rate, note=f"unit prices at most {format_percent(rate)} off list")
        note = f"fixed unit prices for {len(benefit.prices)} sku(s): depth depends on list prices"
        return Bound(
            rate=Fraction(1),
            note=note,
            unit_prices=dict(benefit.prices),
            other_rate=benefit.percent,
        )
    if isinstance(benefit, GiveGifts):
        return Bound(
            rate=Fraction(0),
            extra_cost=sum(gift.unit_cost * gift.quantity for gift in benefit.gifts),
            min_base=0 if rule.condition.min_quantity else floor,
            note="no discount; adds gifts costing at most the extra cost per order",
        )
    if isinstance(benefit, ShippingOff):
        return Bound(
            rate=Fraction(0),
            cap=benefit.amount,
            note="reduces the shipping fee only (never below zero); shipping is excluded "
            "from the goods margin, so goods are not discounted",
        )
    if isinstance(benefit, PercentOff):
        rate = benefit.rate
        return Bound(
            rate=rate, line_rate=rate, cap=cap, min_base=floor, note=f"at most {_share(rate)}"
        )
    if isinstance(benefit, AmountOff):
        if benefit.per is Per.POOL:
            if rule.pool is Pool.ORDER:  # the amount is per pool: per order when one pool
                cap = benefit.amount if cap is None else min(cap, benefit.amount)
            if floor > 0:
                rate = min(Fraction(benefit.amount, floor), Fraction(1))
                return Bound(
                    rate=rate,
                    line_rate=rate,
                    cap=cap,
                    min_base=floor,
                    note=f"{_share(rate)} of the least pool that reaches it",
                )
            return Bound(cap=cap, note="a fixed amount without a threshold: up to a whole line")
        # a share of a unit only against what earlier lanes left of it: not bounded
        # here (the validator's composition is by shares)
        return Bound(
            cap=cap,
            min_base=floor,
            note=f"a fixed amount off each {benefit.per.value}: up to the whole of a cheap one",
        )
    if isinstance(benefit, Cheapest):
        reward = benefit.reward
        if isinstance(reward, PercentOff):  # no unit gets more than its share
            return Bound(
                rate=reward.rate,
                line_rate=reward.rate,
                cap=cap,
                min_base=floor,
                note=f"at most {_share(reward.rate)} of each unit it picks",
            )
        return Bound(cap=cap, min_base=floor, note="a fixed amount off cheap units: up to all")
    by_quantity = rule.by_quantity
    if isinstance(benefit, Every):
        # by quantity, a fixed amount per number of items may take a cheap item whole
        rate = Fraction(1) if by_quantity else min(Fraction(benefit.off, benefit.step), Fraction(1))
        return Bound(
            rate=rate,
            line_rate=rate,
            cap=cap,
            min_base=0 if by_quantity else rule.first,
            note=f"at most {_share(rate)}",
        )
    assert isinstance(benefit, Tiers)
    rates = []
    for step in benefit.steps:
        reward = step.reward
        if isinstance(reward, PercentOff):
            rates.append(reward.rate)
        elif by_quantity:
            least = floor
            rates.append(min(Fraction(reward.amount, least), Fraction(1)) if least else Fraction(1))
        else:
            rates.append(min(Fraction(reward.amount, max(step.at, floor)), Fraction(1)))
    rate = max(rates)
    return Bound(
        rate=rate,
        line_rate=rate,
        cap=cap,
        min_base=floor if by_quantity else rule.first,
        note=f"at most {_share(rate)}",
    )


def _share(rate: Fraction) -> str:
    shown = Fraction(round(rate * 10000), 10000)
    text = format_percent(shown) if shown == rate else f"about {format_percent(shown)}"
    return f"{text} of its base"
