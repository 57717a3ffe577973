"""The bundled rulesets before launch: the flagship (double11) and the A-grade 618 are
proven safe on every floor, the breach example is breached on purpose, and one slip of
a planner's (a percent raised) turns 618 BREACHED with a cart the engine confirms."""

from __future__ import annotations

from pathlib import Path

import pytest

from promorules.cartfile import load_cart, load_catalog
from promorules.engine import Engine
from promorules.validate import Options, Status, validate
from promorules.validate.report import Report
from promorules.validate.search import shortfall, unguarded

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"


def run(ruleset: Path, catalog: str, tmp_path: Path, examples: int = 300) -> Report:
    engine = Engine.from_toml(ruleset)
    items = load_catalog(RULESETS / catalog, engine.currency)
    return validate(engine, items, Options(examples=examples, seed=0, out_dir=tmp_path))


SAFE = [
    ("double11.toml", "catalog.csv", ["order", "line", "category:digital"]),
    ("618.toml", "618-catalog.csv", ["order", "line", "category:digital", "category:grocery"]),
]


@pytest.mark.parametrize(("ruleset", "catalog", "floors"), SAFE, ids=[s[0] for s in SAFE])
def test_a_bundled_campaign_is_proven_on_every_floor(
    ruleset: str, catalog: str, floors: list[str], tmp_path: Path
) -> None:
    report = run(RULESETS / ruleset, catalog, tmp_path)
    assert [v.floor.name for v in report.verdicts] == floors
    for verdict in report.verdicts:
        assert verdict.status is Status.PROVEN, (verdict.floor.name, verdict.claim.reason)
        assert verdict.tried == 0  # proven by the bound, nothing left to search
    assert (report.exit_code, report.errors) == (0, 0)


def test_618_has_every_kind() -> None:
    engine = Engine.from_toml(RULESETS / "618.toml")
    kinds = {p.kind for p in engine.ruleset.promotions}
    # every built-in kind, the bundle and the direct discount included
    assert kinds == set(engine.kinds)
    assert {"bundle", "discount", "presale", "gift", "free_shipping"} <= kinds
    lanes = {(p.kind, p.lane.value if p.lane else None) for p in engine.ruleset.promotions}
    assert ("coupon", "store") in lanes and ("coupon", "platform") in lanes
    # the 20:00 flash sales
    flashes = [p for p in engine.ruleset.promotions if p.kind == "flash_sale"]
    assert flashes and all(p.window is not None and p.window.start.hour == 20 for p in flashes)


def test_the_breach_example_is_breached_on_every_floor_on_purpose(tmp_path: Path) -> None:
    report = run(RULESETS / "breach_example.toml", "catalog.csv", tmp_path)
    assert {v.floor.name: v.status for v in report.verdicts} == {
        "order": Status.BREACHED,
        "line": Status.BREACHED,
        "category:digital": Status.BREACHED,
    }
    assert report.exit_code == 1
    assert (RULESETS / "breach_example.toml").read_text().startswith("# BREACHED ON PURPOSE")


def test_one_percent_raised_breaks_618_with_a_cart_the_engine_confirms(tmp_path: Path) -> None:
    # the slip: members' 5% off beauty and grocery typed as 50%. Mixed nuts (99.00, cost
    # 76.00) at half price pay 49.50 against their cost: every floor that holds a
    # grocery line breaks
    text = (RULESETS / "618.toml").read_text(encoding="utf-8")
    assert text.count('percent = "5%"') == 1
    slipped = tmp_path / "618-slip.toml"
    slipped.write_text(text.replace('percent = "5%"', 'percent = "50%"'), encoding="utf-8")
    report = run(slipped, "618-catalog.csv", tmp_path / "out")
    statuses = {v.floor.name: v.status for v in report.verdicts}
    assert statuses["line"] is Status.BREACHED
    assert statuses["category:grocery"] is Status.BREACHED
    assert report.exit_code == 1
    engine = Engine.from_toml(slipped)
    for verdict in report.verdicts:
        if verdict.status is not Status.BREACHED:
            continue
        breach = verdict.breach
        assert breach is not None and breach.cart_file is not None
        assert "member-price" in verdict.blame.culprits
        # the written cart breaks the floor again when the engine prices it as written
        written = load_cart(breach.cart_file, engine.currency, engine.ruleset.tz)
        quote = unguarded(engine).price(written.cart, breach.case.context())
        assert shortfall(quote, written.cart, verdict.floor).deficit > 0
        assert "member" in breach.case.segments
