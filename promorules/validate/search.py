"""Stage 3: search for a cart that breaks a floor the bound could not prove.

The search prices carts with the guardrail switched off (``on_breach = warn``: the
quote is the one the ruleset gives before any clamp) and asks, for one floor, whether
the margin falls below it. It is a Hypothesis search, not sampling alone:
``hypothesis.target`` steers it towards the largest relative shortfall, and the first
breaching cart is shrunk by Hypothesis (fewest lines, fewest units, the riskiest sku
first), then made one-step minimal by :func:`minimise` (no line, unit, deposit, code,
segment, channel or choice can be removed and the cart still breach). Runs are
reproducible: the same ruleset, catalogue, limits and seed give the same cart.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from fractions import Fraction
from typing import TextIO, TypeVar

import attrs
from hypothesis import HealthCheck, Phase, find, settings, target
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from promorules.cart import (
    MAX_AMOUNT,
    MAX_CHOICES,
    MAX_CODES,
    MAX_LINES,
    Cart,
    Context,
    Customer,
    Line,
)
from promorules.counters import CounterKey, CounterKind
from promorules.engine import Engine
from promorules.guardrail import minimum_revenue
from promorules.quote import Quote
from promorules.ruleset import OnBreach
from promorules.validate.bounds import FloorSpec
from promorules.validate.space import Item, Space

_T = TypeVar("_T")

CUSTOMER_ID = "validator"
DEPOSIT_SHARES = (Fraction(0), Fraction(1, 10), Fraction(1, 4), Fraction(1, 2), Fraction(1))
"""Deposits a line may say were paid (share of its list amount), for pre-sale kinds."""


TOPPED_UP = 10**15
"""What the search says is left of every budget: more than any cart can take."""
_BUDGETS = frozenset({CounterKind.BUDGET, CounterKind.FUNDER_BUDGET})


class ToppedUp:
    """The ledger as the search sees it: every budget topped up beyond reach, every other
    counter (uses, stock) unlimited. Budgets and the other counters are what
    ``promorules ledger adjust`` may raise during a campaign, so a breach they hold off
    today is a breach after a top-up; the bound counts none of them either."""

    __slots__ = ()

    def remaining(self, key: CounterKey) -> int | None:
        return TOPPED_UP if key.kind in _BUDGETS else None

    def paused(self, promotion: str) -> bool:
        return False


TOPPED = ToppedUp()


@attrs.frozen
class Case:
    """One point of the space: a cart, when, where, who, and which codes."""

    lines: tuple[Line, ...]
    at: datetime
    channel: str | None = None
    segments: frozenset[str] = frozenset()
    coupons: tuple[str, ...] = ()
    choices: tuple[tuple[str, str], ...] = ()
    """Promotion id -> the option picked (a ``choose_one_of`` gift), sorted by id."""

    def cart(self, currency: str) -> Cart:
        return Cart(self.lines, Customer(CUSTOMER_ID, self.segments), currency)

    def context(self) -> Context:
        return Context(
            self.at, self.channel, self.coupons, availability=TOPPED, choices=self.choices
        )


@attrs.frozen
class Shortfall:
    """How a quote stands against one floor: ``deficit > 0`` is a breach."""

    deficit: int
    """Revenue missing to hold the floor (minor units; <= 0 when it holds)."""
    needed: int
    revenue: int
    cost: int
    where: str

    @property
    def margin(self) -> Fraction | None:
        if self.revenue <= 0:
            return None
        return Fraction(self.revenue - self.cost, self.revenue)

    @property
    def score(self) -> float:
        """Relative shortfall, for Hypothesis to climb."""
        return self.deficit / max(self.needed, 1)


def shortfall(quote: Quote, cart: Cart, floor: FloorSpec) -> Shortfall:
    """The quote's standing against ``floor``, computed as the runtime guardrail does.

    Only what holds the floor at list price counts: a line (or order, or category) that
    breaks it before any promotion is the catalogue's problem (PR415), not a breach the
    promotions cause.
    """
    lines = quote.lines
    f = floor.floor
    if floor.name == "order":
        at_list = sum(line.amount for line in cart.lines)
        if minimum_revenue(sum(line.unit_cost * line.quantity for line in cart.lines), f) > at_list:
            return _held(floor)
        revenue, cost = quote.goods_payable, quote.cost_total
        need = minimum_revenue(cost, f)
        return Shortfall(need - revenue, need, revenue, cost, "order")
    if floor.name == "line":
        worst: Shortfall | None = None
        for i, line in enumerate(cart.lines):
            ql = lines[i]
            need = minimum_revenue(ql.cost, f)
            if need > line.amount:
                continue
            here = Shortfall(need - ql.payable, need, ql.payable, ql.cost, f"line[{i}]")
            if worst is None or here.score > worst.score:
                worst = here
        return worst if worst is not None else _held(floor)
    picked = [i for i, line in enumerate(cart.lines) if line.category == floor.category]
    cost = sum(lines[i].cost for i in picked)
    need = minimum_revenue(cost, f)
    if not picked or need > sum(cart.lines[i].amount for i in picked):
        return _held(floor)
    revenue = sum(lines[i].payable for i in picked)
    return Shortfall(need - revenue, need, revenue, cost, floor.name)


def _held(floor: FloorSpec) -> Shortfall:
    """Nothing that counts for ``floor``: a standing far from any breach."""
    return Shortfall(-1, 1, 0, 0, floor.name)


def unguarded(engine: Engine) -> Engine:
    """The same ruleset with the guardrail only reporting: quotes as written, unclamped."""
    ruleset = engine.ruleset
    guardrails = attrs.evolve(ruleset.guardrails, on_breach=OnBreach.WARN)
    return Engine(attrs.evolve(ruleset, guardrails=guardrails), engine.kinds)


def cases(space: Space, order: Sequence[int]) -> st.SearchStrategy[Case]:
    """Every cart of the space within its limits. ``order``: item indexes, riskiest
    first, so generation leans towards them and shrinking ends on them."""
    items = [space.items[k] for k in order]
    moments = sorted(
        (m for slot in space.slots for m in slot.moments),
        key=lambda m: _slot_rank(space, m),
    )
    if any(item.synthetic for item in items):
        merchants = (*space.merchants, *(f"store-{n}" for n in range(1, space.max_lines + 1)))
        line = _synthetic_lines(items, merchants, space)
    else:

        def catalog_line(index: int, quantity: int, deposit: Fraction) -> Line:
            return _catalog_line(items[index], quantity, deposit)

        line = st.builds(
            catalog_line,
            _indexes(items),
            st.integers(1, space.max_quantity),
            st.sampled_from(DEPOSIT_SHARES),
        )
    segments: st.SearchStrategy[frozenset[str]] = (
        st.lists(st.sampled_from(space.segments), unique=True).map(frozenset)
        if space.segments
        else st.just(frozenset())
    )
    codes: st.SearchStrategy[tuple[str, ...]] = (
        st.lists(
            st.sampled_from(space.codes), unique=True, max_size=min(len(space.codes), MAX_CODES)
        ).map(tuple)
        if space.codes
        else st.just(())
    )
    # none (the kind's default) first, so shrinking ends on no choice made
    picks = [
        st.tuples(st.just(pid), st.sampled_from((None, *options)))
        for pid, options in space.choices[:MAX_CHOICES]
    ]
    choices = st.tuples(*picks).map(_made)
    # a cart holds a sku once (checkout merges repeats into one line); repeats are
    # dropped after drawing rather than refused while drawing, which keeps every draw
    # valid for Hypothesis' optimiser (refusals make its hill climbing overrun)
    lines = st.lists(line, min_size=1, max_size=min(space.max_lines, MAX_LINES)).map(_distinct)
    return st.builds(
        Case,
        lines,
        st.sampled_from(moments),
        st.sampled_from((None, *space.channels)),
        segments,
        codes,
        choices,
    )


def _indexes(items: Sequence[Item]) -> st.SearchStrategy[int]:
    """An index into ``items``, drawn exactly as ``st.sampled_from(items)`` draws its
    element (the same choice, shrinking towards the first, the riskiest), so every item
    stays reachable: but Hypothesis labels a
    ``sampled_from`` by hashing its elements, about 2.5 s per floor searched for
    100,000 items, and a range it hashes at once (no ``.map`` on it either: inverting a
    mapped ``sampled_from`` while shrinking maps every element)."""
    return st.sampled_from(range(len(items)))


def _made(drawn: tuple[tuple[str, str | None], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((pid, option) for pid, option in drawn if option is not None))


def _distinct(lines: list[Line]) -> tuple[Line, ...]:
    seen: set[str] = set()
    out = []
    total = 0
    for line in lines:
        # past the API's largest list total the cart could not be priced: stop there
        if line.sku not in seen and total + line.amount <= MAX_AMOUNT:
            seen.add(line.sku)
            out.append(line)
            total += line.amount
    return tuple(out)


def _slot_rank(space: Space, moment: datetime) -> tuple[int, float]:
    """Slots where more promotions are live come first."""
    ts = moment.timestamp()
    for slot in space.slots:
        if slot.start <= ts < slot.end:
            return (-len(slot.live), ts)
    return (0, ts)


def _within(price: int, quantity: int) -> int:
    """``quantity``, cut so the line stays within the API's largest amount (a cart past
    it cannot be priced at all, so the search need not draw it)."""
    return min(quantity, MAX_AMOUNT // price) if price > 0 else quantity


def _catalog_line(item: Item, quantity: int, deposit: Fraction) -> Line:
    quantity = _within(item.price, quantity)
    return Line(
        item.sku,
        quantity,
        item.price,
        int(item.cost),
        item.category,
        item.brand,
        item.merchant,
        item.tags,
        item.title,
        int(item.price * quantity * deposit),
    )


def _synthetic_lines(
    items: Sequence[Item], merchants: Sequence[str], space: Space
) -> st.SearchStrategy[Line]:
    @st.composite
    def draw_line(draw: st.DrawFn) -> Line:
        item = items[draw(_indexes(items))]
        price = draw(st.integers(item.price, max(item.price, item.max_price)))
        quantity = _within(price, draw(st.integers(1, space.max_quantity)))
        margin = item.margin if item.margin is not None else Fraction(0)
        # the worst the declaration allows: the highest whole cost at the declared margin
        cost = min(int((1 - margin) * price), MAX_AMOUNT)
        # a category name may take all of a sku's MAX_ID_LENGTH: keep room for the price
        sku = draw(st.sampled_from((f"{item.category[:100]}-{price}", *space.skus)))
        brand = draw(st.sampled_from(("", *space.brands)))
        tags = tuple(draw(st.lists(st.sampled_from(space.tags), unique=True))) if space.tags else ()
        deposit = draw(st.sampled_from(DEPOSIT_SHARES))
        return Line(
            sku,
            quantity,
            price,
            cost,
            item.category,
            brand,
            draw(st.sampled_from(merchants)),
            tags,
            "",
            int(price * quantity * deposit),
        )

    return draw_line()


def reductions(case: Case) -> list[Case]:
    """Every case one step smaller than ``case``: a line, a unit, a paid deposit, a code,
    a segment, the channel or a choice fewer. A minimal breach is one none of these
    still breaches."""
    out: list[Case] = []
    lines = case.lines
    if len(lines) > 1:
        out += [attrs.evolve(case, lines=lines[:i] + lines[i + 1 :]) for i in range(len(lines))]
    for i, line in enumerate(lines):
        if line.quantity > 1:
            quantity = line.quantity - 1
            # a deposit never exceeds what the line lists
            deposit = min(line.deposit_paid, line.unit_price * quantity)
            fewer = attrs.evolve(line, quantity=quantity, deposit_paid=deposit)
            out.append(attrs.evolve(case, lines=(*lines[:i], fewer, *lines[i + 1 :])))
        if line.deposit_paid:
            unpaid = attrs.evolve(line, deposit_paid=0)
            out.append(attrs.evolve(case, lines=(*lines[:i], unpaid, *lines[i + 1 :])))
    out += [attrs.evolve(case, coupons=_without(case.coupons, i)) for i in range(len(case.coupons))]
    out += [attrs.evolve(case, segments=case.segments - {s}) for s in sorted(case.segments)]
    if case.channel is not None:
        out.append(attrs.evolve(case, channel=None))
    out += [attrs.evolve(case, choices=_without(case.choices, i)) for i in range(len(case.choices))]
    return out


def _without(items: tuple[_T, ...], index: int) -> tuple[_T, ...]:
    return items[:index] + items[index + 1 :]


@attrs.frozen
class Found:
    case: Case
    shortfall: Shortfall


@attrs.frozen
class Outcome:
    """What the search did for one floor."""

    found: Found | None
    tried: int
    seconds: float
    observations: tuple[str, ...] = ()
    """Anomalies seen on the way (a negative total, a gift without a cost)."""


class Progress:
    """A one-line counter on stderr while a long search runs (silent when not a TTY)."""

    def __init__(self, stream: TextIO | None, enabled: bool) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.last = 0.0

    def update(self, label: str, count: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        from promorules.cli.render import safe

        self.stream.write(f"\rsearching {safe(label, 60)}: {count}/{total} examples")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def search_floor(
    engine: Engine,
    space: Space,
    floor: FloorSpec,
    order: Sequence[int],
    *,
    examples: int,
    seed: int,
    progress: Progress | None = None,
) -> Outcome:
    """Look for the smallest cart whose unclamped quote breaks ``floor``."""
    loose = unguarded(engine)
    currency = engine.currency
    strategy = cases(space, order)
    count = 0
    notes: dict[str, None] = {}

    def breaks(case: Case) -> bool:
        nonlocal count
        count += 1
        cart = case.cart(currency)
        quote = loose.price(cart, case.context())
        _observe(quote, notes)
        found = shortfall(quote, cart, floor)
        target(found.score, label=floor.name)
        if progress is not None:
            progress.update(floor.label, min(count, examples), examples)
        return found.deficit > 0

    started = time.monotonic()
    config = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=(Phase.generate, Phase.target, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    try:
        case = find(strategy, breaks, settings=config, random=random.Random(f"{seed}:{floor.name}"))
    except NoSuchExample:
        return Outcome(None, count, time.monotonic() - started, tuple(notes))
    finally:
        if progress is not None:
            progress.done()
    case = minimise(case, lambda smaller: _short(loose, smaller, floor).deficit > 0)
    result = _short(loose, case, floor)
    return Outcome(Found(case, result), count, time.monotonic() - started, tuple(notes))


def _short(engine: Engine, case: Case, floor: FloorSpec) -> Shortfall:
    cart = case.cart(engine.currency)
    return shortfall(engine.price(cart, case.context()), cart, floor)


def minimise(case: Case, breaks: Callable[[Case], bool]) -> Case:
    """The breach one-step minimal: Hypothesis' shrinker works on the draws, not the
    cart, and stops where removing one segment or code means redrawing others (about
    one breach in twelve over random rulesets), so a greedy pass over
    :func:`reductions` takes every step that still breaks the floor until none does."""
    smaller = True
    while smaller:
        smaller = False
        for candidate in reductions(case):
            if breaks(candidate):
                case, smaller = candidate, True
                break
    return case


def _observe(quote: Quote, notes: dict[str, None]) -> None:
    if quote.payable < 0 or any(ql.payable < 0 for ql in quote.lines):
        notes.setdefault("PR412:a quote came out negative before the clamp", None)
    for ql in quote.lines:
        if ql.gift and ql.unit_cost == 0:
            notes.setdefault(f"PR411:gift {ql.sku!r} was added with no cost", None)
