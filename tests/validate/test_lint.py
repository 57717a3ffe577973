"""Stage 1: every PR4xx finding, located at the key that causes it."""

from __future__ import annotations

from pathlib import Path

from promorules.cartfile import load_catalog
from promorules.diagnostics import Diagnostic, Severity
from promorules.engine import Engine
from promorules.validate import Options, validate
from promorules_plugins import tiered
from tests import kinds

PLUGINS: list[object] = [tiered, kinds]

RULESET = """\
[campaign]
name = "Lint"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
warmup    = { start = 2026-11-01T00:00:00, end = 2026-11-11T00:00:00 }
explosion = { start = 2026-11-11T00:00:00, end = 2026-11-11T23:59:59 }

[guardrails]
min_order_margin = "5%"

[[promotion]]
id = "falling-ladder"
kind = "tiered"
tiers = [
  { threshold = "300.00", off = "60.00" },
  { threshold = "500.00", off = "50.00" },
]

[[promotion]]
id = "free-order"
kind = "test_coupon"
code = "FREE"
threshold = "100.00"
off = "100.00"
uses = 10
per_customer = 20
group = "coupons"

[[promotion]]
id = "other-coupon"
kind = "test_coupon"
code = "OTHER"
percent = "5%"
group = "coupons"

[[promotion]]
id = "presale"
kind = "test_bonus"
skus = ["NOPE-SKU"]
bonus = "-5.00"
deposit_window = { start = 2026-11-01T00:00:00, end = 2026-11-10T23:59:59 }
final_window = { start = 2026-11-10T00:00:00, end = 2026-11-11T23:59:59 }

[[promotion]]
id = "late"
kind = "tiered"
window = { start = 2026-12-01T00:00:00, end = 2026-12-02T00:00:00 }
threshold = "100.00"
off = "5.00"
budget = "10.00"

[[promotion]]
id = "bag"
kind = "test_gift"
threshold = "50.00"
gift_sku = "BAG"
"""

CATALOG = "sku,price,cost,category,merchant\nMUG,100.00,50.00,home,m1\nLOSS,10.00,12.00,home,m1\n"


def lint_of(
    tmp_path: Path, text: str = RULESET, catalog: str | None = CATALOG
) -> dict[str, list[Diagnostic]]:
    path = tmp_path / "lint.toml"
    path.write_text(text)
    engine = Engine.from_toml(path, plugins=PLUGINS)
    items = None
    if catalog is not None:
        (tmp_path / "catalog.csv").write_text(catalog)
        items = load_catalog(tmp_path / "catalog.csv", "CNY")
    report = validate(engine, items, Options(examples=20, out_dir=tmp_path / "out"))
    found: dict[str, list[Diagnostic]] = {}
    for d in report.diagnostics:
        found.setdefault(d.code, []).append(d)
    return found


def line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def test_every_lint_code_is_reported_where_it_arises(tmp_path: Path) -> None:
    found = lint_of(tmp_path)
    assert sorted(found) == [
        "PR401",
        "PR402",
        "PR403",
        "PR404",
        "PR406",
        "PR407",
        "PR408",
        "PR409",
        "PR410",
        "PR411",
        "PR412",
        "PR415",
    ]
    text = RULESET
    # the 500 tier gives 50.00 where the 300 tier already gives 60.00
    (falling,) = found["PR401"]
    assert falling.path == ("promotion", 0, "tiers", 1)
    assert falling.line == line_of(text, '{ threshold = "500.00"')
    assert falling.severity is Severity.ERROR
    assert 'PR401 promotion "falling-ladder".tiers[1]: ' in str(falling)  # named by its id
    (free,) = found["PR402"]
    assert free.path == ("promotion", 1, "off")
    assert free.line == line_of(text, 'off = "100.00"')
    (overlap,) = found["PR403"]  # warmup ends at 11-11 00:00:00, explosion starts then
    assert overlap.severity is Severity.WARNING
    assert overlap.line == line_of(text, "explosion = {")
    assert found["PR404"][0].line == line_of(text, "final_window")
    # located at the promotion's table header: the limits are the kind's own fields
    assert found["PR406"][0].line == line_of(text, 'id = "free-order"') - 1
    assert found["PR407"][0].path == ("promotion", 4, "budget")
    assert [d.path for d in found["PR408"]] == [("promotion", 3)]
    assert found["PR409"][0].line == line_of(text, "window = { start = 2026-12-01")
    assert "'other-coupon' and 'free-order'" in found["PR410"][0].message
    assert found["PR411"][0].path == ("promotion", 5, "gift_cost")
    assert found["PR412"][0].path == ("promotion", 3, "bonus")
    assert found["PR412"][0].line == line_of(text, 'bonus = "-5.00"')
    assert "LOSS" in found["PR415"][0].message
    for d in found["PR401"] + found["PR402"] + found["PR404"] + found["PR411"]:
        assert str(d).startswith(f"{tmp_path / 'lint.toml'}:{d.line}:{d.column}: {d.code} ")


def test_lint_errors_fail_validation_and_warnings_do_not(tmp_path: Path) -> None:
    quiet = """\
[campaign]
name = "Quiet"
currency = "CNY"
timezone = "Asia/Shanghai"
[guardrails]
min_line_margin = "0%"
[[promotion]]
id = "a"
kind = "tiered"
threshold = "100.00"
off = "10.00"
group = "g"
[[promotion]]
id = "b"
kind = "tiered"
threshold = "200.00"
off = "30.00"
group = "g"
"""
    path = tmp_path / "quiet.toml"
    path.write_text(quiet)
    engine = Engine.from_toml(path, plugins=PLUGINS)
    (tmp_path / "c.csv").write_text(CATALOG.replace("LOSS,10.00,12.00", "CUP,10.00,2.00"))
    report = validate(
        engine,
        load_catalog(tmp_path / "c.csv", "CNY"),
        Options(examples=20, out_dir=tmp_path / "out"),
    )
    assert [d.code for d in report.diagnostics] == ["PR410"]
    assert report.errors == 0
    assert report.exit_code == 0


def test_nothing_to_prove_with_is_said(tmp_path: Path) -> None:
    bare = RULESET.split("[[promotion]]")[0].replace('min_order_margin = "5%"', "")
    found = lint_of(tmp_path, bare, catalog=None)
    assert set(found) >= {"PR413", "PR414"}
