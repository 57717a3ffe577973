"""The simulate, sample-orders and calendar commands, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promorules.cli import main

ROOT = Path(__file__).parents[2]
DOUBLE11 = str(ROOT / "rulesets" / "double11.toml")
CATALOG = str(ROOT / "rulesets" / "catalog.csv")


@pytest.fixture
def sample(tmp_path: Path) -> str:
    path = str(tmp_path / "orders.csv")
    assert main(["sample-orders", DOUBLE11, "-n", "400", "-o", path, "--catalog", CATALOG]) == 0
    return path


def test_sample_orders_are_in_time_order_on_the_campaign(sample: str) -> None:
    rows = Path(sample).read_text().splitlines()
    assert rows[0] == "time,order,customer,segment,channel,lines,coupons,shipping,deposits"
    times = [row.split(",")[0] for row in rows[1:]]
    # 400 orders; a pre-sale paid in full is two rows of one order
    assert len({row.split(",")[1] for row in rows[1:]}) == 400
    assert times == sorted(times)
    assert times[0] >= "2026-10-20" and times[-1] < "2026-11-14"
    on_the_day = sum(t.startswith("2026-11-11") for t in times)
    assert on_the_day > 400 / 25 * 3  # the explosion day is several times busier


def test_simulate_json_report(
    sample: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "simulate",
            DOUBLE11,
            sample,
            "--catalog",
            CATALOG,
            "--format",
            "json",
            "--baseline",
            "none",
            "--uplift",
            "every-300-off-50=20%",
            "--workers",
            "1",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    rows = len(Path(sample).read_text().splitlines()) - 1
    # a pre-sale's deposit row is no sale: the order is counted at its final payment
    assert data["totals"]["orders"] + data["totals"]["deposit_orders"] == rows
    assert data["baseline"]["totals"]["discount"] == "0.00"
    assert data["baseline"]["difference"]["discount"] == data["totals"]["discount"]
    uplift = data["roi"]["uplift"]
    assert uplift["every-300-off-50"] == {
        "uplift": "20.0%",
        "from": "command line (every-300-off-50)",
    }
    assert uplift["lumi-ladder"]["from"] == "none given: 0%"
    # every counter the Double 11 ruleset declares has a burn row
    assert {"budget", "funder_budget", "coupon_uses", "flash_stock", "gift_stock"} <= {
        row["kind"] for row in data["burn"]
    }


def test_simulate_table_with_plots(
    sample: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    charts = tmp_path / "charts"
    assert (
        main(
            [
                "simulate",
                DOUBLE11,
                sample,
                "--catalog",
                CATALOG,
                "--plot",
                str(charts),
                "--uplift",
                "S=30%",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "ROI: uplift assumed" in out
    assert "command line (grade S)" in out
    assert (charts / "margin-distribution.png").stat().st_size > 1000


def test_bad_order_row_exits_2_with_a_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "bad.csv"
    log.write_text("time,lines\n2026-11-11T10:00:00,LUMI-SERUM\n2026-11-11T10:01:00,\x1b[31m\n")
    assert main(["simulate", DOUBLE11, str(log), "--catalog", CATALOG]) == 2
    err = capsys.readouterr().err
    assert f"{log}:3:1: PR303" in err
    assert "\x1b" not in err


def test_unknown_uplift_name_is_bad_input(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", DOUBLE11, sample, "--catalog", CATALOG, "--uplift", "X=5%"]) == 2
    assert "--uplift names 'X'" in capsys.readouterr().err


def test_calendar_warns_but_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    rulesets = [DOUBLE11, *sorted(str(p) for p in (ROOT / "rulesets" / "calendar").glob("*.toml"))]
    assert main(["calendar", *rulesets]) == 0
    out = capsys.readouterr().out
    assert "Double 11 2026" in out and "618 Mid-year 2026" in out
    assert "PR701" in out  # two S-grade campaigns in a year: practice is 3 to 5
    assert "PR702" not in out  # both S-grade campaigns declare their preparation


def test_bundled_double11_report_shows_goals_pacing_and_every_promotion(
    sample: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["simulate", DOUBLE11, sample, "--catalog", CATALOG, "--workers", "1"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ids = [
        line.split('"')[1]
        for line in Path(DOUBLE11).read_text().splitlines()
        if line.startswith("id = ")
    ]
    assert sorted(r["promotion"] for r in data["by_promotion"]) == sorted(ids)
    assert [r["promotion"] for r in data["roi"]["promotions"]] == ids
    goals = {(g["scope"], g["figure"]) for g in data["goals"]}
    assert {("campaign", "gmv"), ("segment new", "orders"), ("category beauty", "subsidy")} <= goals
    paced = {p["counter"]: p for p in data["pacing"]}
    assert set(paced) == {
        "budget:every-300-off-50",
        "budget:d11-platform-coupon",
        "funder_budget:platform",
    }
    assert paced["funder_budget:platform"]["curve"] == "declared"
    assert main(args) == 0
    text = capsys.readouterr().out
    for heading in ("goals: the replay as a forecast", "budget pacing by day", "lumi-gift"):
        assert heading in text


def test_618_report_warns_that_its_budget_ran_out_days_early(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset = str(ROOT / "rulesets" / "calendar" / "618.toml")
    orders = str(tmp_path / "orders.csv")
    assert main(["sample-orders", ruleset, "-n", "15000", "-o", orders, "--catalog", CATALOG]) == 0
    capsys.readouterr()
    assert main(["simulate", ruleset, orders, "--catalog", CATALOG, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {(g["scope"], g["figure"]) for g in data["goals"]} == {
        ("campaign", "gmv"),
        ("campaign", "orders"),
        ("campaign", "subsidy"),
        ("segment new", "orders"),
    }
    [pace] = data["pacing"]
    assert pace["counter"] == "budget:618-every-300-off-40" and pace["curve"] == "even"
    [warning] = data["warnings"]
    assert warning.startswith("budget:618-every-300-off-40 ran out at 2026-06-1")
    # from then on the reduction was refused, day by day, and the report says so
    refused_days = {c["day"] for c in data["budget_cuts"] if c["refused_orders"]}
    assert "2026-06-18" in refused_days and len(refused_days) >= 2
