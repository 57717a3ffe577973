"""Soundness of the validator, as properties over random rulesets of every kind.

- A floor the bound calls PROVEN has no breaching cart among carts priced by the engine
  with the guardrail on ``warn`` (the quote as the ruleset writes it): catalogue skus,
  any moment, segments, channel, wallet, gift choice, deposits paid, and every ledger
  counter (budgets, uses, stock) at any value ``promorules ledger adjust`` can set.
- The same for rulesets validated without a catalogue, against random skus that
  honour the declared category margins and price floors.

The rulesets draw every built-in kind with its settings (tests/property/strategies.py,
``KIND_STRATEGIES``), every rounding mode and leftover setting, lane orders, the price
lane's choice, ``unlock_codes`` and budgets. The carts are drawn independently of the
validator's own search, from a seeded ``random.Random`` (cheap enough to price many
carts per ruleset; a failure reproduces from Hypothesis' ruleset and the seed it prints).

Effort follows the Hypothesis profile (tests/conftest.py): ``ci`` and ``dev`` stay fast,
``thorough`` and ``soundness`` run thousands of rulesets. The number of rulesets checked
(and of those with a PROVEN floor, the ones that can fail) is printed at the end of the
run (tests/property/conftest.py); ``SOUNDNESS_LOG=FILE`` also appends it to FILE.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from datetime import timedelta
from fractions import Fraction
from typing import Any

import attrs
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from promorules.cart import Cart, Context, Customer, Line
from promorules.counters import Availability, CounterKind, Snapshot
from promorules.engine import Engine
from promorules.plugins import PluginHost
from promorules.quote import Quote
from promorules.ruleset import build_ruleset
from promorules.validate.bounds import Bounds, FloorSpec, floors_of
from promorules.validate.search import TOPPED
from promorules.validate.space import Space, build_space
from tests import kinds
from tests.helpers import ALL_KINDS
from tests.property.strategies import (
    CATEGORIES,
    CHANNELS,
    COUPON_CODES,
    DEPOSITS,
    GIFT_SKUS,
    MERCHANTS,
    SEGMENTS,
    START,
    TEST_CODES,
    catalogues,
    wide_rulesets,
)

PLUGINS: list[object] = [*ALL_KINDS, kinds]
KINDS = PluginHost(PLUGINS).kinds
"""Loaded once: every ruleset of a run is built with the same kinds."""
SEARCH = 40
"""Carts priced per random ruleset that has a PROVEN floor."""
PROGRESS = 500
"""A long run logs its progress every this many rulesets (``SOUNDNESS_LOG``)."""
CHECKED: Counter[str] = Counter()
"""What the properties checked in this run, by name (reported at the end of the run)."""


def _cart(
    rng: random.Random, lines: list[Line], space: Space, engine: Engine
) -> tuple[Cart, Context]:
    lines = [_deposit(rng, line) for line in lines]
    segments = frozenset(rng.sample(SEGMENTS, rng.randint(0, 2)))
    codes = TEST_CODES + COUPON_CODES
    wallet = tuple(rng.sample(codes, rng.randint(0, len(codes))))
    # the slots' own moments reach every activation plan; random instants check between
    if space.moments and rng.random() < 0.8:
        at = rng.choice(space.moments)
    else:
        at = START + timedelta(seconds=rng.randint(-3600, 4 * 24 * 3600))
    channel = rng.choice((None, *CHANNELS))
    choices = {p.id: rng.choice(GIFT_SKUS) for p in engine.ruleset.promotions if rng.random() < 0.5}
    context = Context(at, channel, wallet, availability=_ledger(rng, engine), choices=choices)
    customer = Customer(f"c{rng.randint(0, 3)}", segments)
    return Cart(tuple(lines), customer, "CNY", rng.choice((0, 0, rng.randint(1, 3_000)))), context


def _deposit(rng: random.Random, line: Line) -> Line:
    """``line``, now and then with a pre-sale deposit paid for some of its units."""
    if rng.random() < 0.6:
        return line
    deposit = rng.choice(DEPOSITS)
    # never past the line's amount, which a Line refuses
    paid = deposit * rng.randint(0, min(line.quantity, line.amount // deposit))
    return attrs.evolve(line, deposit_paid=paid)


def _ledger(rng: random.Random, engine: Engine) -> Availability:
    """Every counter the ruleset declares at a value ``ledger adjust`` may set: budgets
    anywhere up to far beyond any cart, uses and stock anywhere from 0 to a few more
    than declared; or every budget topped up and the rest unlimited (the search's)."""
    if not engine.counters or rng.random() < 0.4:
        return TOPPED
    left = {}
    for spec in engine.counters:
        if rng.random() < 0.3:
            continue  # left as declared
        if spec.key.kind in (CounterKind.BUDGET, CounterKind.FUNDER_BUDGET):
            left[spec.key] = rng.choice((0, rng.randint(0, 2 * spec.initial), 10**12))
        else:
            left[spec.key] = rng.randint(0, spec.initial + 3)
    return Snapshot(left)


def catalogue_carts(rng: random.Random, space: Space, engine: Engine) -> tuple[Cart, Context]:
    items = rng.sample(space.items, rng.randint(1, min(space.max_lines, len(space.items))))
    lines = [
        Line(
            i.sku,
            rng.randint(1, space.max_quantity),
            i.price,
            int(i.cost),
            i.category,
            i.brand,
            i.merchant,
            i.tags,
        )
        for i in items
    ]
    return _cart(rng, lines, space, engine)


def declared_carts(rng: random.Random, space: Space, engine: Engine) -> tuple[Cart, Context]:
    lines = []
    for n in range(rng.randint(1, space.max_lines)):
        item = rng.choice(space.items)
        # the ends of the declared range now and then: the worst cases sit there
        price = rng.choice((item.price, item.max_price, rng.randint(item.price, item.max_price)))
        margin = item.margin if item.margin is not None else Fraction(0)
        most = int((1 - margin) * price)
        cost = rng.choice((most, rng.randint(0, most)))
        lines.append(
            Line(
                f"sku{n}",
                rng.randint(1, space.max_quantity),
                price,
                cost,
                item.category,
                "",
                rng.choice(MERCHANTS),
            )
        )
    return _cart(rng, lines, space, engine)


def breaks(quote: Quote, cart: Cart, floor: FloorSpec) -> bool:
    """Whether promotions push a part of the cart that holds ``floor`` at list price
    below it (worked out here again, independently of the validator's search)."""
    f = floor.floor

    def below(revenue: int, cost: int) -> bool:
        return revenue * (1 - f) < cost

    lines = list(enumerate(cart.lines))
    if floor.name == "line":
        return any(
            not below(ln.amount, ln.unit_cost * ln.quantity)
            and below(quote.lines[i].payable, ln.unit_cost * ln.quantity)
            for i, ln in lines
        )
    picked = [(i, ln) for i, ln in lines if floor.category in (None, ln.category)]
    if not picked:
        return False
    cost = sum(ln.unit_cost * ln.quantity for _, ln in picked)
    if below(sum(ln.amount for _, ln in picked), cost):
        return False
    paid = sum(quote.lines[i].payable for i, _ in picked)
    if floor.name == "order":
        cost = quote.cost_total
    return below(paid, cost)


def unguarded(ruleset: dict[str, Any]) -> Engine:
    """The ruleset with its guardrail on ``warn``: the quote as written, unclamped (the
    bounds do not depend on what the guardrail does)."""
    ruleset["guardrails"] = {**ruleset.get("guardrails", {}), "on_breach": "warn"}
    return Engine(build_ruleset(ruleset, KINDS), KINDS)


def check(name: str, engine: Engine, space: Space, seed: int, carts: Any) -> None:
    if not space.items:
        return
    floors = floors_of(engine.ruleset)
    bounds = Bounds(engine, space)
    proven = [f for f in floors if bounds.claim(f).proven]
    CHECKED[f"{name}: rulesets"] += 1
    if CHECKED[f"{name}: rulesets"] % PROGRESS == 0:
        # every count so far: a run cut short still says what it checked
        counts = ", ".join(f"{CHECKED[key]:,} {key}" for key in sorted(CHECKED))
        _log(f"progress: none broken; {counts}")
    if not proven:
        return
    CHECKED[f"{name}: rulesets with a PROVEN floor"] += 1
    CHECKED[f"{name}: PROVEN floors"] += len(proven)
    if any(p.bound.group_price is not None and 0 < p.rate < 1 for p in bounds.promos):
        # the bound of a bundle that saves something, refined by the dearest unit
        CHECKED[f"{name}: rulesets with a PROVEN floor and a bundle that saves"] += 1
    rng = random.Random(seed)
    for _ in range(SEARCH):
        cart, context = carts(rng, space, engine)
        quote = engine.price(cart, context)
        CHECKED[f"{name}: carts priced"] += 1
        for floor in proven:
            # a breaching cart is never inside a PROVEN claim
            assert not breaks(quote, cart, floor), (floor, cart, context, quote.payable)


@st.composite
def catalogue_rulesets(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ruleset and a catalogue; now and then a bundle priced just under its quantity
    of the catalogue's dearest sku, which saves a little: the range where a bundle's
    bound (refined by the dearest unit in its scope) can prove a floor."""
    ruleset = draw(wide_rulesets())
    catalog = draw(catalogues())
    dearest = max(item.price for item in catalog.values())
    if draw(st.integers(0, 3)) == 0:
        bundle = {
            "id": "pb",
            "kind": "bundle",
            "lane": draw(st.sampled_from(["item", "store", "platform"])),
            "quantity": draw(st.integers(2, 4)),
            "price": "0.00",
        }
        if draw(st.booleans()):
            bundle["max_repeats"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            bundle["skus"] = draw(st.lists(st.sampled_from(sorted(catalog)), min_size=1))
        ruleset["promotion"].append(bundle)
    for promotion in ruleset["promotion"]:
        if promotion["kind"] == "bundle" and (promotion["id"] == "pb" or draw(st.booleans())):
            price = promotion["quantity"] * dearest * draw(st.integers(60, 100)) // 100
            promotion["price"] = f"{price // 100}.{price % 100:02d}"
    return ruleset, catalog


@given(catalogue_rulesets(), st.integers(0, 2**32 - 1))
def test_proven_floors_have_no_breaching_cart_in_the_catalogue(
    drawn: tuple[dict[str, Any], dict[str, Any]], seed: int
) -> None:
    ruleset, catalog = drawn
    engine = unguarded(ruleset)
    space = build_space(engine, catalog, max_lines=4, max_quantity=4)
    check("catalogue", engine, space, seed, catalogue_carts)


@st.composite
def declared(draw: st.DrawFn) -> dict[str, Any]:
    categories = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))
    facts = {}
    for category in categories:
        low = draw(st.integers(1, 50_000))
        facts[category] = {
            "margin": f"{draw(st.integers(0, 90))}%",
            "min_price": f"{low // 100}.{low % 100:02d}",
            "max_price": f"{(low * 20) // 100}.{(low * 20) % 100:02d}",
        }
    return {"categories": facts}


@st.composite
def declared_rulesets(draw: st.DrawFn) -> dict[str, Any]:
    ruleset = draw(wide_rulesets())
    ruleset["catalog"] = draw(declared())
    return ruleset


# a fraction of the profile's effort: a declared category is costlier to bound
@settings(max_examples=max(20, settings().max_examples // 2))
@given(declared_rulesets(), st.integers(0, 2**32 - 1))
def test_proven_floors_hold_for_any_sku_the_declared_margins_allow(
    ruleset: dict[str, Any], seed: int
) -> None:
    engine = unguarded(ruleset)
    space = build_space(engine, None, max_lines=4, max_quantity=4)
    check("declared", engine, space, seed, declared_carts)


def test_the_properties_are_not_vacuous() -> None:
    # a ruleset these strategies can draw, proven by hand: 10% off on 50% margins
    engine = Engine.from_dict(
        {
            "campaign": {"name": "x", "currency": "CNY", "timezone": "Asia/Shanghai"},
            "guardrails": {"min_order_margin": "5%"},
            "promotion": [{"id": "p0", "kind": "test_price", "percent": "10%"}],
        },
        plugins=PLUGINS,
    )
    from promorules.cartfile import CatalogItem

    space = build_space(
        engine, {"a": CatalogItem("a", 10_000, 5_000, "home")}, max_lines=4, max_quantity=4
    )
    (claim,) = [Bounds(engine, space).claim(f) for f in floors_of(engine.ruleset)]
    # 100.00 * 0.9 - 0.01 rounding = 89.99 paid, cost 50.00: margin 44.44%
    assert claim.proven
    assert claim.worst_margin == Fraction(8999 - 5000, 8999)


def report() -> str:
    """What this run checked, one figure a line (empty when nothing ran)."""
    text = "\n".join(f"soundness: {CHECKED[key]:,} {key}" for key in sorted(CHECKED))
    if text:
        _log(text)
    return text


def _log(text: str) -> None:
    """Append ``text`` to the file ``SOUNDNESS_LOG`` names (if any), with the profile."""
    log = os.environ.get("SOUNDNESS_LOG")
    if log:
        profile = os.environ.get("HYPOTHESIS_PROFILE", "default")
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"[profile {profile}, process {os.getpid()}] {text}\n")


def _has(**fields: Any) -> Any:
    def found(ruleset: dict[str, Any]) -> bool:
        return any(
            all(p.get(key) == value for key, value in fields.items()) for p in ruleset["promotion"]
        )

    return found


COVERED = {
    **{kind: _has(kind=kind) for kind in sorted(KINDS) if not kind.startswith("test_")},
    "discount scope=line": _has(kind="discount", scope="line"),
    "discount round=pool": _has(kind="discount", round="pool"),
    "discount cheapest": _has(kind="discount", dearest=True),
    "discount max_units": lambda r: any("max_units" in p for p in r["promotion"]),
    "discount off_line": lambda r: any("off_line" in p for p in r["promotion"]),
    "tiered scope=line": _has(kind="tiered", scope="line"),
    "tiered leftover": _has(kind="tiered", leftover="first-line"),
    "tiered by quantity": lambda r: any(
        p["kind"] == "tiered" and "quantity" in p for p in r["promotion"]
    ),
    "flash sale with stock": lambda r: any(
        p["kind"] == "flash_sale" and "stock" in p for p in r["promotion"]
    ),
    "gift of a choice": lambda r: any("choose_one_of" in p for p in r["promotion"]),
    "bxgy partial": _has(kind="bxgy", partial=True),
    "bundle max_repeats": lambda r: any(
        p["kind"] == "bundle" and "max_repeats" in p for p in r["promotion"]
    ),
    "bundle skus": lambda r: any(p["kind"] == "bundle" and "skus" in p for p in r["promotion"]),
    "bxgy get_skus": lambda r: any("get_skus" in p for p in r["promotion"]),
    "unlock_codes": lambda r: any("unlock_codes" in p for p in r["promotion"]),
    "a budget": lambda r: any("budget" in p for p in r["promotion"]),
    "funder budgets": lambda r: "budgets" in r,
    "lane order": lambda r: "stacking" in r,
    "half-up rounding": lambda r: r["campaign"]["rounding"] == "half-up",
}


@pytest.mark.parametrize("name", sorted(COVERED))
def test_the_rulesets_draw_every_kind_and_setting(name: str) -> None:
    # Hypothesis looks for a ruleset with the feature (the first one found is kept, not
    # shrunk): a strategy that can no longer draw it fails here, whatever the profile
    found = find(
        wide_rulesets(),
        COVERED[name],
        settings=settings(
            max_examples=3000, database=None, derandomize=True, phases=[Phase.generate]
        ),
    )
    assert COVERED[name](found)
