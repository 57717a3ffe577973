"""One rule, two readings: the written hot path equals the interpreter, and the derived
bound holds for both.

Random :class:`~promorules.model.Rule` values (every benefit, condition, pool, cap,
allocation setting and rounding mode) are priced through a test kind that states them
directly: ``engine.price`` runs the plan's written function (the writer in
:mod:`promorules.hotpath`), ``engine.explained`` the interpreter
(:mod:`promorules.interpret`); every figure must agree to the minor unit, and no
promotion may give more than :func:`promorules.model.bound` says, per order or per line.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, ClassVar

import attrs
from hypothesis import example, given, settings
from hypothesis import strategies as st

from promorules import hookimpl
from promorules.cart import Cart, Context, Customer, Line
from promorules.engine import Engine
from promorules.kind import CompileEnv, Gift, Kind, Lane
from promorules.model import (
    AmountOff,
    Cheapest,
    Condition,
    Every,
    GiveGifts,
    Leftover,
    Per,
    PercentOff,
    Pool,
    Rule,
    ShippingOff,
    Step,
    Tiers,
)
from promorules.quote import Quote, Status
from promorules.ruleset import Promotion
from tests.helpers import D11


@attrs.frozen
class _NoConfig:
    pass


class Modelled(Kind):
    """A kind whose promotions' rules are given by the test, keyed by promotion id."""

    name = "modelled"
    config_type = _NoConfig
    lanes = (Lane.STORE, Lane.ITEM, Lane.PLATFORM, Lane.PRICE)
    rules: ClassVar[dict[str, Rule]] = {}

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule:
        return self.rules[promotion.id]


@hookimpl(specname="promorules_register_kinds")
def _register(register: object) -> None:
    assert callable(register)
    register(Modelled())


PLUGIN = types.SimpleNamespace(promorules_register_kinds=_register)

CODES = ("SAVE", "MORE")
rates = st.fractions(min_value=Fraction(1, 100), max_value=1, max_denominator=100)
amounts = st.integers(min_value=1, max_value=50_000)


@st.composite
def benefits(draw: st.DrawFn) -> Any:
    which = draw(
        st.sampled_from(["percent", "amount", "tiers", "every", "shipping", "cheapest", "gifts"])
    )
    if which == "gifts":
        cost = draw(st.integers(0, 3_000))
        return GiveGifts((Gift("MUG", cost, draw(st.integers(1, 2)), value=cost + 500),))
    if which == "cheapest":
        reward = draw(
            st.one_of(rates.map(PercentOff), amounts.map(lambda a: AmountOff(a, Per.UNIT)))
        )
        return Cheapest(draw(st.integers(1, 5)), reward, draw(st.booleans()))
    if which == "percent":
        return PercentOff(draw(rates), per_line=draw(st.booleans()))
    if which == "amount":
        return AmountOff(draw(amounts), draw(st.sampled_from(list(Per))))
    by_quantity = draw(st.booleans())
    steps_at = st.integers(1, 6) if by_quantity else st.integers(1, 80_000)
    if which == "every":
        return Every(draw(steps_at), draw(amounts), by_quantity)
    if which == "tiers":
        ats = sorted(draw(st.sets(steps_at, min_size=1, max_size=4)))
        rewards = [draw(st.one_of(rates.map(PercentOff), amounts.map(AmountOff))) for _ in ats]
        return Tiers(
            tuple(Step(at, reward) for at, reward in zip(ats, rewards, strict=True)), by_quantity
        )
    kind = draw(st.sampled_from(["all", "amount", "percent", "price"]))
    if kind == "amount":
        return ShippingOff(amount=draw(st.integers(1, 2_000)))
    if kind == "percent":
        return ShippingOff(percent=draw(rates))
    if kind == "price":
        return ShippingOff(price=draw(st.integers(0, 2_000)))
    return ShippingOff()


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    benefit = draw(benefits())
    shipping = isinstance(benefit, (ShippingOff, GiveGifts))  # pooled over the order only
    condition = Condition(
        min_amount=draw(st.sampled_from([0, 0, 5_000, 30_000])),
        min_quantity=draw(st.sampled_from([0, 0, 2, 3])),
        max_amount=draw(st.sampled_from([None, None, None, 60_000])),
        codes=frozenset(draw(st.sampled_from([(), (), ("SAVE",), CODES]))),
    )
    # one pool of every line is what the writer writes inline: drawn most often
    pool = Pool.ORDER if shipping else draw(st.sampled_from([Pool.ORDER, Pool.ORDER, *Pool]))
    per_unit = isinstance(benefit, AmountOff) and benefit.per is Per.UNIT  # not Cheapest
    rule = Rule(
        benefit,
        condition,
        pool=pool,
        cap=draw(st.sampled_from([None, None, 1_000, 9_999])),
        units_per_line=draw(st.sampled_from([None, 1, 2])) if per_unit else None,
        leftover=draw(st.sampled_from(list(Leftover))),
    )
    if rule.pooled and pool is Pool.ORDER and not rule.by_quantity and draw(st.booleans()):
        return attrs.evolve(rule, with_shipping=True)  # the fee measured in the pool
    return rule


