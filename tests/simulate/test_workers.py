"""--workers auto: more than one process only when the machine and the log make it pay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promorules.cli import main
from promorules.simulate.workers import Probe, choose, probe
from tests.simulate.simdata import setup
from tests.simulate.test_cli import CATALOG, DOUBLE11
from tests.simulate.test_replay import LOG

FAST = Probe(2000, 100e-6, 0.05, 10e-6)
"""100 us to price an order, 5% of orders read a counter, 10 us to send a result."""


def test_two_cores_leave_none_for_the_coordinator() -> None:
    choice = choose(FAST, 10_000_000, 2)
    assert choice.workers == 1
    assert "no core left for the coordinator" in choice.reason


def test_many_cores_and_few_counter_reads_go_parallel() -> None:
    # coordinator: 0.05 x 100 + 10 = 15 us an order; 7 workers: 110 / 7 = 15.7 us
    choice = choose(FAST, 1_000_000, 8)
    assert choice.workers == 7
    assert "gain 6.36x" in choice.reason


def test_a_log_where_most_orders_read_counters_stays_on_one_process() -> None:
    choice = choose(Probe(2000, 100e-6, 0.9, 10e-6), 1_000_000, 8)
    assert choice.workers == 1
    assert "90% of orders read a counter" in choice.reason


def test_a_short_log_stays_on_one_process() -> None:
    assert choose(FAST, 50_000, 8).workers == 1  # 5 s: start-up would eat the gain


def test_probe_measures_the_share_of_orders_reading_a_counter(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, LOG)
    measured = probe(engine, job)
    # orders 2 to 4 reach the budgeted platform reduction; order 1 does not
    assert (measured.orders, measured.asking) == (4, 0.75)
    assert measured.price_seconds > 0


def test_auto_is_the_default_and_the_report_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = str(tmp_path / "orders.csv")
    assert main(["sample-orders", DOUBLE11, "-n", "200", "-o", orders, "--catalog", CATALOG]) == 0
    capsys.readouterr()
    assert main(["simulate", DOUBLE11, orders, "--catalog", CATALOG, "--format", "json"]) == 0
    run = json.loads(capsys.readouterr().out)["run"]
    assert run["workers"] == 1  # a 200-order log never pays for more processes
    assert run["workers_chosen"]


def test_a_bad_worker_count_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(LOG)
    code = main(["simulate", DOUBLE11, str(orders), "--catalog", CATALOG, "--workers", "many"])
    assert code == 2
    assert "--workers: a number from 1 to 256, or auto" in capsys.readouterr().err
