"""Each counter consumed once: over any order log, a funder budget's use is exactly that
funder's share of the discounts given, and a promotion budget's use its discount."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from promorules.counters import CounterKey, CounterKind
from promorules.simulate.replay import replay
from promorules.simulate.totals import P_DISCOUNT
from tests.simulate.simdata import reader, setup

# Two funders share the platform-wide reduction; the store one is the merchant's. Both
# funder budgets and the reduction's own budget are small enough to run out in a log.
RULESET = """
[campaign]
name = "Funders"
currency = "CNY"
timezone = "Asia/Shanghai"

[budgets]
platform = "70.00"
merchant = "90.00"

[[promotion]]
id = "store-100-off-10"
kind = "tiered"
lane = "store"
merchants = ["m1"]
mode = "every"
threshold = "100.00"
off = "10.00"

[[promotion]]
id = "plat-200-off-30"
kind = "tiered"
lane = "platform"
threshold = "200.00"
off = "30.00"
funded_by = { platform = "60%", merchant = "40%" }
budget = "120.00"
"""

SKUS = ("A", "B", "C")

lines = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(1, 3)),
    min_size=1,
    max_size=3,
    unique_by=lambda x: x[0],
)
logs = st.lists(lines, min_size=1, max_size=25)


def _log(orders: list[list[tuple[str, int]]]) -> str:
    rows = ["time,lines"]
    for minute, items in enumerate(orders):
        cart = ";".join(f"{sku}*{qty}" for sku, qty in items)
        rows.append(f"2026-03-02T10:{minute:02d}:00,{cart}")
    return "\n".join(rows) + "\n"


@given(logs)
@example([[("B", 2)]] * 6)  # the bundled Double 11 run counted the platform's share twice
def test_each_budget_used_by_what_was_given(orders: list[list[tuple[str, int]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine, job = setup(Path(tmp), _log(orders), RULESET)
        outcome = replay(engine, reader(engine, job).read(job.path))
    totals, burn = outcome.totals, outcome.burn.counters
    for funder in ("platform", "merchant"):
        used = burn[CounterKey(CounterKind.FUNDER_BUDGET, funder)]
        assert used.used == totals.by_funder.get(funder, 0)
        assert used.used <= used.initial  # pricing enforces the funder's budget
    budget = burn[CounterKey(CounterKind.BUDGET, "plat-200-off-30")]
    given_by_promotion = totals.by_promotion.get("plat-200-off-30", [0] * 5)[P_DISCOUNT]
    assert budget.used == given_by_promotion <= budget.initial
    assert outcome.refused == 0
