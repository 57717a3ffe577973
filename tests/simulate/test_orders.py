"""Reading order logs: both formats, sku facts from the catalogue, located errors."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from promorules.cartfile import build_cart
from promorules.diagnostics import RulesetError, format_path
from promorules.simulate.orders import OrderError, plan_blocks
from promorules.simulate.replay import replay
from tests.simulate.simdata import reader, setup


def test_csv_and_jsonl_read_the_same_orders(tmp_path: Path) -> None:
    csv_log = (
        "time,order,customer,segment,channel,lines,coupons,shipping\n"
        '2026-03-02T10:00:00+08:00,o1,c1,member|vip,app,"A*2;B@120.00",X1|X2,8.00\n'
    )
    jsonl_log = (
        '{"time": "2026-03-02T10:00:00", "order": "o1", "customer": "c1", '
        '"segment": ["vip", "member"], "channel": "app", "coupons": ["X1", "X2"], '
        '"shipping": "8.00", "lines": ["A*2", {"sku": "B", "unit_price": "120.00"}]}\n'
    )
    engine, job = setup(tmp_path, csv_log)
    [first] = list(reader(engine, job).read(job.path))
    engine, job = setup(tmp_path, jsonl_log, name="orders.jsonl")
    [second] = list(reader(engine, job).read(job.path))
    for order in (first, second):
        assert order.id == "o1"
        assert order.segment == "member|vip"
        assert order.coupons == ("X1", "X2")
        assert order.cart.shipping == 800
        assert [
            (line.sku, line.quantity, line.unit_price, line.category) for line in order.cart.lines
        ] == [("A", 2, 10000, "c1"), ("B", 1, 12000, "c2")]
    assert first.ts == second.ts


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2026-03-02T10:00:00,Z*1", "sku 'Z' has no price"),
        ("yesterday,A", "not an ISO 8601 time"),
        ("2026-03-02T10:00:00,A*x", "not a quantity"),
        ("2026-03-02T10:00:00,", "an order needs lines"),
        ("2026-03-02T10:00:00,A,extra", "row has 3 fields"),
    ],
)
def test_bad_rows_are_located(tmp_path: Path, row: str, message: str) -> None:
    engine, job = setup(tmp_path, f"time,lines\n2026-03-02T09:00:00,A\n{row}\n")
    with pytest.raises(OrderError) as raised:
        list(reader(engine, job).read(job.path))
    assert raised.value.diagnostic.line == 3
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"{job.path}:3:1: PR303")


def test_a_jsonl_row_nested_past_the_parsers_stack_is_located(tmp_path: Path) -> None:
    row = '{"time": "2026-03-02T10:00:00", "lines": ' + "[" * 100_000 + "]" * 100_000 + "}"
    engine, job = setup(tmp_path, row + "\n", name="orders.jsonl")
    with pytest.raises(OrderError) as raised:
        list(reader(engine, job).read(job.path))
    assert str(raised.value) == f"{job.path}:1:1: PR303 JSON nested too deeply to be an order"


def test_unknown_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OrderError, match="unknown column 'price'"):
        setup(tmp_path, "time,lines,price\n")


def test_orders_out_of_time_order_are_refused(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, "time,lines\n2026-03-02T10:00:00,A\n2026-03-02T09:00:00,A\n")
    with pytest.raises(OrderError, match="PR304 orders must be in time order"):
        replay(engine, reader(engine, job).read(job.path), source=job.path)


def test_blocks_hold_whole_rows_and_know_their_line_numbers(tmp_path: Path) -> None:
    rows = "".join(f"2026-03-02T10:00:{i:02d},A*{i + 1}\n" for i in range(40))
    engine, job = setup(tmp_path, "time,lines\n" + rows)
    blocks = list(plan_blocks(job.path, job.fmt, 100))
    assert len(blocks) > 5
    read = [
        (o.line, o.cart.lines[0].quantity)
        for b in blocks
        for o in reader(engine, job).read(job.path, b)
    ]
    assert read == [(i + 2, i + 1) for i in range(40)]


def test_a_quoted_csv_field_may_hold_newlines(tmp_path: Path) -> None:
    log = (
        "time,order,lines\n"
        '2026-03-02T10:00:00,"o1\nsecond line",A*2\n'
        '2026-03-02T10:00:01,o2,"A;\nB@120.00"\n'
        "2026-03-02T10:00:02,o3,Z*1\n"
    )
    engine, job = setup(tmp_path, log)
    orders = reader(engine, job).read(job.path)
    first, second = next(orders), next(orders)
    assert (first.id, first.line, [line.quantity for line in first.cart.lines]) == (
        "o1\nsecond line",
        2,
        [2],
    )
    assert (second.line, [line.sku for line in second.cart.lines]) == (4, ["A", "B"])
    # the row after them is still located on the line it starts on
    with pytest.raises(OrderError) as raised:
        next(orders)
    assert str(raised.value).startswith(f"{job.path}:6:1: PR303 sku 'Z' has no price")


def test_blocks_never_cut_inside_a_quoted_field(tmp_path: Path) -> None:
    rows = "".join(f'2026-03-02T10:00:{i:02d},"A*{i + 1};\n\n\nB"\n' for i in range(40))
    engine, job = setup(tmp_path, "time,lines\n" + rows)
    blocks = list(plan_blocks(job.path, job.fmt, 30))
    assert len(blocks) > 5
    read = [
        (o.line, o.cart.lines[0].quantity)
        for b in blocks
        for o in reader(engine, job).read(job.path, b)
    ]
    assert read == [(2 + 4 * i, i + 1) for i in range(40)]


def test_an_order_line_takes_the_keys_of_a_cart_line(tmp_path: Path) -> None:
    row = (
        '{"time": "2026-03-02T10:00:00", "lines": '
        '[{"sku": "A", "quantity": 2, "deposit_paid": "30.00"}]}\n'
    )
    engine, job = setup(tmp_path, row, name="orders.jsonl")
    [order] = list(reader(engine, job).read(job.path))
    assert order.cart.lines[0].deposit_paid == 3000
    engine, job = setup(tmp_path, row.replace("30.00", "200.01"), name="orders.jsonl")
    with pytest.raises(OrderError, match="deposit_paid is more than the line's amount"):
        list(reader(engine, job).read(job.path))


@pytest.mark.parametrize(
    "line",
    [
        {"sku": "A", "tags": "x"},
        {"sku": "A", "title": 5},
        {"sku": "A", "quantity": 0},
        {"sku": "A", "quantity": True},
        {"sku": "A", "unit_price": 1.5},
        {"sku": "A", "unit_cost": "-1.00"},
        {"sku": 5},
        {"quantity": 1},
    ],
)
def test_an_order_line_is_read_as_a_cart_line_is(tmp_path: Path, line: dict[str, object]) -> None:
    # one record, one converter: the same value gets the same verdict in both files
    engine, job = setup(tmp_path, "time,lines\n")
    catalog = job.catalog
    with pytest.raises(RulesetError) as in_cart:
        build_cart({"lines": [line]}, "CNY", ZoneInfo("UTC"), catalog)
    (cart_problem,) = in_cart.value.diagnostics
    row = json.dumps({"time": "2026-03-02T10:00:00", "lines": [line]})
    engine, job = setup(tmp_path, row + "\n", name="orders.jsonl")
    with pytest.raises(OrderError) as in_log:
        list(reader(engine, job).read(job.path))
    field = format_path(cart_problem.path[2:])
    assert in_log.value.diagnostic.message == f"line {field}: {cart_problem.message}"


def test_a_bare_carriage_return_in_a_csv_row_is_located(tmp_path: Path) -> None:
    # found by tests/fuzz: the csv module refuses a lone "\r" outside quotes with
    # _csv.Error, which escaped as a traceback
    engine, job = setup(tmp_path, "time,lines\n2026-03-02T10:00:00,A\n\r2026-03-02T10:00:01,A\n")
    with pytest.raises(OrderError) as raised:
        list(reader(engine, job).read(job.path))
    assert str(raised.value).startswith(f"{job.path}:3:1: PR303 new-line character seen")
