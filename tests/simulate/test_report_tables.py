"""What the report shows: budget cuts per promotion and per day, every promotion (gifts
included) in the per-promotion and ROI tables, and the per-day and per-phase tables."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from promorules.cartfile import CatalogItem, load_catalog
from promorules.engine import Engine
from promorules.simulate import report
from promorules.simulate.orders import detect_format
from promorules.simulate.parallel import Job
from promorules.simulate.replay import replay
from promorules.simulate.roi import Assumption, assumptions, roi
from promorules_plugins import gift, tiered
from tests.simulate.simdata import CATALOG, RULESET, reader, setup

# plat-200-off-30 with 50.00 of budget: order 1 takes 30 (20 left), order 2 is trimmed
# to 20 (10 cut), order 3, the next day, is refused (30 cut).
BUDGET_LOG = """time,lines
2026-03-02T10:00:00,B*2
2026-03-02T11:00:00,B*2
2026-03-03T09:00:00,B*2
"""


def test_budget_trims_and_refusals_per_promotion_and_day(tmp_path: Path) -> None:
    ruleset = RULESET.replace('budget = "60.00"', 'budget = "50.00"')
    engine, job = setup(tmp_path, BUDGET_LOG, ruleset)
    outcome = replay(engine, reader(engine, job).read(job.path))
    data = report.build(engine, outcome, assumptions(engine.ruleset, {}))
    assert data["budget_cuts"] == [
        {
            "day": "2026-03-02",
            "promotion": "plat-200-off-30",
            "trimmed_orders": 1,
            "trimmed": "10.00",
            "refused_orders": 0,
        },
        {
            "day": "2026-03-03",
            "promotion": "plat-200-off-30",
            "trimmed_orders": 0,
            "trimmed": "30.00",
            "refused_orders": 1,
        },
    ]
    [row] = [r for r in data["by_promotion"] if r["promotion"] == "plat-200-off-30"]
    assert (row["budget_trimmed_orders"], row["budget_trimmed"], row["budget_refused_orders"]) == (
        1,
        "40.00",
        1,
    )
    assert "budget cuts by day" in report.render(data)


def test_a_budget_spent_exactly_cuts_only_the_order_after(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, BUDGET_LOG)  # 60.00: two orders exactly, the third refused
    outcome = replay(engine, reader(engine, job).read(job.path))
    assert outcome.cuts.by_promotion() == {"plat-200-off-30": [0, 3000, 1]}


GIFT_RULESET = """
[campaign]
name = "Gifts"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
warmup = { start = 2026-03-01T00:00:00, end = 2026-03-01T23:59:59 }
sales = { start = 2026-03-02T00:00:00, end = 2026-03-03T23:59:59 }

[[promotion]]
id = "tote"
kind = "gift"
phases = ["sales"]
threshold = "200.00"
gifts = [{ sku = "TOTE", unit_cost = "25.00", stock = 2 }]

