"""[goals] in a ruleset, the forecast against each goal, and budget pacing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from promorules.diagnostics import RulesetError
from promorules.engine import Engine
from promorules.ruleset import dump_ruleset
from promorules.simulate import report
from promorules.simulate.goals import goal_rows, pacing
from promorules.simulate.periods import Periods
from promorules.simulate.replay import replay
from promorules.simulate.roi import assumptions
from tests.simulate.simdata import PLUGINS, RULESET, reader, setup
from tests.simulate.test_replay import LOG

TZ = ZoneInfo("Asia/Shanghai")

GOALS = """
[goals]
gmv = "1000.00"
orders = 5
subsidy = "80.00"

[goals.segment.member]
gmv = "800.00"
orders = 3

[goals.channel.web]
gmv = "300.00"

[goals.category.c1]
gmv = "300.00"
subsidy = "40.00"
"""


def test_ruleset_reads_and_writes_goals() -> None:
    ruleset = Engine.from_string(RULESET + GOALS, plugins=PLUGINS).ruleset
    assert ruleset.goals.gmv == 100000
    assert ruleset.goals.segment["member"].orders == 3
    again = Engine.from_string(dump_ruleset(ruleset), plugins=PLUGINS).ruleset
    assert again.goals == ruleset.goals


@pytest.mark.parametrize(
    ("goals", "located"),
    [
        ('gmv = "0.00"', "PR104 goals.gmv: a gmv goal must be positive"),
        ("[goals.category.c1]\norders = 3", "PR103 goals.category.c1.orders: a category goal"),
        ('pacing = { peak = "100%" }', "PR204 goals.pacing.peak: pacing names 'peak'"),
        (
            'pacing = { warmup = "30%", sales = "30%" }',
            "PR205 goals.pacing: the pacing shares must add up to 100%",
        ),
        ("ordrs = 5", "PR101 goals.ordrs:"),
    ],
)
def test_bad_goals_are_located(goals: str, located: str) -> None:
    text = RULESET + "\n[goals]\n" + goals + "\n"
    with pytest.raises(RulesetError) as raised:
        Engine.from_string(text, plugins=PLUGINS)
    shown = "\n".join(str(d) for d in raised.value.diagnostics)
    assert located in shown
    line = text.count("\n", 0, text.index("[goals]")) + 2
    assert f"<string>:{line}:" in shown or f"<string>:{line + 1}:" in shown


def test_forecast_against_each_goal_with_its_gap(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, LOG, RULESET + GOALS)
    totals = replay(engine, reader(engine, job).read(job.path)).totals
    rows = {
        (r.scope, r.figure): (r.forecast, r.gap, r.met)
        for r in goal_rows(engine.ruleset.goals, totals)
    }
    # the log (test_replay): GMV 1050.00, 4 orders, 90.00 of discounts
    assert rows[("campaign", "gmv")] == (105000, 5000, True)
    assert rows[("campaign", "orders")] == (4, -1, False)
    assert rows[("campaign", "subsidy")] == (9000, 1000, False)  # a ceiling: over it
    assert rows[("segment member", "gmv")] == (80000, 0, True)  # orders 1, 3, 4
    assert rows[("segment member", "orders")] == (3, 0, True)
    assert rows[("channel web", "gmv")] == (25000, -5000, False)
    assert rows[("category c1", "gmv")] == (30000, 0, True)
    assert rows[("category c1", "subsidy")] == (2000 + 1000 + 1125, 125, False)


def test_a_budget_that_ran_out_early_is_warned_about(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, LOG)
    outcome = replay(engine, reader(engine, job).read(job.path))
    data = report.build(engine, outcome, assumptions(engine.ruleset, {}))
    [pace] = data["pacing"]
    assert pace["counter"] == "budget:plat-200-off-30"
    # 60.00 over the two days of "sales", evenly: 30.00 a day; all of it went on day 1
    assert [(d["day"], d["planned"], d["spent"]) for d in pace["days"]] == [
        ("2026-03-02", "30.00", "60.00"),
        ("2026-03-03", "30.00", "0.00"),
    ]
    assert pace["runs_out_at"] == "2026-03-02T12:30:00+08:00"
    assert data["warnings"] == [
        "budget:plat-200-off-30 ran out at 2026-03-02T12:30:00+08:00, 35.5 hours before its "
        "promotions end (2026-03-03T23:59:59+08:00)"
    ]
    assert "warning: budget:plat-200-off-30 ran out" in report.render(data)


def test_run_out_is_projected_from_the_pace_so_far(tmp_path: Path) -> None:
    # 100.00 of budget, 90.00 spent by 13:00 on the first of two days (orders 2, 3, 4),
    # when the plan had 13/48 of it spent: the pace is 90 / (100 x 13/48). The 10.00
    # left lasts 10 / (pace x 100 / 48 h) = 5,200 s: until 14:26:40.
    engine, job = setup(tmp_path, LOG, RULESET.replace('budget = "60.00"', 'budget = "100.00"'))
    outcome = replay(engine, reader(engine, job).read(job.path))
    periods = Periods.of(engine.ruleset)
    [pace] = pacing(engine.ruleset, outcome.burn.counters.values(), periods, outcome.totals.last)
    assert pace.projected
    assert pace.runs_out_at == datetime(2026, 3, 2, 14, 26, 40, tzinfo=TZ).timestamp()


def test_a_declared_curve_plans_by_phase(tmp_path: Path) -> None:
    ruleset = (
        RULESET
        + '\n[budgets]\nplatform = "90.00"\n'
        + '\n[goals]\npacing = { warmup = "50%", sales = "50%" }\n'
    )
    engine, job = setup(tmp_path, LOG, ruleset)
    outcome = replay(engine, reader(engine, job).read(job.path))
    periods = Periods.of(engine.ruleset)
    paces = pacing(engine.ruleset, outcome.burn.counters.values(), periods, outcome.totals.last)
    [funder] = [p for p in paces if p.counter == "funder_budget:platform"]
    # half on the one day of warm-up, half spread over the two days of sales
    assert [(d.day, d.planned) for d in funder.days] == [
        ("2026-03-01", 4500),
        ("2026-03-02", 2250),
        ("2026-03-03", 2250),
    ]
    assert funder.curve == "declared"


def test_schema_covers_goals() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from promorules.plugins import PluginHost
    from promorules.schema import ruleset_schema

    validator = jsonschema.Draft202012Validator(ruleset_schema(PluginHost.default().kinds))
    goals = {
        "gmv": "1000.00",
        "orders": 5,
        "segment": {"new": {"gmv": "300.00", "orders": 2}},
        "pacing": {"sales": "100%"},
    }
    assert list(validator.iter_errors({"goals": goals} | _campaign())) == []
    goals["segment"]["new"]["ordrs"] = 2  # type: ignore[index]
    errors = [tuple(e.absolute_path) for e in validator.iter_errors({"goals": goals} | _campaign())]
    assert errors == [("goals", "segment", "new")]


def _campaign() -> dict[str, object]:
    return {"campaign": {"name": "x", "currency": "CNY", "timezone": "Asia/Shanghai"}}
