"""Kinds' sources (``Kind.source``) give exactly their evaluators' figures.

Each source is compiled on its own, as the hot path inlines it, and run against the
evaluator on random states whose amounts sit on, just below and just above the
promotion's thresholds (where a comparison written the wrong way shows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promorules import hookimpl
from promorules.diagnostics import PromorulesError
from promorules.hotpath import substitute
from promorules.kind import Offer, PricingState, Source
from promorules.plan import Compiled
from tests.helpers import ALL_KINDS, D11, HEADER, cart, engine, line

ROUNDINGS = ("down", "half-up", "half-even")

# (promotion table, the amounts its comparisons turn on)
PROMOTIONS: list[tuple[str, tuple[int, ...]]] = [
    ('kind = "discount"\nlane = "item"\npercent = "15%"', ()),
    ('kind = "discount"\nlane = "store"\npercent = "33.3%"', ()),
    ('kind = "discount"\nlane = "platform"\noff_each = "7.00"', (700,)),
    ('kind = "tiered"\nlane = "platform"\nmode = "every"\nthreshold = "300"\noff = "50"', (30000,)),
    (
        'kind = "tiered"\nlane = "platform"\nmode = "every"\nthreshold = "300"\noff = "50"\n'
        'cap = "120"',
        (30000, 60000, 90000),
    ),
    (
        'kind = "tiered"\nlane = "store"\nmerchants = ["m1"]\ntiers = [\n'
        '  { threshold = "200", off = "20" },\n  { threshold = "400", off = "50" },\n]',
        (20000, 40000),
    ),
    (
        'kind = "tiered"\nlane = "item"\nscope = "cross-store"\n'
        'tiers = [\n  { threshold = "100", percent = "5%" },\n'
        '  { threshold = "250", percent = "12.5%" },\n]\ncap = "25"',
        (10000, 25000),
    ),
    (
        'kind = "tiered"\nlane = "platform"\ntiers = [\n  { quantity = 2, off = "10" },\n'
        '  { quantity = 4, percent = "20%" },\n]',
        (),
    ),
    ('kind = "coupon"\nlane = "platform"\ncode = "SAVE"\nthreshold = "199"\noff = "30"', (19900,)),
    (
        'kind = "coupon"\nlane = "platform"\ncode = "PCT"\npercent = "10%"\nmax_off = "15"',
        (15000,),
    ),
    (
        'kind = "coupon"\nlane = "store"\nmerchants = ["m1"]\ncode = "STORE"\n'
        'threshold = "99"\npercent = "7.5%"',
        (9900,),
    ),
    ('kind = "free_shipping"\nthreshold = "99"', (9900,)),
    ('kind = "free_shipping"\nthreshold = "59"\noff = "5"', (5900,)),
    ('kind = "free_shipping"\nquantity = 3', ()),
    ('kind = "gift"\nthreshold = "599"\ngifts = [{ sku = "g1", unit_cost = "15" }]', (59900,)),
    (
        'kind = "gift"\nquantity = 4\nstackable = true\ngifts = [\n'
        '  { sku = "g1", unit_cost = "15", quantity = 2, title = "Mug" },\n'
        '  { sku = "g2", unit_cost = "3", value = "9" },\n]',
        (),
    ),
]


def _compiled(table: str, rounding: str) -> Compiled:
    header = HEADER.replace("[campaign]\n", f'[campaign]\nrounding = "{rounding}"\n')
    built = engine(f'[[promotion]]\nid = "p"\n{table}\n', header=header, plugins=ALL_KINDS)
    return built._compiled[0]


Run = Callable[[PricingState, list[int]], tuple[Any, int, Any]]


def _run(compiled: Compiled) -> Run:
    """The source of ``compiled`` as a function of (state, lines): (discounts, shipping
    off, the offer settled with the lane)."""
    source = compiled.source
    assert source is not None
    names: dict[str, Any] = {}
    body = substitute(source, 0, "lines", names, "weights", "total")
    text = [
        "def run(state, lines):",
        "    base = state.amounts",
        "    weights = [base[i] for i in lines]",
        "    total = sum(weights)",
        "    shipping_off = 0",
        "    off = extra = None",
    ]
    if source.each or source.unit_price:
        text.append(f"    off = [{body[0]} for i in lines]")
    else:
        text.extend("    " + part for part in body)
    text.append("    return off, shipping_off, extra")
    exec(compile("\n".join(text) + "\n", "<source under test>", "exec"), names)
    run: Run = names["run"]
    return run


@st.composite
def states(draw: st.DrawFn, edges: tuple[int, ...]) -> tuple[PricingState, list[int]]:
    count = draw(st.integers(1, 4))
    qty = draw(st.lists(st.integers(1, 5), min_size=count, max_size=count))
    near = [edge + step for edge in edges for step in (-1, 0, 1)] or [0]
    amount = st.one_of(st.integers(0, 120_000), st.sampled_from(near))
    amounts = draw(st.lists(amount, min_size=count, max_size=count))
    on_edge = draw(st.booleans())
    if edges and on_edge:  # the lines together exactly on an edge, or next to it
        rest = draw(st.sampled_from(near)) - sum(amounts[1:])
        if rest >= 0:
            amounts[0] = rest
    prices = st.sampled_from(["9.99", "24.99", "25.00", "25.01", "2000"])
    lines = [line(f"s{i}", q, draw(prices), merchant="m1") for i, q in enumerate(qty)]
    coupons = draw(st.sampled_from([(), ("SAVE",), ("PCT", "STORE"), ("OTHER",)]))
    state = PricingState(
        lines, cart(*lines).customer, D11, coupons=coupons, shipping=draw(st.integers(0, 1200))
    )
    state.explain = False
    state.amounts = amounts
    every = list(range(count))
    scope = sorted(draw(st.sets(st.sampled_from(every), min_size=1)))
    return state, scope


def _figures(result: Any, lines: list[int]) -> tuple[list[int], int, list[Any]]:
    """An evaluator's answer as the discount on each of ``lines``, the shipping off and
    the gifts."""
    if result.__class__ is not Offer:
        return [0] * len(lines), 0, []
    assert not result.consumes and not result.deposits and not result.unit_prices
    given = dict(zip(result.lines, result.amounts, strict=True))
    assert set(given) <= set(lines)
    return [given.get(i, 0) for i in lines], result.shipping_off, list(result.gifts or ())


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize(("table", "edges"), PROMOTIONS)
def test_a_source_gives_its_evaluators_figures(
    table: str, edges: tuple[int, ...], rounding: str
) -> None:
    compiled = _compiled(table, rounding)
    run = _run(compiled)

    @settings(max_examples=150, deadline=None)
    @given(states(edges))
    def check(case: tuple[PricingState, list[int]]) -> None:
        state, lines = case
        expected = _figures(compiled.evaluate(state, lines), lines)
        off, shipping_off, extra = run(state, lines)
        gifts = list(extra.gifts) if extra is not None else []
        assert (off if off is not None else [0] * len(lines), shipping_off, gifts) == expected

    check()


def test_gifts_with_stock_or_a_choice_give_no_source() -> None:
    stock = 'kind = "gift"\nthreshold = "1"\ngifts = [{ sku = "g", unit_cost = "1", stock = 5 }]'
    choice = 'kind = "gift"\nthreshold = "1"\nchoose_one_of = [{ sku = "g", unit_cost = "1" }]'
    assert _compiled(stock, "down").source is None
    assert _compiled(choice, "down").source is None


def test_limited_coupons_and_per_store_pools_give_no_source() -> None:
    limited = 'kind = "coupon"\ncode = "ONCE"\noff = "5"\nuses = 100'
    pooled = (
        'kind = "tiered"\nlane = "store"\nmerchants = ["m1", "m2"]\nthreshold = "100"\noff = "10"'
    )
    assert _compiled(limited, "down").source is None
    assert _compiled(pooled, "down").source is None


# price-lane kinds: (promotion table); prices sit on the drawn list prices' edges (25.00)
PRICES: list[str] = [
    'kind = "flash_sale"\nphases = ["explosion"]\nprices = { s0 = "25.00", s3 = "2500" }',
    'kind = "flash_sale"\nphases = ["explosion"]\npercent = "30%"',
    'kind = "flash_sale"\nphases = ["explosion"]\nprices = { s1 = "25.00" }\npercent = "12.5%"',
    'kind = "member_price"\nsegments = ["vip"]\npercent = "0.05%"',
    'kind = "member_price"\nsegments = ["vip"]\nprices = { s2 = "25.00" }',
]


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("table", PRICES)
def test_a_unit_price_source_offers_its_evaluators_prices(table: str, rounding: str) -> None:
    compiled = _compiled(table, rounding)
    run = _run(compiled)

    @settings(max_examples=150, deadline=None)
    @given(states(()))
    def check(case: tuple[PricingState, list[int]]) -> None:
        state, lines = case
        result = compiled.evaluate(state, lines)
        expected = {}
        if result.__class__ is Offer:
            assert not result.lines and not result.unit_counters
            for i, price, units in result.unit_prices or ():
                assert units == state.qty[i]
                expected[i] = price
        offered, _, _ = run(state, lines)
        below = {
            i: price
            for i, price in zip(lines, offered, strict=True)
            if price is not None and price < state.list_unit[i]
        }
        assert below == expected

    check()


def test_flash_sales_with_stock_or_limits_give_no_source() -> None:
    for limit in ("stock = 10", "total_stock = 100", "per_customer = 2"):
        table = f'kind = "flash_sale"\nphases = ["explosion"]\npercent = "30%"\n{limit}'
        assert _compiled(table, "down").source is None


def test_a_source_naming_what_it_may_not_is_refused_with_the_name() -> None:
    names: dict[str, Any] = {}
    with pytest.raises(ValueError, match="weights"):
        substitute(Source(each="$amounts[$i] - $weights[0]"), 3, "s3", names)
    with pytest.raises(ValueError, match="off"):
        substitute(Source(unit_price="$off"), 3, "s3", names)
    # in a block, any other name is a local of the block's own, apart from other blocks'
    block = substitute(Source("$seen = $base\n$off = None"), 3, "s3", names, "w3", "b3")
    assert block == ["_seen_3 = b3", "off = None"]


def test_a_source_gives_one_form() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Source()
    with pytest.raises(ValueError, match="exactly one"):
        Source("$off = None", each="0")
    with pytest.raises(ValueError, match="only a code block"):
        Source(each="0", shipping=True)


class _Broken:
    """A plugin whose kind's source does not compile."""

    def __init__(self, source: Source) -> None:
        from promorules_plugins.discount import Discount

        class BrokenDiscount(Discount):
            name = "broken"

            def source(self, promotion: Any, env: Any) -> Source:
                return broken

        broken = source
        self.kind = BrokenDiscount()

    @hookimpl
    def promorules_register_kinds(self, register: Callable[[object], None]) -> None:
        register(self.kind)


@pytest.mark.parametrize(
    "source",
    [
        Source(each="$amounts[$i] *"),  # a syntax error
        Source("$off = [$amounts[i] for i in $lines"),
        Source(each="$weights[0]"),  # a block's name in an expression
    ],
)
def test_a_source_that_does_not_compile_is_refused_when_the_engine_is_built(
    source: Source,
) -> None:
    table = '[[promotion]]\nid = "cut"\nkind = "broken"\npercent = "10%"\n'
    with pytest.raises(PromorulesError, match="promotion 'cut': kind 'broken' gives a source"):
        engine(table, plugins=[_Broken(source)])