[[promotion]]
id = "unused-ladder"
kind = "tiered"
lane = "store"
threshold = "10000.00"
off = "10.00"
"""

GIFT_LOG = """time,lines
2026-03-01T10:00:00,B*2
2026-03-02T10:00:00,B*2
2026-03-02T11:00:00,B*2
2026-03-02T12:00:00,B*2
"""


def _gift_run(tmp_path: Path) -> tuple[Engine, dict[str, object]]:
    (tmp_path / "catalog.csv").write_text(CATALOG)
    (tmp_path / "orders.csv").write_text(GIFT_LOG)
    engine = Engine.from_string(GIFT_RULESET, plugins=[gift, tiered])
    catalog: dict[str, CatalogItem] = load_catalog(tmp_path / "catalog.csv", "CNY")
    job = Job(
        GIFT_RULESET,
        "<test>",
        ("promorules_plugins.gift", "promorules_plugins.tiered"),
        catalog,
        str(tmp_path / "orders.csv"),
        detect_format(tmp_path / "orders.csv"),
    )
    outcome = replay(engine, job.reader(engine).read(job.path))
    assumed = {
        "tote": Assumption(Fraction(0), "test"),
        "unused-ladder": Assumption(Fraction(0), "test"),
    }
    return engine, report.build(engine, outcome, assumed)


def test_a_gift_that_ran_out_has_its_row(tmp_path: Path) -> None:
    _engine, data = _gift_run(tmp_path)
    rows = {r["promotion"]: r for r in data["by_promotion"]}  # type: ignore[attr-defined]
    tote = rows["tote"]
    assert (tote["orders"], tote["gift_units"], tote["gift_cost"]) == (2, 2, "50.00")
    assert tote["sold_out_at"] == "2026-03-02T11:00:00+08:00"
    assert rows["unused-ladder"]["orders"] == 0  # gave nothing, still listed


def test_gift_cost_is_the_subsidy_in_roi(tmp_path: Path) -> None:
    _engine, data = _gift_run(tmp_path)
    rows = {r["promotion"]: r for r in data["roi"]["promotions"]}  # type: ignore[index]
    # with no uplift, a promotion's incremental gross profit is minus its subsidy
    assert rows["tote"]["subsidy"] == "50.00"
    assert rows["tote"]["incremental_gross_profit"] == "-50.00"
    assert rows["unused-ladder"]["subsidy"] == "0.00"
    assert rows["unused-ladder"]["gmv_per_subsidy"] is None


def test_roi_lists_every_promotion(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, BUDGET_LOG)
    totals = replay(engine, reader(engine, job).read(job.path)).totals
    rows = roi(totals, assumptions(engine.ruleset, {}))
    assert [r.promotion for r in rows] == ["store-100-off-10", "plat-200-off-30"]
    assert rows[0].subsidy == 0


def test_report_per_day_and_per_phase(tmp_path: Path) -> None:
    _engine, data = _gift_run(tmp_path)
    days = {r["day"]: r["orders"] for r in data["by_day"]}  # type: ignore[attr-defined]
    assert days == {"2026-03-01": 1, "2026-03-02": 3}
    phases = {r["phase"]: r["orders"] for r in data["by_phase"]}  # type: ignore[attr-defined]
    assert phases == {"warmup": 1, "sales": 3}
    text = report.render(data)
    assert "by phase" in text and "by day" in text


def test_periods_tell_apart_moments_either_side_of_a_phase_edge() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from promorules.ruleset import Window
    from promorules.simulate.periods import NO_PHASE, Periods

    tz = ZoneInfo("Asia/Shanghai")
    sale = Window(
        datetime(2026, 3, 2, 20, 7, tzinfo=tz), datetime(2026, 3, 2, 23, 59, 59, tzinfo=tz)
    )
    periods = Periods(tz, {"sale": sale})
    # 20:05 and 20:10 share a quarter hour; the sale opens between them
    for _ in range(2):  # the second time from the cache, if any
        assert periods.at(datetime(2026, 3, 2, 20, 5, tzinfo=tz).timestamp()) == (
            "2026-03-02",
            NO_PHASE,
        )
        assert periods.at(datetime(2026, 3, 2, 20, 10, tzinfo=tz).timestamp()) == (
            "2026-03-02",
            "sale",
        )
    assert periods.at(datetime(2026, 3, 3, 0, 0, 1, tzinfo=tz).timestamp())[0] == "2026-03-03"


def test_every_promotion_that_gave_something_has_its_spend_by_day(tmp_path: Path) -> None:
    _engine, data = _gift_run(tmp_path)
    # the tote went with the orders of 10:00 and 11:00 on the 2nd, then ran out
    assert data["promotion_burn"] == [
        {
            "day": "2026-03-02",
            "promotion": "tote",
            "orders": 2,
            "discount": "0.00",
            "gift_cost": "50.00",
        }
    ]
    engine, job = setup(tmp_path, BUDGET_LOG)
    outcome = replay(engine, reader(engine, job).read(job.path))
    assert outcome.totals.promotion_days == {
        ("2026-03-02", "plat-200-off-30"): [2, 6000, 0],
    }
