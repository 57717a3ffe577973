"""Reference-price rules: "was" prices and event prices against a price history."""

from __future__ import annotations

from pathlib import Path

import pytest

from promorules.cartfile import load_catalog
from promorules.diagnostics import RulesetError
from promorules.engine import Engine
from promorules.pricerules import check_price_rules, load_price_history
from tests.simulate.simdata import CATALOG, PLUGINS

RULESET = """
[campaign]
name = "Flash"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
sales = {{ start = 2026-03-10T00:00:00, end = 2026-03-12T23:59:59 }}

[price_rules]
{rule}

[[promotion]]
id = "a-20pct"
kind = "tiered"
lane = "item"
phases = ["sales"]
skus = ["A"]
quantity = 1
percent = "20%"
"""

# A lists at 100.00; it sold at 95.00 on 03-07 (within 7 days of 03-10) and at 90.00 on
# 02-20 (within 30 days only). The event price is 80.00.
HISTORY = """sku,date,price
A,2026-02-20,90.00
A,2026-03-07,95.00
A,2026-03-09,100.00
A,2026-03-10,70.00
"""


def check(tmp_path: Path, rule: str, history: str = HISTORY) -> list[tuple[str, int, str]]:
    engine = Engine.from_string(RULESET.format(rule=rule), plugins=PLUGINS)
    (tmp_path / "cat.csv").write_text(CATALOG)
    (tmp_path / "prices.csv").write_text(history)
    found = check_price_rules(
        engine,
        load_price_history(tmp_path / "prices.csv", "CNY"),
        load_catalog(tmp_path / "cat.csv", "CNY"),
    )
    return [(d.code, d.line, d.message) for d in found]


def test_was_price_above_the_lowest_of_7_days(tmp_path: Path) -> None:
    [(code, line, message)] = check(tmp_path, 'reference = "lowest-7-days"\nmin_cut = "10%"')
    assert (code, line) == ("PR601", 3)
    assert message == (
        'sku A: "was" price 100.00 on 2026-03-10 is above the lowest price of '
        "the 7 days before (95.00 on 2026-03-07)"
    )


def test_event_price_not_cut_enough_below_the_lowest_of_30_days(tmp_path: Path) -> None:
    found = check(tmp_path, 'reference = "lowest-30-days"\nmin_cut = "15%"')
    # lowest of 30 days: 90.00; 15% below is 76.50; the event price 80.00 is not
    assert [(c, line) for c, line, _ in found] == [("PR601", 2), ("PR602", 2)]
    assert "event price 80.00 on 2026-03-10 is not 15% below" in found[1][2]


def test_a_cut_deep_enough_passes(tmp_path: Path) -> None:
    history = "sku,date,price\nA,2026-03-05,100.00\n"
    assert check(tmp_path, 'reference_days = 7\nmin_cut = "20%"', history) == []


def test_no_history_for_a_discounted_sku_is_a_warning(tmp_path: Path) -> None:
    found = check(tmp_path, "reference_days = 7", "sku,date,price\nB,2026-03-05,150.00\n")
    assert [c for c, _, _ in found] == ["PR603"]


def test_bad_history_rows_are_located(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("sku,date,price\nA,2026-13-01,1.00\nA,2026-03-01,1.234\n")
    with pytest.raises(RulesetError) as raised:
        load_price_history(tmp_path / "p.csv", "CNY")
    assert [(d.line, d.code) for d in raised.value.diagnostics] == [(2, "PR305"), (3, "PR305")]


def test_ruleset_sections_are_checked() -> None:
    text = (
        RULESET.format(rule='reference = "lowest-7-days"\nreference_days = 5')
        + '\n[simulate]\nuplift = { S = "30%", nope = "5%" }\n'
    )
    with pytest.raises(RulesetError) as raised:
        Engine.from_string(text, plugins=PLUGINS)
    # reference_days on line 12, the uplift key on line 24 (reported in file order)
    assert [(d.code, d.line) for d in raised.value.diagnostics] == [("PR203", 12), ("PR204", 24)]


def test_validate_reports_price_rule_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from promorules.cli import main

    ruleset = tmp_path / "flash.toml"
    ruleset.write_text(RULESET.format(rule='reference = "lowest-7-days"\nmin_cut = "10%"'))
    (tmp_path / "cat.csv").write_text(CATALOG)
    (tmp_path / "prices.csv").write_text(HISTORY)
    argv = ["validate", str(ruleset), "--catalog", str(tmp_path / "cat.csv"), "--quiet"]
    argv += ["--out", str(tmp_path / "breaches"), "--examples", "20"]
    assert main([*argv, "--price-history", str(tmp_path / "prices.csv")]) == 1
    out = capsys.readouterr().out
    assert "PR601" in out
    # without the history the same ruleset has no price finding
    main(argv)
    assert "PR601" not in capsys.readouterr().out


def test_validate_price_history_needs_a_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from promorules.cli import main

    ruleset = tmp_path / "flash.toml"
    ruleset.write_text(RULESET.format(rule='reference = "lowest-7-days"'))
    (tmp_path / "prices.csv").write_text(HISTORY)
    assert main(["validate", str(ruleset), "--price-history", str(tmp_path / "prices.csv")]) == 2
    assert "needs --catalog" in capsys.readouterr().err
