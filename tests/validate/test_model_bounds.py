"""Bounds derived from the promotion model let validate prove realistic rulesets."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from promorules.cartfile import load_catalog
from promorules.engine import Engine
from promorules.kind import Bound
from promorules.validate import Options, Status, validate
from tests.helpers import ALL_KINDS

RULESET = """
[campaign]
name = "Proof"
currency = "CNY"
timezone = "Asia/Shanghai"
[guardrails]
min_line_margin = "20%"
min_order_margin = "20%"
[[promotion]]
id = "beauty-cut"
kind = "discount"
percent = "{percent}"
[[promotion]]
id = "store-coupon"
kind = "coupon"
code = "SAVE30"
threshold = "300.00"
off = "30.00"
"""
CATALOG = (
    "sku,price,cost,category,brand,merchant\n"
    "SERUM,329.00,110.00,beauty,lumi,lumi-beauty\n"
    "LIP,199.00,66.00,beauty,lumi,lumi-beauty\n"
)


def statuses(tmp_path: Path, percent: str) -> dict[str, Status]:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(CATALOG, encoding="utf-8")
    engine = Engine.from_string(RULESET.format(percent=percent), plugins=ALL_KINDS)
    report = validate(
        engine,
        load_catalog(catalog, "CNY"),
        Options(examples=200, seed=0, out_dir=tmp_path),
    )
    return {verdict.floor.name: verdict.status for verdict in report.verdicts}


def test_a_discount_and_a_threshold_coupon_are_proven_on_every_floor(tmp_path: Path) -> None:
    # a 15% cut and "300 off 30" (10% of the least pool reaching it, per line too) on
    # skus of 66% margin: every line keeps well above 20%. Before the model, neither kind
    # promised a per-line share, and the line floor stayed UNPROVEN ("payable of zero").
    assert statuses(tmp_path, "15%") == {"order": Status.PROVEN, "line": Status.PROVEN}


def test_a_cut_too_deep_is_still_breached(tmp_path: Path) -> None:
    found = statuses(tmp_path, "75%")
    assert found["line"] is Status.BREACHED


def kind_bound(body: str) -> Bound:
    engine = Engine.from_string(
        '[campaign]\nname = "B"\ncurrency = "CNY"\ntimezone = "Asia/Shanghai"\n' + body,
        plugins=ALL_KINDS,
    )
    return engine.bound(0)


def test_a_bxgy_at_a_percent_promises_that_percent_of_any_line() -> None:
    # buy 1 get 1 at 30% off: at most 1/2 x 30% = 15% of the units in scope, and a line
    # whose units are all picked loses 30% of itself (rounded once), never more
    body = '[[promotion]]\nid = "b"\nkind = "bxgy"\nbuy = 1\nget = 1\npercent = "30%"\n'
    found = kind_bound(body)
    assert (found.rate, found.line_rate) == (Fraction(3, 20), Fraction(3, 10))
    # free units: a line may lose every unit, so no share of a line is promised
    found = kind_bound('[[promotion]]\nid = "b"\nkind = "bxgy"\nbuy = 2\nget = 1\n')
    assert (found.rate, found.line_rate) == (Fraction(1, 3), None)
    # from another scope: the units got may outweigh the pool, yet each keeps 70%
    found = kind_bound(body + 'get_skus = ["GIFTABLE"]\n')
    assert (found.rate, found.line_rate) == (Fraction(1), Fraction(3, 10))


def test_a_gift_with_stock_or_a_choice_comes_only_from_its_threshold() -> None:
    gift = '[[promotion]]\nid = "g"\nkind = "gift"\n'
    stock = 'gifts = [{ sku = "TOTE", unit_cost = "12.00", stock = 50 }]\n'
    found = kind_bound(gift + 'threshold = "800.00"\n' + stock)
    assert (found.extra_cost, found.min_base) == (1200, 80000)
    choice = (
        'choose_one_of = [{ sku = "MUG", unit_cost = "5.00" }, '
        '{ sku = "POT", unit_cost = "60.00" }]\n'
    )
    found = kind_bound(gift + 'threshold = "100.00"\n' + choice)
    assert (found.extra_cost, found.min_base) == (6000, 10000)
    # counted by units, a gift may come on the cheapest order
    found = kind_bound(gift + "quantity = 3\n" + stock)
    assert (found.extra_cost, found.min_base) == (1200, 0)
