"""The rounding allowance (promorules/validate/rounding.py): what the engine's own
figures put on one line beyond a promotion's share never exceeds it, and the case it
was raised for (tests/validate/corpus/half-up-pool.toml) breaks at checkout."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import given, settings, target

from promorules.cart import Cart, Context, Customer, Line
from promorules.engine import Engine
from promorules.interpret import line_offs, pool_off, reached, split
from promorules.model import (
    AmountOff,
    Condition,
    Every,
    Leftover,
    PercentOff,
    Rule,
    Step,
    Tiers,
    bound,
)
from promorules.money import Rounding
from promorules.validate.rounding import SCALE, allowance, line_excess
from tests.helpers import SHANGHAI

CORPUS = Path(__file__).parent / "corpus"
RATES = st.integers(1, 9999).map(lambda bp: Fraction(bp, 10000))


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    """A rule of every shape whose bound promises a per-line share."""
    shape = draw(st.sampled_from(["pool", "line", "tier", "amount", "every"]))
    leftover = draw(st.sampled_from(list(Leftover)))
    cap = draw(st.none() | st.integers(1, 50_000))
    if shape == "pool":
        benefit: object = PercentOff(draw(RATES))
    elif shape == "line":
        benefit = PercentOff(draw(RATES), per_line=True)
    elif shape == "tier":
        low, high = sorted(draw(st.lists(RATES, min_size=2, max_size=2, unique=True)))
        benefit = Tiers((Step(100, PercentOff(low)), Step(5_000, PercentOff(high))))
    elif shape == "amount":
        return Rule(
            AmountOff(draw(st.integers(1, 900))),
            Condition(min_amount=draw(st.integers(1_000, 9_000))),
            cap=cap,
            leftover=leftover,
        )
    else:
        return Rule(
            Every(draw(st.integers(100, 9_000)), draw(st.integers(1, 99))), leftover=leftover
        )
    return Rule(benefit, cap=cap, leftover=leftover)  # type: ignore[arg-type]


def pools() -> st.SearchStrategy[list[int]]:
    """Line amounts: now and then one large line among small ones, where a pool's
    rounding concentrates."""
    small = st.integers(0, 60)
    return st.one_of(
        st.lists(st.integers(0, 100_000), min_size=1, max_size=12),
        st.tuples(st.integers(1_000, 100_000), st.lists(small, min_size=1, max_size=12)).map(
            lambda big_small: [big_small[0], *big_small[1]]
        ),
    )


def given_per_line(rule: Rule, amounts: list[int], mode: Rounding) -> list[int]:
    """What the engine's figures (promorules.interpret.figures) give each line of one
    pool that reached the rule's condition."""
    base = sum(amounts)
    if reached(rule, base, len(amounts)):
        return [0] * len(amounts)  # the pool is short of the condition: nothing given
    if not rule.pooled:
        given = line_offs(rule, amounts, [1] * len(amounts), range(len(amounts)), mode)
        if rule.cap is not None and sum(given) > rule.cap:
            given = split(rule.cap, given, rule.leftover)
        return given
    off, _ = pool_off(rule, base, base, mode)
    if rule.cap is not None:
        off = min(off, rule.cap)
    off = min(off, base)
    return split(off, amounts, rule.leftover) if off > 0 else [0] * len(amounts)


@settings(max_examples=600, deadline=None)
@given(rules(), pools(), st.sampled_from(list(Rounding)))
def test_no_line_gets_more_than_its_share_and_the_allowance(
    rule: Rule, amounts: list[int], mode: Rounding
) -> None:
    share = bound(rule).line_rate
    if share is None:
        return  # the bound promises no share of a line: it may lose all of it
    given = given_per_line(rule, amounts, mode)
    excess = max(part - amount * share for part, amount in zip(given, amounts, strict=True))
    target(float(excess), label="excess")  # climb towards the worst split
    assert excess <= line_excess(rule, mode), (given, amounts)
    assert excess * SCALE <= allowance(rule, mode)


def test_a_pool_rounded_half_up_puts_more_than_a_minor_unit_on_a_line() -> None:
    # the corpus case: 10% of 10.15 is 101.5, half-up 102; MUG's part 102 of 100.9
    rule = Rule(PercentOff(Fraction(1, 10)))
    given = given_per_line(rule, [1009, 3, 3], Rounding.HALF_UP)
    assert given == [102, 0, 0]
    assert given[0] - Fraction(1009, 10) == Fraction(11, 10)
    assert line_excess(rule, Rounding.HALF_UP) == Fraction(3, 2)
    assert line_excess(rule, Rounding.HALF_EVEN) == Fraction(3, 2)
    # rounding down never gives the pool more than its share: one unit of the split
    assert line_excess(rule, Rounding.DOWN) == 1
    assert given_per_line(rule, [1009, 3, 3], Rounding.DOWN) == [101, 0, 0]
    # a rate on each line rounds once per line: within the kind contract's one unit
    assert line_excess(Rule(PercentOff(Fraction(1, 10), per_line=True)), Rounding.HALF_UP) == 1


def test_the_corpus_cart_breaks_the_floor_it_was_once_proven_on_at_checkout() -> None:
    engine = Engine.from_toml(CORPUS / "half-up-pool.toml")
    cart = Cart(
        (Line("MUG", 1, 1009, 771), Line("PIN-A", 1, 3, 0), Line("PIN-B", 1, 3, 0)),
        Customer("c"),
        "CNY",
    )
    quote = engine.price(cart, Context(datetime(2026, 11, 11, 12, tzinfo=SHANGHAI)))
    assert quote.lines[0].payable == 907  # 10.09 less 1.02
    # the 15% floor needs ceil(771 / 0.85) = 908; on_breach = warn lets it through
    assert quote.guardrail.status.value == "breached"
