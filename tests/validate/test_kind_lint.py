"""Stage 1 for the real kinds: coupon (PR402), presale (PR405), gift (PR411), and the
codes a coupon offers the search's wallets."""

from __future__ import annotations

from pathlib import Path

import pytest

from promorules.diagnostics import Diagnostic, RulesetError, Severity
from promorules.engine import Engine
from promorules.validate import Options, validate
from promorules_plugins import coupon, gift, presale, tiered

PLUGINS: list[object] = [tiered, coupon, presale, gift]

HEAD = """\
[campaign]
name = "Kinds"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
presale   = { start = 2026-10-20T00:00:00, end = 2026-10-31T23:59:59 }
explosion = { start = 2026-11-11T00:00:00, end = 2026-11-11T23:59:59 }

[catalog.categories.phones]
margin = "20%"
min_price = "500.00"
max_price = "900.00"

[guardrails]
min_order_margin = "5%"
"""

RULESET = (
    HEAD
    + """
[[promotion]]
id = "free-coupon"
kind = "coupon"
code = "free-50"
threshold = "50.00"
off = "50.00"

[[promotion]]
id = "fine-coupon"
kind = "coupon"
codes = ["A1", "B2", "C3"]
threshold = "100.00"
off = "20.00"

[[promotion]]
id = "all-off"
kind = "coupon"
lane = "platform"
code = "ALL"
percent = "100%"

[[promotion]]
id = "inflated"
kind = "presale"
categories = ["phones"]
deposit = "100.00"
worth = "950.00"
deposit_phase = "presale"
final_phase = "explosion"

[[promotion]]
id = "tote"
kind = "gift"
phases = ["explosion"]
threshold = "300.00"
gifts = [{ sku = "TOTE", unit_cost = "4.00" }]
choose_one_of = [
  { sku = "PEN", unit_cost = "1.00" },
  { sku = "STICKER", unit_cost = "0.00" },
]
"""
)


def _line(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def _lint(tmp_path: Path, text: str) -> dict[str, list[Diagnostic]]:
    path = tmp_path / "kinds.toml"
    path.write_text(text)
    engine = Engine.from_toml(path, plugins=PLUGINS)
    report = validate(engine, None, Options(examples=5, out_dir=tmp_path / "out"))
    found: dict[str, list[Diagnostic]] = {}
    for d in report.diagnostics:
        found.setdefault(d.code, []).append(d)
    return found


def test_kind_findings_are_located(tmp_path: Path) -> None:
    found = _lint(tmp_path, RULESET)
    # 50.00 off at a 50.00 threshold, and an uncapped 100% coupon
    free, all_off = found["PR402"]
    assert free.path == ("promotion", 0, "off")
    assert free.line == _line(RULESET, 'off = "50.00"')
    assert free.severity is Severity.ERROR
    assert all_off.path == ("promotion", 2, "percent")
    assert all_off.line == _line(RULESET, 'percent = "100%"')
    # a deposit worth 950.00 in a category whose dearest unit is 900.00
    (inflated,) = found["PR405"]
    assert inflated.path == ("promotion", 3, "worth")
    assert inflated.line == _line(RULESET, 'worth = "950.00"')
    assert "900.00" in inflated.message
    assert inflated.severity is Severity.ERROR
    # the second option of choose_one_of states a zero cost
    (free_gift,) = found["PR411"]
    assert free_gift.path == ("promotion", 4, "choose_one_of", 1, "unit_cost")
    assert free_gift.line == _line(RULESET, '"STICKER"')
    assert "STICKER" in free_gift.message
    assert free_gift.severity is Severity.ERROR


def test_sound_kind_fields_give_no_kind_finding(tmp_path: Path) -> None:
    text = (
        RULESET.replace('off = "50.00"', 'off = "49.99"')
        .replace('percent = "100%"', 'percent = "100%"\nmax_off = "30.00"')
        .replace('worth = "950.00"', 'worth = "900.00"')
        .replace('unit_cost = "0.00"', 'unit_cost = "0.01"')
    )
    found = _lint(tmp_path, text)
    for code in ("PR402", "PR404", "PR405", "PR411"):
        assert code not in found, found.get(code)


def test_capped_full_percent_at_its_threshold_is_free(tmp_path: Path) -> None:
    # 100% capped at 60.00 with a 60.00 threshold: an order of exactly 60.00 is free
    text = RULESET.replace(
        'percent = "100%"', 'percent = "100%"\nmax_off = "60.00"\nthreshold = "60.00"'
    )
    (all_off,) = [d for d in _lint(tmp_path, text)["PR402"] if d.path[1] == 2]
    assert all_off.path == ("promotion", 2, "percent")


def test_presale_windows_out_of_order_are_a_load_error_not_lint(tmp_path: Path) -> None:
    # PR404 cannot reach lint: the loader refuses the ruleset first
    text = RULESET.replace('final_phase = "explosion"', 'final_phase = "presale"')
    path = tmp_path / "kinds.toml"
    path.write_text(text)
    with pytest.raises(RulesetError, match="final-payment window"):
        Engine.from_toml(path, plugins=PLUGINS)


def test_coupon_example_codes(tmp_path: Path) -> None:
    many = ", ".join(f'"C{i:02d}"' for i in range(30))
    text = RULESET.replace('codes = ["A1", "B2", "C3"]', f"codes = [{many}]")
    engine = Engine.from_string(text, plugins=PLUGINS)
    kind = engine.kinds["coupon"]
    shared, listed, _ = (p for p in engine.ruleset.promotions if p.kind == "coupon")
    assert list(kind.example_codes(shared)) == ["FREE50"]
    assert list(kind.example_codes(listed)) == [f"C{i:02d}" for i in range(20)]


def test_coupon_example_codes_from_a_codes_file(tmp_path: Path) -> None:
    (tmp_path / "codes.txt").write_text("# issued\nZZ3\nAA1\nMM2\n")
    text = RULESET.replace('codes = ["A1", "B2", "C3"]', 'codes_file = "codes.txt"')
    path = tmp_path / "kinds.toml"
    path.write_text(text)
    engine = Engine.from_toml(path, plugins=PLUGINS)
    listed = engine.ruleset.promotions[1]
    assert list(engine.kinds["coupon"].example_codes(listed)) == ["AA1", "MM2"]
