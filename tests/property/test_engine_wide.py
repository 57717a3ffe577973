"""Engine-wide properties over random rulesets of every kind, random carts, moments,
customers and coupon wallets (kinds are listed in strategies.KIND_STRATEGIES):

- with ``clamp`` or ``reject``, no quote keeps a discount on a floor it breaks (a floor
  may stay broken only where the list price or a gift's cost breaks it with no
  discount left to take back); a held floor's margin is at least its minimum;
- totals are never negative and allocations are exact (the books balance);
- pricing is deterministic and pure.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from promorules.cart import Cart, Context
from promorules.counters import Snapshot
from promorules.engine import Engine
from promorules.quote import GuardrailStatus
from tests import kinds
from tests.helpers import ALL_KINDS
from tests.property.checks import check_books
from tests.property.strategies import contexts, wallets, wide_carts, wide_rulesets

PLUGINS: list[object] = [*ALL_KINDS, kinds]


def with_wallet() -> st.SearchStrategy[Context]:
    return st.tuples(contexts(), wallets()).map(lambda pair: Context(pair[0].at, None, pair[1]))


@given(
    st.sampled_from(["clamp", "reject"]).flatmap(
        lambda mode: st.tuples(wide_rulesets(on_breach=mode), wide_carts(), with_wallet())
    )
)
def test_clamp_and_reject_hold_every_floor_they_can(
    case: tuple[dict[str, Any], Cart, Context],
) -> None:
    data, cart, context = case
    quote = Engine.from_dict(data, plugins=PLUGINS).price(cart, context)
    check_books(quote, cart)
    report = quote.guardrail
    assert report.status is not GuardrailStatus.OK or all(f.held for f in report.floors)
    for floor in report.floors:
        if floor.held:
            assert floor.margin is None or floor.margin >= floor.minimum
            continue
        if floor.name == "order":
            covered = list(range(len(cart.lines)))
        elif floor.name.startswith("line["):
            covered = [int(floor.name[5:-1])]
        else:
            category = floor.name.split(":", 1)[1]
            covered = [i for i, ln in enumerate(cart.lines) if ln.category == category]
        assert all(not quote.lines[i].adjustments for i in covered), floor


@given(wide_rulesets(), wide_carts(), with_wallet())
def test_totals_are_never_negative_and_the_books_balance(
    data: dict[str, Any], cart: Cart, context: Context
) -> None:
    quote = Engine.from_dict(data, plugins=PLUGINS).price(cart, context)
    check_books(quote, cart)
    assert quote.goods_payable >= 0
    assert all(line.payable >= 0 for line in quote.lines)


@given(wide_rulesets(), wide_carts(), with_wallet())
def test_pricing_every_kind_is_deterministic_and_pure(
    data: dict[str, Any], cart: Cart, context: Context
) -> None:
    engine = Engine.from_dict(data, plugins=PLUGINS)
    before = copy.deepcopy(cart)
    first = engine.price(cart, context).to_dict()
    assert cart == before
    assert engine.price(cart, context).to_dict() == first
    assert Engine.from_dict(data, plugins=PLUGINS).price(cart, context).to_dict() == first


@given(wide_rulesets(), wide_carts(), with_wallet(), st.data())
def test_the_hot_path_gives_the_figures_of_the_explained_pass(
    data: dict[str, Any], cart: Cart, context: Context, more: st.DataObject
) -> None:
    """engine.price (one compiled function per plan, figures only; explanations worked out
    on access) and engine.explained (the generic walk) agree on everything, with or without
    a ledger snapshot pausing promotions, and with every lane written as a dispatch on
    the promotions the cart reaches (as a lane of many promotions is)."""
    engine = Engine.from_dict(data, plugins=PLUGINS)
    if more.draw(st.booleans()):
        engine.hot_path_limit = 0
    if more.draw(st.booleans()):
        ids = [p.id for p in engine.ruleset.promotions]
        paused = more.draw(st.sets(st.sampled_from(ids)))
        context = Context(context.at, None, context.coupons, availability=Snapshot({}, paused))
    quote = engine.price(cart, context)
    consumption = quote.consumption  # read before the explanations are worked out
    first = quote.to_dict()
    explained = engine.explained(cart, context)
    assert explained.to_dict() == first
    assert explained.consumption == consumption
