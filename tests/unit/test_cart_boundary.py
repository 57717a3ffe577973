"""The embedding API's constructors refuse hostile values at the boundary.

Money and quantities are ``int`` (never bool, float, Decimal or Fraction), collections
of strings are never a bare string, times are aware datetimes, and every value lies
within the documented bounds. The error is a TypeError (wrong type) or a ValueError
(out of range) that names the class and the field; what the readers of files make of
the same bounds is a located diagnostic, never a traceback.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from promorules.cart import (
    MAX_AMOUNT,
    MAX_ID_LENGTH,
    MAX_LINES,
    MAX_QUANTITY,
    MAX_TAGS,
    MAX_TITLE_LENGTH,
    Cart,
    Context,
    Customer,
    Line,
)
from promorules.cartfile import build_cart, load_catalog
from promorules.counters import Snapshot
from promorules.diagnostics import RulesetError
from promorules.simulate.orders import OrderError
from tests.helpers import D11
from tests.simulate.simdata import reader, setup

UTC = ZoneInfo("UTC")
NOT_INTS: list[Any] = [
    99.99,
    1.0,
    math.nan,
    math.inf,
    Decimal("99.99"),
    Decimal(100),
    Fraction(1, 3),
    True,
    "100",
    None,
]


def line(**changes: Any) -> Line:
    fields: dict[str, Any] = {"sku": "A", "quantity": 1, "unit_price": 1000}
    fields.update(changes)
    return Line(**fields)


@pytest.mark.parametrize("field", ["unit_price", "unit_cost", "deposit_paid", "quantity"])
@pytest.mark.parametrize("value", NOT_INTS, ids=repr)
def test_line_money_and_quantity_must_be_ints(field: str, value: Any) -> None:
    with pytest.raises(TypeError, match=rf"Line.{field} must be an int"):
        line(**{field: value})


def test_the_issues_float_price_no_longer_prices_to_a_float_payable() -> None:
    # unit_price=99.99 used to give a quote with payable == 90.99
    with pytest.raises(TypeError, match=r"Line.unit_price must be an int of minor units.*99\.99"):
        Line("A", 1, unit_price=99.99)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": 0}, "Line.quantity must be from 1"),
        ({"quantity": MAX_QUANTITY + 1}, "Line.quantity must be from 1 to 1,000,000 units"),
        ({"unit_price": -1}, "Line.unit_price must be from 0"),
        ({"unit_price": MAX_AMOUNT + 1}, "Line.unit_price must be from 0"),
        ({"unit_cost": MAX_AMOUNT + 1}, "Line.unit_cost must be from 0"),
        ({"unit_cost": -5}, "Line.unit_cost"),
        ({"unit_price": MAX_AMOUNT // 2 + 1, "quantity": 2}, r"Line amount \(unit_price x"),
        ({"deposit_paid": 1001}, "Line.deposit_paid must be from 0 to 1,000 minor units"),
        ({"deposit_paid": -1}, "Line.deposit_paid"),
        ({"sku": "s" * (MAX_ID_LENGTH + 1)}, "Line.sku is at most 128 characters"),
        ({"category": "c" * (MAX_ID_LENGTH + 1)}, "Line.category"),
        ({"merchant": "m" * (MAX_ID_LENGTH + 1)}, "Line.merchant"),
        ({"brand": "b" * (MAX_ID_LENGTH + 1)}, "Line.brand"),
        ({"title": "t" * (MAX_TITLE_LENGTH + 1)}, "Line.title"),
        ({"tags": ["t"] * (MAX_TAGS + 1)}, "Line.tags holds at most 64"),
        ({"tags": ["t" * (MAX_ID_LENGTH + 1)]}, "Line.tags: an entry is at most"),
    ],
)
def test_line_values_out_of_bounds_are_value_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        line(**changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sku": 5}, "Line.sku must be a str, not int"),
        ({"sku": b"A"}, "Line.sku must be a str, not bytes"),
        ({"category": None}, "Line.category must be a str"),
        ({"title": ["x"]}, "Line.title must be a str"),
        ({"tags": "abc"}, "Line.tags must be a collection of strings"),
        ({"tags": b"abc"}, "Line.tags must be a collection of strings"),
        ({"tags": 5}, "Line.tags must be a collection of strings"),
        ({"tags": [1, 2]}, "Line.tags must hold strings, not int"),
    ],
)
def test_line_text_of_the_wrong_type_is_a_type_error(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        line(**changes)


@pytest.mark.parametrize("value", [10**5000, -(10**5000), 10**40], ids=["huge", "-huge", "1e40"])
def test_a_huge_int_is_refused_by_name_not_by_int_to_str(value: int) -> None:
    # formatting a 5,000-digit int raises its own ValueError ("Exceeds the limit ...")
    with pytest.raises(ValueError, match=r"^Cart\.shipping must be from 0 .* number of \d"):
        Cart([line()], shipping=value)
    with pytest.raises(ValueError, match=r"^Line\.quantity must be from 1 .* number of \d"):
        line(quantity=value)


def test_the_largest_values_are_accepted() -> None:
    big = Line(
        "s" * MAX_ID_LENGTH,
        1,
        MAX_AMOUNT,
        MAX_AMOUNT,
        tags=("t" * MAX_ID_LENGTH,) * MAX_TAGS,
        title="t" * MAX_TITLE_LENGTH,
        deposit_paid=MAX_AMOUNT,
    )
    assert big.amount == MAX_AMOUNT
    assert Line("A", MAX_QUANTITY, 1).amount == MAX_QUANTITY
    assert Line("A", 2, 1, tags=["x", "y"]).tags == ("x", "y")  # any collection, held as a tuple


@pytest.mark.parametrize("field", ["segments", "tags"])
@pytest.mark.parametrize("value", ["member", b"member", 7])
def test_customer_string_collections_are_never_split(field: str, value: Any) -> None:
    # Customer(segments="member") used to mean the segments m, e, b and r
    with pytest.raises(TypeError, match=rf"Customer.{field} must be a collection of strings"):
        Customer("c-1", **{field: value})


def test_customer_bounds_and_types() -> None:
    assert Customer("c-1", segments=["member"]).segments == frozenset({"member"})
    with pytest.raises(TypeError, match=r"Customer.id must be a str"):
        Customer(1001)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Customer.id is at most 128"):
        Customer("c" * (MAX_ID_LENGTH + 1))
    with pytest.raises(ValueError, match=r"Customer.segments holds at most"):
        Customer("c", segments={f"s{i}" for i in range(MAX_TAGS + 1)})
    with pytest.raises(TypeError, match=r"Customer.segments must hold strings"):
        Customer("c", segments={None})  # type: ignore[arg-type]


def test_cart_bounds_and_types() -> None:
    one = line()
    assert Cart([one, one]).lines == (one, one)
    with pytest.raises(TypeError, match=r"Cart.lines must be a collection of Line"):
        Cart(one)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Cart.lines must be a collection of Line"):
        Cart("A")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Cart.lines must hold Line values, not dict"):
        Cart([{"sku": "A"}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"Cart.lines holds at most 10,000 lines"):
        Cart([one] * (MAX_LINES + 1))
    half = line(unit_price=MAX_AMOUNT // 2 + 1)
    with pytest.raises(ValueError, match=r"Cart list total must be at most"):
        Cart([half, half])
    with pytest.raises(TypeError, match=r"Cart.customer must be a Customer, not str"):
        Cart([one], "c-1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Cart.currency must be an ISO 4217 code"):
        Cart([one], currency="cny")
    with pytest.raises(TypeError, match=r"Cart.currency must be a str, not NoneType"):
        Cart([one], currency=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Cart.currency must be a str, not list"):
        Cart([one], currency=["CNY"])  # type: ignore[arg-type]
    for bad in (8.0, True, Decimal(8)):
        with pytest.raises(TypeError, match=r"Cart.shipping must be an int of minor units"):
            Cart([one], shipping=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Cart.shipping must be from 0"):
        Cart([one], shipping=MAX_AMOUNT + 1)


@pytest.mark.parametrize("value", ["SAVE20", b"SAVE20", 20])
def test_context_coupons_are_never_split_into_characters(value: Any) -> None:
    # Context(coupons="SAVE20") used to present the codes S, A, V, E, 2 and 0
    with pytest.raises(TypeError, match=r"Context.coupons must be a collection of strings"):
        Context(D11, coupons=value)


@pytest.mark.parametrize(
    "value", ["2026-11-11T10:00:00+08:00", date(2026, 11, 11), 1_794_000_000, None]
)
def test_context_at_must_be_a_datetime(value: Any) -> None:
    # a string used to fail later, inside pricing, with an AttributeError
    with pytest.raises(TypeError, match=r"Context.at must be a timezone-aware datetime"):
        Context(value)


def test_context_at_must_be_aware_and_the_rest_typed() -> None:
    with pytest.raises(ValueError, match=r"Context.at .* must be timezone-aware"):
        Context(datetime(2026, 11, 11, 10))
    with pytest.raises(TypeError, match=r"Context.channel must be a str"):
        Context(D11, channel=7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Context.channel is at most 128"):
        Context(D11, channel="c" * (MAX_ID_LENGTH + 1))
    with pytest.raises(TypeError, match=r"Context.coupons must hold strings"):
        Context(D11, coupons=[20])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"Context.availability must be a ledger snapshot"):
        Context(D11, availability={"budget": 5})  # type: ignore[arg-type]
    assert Context(D11, coupons=["SAVE20"], availability=Snapshot()).coupons == ("SAVE20",)


def test_a_cart_file_beyond_the_bounds_is_located_not_a_traceback() -> None:
    data = {
        "lines": [
            {"sku": "A", "quantity": 1, "unit_price": "10.00", "deposit_paid": "20.00"},
            {"sku": "B", "quantity": 2, "unit_price": "9999999999999.00"},
            {"sku": "C", "quantity": 1, "unit_price": "1.00", "category": "c" * 200},
        ]
    }
    with pytest.raises(RulesetError) as raised:
        build_cart(data, "CNY", UTC)
    text = raised.value.render()
    assert "PR301 lines[0].deposit_paid: deposit_paid (20.00) is more than the line's" in text
    assert "PR301 lines[1]" in text and "largest amount accepted" in text
    assert "PR301 lines[2]: Line.category is at most 128 characters" in text


def test_a_cart_file_whose_total_is_too_large_is_located() -> None:
    price = f"{MAX_AMOUNT // 200}.01"  # two of them: one fen over the bound
    data = {"lines": [{"sku": "A", "unit_price": price}, {"sku": "B", "unit_price": price}]}
    with pytest.raises(RulesetError, match=r"PR301 lines: Cart list total must be at most"):
        build_cart(data, "CNY", UTC)


def test_a_catalogue_item_beyond_the_bounds_is_located(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        f"sku,price,category\nA,1.00,ok\nB,99999999999999999.00,ok\nC,1.00,{'c' * 200}\n",
        encoding="utf-8",
    )
    with pytest.raises(RulesetError) as raised:
        load_catalog(path, "CNY")
    text = raised.value.render()
    assert f"{path}:3:1: PR302 item[1].price:" in text  # past the largest amount accepted
    assert f"{path}:4:1: PR302 item[2]: Line.category is at most 128" in text


def test_an_order_log_row_beyond_the_bounds_is_located(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, "time,lines\n2026-03-02T09:00:00,A*2@9999999999999.00\n")
    with pytest.raises(OrderError, match=r":2:1: PR303 .*beyond the largest amount accepted"):
        list(reader(engine, job).read(job.path))


FACTS = """
[campaign]
name = "facts"
grade = "B"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
sales = {{ start = 2026-11-01T00:00:00, end = 2026-11-11T23:59:59 }}

