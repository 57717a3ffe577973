"""The corpus: planted breaches of different shapes, each found with its minimal cart,
and safe rulesets, each proven. Expected carts are worked out by hand in the comments
of each corpus file."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TypedDict, Unpack

import pytest

from promorules.cart import Cart, Context, Customer, Line
from promorules.cartfile import load_cart, load_catalog
from promorules.engine import Engine
from promorules.validate import Options, Status, validate
from promorules.validate.report import Report
from promorules.validate.search import shortfall, unguarded
from promorules_plugins import flash_sale, member_price, tiered
from tests import kinds
from tests.helpers import SHANGHAI

CORPUS = Path(__file__).parent / "corpus"
PLUGINS: list[object] = [tiered, kinds]
EXPLOSION = "2026-11-11T00:00:00+08:00"


class Limits(TypedDict, total=False):
    """The cart limits a corpus entry overrides (fields of ``Options``)."""

    max_lines: int
    max_quantity: int


def run(name: str, catalog: str | None, tmp_path: Path, **limits: Unpack[Limits]) -> Report:
    engine = Engine.from_toml(CORPUS / f"{name}.toml", plugins=PLUGINS)
    items = load_catalog(CORPUS / catalog, "CNY") if catalog else None
    options = Options(examples=300, seed=0, out_dir=tmp_path, **limits)
    return validate(engine, items, options)


# name, catalogue, limits, floor, minimal cart {sku: qty}, coupons
BREACHES = [
    ("coupon-on-flash", "coupon-on-flash.csv", {}, "line", {"FLASH-TV": 1}, ("D11-PLAT-50",)),
    ("every-low-margin", "every-low-margin.csv", {}, "order", {"RICE": 3}, ()),
    ("gift-small-order", "gift.csv", {}, "order", {"MUG": 1}, ()),
    ("presale-coupon", "presale.csv", {}, "line", {"NOVA-PHONE": 1}, ("PLAT10",)),
    (
        "three-stores",
        "three-stores.csv",
        {"max_quantity": 1},
        "order",
        {"A-TEA": 1, "B-TEA": 1, "C-TEA": 1},
        (),
    ),
]


@pytest.mark.parametrize(
    ("name", "catalog", "limits", "floor", "cart", "coupons"),
    BREACHES,
    ids=[b[0] for b in BREACHES],
)
def test_every_planted_breach_is_found_with_its_minimal_cart(
    name: str,
    catalog: str,
    limits: Limits,
    floor: str,
    cart: dict[str, int],
    coupons: tuple[str, ...],
    tmp_path: Path,
) -> None:
    report = run(name, catalog, tmp_path, **limits)
    verdict = report.verdict(floor)
    assert verdict.status is Status.BREACHED, verdict.claim.reason
    assert not verdict.claim.proven
    breach = verdict.breach
    assert breach is not None
    case = breach.case
    assert Counter({line.sku: line.quantity for line in case.lines}) == Counter(cart)
    assert case.coupons == coupons
    assert case.at.isoformat() == EXPLOSION
    assert case.segments == frozenset()
    assert report.exit_code == 1
    # the written cart reproduces the breach with the ruleset as written
    assert breach.cart_file is not None
    engine = Engine.from_toml(CORPUS / f"{name}.toml", plugins=PLUGINS)
    written = load_cart(breach.cart_file, "CNY", engine.ruleset.tz)
    context = case.context()
    quote = unguarded(engine).price(written.cart, context)
    assert shortfall(quote, written.cart, verdict.floor).deficit > 0
    assert written.at == case.at and written.coupons == case.coupons
    assert breach.command.startswith("promorules price ")
    assert breach.cart_file in breach.command


def test_breach_figures_are_the_hand_computed_ones(tmp_path: Path) -> None:
    # every 300 off 50 on 3 x RICE: 300.00 - 50.00 = 250.00 paid, cost 270.00;
    # a 5% floor needs ceil(270.00 / 0.95) = 284.22, so 34.22 short
    report = run("every-low-margin", "every-low-margin.csv", tmp_path)
    breach = report.verdict("order").breach
    assert breach is not None
    assert (breach.shortfall.revenue, breach.shortfall.cost) == (25000, 27000)
    assert breach.shortfall.deficit == 28422 - 25000
    assert "clamp" in breach.at_checkout


SAFE = [
    ("safe-ladder", "safe.csv", ("order", "line", "category:beauty")),
    ("safe-declared", None, ("order", "line")),
    ("safe-gift", "gift.csv", ("order",)),
    # the once wrongly proven half-up pool with MUG a minor unit cheaper to make: it
    # pays at least 9.07 (the split's excess is below 1.5 minor units), and
    # 907 * 0.85 = 770.95 keeps a cost of 7.70; the bound: 906.6 * 0.85 = 770.61
    ("half-up-pool", "half-up-pool-holds.csv", ("line",)),
]


@pytest.mark.parametrize(("name", "catalog", "floors"), SAFE, ids=[s[0] for s in SAFE])
def test_every_safe_ruleset_is_proven(
    name: str, catalog: str | None, floors: tuple[str, ...], tmp_path: Path
) -> None:
    report = run(name, catalog, tmp_path)
    assert [v.floor.name for v in report.verdicts] == list(floors)
    for verdict in report.verdicts:
        assert verdict.status is Status.PROVEN, verdict.claim.reason
        assert verdict.tried == 0  # nothing left to search
    assert report.exit_code == 0
    assert not list(tmp_path.iterdir())


def test_price_lane_unit_prices_count_by_the_deepest_not_their_sum(tmp_path: Path) -> None:
    engine = Engine.from_toml(CORPUS / "safe-price-lane.toml", plugins=[flash_sale, member_price])
    items = load_catalog(CORPUS / "safe-price-lane.csv", "CNY")
    report = validate(engine, items, Options(examples=300, seed=0, out_dir=tmp_path))
    verdict = report.verdict("line")
    assert verdict.status is Status.PROVEN, verdict.claim.reason
    # the worst unit: TEA at its flash price, 70.00 less a minor unit of rounding
    # allowance per promotion touching it (69.98), against a cost of 60.00
    assert verdict.claim.worst_margin == Fraction(6998 - 6000, 6998)
    # and the engine agrees: a member at the flash hour pays the flash price, once
    cart = Cart((Line("TEA", 1, 10000, 6000),), Customer("c", frozenset({"member"})), "CNY")
    quote = engine.price(cart, Context(datetime(2026, 11, 11, 0, 30, tzinfo=SHANGHAI)))
    assert quote.payable == 7000


def test_a_proof_names_the_promotions_it_rests_on(tmp_path: Path) -> None:
    report = run("safe-ladder", "safe.csv", tmp_path)
    rests = report.verdict("category:beauty").claim.rests_on
    assert [r.split(" ")[0] for r in rests] == ["beauty-20", "store-ladder", "every-300-off-30"]


def test_unproven_says_how_large_the_gap_is_and_how_hard_it_looked(tmp_path: Path) -> None:
    report = run("unproven-bonus", "unproven.csv", tmp_path)
    verdict = report.verdict("order")
    assert verdict.status is Status.UNPROVEN
    # the kind promises no share, so a unit may pay 0: no margin is left to the bound
    assert verdict.claim.worst_margin is None
    assert verdict.claim.gap is None
    assert verdict.tried == 300  # every example of the effort, none breaching
    assert report.exit_code == 3  # UNPROVEN, nothing breached
    from promorules.validate.report import render_text

    text = render_text(report)
    assert "order margin >= 5%: UNPROVEN" in text
    assert "no breach in 300 examples" in text


# once wrongly PROVEN: each is BREACHED or UNPROVEN now, never PROVEN
ONCE_PROVEN = [
    ("budget-proof", "budget-proof.csv", "order"),
    ("half-up-pool", "half-up-pool.csv", "line"),
]


@pytest.mark.parametrize(("name", "catalog", "floor"), ONCE_PROVEN, ids=[c[0] for c in ONCE_PROVEN])
def test_a_once_wrongly_proven_ruleset_is_never_proven(
    name: str, catalog: str, floor: str, tmp_path: Path
) -> None:
    engine = Engine.from_toml(CORPUS / f"{name}.toml")
    items = load_catalog(CORPUS / catalog, "CNY")
    report = validate(engine, items, Options(examples=300, seed=0, out_dir=tmp_path))
    verdict = report.verdict(floor)
    assert not verdict.claim.proven
    assert verdict.status is not Status.PROVEN


def test_a_budget_never_makes_a_proof_and_the_search_tops_it_up(tmp_path: Path) -> None:
    # the 10.00 budget held one order's 50% off to 10.00; `ledger adjust` can raise it
    engine = Engine.from_toml(CORPUS / "budget-proof.toml")
    items = load_catalog(CORPUS / "budget-proof.csv", "CNY")
    report = validate(engine, items, Options(examples=300, seed=0, out_dir=tmp_path))
    verdict = report.verdict("order")
    assert verdict.status is Status.BREACHED
    breach = verdict.breach
    assert breach is not None
    assert (breach.shortfall.revenue, breach.shortfall.cost) == (5000, 6000)
    assert breach.needs_top_up  # within the declared 10.00 the order holds
    from promorules.validate.report import render_text

    assert "only once a budget is topped up" in render_text(report)


def test_a_pool_rounded_half_up_is_found_breaking_its_line_floor(tmp_path: Path) -> None:
    # once PROVEN with one minor unit of rounding per promotion; the split puts 1.1 on
    # MUG (see the corpus file), which pays 9.07 where the 15% floor needs 9.08
    report = run("half-up-pool", "half-up-pool.csv", tmp_path)
    verdict = report.verdict("line")
    assert verdict.status is Status.BREACHED
    breach = verdict.breach
    assert breach is not None
    assert Counter({line.sku: line.quantity for line in breach.case.lines}) == Counter(
        {"MUG": 1, "PIN-A": 1, "PIN-B": 1}
    )
    assert (breach.shortfall.revenue, breach.shortfall.cost) == (907, 771)
    assert breach.shortfall.deficit == 1
    # the bound allows 3/2 minor units: 1009 * 0.9 - 1.5 = 906.6 per unit
    assert verdict.claim.worst_margin == Fraction(9066 - 7710, 9066)
