"""Replay of a hand-computed log: totals by promotion, funder, category; budget burn."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from promorules.counters import CounterKey, CounterKind
from promorules.simulate.replay import replay
from promorules.simulate.roi import Assumption, roi
from promorules.simulate.totals import DISCOUNT, GMV, P_DISCOUNT, P_ORDERS
from tests.simulate.simdata import reader, setup

TZ = ZoneInfo("Asia/Shanghai")

# 1: A*2 = 200: store every-100-off-10 gives 20; platform measures 180 < 200: nothing.
# 2: A + B = 250: store 10 on A; platform on 240 gives 30 (budget 60 -> 30 left),
#    spread 90:150 -> 11.25 on A, 18.75 on B.
# 3: B*2 = 300: platform 30, budget 30 -> 0: runs out here.
# 4: B*2 = 300: budget gone: no discount.
LOG = """time,order,customer,segment,channel,lines
2026-03-02T10:00:00,o1,c1,member,app,A*2
2026-03-02T11:00:00,o2,c2,new,web,A;B
2026-03-02T12:30:00,o3,c3,member,app,B*2
2026-03-02T13:00:00,o4,c1,member,app,B*2
"""


def test_totals_by_promotion_funder_category(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, LOG)
    totals = replay(engine, reader(engine, job).read(job.path)).totals
    assert totals.orders == 4
    assert totals.gmv == 105000
    assert totals.discount == 9000
    assert totals.payable == 96000
    assert totals.by_promotion["store-100-off-10"][P_ORDERS] == 2
    assert totals.by_promotion["store-100-off-10"][P_DISCOUNT] == 3000
    assert totals.by_promotion["plat-200-off-30"][P_ORDERS] == 2
    assert totals.by_promotion["plat-200-off-30"][P_DISCOUNT] == 6000
    assert totals.by_funder == {"merchant": 3000, "platform": 6000}
    assert totals.by_category["c1"][GMV] == 30000
    assert totals.by_category["c1"][DISCOUNT] == 2000 + 1000 + 1125
    assert totals.by_category["c2"][GMV] == 75000
    assert totals.by_category["c2"][DISCOUNT] == 1875 + 3000
    assert totals.by_channel["app"][GMV] == 20000 + 30000 + 30000
    assert totals.by_segment["new"][DISCOUNT] == 4000
    # margin before: orders at 50%, 56% (250-110)/250, 60%, 60%
    assert totals.margin_before == {50: 1, 56: 1, 60: 2}


def test_budget_runs_out_at_the_third_order(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, LOG)
    outcome = replay(engine, reader(engine, job).read(job.path))
    burn = outcome.burn.counters[CounterKey(CounterKind.BUDGET, "plat-200-off-30")]
    assert burn.used == 6000
    assert burn.remaining == 0
    assert burn.exhausted_at == datetime(2026, 3, 2, 12, 30, tzinfo=TZ).timestamp()
    hour = int(datetime(2026, 3, 2, 11, tzinfo=TZ).timestamp())
    assert burn.per_hour[hour] == 3000
    assert outcome.refused == 0


def test_stock_runs_out_at_the_right_order(tmp_path: Path) -> None:
    ruleset = """
[campaign]
name = "Stock"
currency = "CNY"
timezone = "Asia/Shanghai"

[[promotion]]
id = "cut"
kind = "unitcut"
skus = ["A"]
off = "5.00"
stock = 3
"""
    log = """time,lines
2026-03-02T10:00:00,A*2
2026-03-02T10:05:00,A*2
2026-03-02T10:10:00,A
"""
    engine, job = setup(tmp_path, log, ruleset)
    outcome = replay(engine, reader(engine, job).read(job.path))
    # 2 units at 5.00 off, then the last unit of stock, then nothing
    assert outcome.totals.discount == 1000 + 500
    burn = outcome.burn.counters[CounterKey(CounterKind.FLASH_STOCK, "cut")]
    assert burn.used == 3
    assert burn.exhausted_at == datetime(2026, 3, 2, 10, 5, tzinfo=TZ).timestamp()


def test_roi_under_a_stated_uplift(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, LOG)
    totals = replay(engine, reader(engine, job).read(job.path)).totals
    assumed = {"plat-200-off-30": Assumption(Fraction(1, 4), "test")}
    [row] = roi(totals, assumed)
    # order 2's GMV 250, payable 210, cost 110 split 10:30 between the promotions
    # -> 187.50 / 157.50 / 82.50 to the platform's; order 3: 300 / 270 / 120.
    # incremental GMV = 487.50 * 0.25 / 1.25 = 97.50
    # incremental gross profit = (427.50 - 202.50) - (487.50 - 202.50) / 1.25 = -3.00
    assert row.subsidy == 6000
    assert row.incremental_gmv == 9750
    assert row.incremental_profit == -300
    assert row.gmv_per_subsidy == Fraction(9750, 6000)