[guardrails]
min_order_margin = "5%"
on_breach = "warn"

[catalog.categories.{category}]
margin = "10%"
min_price = "{low}"
max_price = "{high}"

[[promotion]]
id = "tiers"
kind = "tiered"
tiers = [ {{ threshold = "300.00", off = "50.00" }}, {{ threshold = "600.00", off = "200.00" }} ]
"""


def test_ruleset_category_facts_beyond_the_bounds_are_located(tmp_path: Path) -> None:
    from promorules.engine import Engine

    path = tmp_path / "facts.toml"
    path.write_text(FACTS.format(category="c" * 129, low="1.00", high="2.00"))
    with pytest.raises(RulesetError) as raised:
        Engine.from_toml(path)
    text = raised.value.render()
    assert "PR103 catalog.categories." + "c" * 129 + ": a category name is at most 128" in text
    # an amount past the largest one accepted is refused where it is read
    path.write_text(FACTS.format(category="beauty", low="1.00", high="20000000000000.00"))
    with pytest.raises(RulesetError) as raised:
        Engine.from_toml(path)
    text = raised.value.render()
    assert "PR104 catalog.categories.beauty.max_price" in text
    assert "beyond the largest amount accepted" in text


def test_validate_searches_only_carts_within_the_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a declared price near the bound times --max-quantity would make lines (and carts)
    # the API refuses: the search draws within the bounds instead of failing on them
    from promorules.cli import main

    path = tmp_path / "facts.toml"
    path.write_text(
        FACTS.format(category="beauty", low="1000000000000.00", high="9999999999999.00")
    )
    argv = [str(path), "--max-quantity", "1000", "--max-lines", "10000", "--examples", "30"]
    out = str(tmp_path / "breaches")
    assert (
        main(["validate", *argv, "--quiet", "--out", out]) == 3
    )  # UNPROVEN (docs/validate.md: exit codes)
    assert "UNPROVEN" in capsys.readouterr().out


@pytest.mark.parametrize("left", [2.5, math.nan, True, "2", None, Decimal(2)], ids=repr)
def test_a_snapshot_holds_int_counts(left: Any) -> None:
    # 2.5 failed deep inside pricing (a TypeError from Fraction), NaN read as unlimited
    # and True as one unit left
    from promorules.counters import CounterKey, CounterKind

    key = CounterKey(CounterKind.FLASH_STOCK, "flash", "A")
    with pytest.raises(TypeError, match=r"^Snapshot\.remaining maps CounterKey to int"):
        Snapshot({key: left})
    assert Snapshot({key: 2}).remaining(key) == 2


@pytest.mark.parametrize("paused", ["flash", b"flash", [1], None, 5], ids=repr)
def test_a_snapshot_pauses_promotions_by_id(paused: Any) -> None:
    # "flash" used to pause the promotions f, l, a, s and h
    with pytest.raises(TypeError, match=r"^Snapshot\.paused is a set of promotion ids"):
        Snapshot({}, paused)
    assert Snapshot({}, {"flash"}).paused("flash")


def test_ruleset_names_no_cart_could_carry_are_located(tmp_path: Path) -> None:
    # validate used to draw a Context with the 200-character channel and fail on it
    from promorules.engine import Engine

    text = FACTS.format(category="beauty", low="1.00", high="2.00").replace(
        'kind = "tiered"',
        f'kind = "tiered"\nsegments = ["{"s" * 129}"]\nchannels = ["ok", "{"c" * 200}"]',
    )
    text = text.replace(
        'on_breach = "warn"', f'on_breach = "warn"\ncategories = {{ {"g" * 129} = "1%" }}'
    )
    path = tmp_path / "names.toml"
    path.write_text(text)
    with pytest.raises(RulesetError) as raised:
        Engine.from_toml(path)
    rendered = raised.value.render()
    # a promotion is named by index, or by id where diagnostics name promotions by id
    promotion = r'promotion(\[0\]| "tiers")'
    assert re.search(rf"PR103 {promotion}\.segments\[0\]: at most 128 characters", rendered)
    assert re.search(rf"PR103 {promotion}\.channels\[1\]: at most 128 characters", rendered)
    assert "PR103 guardrails.categories." + "g" * 129 + ": a category name is at most" in rendered


@pytest.mark.parametrize("remaining", [[("k", 1)], "k", 5], ids=repr)
def test_a_snapshot_takes_a_mapping(remaining: Any) -> None:
    with pytest.raises(TypeError, match=r"^Snapshot\.remaining maps CounterKey to int, not a"):
        Snapshot(remaining)
