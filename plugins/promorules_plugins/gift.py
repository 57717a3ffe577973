"""The ``gift`` kind: gift with purchase ("spend 299, get a mug").

When the in-scope lines reach ``threshold`` (their amount at the start of the lane) or
``quantity`` (their number of units), the promotion adds gift lines at price 0:

- every item of ``gifts``, and
- one item of ``choose_one_of``: the one the customer picked, named by sku in
  :attr:`promorules.cart.Context.choices` under this promotion's id; without a (valid,
  in-stock) choice, the first option in stock.

A gift item must state its ``unit_cost``: the cost counts against the order margin
(the guardrail's order floor includes gift costs, and the clamp may drop a gift whose
cost the floor cannot hold). An item with ``stock`` draws on a ledger counter
``gift_stock:<promotion>:<sku>``; a gift whose counter has fewer units left than it
needs is not added, and the explanation says so. Two promotions never add the same
gift sku to one order unless both are ``stackable`` (the engine refuses the second).
In an exclusive group the promotion is weighed by its gifts' ``value`` (what a unit is
worth to the customer; default its unit cost) against the other members' discounts.

The promotion gives no discount: its :class:`~promorules.kind.Bound` has rate 0 and
the largest gift cost as ``extra_cost``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

import attrs

from promorules import hookimpl
from promorules.counters import UNLIMITED, CounterKey, CounterKind, CounterSpec
from promorules.diagnostics import Problem
from promorules.kind import (
    QUIET,
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
from promorules.messages import Amount as Minor
from promorules.messages import Note
from promorules.model import Condition, GiveGifts, Rule
from promorules.ruleset import Amount, Promotion, Ruleset

SOLD_OUT = "sold-out"
"""Reason code when every gift the promotion could add is out of stock."""


@attrs.frozen
class GiftItem:
    """One gift: what it is, what one unit costs, how many units, and its stock."""

    sku: str
    """The gift's sku (a line at price 0 in the quote)."""
    unit_cost: Amount
    """Required: a gift's cost counts against the order margin."""
    quantity: int = 1
    """Units given."""
    title: str = ""
    """Shown to the customer."""
    stock: int | None = None
    """Units this promotion may give away (a ledger counter); None: not limited here."""
    value: Amount | None = None
    """What one unit is worth to the customer (its usual selling price): weighs the
    promotion against the others of its exclusive group. None: its unit cost."""


@attrs.frozen
class GiftConfig:
    threshold: Amount | None = None
    """Reached when the in-scope lines' amount is at least this."""
    quantity: int | None = None
    """Reached when the in-scope lines hold at least this many units."""
    gifts: tuple[GiftItem, ...] = ()
    """Gifts always added once the threshold is reached."""
    choose_one_of: tuple[GiftItem, ...] = ()
    """Options of which the customer gets one (their choice, else the first in stock)."""
    stackable: bool = False
    """May another promotion add the same gift sku to the same order (if it says so too)?"""


