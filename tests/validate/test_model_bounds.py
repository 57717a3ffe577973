"""Bounds derived from the promotion model let validate prove realistic rulesets."""

from __future__ import annotations

from pathlib import Path

from promorules.cartfile import load_catalog
from promorules.engine import Engine
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
