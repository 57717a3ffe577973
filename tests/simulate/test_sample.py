"""sample-orders: an evening rush, lifecycle segments, shipping fees, deposit and final
payment pairs for pre-sales, and no catalogue default tied to the current directory."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from promorules.cartfile import load_catalog
from promorules.cli import main
from promorules.engine import Engine
from promorules.simulate.orders import OrderError, detect_format
from promorules.simulate.parallel import Job
from promorules.simulate.replay import replay
from promorules.simulate.sample import write_sample
from tests.simulate.simdata import reader, setup
from tests.simulate.test_cli import CATALOG, DOUBLE11


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    engine = Engine.from_toml(DOUBLE11)
    out = io.StringIO()
    write_sample(engine.ruleset, load_catalog(CATALOG, "CNY"), out, count=6000, seed=3)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_catalog_is_required_wherever_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # rulesets/catalog.csv does not exist here
    assert main(["sample-orders", DOUBLE11, "-n", "5"]) == 2
    assert "sample-orders needs --catalog FILE" in capsys.readouterr().err


def test_the_evening_rush(rows: list[dict[str, str]]) -> None:
    hours = Counter(
        datetime.fromisoformat(r["time"]).hour
        for r in rows
        if r["time"] < "2026-10-31"  # warm-up days: no explosion, no pre-sale
    )
    rush = min(hours[20], hours[21])
    assert all(rush > hours[h] for h in range(24) if h not in (20, 21))
    assert hours[3] * 3 < hours[14]  # quiet nights


def test_lifecycle_segments_stable_per_customer(rows: list[dict[str, str]]) -> None:
    seen: dict[str, str] = {}
    for row in rows:
        assert seen.setdefault(row["customer"], row["segment"]) == row["segment"]
    lifecycles = Counter(r["segment"].split("|")[-1] for r in rows)
    assert set(lifecycles) == {"new", "active", "dormant"}
    assert lifecycles["active"] > lifecycles["new"]
    members = sum(r["segment"].startswith("member|") for r in rows)
    assert 0.3 < members / len(rows) < 0.5


def test_shipping_fees_below_the_free_shipping_line(rows: list[dict[str, str]]) -> None:
    catalog = load_catalog(CATALOG, "CNY")
    charged = 0
    for row in rows:
        goods = 0
        for item in row["lines"].split(";"):
            sku, _, qty = item.partition("*")
            price = catalog[sku].price
            assert price is not None
            goods += price * int(qty or 1)
        assert row["shipping"] == ("10.00" if goods < 19900 else "")
        charged += row["shipping"] != ""
    assert charged > len(rows) / 20


def test_presale_deposits_and_final_payments_pair_up(rows: list[dict[str, str]]) -> None:
    times = [r["time"] for r in rows]
    assert times == sorted(times)
    deposits = {
        r["order"]: r
        for r in rows
        if "2026-10-31T20" <= r["time"] < "2026-11-11" and "HEARTH-DUVET" in r["lines"]
    }
    finals = [r for r in rows if r["deposits"]]
    assert deposits and finals
    assert all(r["lines"].split(";")[0].startswith("HEARTH-DUVET") for r in deposits.values())
    assert all(";" not in r["lines"] for r in deposits.values())  # a deposit is its own row
    for final in finals:
        deposit = deposits[final["order"]]  # the same order, paid in two parts
        assert final["customer"] == deposit["customer"]
        assert final["time"].startswith("2026-11-11")
        units = deposit["lines"].partition("*")[2] or "1"
        assert final["deposits"] == f"HEARTH-DUVET={int(units) * 100}.00"
    assert 0.8 < len(finals) / len(deposits) < 0.97  # most deposits are paid up


def test_a_presale_order_is_one_sale_and_an_unpaid_deposit_is_forfeited(
    tmp_path: Path,
) -> None:
    # the bundled ruleset's duvet pre-sale (deposit 100 worth 150) on a tiny log:
    # c1 pays the deposit and the balance, c2 only the deposit
    log = (
        "time,order,customer,lines,deposits\n"
        "2026-11-05T10:00:00,o1,c1,HEARTH-DUVET,\n"
        "2026-11-06T10:00:00,o2,c2,HEARTH-DUVET*2,\n"
        "2026-11-11T10:00:00,o1,c1,HEARTH-DUVET;HEARTH-TOWEL,HEARTH-DUVET=100.00\n"
    )
    path = tmp_path / "orders.csv"
    path.write_text(log)
    engine = Engine.from_toml(DOUBLE11)
    catalog = load_catalog(CATALOG, "CNY")
    job = Job(Path(DOUBLE11).read_text(), DOUBLE11, None, catalog, str(path), detect_format(path))
    totals = replay(engine, job.reader(engine).read(job.path)).totals
    assert (totals.orders, totals.deposit_orders, totals.final_payments) == (1, 2, 1)
    assert totals.gmv == 89900 + 4900  # the duvet counted once, at its final payment
    assert totals.deposits_taken == 10000 + 20000
    assert totals.deposits_credited == 10000  # c2's 200.00 is forfeited


def test_a_deposit_for_a_sku_not_in_the_order_is_located(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, "time,lines,deposits\n2026-03-02T10:00:00,A,B=10.00\n")
    with pytest.raises(OrderError) as raised:
        list(reader(engine, job).read(job.path))
    assert raised.value.diagnostic.line == 2
    assert "deposits: 'B' is not a line of the order" in str(raised.value)