class GiftKind(Kind):
    name = "gift"
    config_type = GiftConfig
    lanes = (Lane.STORE, Lane.PLATFORM, Lane.ITEM)
    summary = "gift with purchase above a threshold (amount or quantity), or one of several"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: GiftConfig = promotion.config
        if (config.threshold is None) == (config.quantity is None):
            yield Problem("PR203", "give exactly one of threshold (amount) or quantity (items)")
        elif config.threshold is not None and config.threshold <= 0:
            yield Problem("PR203", "a threshold must be positive", ("threshold",))
        elif config.quantity is not None and config.quantity <= 0:
            yield Problem("PR203", "quantity must be at least 1", ("quantity",))
        if not config.gifts and not config.choose_one_of:
            yield Problem("PR203", "give the gifts (gifts) or the options (choose_one_of)")
        seen: set[str] = set()
        for field, items in (("gifts", config.gifts), ("choose_one_of", config.choose_one_of)):
            for index, item in enumerate(items):
                path: tuple[str | int, ...] = (field, index)
                if not item.sku:
                    yield Problem("PR203", "a gift needs a sku", (*path, "sku"))
                if item.sku in seen:
                    yield Problem("PR203", f"gift {item.sku!r} is listed twice", (*path, "sku"))
                seen.add(item.sku)
                if item.unit_cost < 0:
                    yield Problem(
                        "PR203", "a gift's cost must not be negative", (*path, "unit_cost")
                    )
                if item.quantity <= 0:
                    yield Problem(
                        "PR203", "a gift's quantity must be at least 1", (*path, "quantity")
                    )
                if item.stock is not None and item.stock < 0:
                    yield Problem("PR203", "stock must not be negative", (*path, "stock"))
                if item.value is not None and item.value < 0:
                    yield Problem("PR203", "a gift's value must not be negative", (*path, "value"))

    def lint(self, promotion: Promotion, ruleset: Ruleset) -> Iterable[Problem]:
        config: GiftConfig = promotion.config
        # unit_cost is required, so a gift "without a cost" is one stated as 0.00: its
        # margin impact would be invisible to the guardrail
        for field, items in (("gifts", config.gifts), ("choose_one_of", config.choose_one_of)):
            for index, item in enumerate(items):
                if item.unit_cost == 0:
                    yield Problem(
                        "PR411",
                        f"gift {item.sku!r} costs 0.00: its cost is invisible to the margin "
                        "floors; state what it costs",
                        (field, index, "unit_cost"),
                    )

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule | None:
        config: GiftConfig = promotion.config
        if config.choose_one_of or any(item.stock is not None for item in config.gifts):
            return None  # a choice, or stock to look up: the evaluator below
        gifts = tuple(_gift(promotion.id, item, config.stackable) for item in config.gifts)
        condition = Condition(min_amount=config.threshold or 0, min_quantity=config.quantity or 0)
        return Rule(GiveGifts(gifts), condition)

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: GiftConfig = promotion.config
        pid = promotion.id
        by_quantity = config.quantity is not None
        need = config.quantity if config.quantity is not None else (config.threshold or 0)
        stackable = config.stackable

        def to_gift(item: GiftItem) -> Gift:
            return _gift(pid, item, stackable)

        fixed = tuple((item, to_gift(item)) for item in config.gifts)
        options = tuple((item, to_gift(item)) for item in config.choose_one_of)
        named = tuple(_name(i) for i in config.gifts)
        if not fixed:
            reward = Note("gift-of-choice")
        else:
            reward = Note("gifts-and-choice" if options else "gifts", {"gifts": named})
        below = (
            Note("below-threshold-items", {"items": need})
            if by_quantity
            else Note("below-threshold", {"threshold": Minor(need)})
        )

        # fixed gifts alone: a cart reaching the threshold gets all of them whenever each
        # is in stock, which holds for a gift without a counter and, with no ledger
        # attached (UNLIMITED: no counter has a limit), for every gift
        fixed_gifts = [gift for _, gift in fixed]
        all_given = bool(fixed) and not options
        stockless = all_given and all(gift.counter is None for gift in fixed_gifts)

        def in_stock(state: PricingState, gift: Gift) -> bool:
            if gift.counter is None:
                return True
            left = state.availability.remaining(gift.counter)
            return left is None or left >= gift.quantity

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            base = state.base(lines)
            measure = sum(state.qty[i] for i in lines) if by_quantity else base
            if measure < need:
                if not state.explain:
                    return QUIET
                shortfall = need - measure
                return NotApplied(
                    Reason.BELOW_THRESHOLD,
                    (below,),
                    env.upsell(shortfall, need, reward, by_quantity),
                )
            if all_given and not state.explain and (stockless or state.availability is UNLIMITED):
                return Offer(gifts=fixed_gifts.copy())
            given: list[Gift] = []
            names: list[Note] = []
            remarks: list[Note] = []
            missing: list[str] = []
            no_option = False
            for item, gift in fixed:
                if in_stock(state, gift):
                    given.append(gift)
                    names.append(_name(item))
                else:
                    missing.append(item.sku)
            if options:
                choice = state.choices.get(pid)
                stocked = [(item, gift) for item, gift in options if in_stock(state, gift)]
                picked = next(((i, g) for i, g in stocked if i.sku == choice), None)
                if picked is None and stocked:
                    picked = stocked[0]
                    if choice is not None:
                        known = any(i.sku == choice for i, _ in options)
                        why = "gift-choice-out-of-stock" if known else "gift-choice-unknown"
                        remarks.append(Note(why, {"sku": choice}))
                if picked is None:
                    no_option = True
                else:
                    given.append(picked[1])
                    names.append(_name(picked[0]))
            if missing:
                remarks.append(Note("gifts-out-of-stock", {"skus": tuple(missing)}))
            if no_option:
                remarks.append(_NO_OPTION)
            if not given:
                if not state.explain:
                    return QUIET
                return NotApplied(SOLD_OUT, tuple(remarks))
            if not state.explain:
                return Offer(gifts=given)
            adds = Note("adds-gifts", {"gifts": tuple(names)})
            return Offer(base=base, notes=(adds, *remarks), gifts=given)

        return evaluate

    def threshold(self, promotion: Promotion) -> int:
        config: GiftConfig = promotion.config
        return config.threshold or 0 if config.quantity is None else 0

    def bound(self, promotion: Promotion) -> Bound:
        config: GiftConfig = promotion.config
        cost = sum(i.unit_cost * i.quantity for i in config.gifts)
        cost += max((i.unit_cost * i.quantity for i in config.choose_one_of), default=0)
        # the threshold is measured on the lines' amount at the start of the lane, never
        # more than their list amount: no order listed below it gets a gift
        return Bound(
            rate=Fraction(0),
            extra_cost=cost,
            min_base=config.threshold or 0 if config.quantity is None else 0,
            note="no discount; adds gifts costing at most the extra cost per order",
        )

    def counters(self, promotion: Promotion) -> Iterable[CounterSpec]:
        config: GiftConfig = promotion.config
        for item in (*config.gifts, *config.choose_one_of):
            if item.stock is not None:
                yield CounterSpec(_key(promotion.id, item.sku), item.stock)


def _gift(promotion: str, item: GiftItem, stackable: bool) -> Gift:
    counter = _key(promotion, item.sku) if item.stock is not None else None
    return Gift(item.sku, item.unit_cost, item.quantity, item.title, stackable, counter, item.value)


def _key(promotion: str, sku: str) -> CounterKey:
    return CounterKey(CounterKind.GIFT_STOCK, promotion, sku)


def _name(item: GiftItem) -> Note:
    label = item.title or item.sku
    if item.quantity == 1:
        return Note("gift-item", {"name": label})
    return Note("gift-items", {"name": label, "quantity": item.quantity})


_NO_OPTION = Note("gift-options-out-of-stock")


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(GiftKind())
