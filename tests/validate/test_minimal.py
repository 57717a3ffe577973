"""Breach carts are minimal: no line, unit, paid deposit, code, segment, channel or choice
can be removed and the cart still breach. A property over random rulesets of every kind
(about one breach in twelve kept a segment or code it did not need when Hypothesis'
shrinker alone decided)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promorules.cartfile import load_catalog
from promorules.engine import Engine
from promorules.validate import Options, validate
from promorules.validate.bounds import Bounds, floors_of
from promorules.validate.search import reductions, search_floor, shortfall, unguarded
from promorules.validate.space import build_space
from tests import kinds
from tests.helpers import ALL_KINDS
from tests.property.strategies import catalogues, wide_rulesets

PLUGINS: list[object] = [*ALL_KINDS, kinds]
CORPUS = Path(__file__).parent / "corpus"


# the validator's search is itself a Hypothesis search, run inside this one on purpose
@settings(max_examples=15, suppress_health_check=[HealthCheck.nested_given, HealthCheck.too_slow])
@given(st.data())
def test_every_breach_found_is_one_step_minimal(data: st.DataObject) -> None:
    engine = Engine.from_dict(data.draw(wide_rulesets()), plugins=PLUGINS)
    space = build_space(engine, data.draw(catalogues()), max_lines=4, max_quantity=4)
    if not space.items:
        return
    bounds = Bounds(engine, space)
    order = list(range(len(space.items)))
    loose = unguarded(engine)
    for floor in floors_of(engine.ruleset):
        if bounds.claim(floor).proven:
            continue
        found = search_floor(engine, space, floor, order, examples=60, seed=0).found
        if found is None:
            continue
        cart = found.case.cart("CNY")
        assert shortfall(loose.price(cart, found.case.context()), cart, floor).deficit > 0
        for smaller in reductions(found.case):
            cart = smaller.cart("CNY")
            quote = loose.price(cart, smaller.context())
            assert shortfall(quote, cart, floor).deficit <= 0, (floor.name, found.case, smaller)


def test_reductions_take_one_step_of_every_kind() -> None:
    from datetime import datetime

    from promorules.cart import Line
    from promorules.validate.search import Case
    from tests.helpers import SHANGHAI

    case = Case(
        (Line("A", 2, 1000, 500, deposit_paid=1500), Line("B", 1, 300, 100)),
        datetime(2026, 11, 11, tzinfo=SHANGHAI),
        "app",
        frozenset({"member", "new"}),
        ("C1", "C2"),
        (("gift", "MUG"),),
    )
    steps = reductions(case)
    # two lines out, one unit of A (its deposit capped at what is left), A's deposit,
    # two codes, two segments, the channel, the choice
    assert len(steps) == 10
    fewer = steps[2].lines[0]
    assert (fewer.quantity, fewer.deposit_paid) == (1, 1000)
    assert steps[3].lines[0].deposit_paid == 0
    assert {s.channel for s in steps} == {None, "app"}
    assert all(len(s.choices) == 0 for s in steps[-1:])


def test_a_segment_the_breach_does_not_need_is_dropped(tmp_path: Path) -> None:
    engine = Engine.from_toml(CORPUS / "spare-segment.toml", plugins=PLUGINS)
    catalog = load_catalog(CORPUS / "spare-segment.csv", "CNY")
    options = Options(examples=300, seed=0, out_dir=tmp_path, max_lines=4, max_quantity=4)
    report = validate(engine, catalog, options)
    breach = report.verdict("order").breach
    assert breach is not None
    # the VIP coupon is for members only; churned (for SAVE20) adds nothing
    assert breach.case.segments == frozenset({"member"})
    assert breach.case.coupons == ("VIP",)
    loose = unguarded(engine)
    for verdict in report.verdicts:
        if verdict.breach is None:
            continue
        for smaller in reductions(verdict.breach.case):
            cart = smaller.cart("CNY")
            quote = loose.price(cart, smaller.context())
            assert shortfall(quote, cart, verdict.floor).deficit <= 0, smaller