@st.composite
def carts(draw: st.DrawFn) -> Cart:
    count = draw(st.integers(1, 5))
    lines = [
        Line(
            f"S{k}",
            draw(st.integers(1, 4)),
            unit_price=draw(st.integers(1, 40_000)),
            unit_cost=0,
            merchant=draw(st.sampled_from(["m1", "m2"])),
        )
        for k in range(count)
    ]
    return Cart(lines=lines, customer=Customer("c-1"), shipping=draw(st.sampled_from([0, 800])))


def build(
    found: Sequence[Rule], lanes: Sequence[str], rounding: str, grouped: bool = False
) -> Engine:
    """An engine of ``found`` in ``lanes``; ``grouped``: each lane's promotions in one
    exclusive group and the first with a budget (lanes the writer collects offers in)."""
    Modelled.rules = {f"p{k}": rule for k, rule in enumerate(found)}
    promotions: list[dict[str, Any]] = [
        {"id": f"p{k}", "kind": "modelled", "lane": lane} for k, lane in enumerate(lanes)
    ]
    if grouped:
        for k, promotion in enumerate(promotions):
            promotion["group"] = f"g-{promotion['lane']}"
            promotion["priority"] = k % 2
            if k == 0:
                promotion["budget"] = "35.00"
    data = {
        "campaign": {
            "name": "T",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "rounding": rounding,
        },
        "promotion": promotions,
    }
    return Engine.from_dict(data, plugins=[PLUGIN])


def figures(quote: Quote) -> tuple[Any, ...]:
    """Everything the quote says in money, without reading an explanation."""
    return (
        [
            (ql.sku, ql.payable, [(a.promotion, a.amount) for a in ql.adjustments])
            for ql in quote.lines
        ],
        quote.payable,
        quote.shipping_payable,
    )


@given(
    st.lists(
        st.tuples(rules(), st.sampled_from(["item", "store", "platform"])), min_size=1, max_size=4
    ),
    carts(),
    st.sampled_from(["down", "half-up", "half-even"]),
    st.sampled_from([(), ("SAVE",), ("MORE", "SAVE")]),
    st.booleans(),
    st.booleans(),
)
@settings(max_examples=max(settings().max_examples * 3, 200))
@example(
    [(Rule(Tiers((Step(30_000, AmountOff(3_000)),)), Condition()), "store")],
    Cart(lines=[Line("S0", 1, unit_price=30_000, unit_cost=0)], customer=Customer("c")),
    "down",
    (),
    False,
    False,
)
def test_the_written_figures_equal_the_interpreter(
    case: list[tuple[Rule, str]],
    cart: Cart,
    rounding: str,
    codes: tuple[str, ...],
    grouped: bool,
    walked: bool,
) -> None:
    engine = build([rule for rule, _ in case], [lane for _, lane in case], rounding, grouped)
    if walked:  # as a plan too large for one written function: each rule's own
        engine.hot_path_limit = 0
    context = Context(at=D11, coupons=codes)
    assert figures(engine.price(cart, context)) == figures(engine.explained(cart, context))


@given(rules(), carts(), st.sampled_from(["down", "half-up", "half-even"]))
@example(  # an amount per store pool is no cap per order (once derived as one)
    Rule(AmountOff(1), pool=Pool.STORE),
    Cart(
        lines=[
            Line("S0", 1, unit_price=1, unit_cost=0, merchant="m1"),
            Line("S1", 1, unit_price=1, unit_cost=0, merchant="m2"),
        ],
        customer=Customer("c"),
    ),
    "down",
)
def test_no_rule_gives_more_than_its_bound(rule: Rule, cart: Cart, rounding: str) -> None:
    engine = build([rule], ["store"], rounding)
    quote = engine.price(cart, Context(at=D11, coupons=CODES))
    bound = engine.bound(0)
    # the goods' part: a rule measured with shipping also takes its share off the fee,
    # which no goods margin counts
    given_total = sum(a.amount for ql in quote.lines for a in ql.adjustments if a.promotion == "p0")
    explanation = quote.explanation("p0")
    if explanation.status is Status.NOT_APPLIED:
        assert given_total == 0
        return
    if bound.cap is not None:
        assert given_total <= bound.cap
    # one minor unit of rounding per line at most (a split, or a rate landing on a unit)
    slack = len(cart.lines)
    goods = sum(line.unit_price * line.quantity for line in cart.lines)
    if isinstance(rule.benefit, GiveGifts):
        assert bound.rate == 0 and given_total == 0
        assert sum(g.unit_cost * g.quantity for _, g in quote._gifts) <= bound.extra_cost
        return
    if isinstance(rule.benefit, ShippingOff):
        assert bound.rate == 0
        assert given_total <= cart.shipping
        return
    assert given_total <= bound.rate * goods + slack
    if bound.line_rate is not None:
        for ql in quote.lines:
            mine = sum(a.amount for a in ql.adjustments if a.promotion == "p0")
            # a rate rounded half-up on the pool, then split: up to 1.5 units over
            assert mine <= bound.line_rate * ql.list_amount + Fraction(3, 2)
