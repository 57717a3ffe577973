"""Cart files (JSON, TOML) and catalogues (CSV, TOML) as the CLI reads them.

Values come from the catalogue unless the cart line gives its own; every malformed
cart is refused with located problems (``file:line:col: PR301 path: message``).
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from promorules.cart import MAX_CODE_LENGTH, MAX_CODES
from promorules.cartfile import CatalogItem, build_cart, load_cart, load_catalog
from promorules.diagnostics import Diagnostic, RulesetError

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")

CATALOG_CSV = """sku,title,price,cost,category,brand,merchant,tags
LUMI-SERUM,Lumi serum,329.00,98.00,beauty,Lumi,lumi-beauty,hero|new
NOVA-BUDS,Nova buds,499,310,digital,Nova,nova-digital,
"""

CATALOG_TOML = """
[[item]]
sku = "LUMI-SERUM"
title = "Lumi serum"
price = "329.00"
cost = "98.00"
category = "beauty"
merchant = "lumi-beauty"
tags = ["hero", "new"]

[[item]]
sku = "NOVA-BUDS"
price = 499
cost = "310.00"
category = "digital"
merchant = "nova-digital"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, catalog: dict[str, CatalogItem] | None = None) -> list[Diagnostic]:
    with pytest.raises(RulesetError) as caught:
        load_cart(path, "CNY", SHANGHAI, catalog)
    return list(caught.value.diagnostics)


@pytest.fixture(params=["csv", "toml"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, CatalogItem]:
    text = CATALOG_CSV if request.param == "csv" else CATALOG_TOML
    return load_catalog(write(tmp_path, f"catalog.{request.param}", text), "CNY")


# ----------------------------------------------------------------------------- catalogues


def test_catalog_csv_and_toml_read_the_same_items(catalog: dict[str, CatalogItem]) -> None:
    serum = catalog["LUMI-SERUM"]
    assert (serum.price, serum.cost, serum.category, serum.merchant) == (
        32900,
        9800,
        "beauty",
        "lumi-beauty",
    )
    assert serum.tags == ("hero", "new")
    assert (catalog["NOVA-BUDS"].price, catalog["NOVA-BUDS"].cost) == (49900, 31000)
    assert catalog["NOVA-BUDS"].tags == ()


def test_the_example_catalog_loads() -> None:
    items = load_catalog(ROOT / "rulesets" / "catalog.csv", "CNY")
    assert items["HEARTH-TOWEL"].price == 4900
    assert items["HEARTH-TOWEL"].cost == 1500


@pytest.mark.parametrize(
    ("name", "text", "where", "fragment"),
    [
        ("c.csv", "sku,price,colour\nA,1.00,red\n", (1, 1), "unknown column 'colour'"),
        ("c.csv", "sku,price\nA,1.005\n", (2, 1), "more precise than CNY"),
        ("c.csv", "sku,price\nA,-1\n", (2, 1), "must not be negative"),
        ("c.csv", "sku,price\nA,1\nA,2\n", (3, 1), "listed twice"),
        ("c.csv", "sku,price\n,1\n", (2, 1), "every item needs a sku"),
        ("c.csv", "sku,price\nA,1,2\n", (2, 1), "row has 1 more field(s) than the header"),
        ("c.csv", 'sku,title,price\nA,"two\nlines",1\nB,b,1.001\n', (4, 1), "more precise"),
        ("c.toml", '[[item]]\nsku = "A"\nprice = 1.5\n', (3, 1), "not a float"),
        ("c.toml", '[[item]]\nsku = "A"\ncolour = "red"\n', (3, 1), "unknown key 'colour'"),
        ("c.toml", 'item = "A"\n', (1, 1), "[[item]] tables"),
    ],
)
def test_catalog_problems_are_located(
    tmp_path: Path, name: str, text: str, where: tuple[int, int], fragment: str
) -> None:
    with pytest.raises(RulesetError) as caught:
        load_catalog(write(tmp_path, name, text), "CNY")
    (first,) = caught.value.diagnostics
    assert (first.code, first.line, first.column) == ("PR302", *where)
    assert fragment in first.message


# ----------------------------------------------------------------------------- good carts

CART_TOML = """
at = 2026-11-11T10:00:00
channel = "app"
coupons = ["D11-20"]
shipping = "10.00"

[customer]
id = "c-1"
segments = ["member"]

[[lines]]
sku = "LUMI-SERUM"
quantity = 2

[[lines]]
sku = "NOVA-BUDS"
unit_price = "459.00"
category = "audio"

[[lines]]
sku = "OFF-CATALOG"
unit_price = 12
unit_cost = "3.50"
merchant = "elsewhere"
"""


def cart_json() -> str:
    return json.dumps(
        {
            "at": "2026-11-11T10:00:00",
            "channel": "app",
            "coupons": ["D11-20"],
            "shipping": "10.00",
            "customer": {"id": "c-1", "segments": ["member"]},
            "lines": [
                {"sku": "LUMI-SERUM", "quantity": 2},
                {"sku": "NOVA-BUDS", "unit_price": "459.00", "category": "audio"},
                {
                    "sku": "OFF-CATALOG",
                    "unit_price": 12,
                    "unit_cost": "3.50",
                    "merchant": "elsewhere",
                },
            ],
        }
    )


@pytest.mark.parametrize("form", ["toml", "json"])
def test_cart_takes_catalogue_values_unless_the_line_overrides_them(
    form: str, tmp_path: Path, catalog: dict[str, CatalogItem]
) -> None:
    text = CART_TOML if form == "toml" else cart_json()
    loaded = load_cart(write(tmp_path, f"cart.{form}", text), "CNY", SHANGHAI, catalog)
    serum, buds, other = loaded.cart.lines
    assert (serum.quantity, serum.unit_price, serum.unit_cost) == (2, 32900, 9800)
    assert (serum.category, serum.merchant, serum.tags, serum.title) == (
        "beauty",
        "lumi-beauty",
        ("hero", "new"),
        "Lumi serum",
    )
    assert (buds.quantity, buds.unit_price, buds.unit_cost) == (1, 45900, 31000)
    assert (buds.category, buds.merchant) == ("audio", "nova-digital")
    assert (other.unit_price, other.unit_cost, other.merchant) == (1200, 350, "elsewhere")
    assert loaded.cart.shipping == 1000
    assert loaded.cart.customer.segments == frozenset({"member"})
    assert loaded.coupons == ("D11-20",)
    assert loaded.channel == "app"
    assert loaded.at is not None
    assert loaded.at.isoformat() == "2026-11-11T10:00:00+08:00"  # local: campaign zone


def test_the_example_carts_load() -> None:
    catalog = load_catalog(ROOT / "rulesets" / "catalog.csv", "CNY")
    for path in sorted((ROOT / "rulesets" / "carts").iterdir()):
        assert load_cart(path, "CNY", SHANGHAI, catalog).cart.lines


def test_cart_without_catalogue_needs_unit_prices(tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", '[[lines]]\nsku = "A"\n')
    (only,) = problems(path)
    # located at the line's [[lines]] header: the key it lacks has no position
    assert str(only) == f"{path}:1:1: PR301 lines[0].unit_price: " + (
        "unit_price is missing (and no catalogue gives it)"
    )


# ----------------------------------------------------------------------------- bad carts

LINE = '[[lines]]\nsku = "LUMI-SERUM"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'colour = "red"\n' + LINE,
            "1:1: PR301 colour: unknown key 'colour'; known: at, channel, coupons, choices, "
            "shipping, customer, lines, currency",
        ),
        (
            LINE + "quantity = 2\nprise = 3\n",
            "4:1: PR301 lines[0].prise: unknown key 'prise'; known: sku, quantity, unit_price, "
            "unit_cost, category, brand, merchant, tags, title, deposit_paid",
        ),
        (
            LINE + "unit_price = 299.0\n",
            "3:1: PR301 lines[0].unit_price: amount must be a string or an integer, not a float "
            '(write "299.0")',
        ),
        (
            "[[lines]]\nquantity = 1\n",
            "1:1: PR301 lines[0].sku: every line needs a sku (a string of at most 128 characters)",
        ),
        (
            '[[lines]]\nsku = "NOPE"\n',
            "2:1: PR301 lines[0].sku: sku 'NOPE' is not in the catalogue and the line gives no "
            "unit_price",
        ),
        (
            LINE + "quantity = -1\n",
            "3:1: PR301 lines[0].quantity: quantity must be a whole number from 1 to 1000000",
        ),
        (
            LINE + 'quantity = "2"\n',
            "3:1: PR301 lines[0].quantity: quantity must be a whole number from 1 to 1000000",
        ),
        (
            LINE + "quantity = true\n",
            "3:1: PR301 lines[0].quantity: quantity must be a whole number from 1 to 1000000",
        ),
        (
            'currency = "USD"\n' + LINE,
            "1:1: PR301 currency: cart is in 'USD' but the ruleset prices in CNY",
        ),
        (
            "coupons = [" + ", ".join(f'"C{i}"' for i in range(MAX_CODES + 1)) + "]\n" + LINE,
            f"1:1: PR301 coupons: at most {MAX_CODES} coupon codes",
        ),
        (
            'shipping = "-5.00"\n' + LINE,
            "1:1: PR301 shipping: must not be negative",
        ),
        (
            'at = "11 November"\n' + LINE,
            "1:1: PR301 at: not a date-time: '11 November'",
        ),
        (
            LINE + 'unit_cost = "1.001"\n',
            "3:1: PR301 lines[0].unit_cost: '1.001' is more precise than CNY allows "
            "(2 decimal places)",
        ),
        (
            'customer = "c-1"\n' + LINE,
            "1:1: PR301 customer: customer is a table",
        ),
        (
            "lines = []\n",
            "1:1: PR301 lines: a cart needs a non-empty list of lines",
        ),
    ],
)
def test_malformed_toml_carts_are_refused_with_located_problems(
    tmp_path: Path, catalog: dict[str, CatalogItem], text: str, expected: str
) -> None:
    path = write(tmp_path, "cart.toml", text)
    assert [str(d) for d in problems(path, catalog)] == [f"{path}:{expected}"]


def test_every_problem_in_a_cart_is_reported(
    tmp_path: Path, catalog: dict[str, CatalogItem]
) -> None:
    text = (
        'colour = "red"\n'
        '[[lines]]\nsku = "NOPE"\n'
        '[[lines]]\nsku = "LUMI-SERUM"\nquantity = 0\n'
        '[[lines]]\nsku = "NOVA-BUDS"\nunit_price = 1.5\n'
    )
    found = problems(write(tmp_path, "cart.toml", text), catalog)
    assert [(d.line, d.path) for d in found] == [
        (1, ("colour",)),
        (3, ("lines", 0, "sku")),
        (6, ("lines", 1, "quantity")),
        (9, ("lines", 2, "unit_price")),
    ]


def test_a_10_mb_coupon_code_is_refused_briefly(tmp_path: Path) -> None:
    code = "X" * 10_000_000
    path = write(tmp_path, "cart.json", json.dumps({"coupons": [code], "lines": [{"sku": "A"}]}))
    found = problems(path, {"A": CatalogItem("A", 100)})
    assert [str(d) for d in found] == [
        f"{path}:1:14: PR301 coupons[0]: coupon code too long "
        f"(10000000 characters, at most {MAX_CODE_LENGTH})"
    ]


@pytest.mark.parametrize("text", ["[1, 2]", '"cart"', "null", "3"])
def test_a_json_cart_that_is_not_an_object_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "cart.json", text)
    (only,) = problems(path)
    assert str(only) == f"{path}:1:1: PR301 a cart is a table (a JSON object)"


def test_broken_json_is_located_by_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "cart.json", '{\n  "lines": [\n    {"sku": "A",}\n  ]\n}\n')
    (only,) = problems(path)
    # the stray comma at column 16 of line 3 is followed by "}" at column 17
    message = "JSON syntax error: Expecting property name enclosed in double quotes"
    assert str(only) == f"{path}:3:17: PR002 {message}"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("cart.json", "[" * 100_000 + "]" * 100_000, "JSON nested too deeply to be a cart"),
        (
            "cart.toml",
            "lines = " + "[" * 100_000 + "]" * 100_000,
            "TOML nested too deeply (arrays or inline tables)",
        ),
    ],
)
def test_a_cart_nested_past_the_parsers_stack_is_a_diagnostic(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = write(tmp_path, name, text)
    (only,) = problems(path)
    assert str(only) == f"{path}:1:1: PR002 {message}"


def test_broken_toml_cart_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "cart.toml", '[[lines]]\nsku = "A\n')
    (only,) = problems(path)
    assert (only.code, only.line) == ("PR002", 2)


def test_json_cart_problems_name_the_key_path_and_its_position(tmp_path: Path) -> None:
    data = {"lines": [{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2.0}]}
    found = problems(write(tmp_path, "cart.json", json.dumps(data)), {"A": CatalogItem("A", 1)})
    assert [d.path for d in found] == [("lines", 1, "quantity")]
    assert [(d.line, d.column) for d in found] == [(1, 54)]  # the second "quantity" key
    text = (
        '{\n  "lines": [\n    {"sku": "A"},\n    {"sku": "A", "quantity": 0}\n  ],\n  "x": 1\n}\n'
    )
    found = problems(write(tmp_path, "cart.json", text), {"A": CatalogItem("A", 1)})
    assert [(d.line, d.column, d.path) for d in found] == [
        (4, 18, ("lines", 1, "quantity")),
        (6, 3, ("x",)),
    ]


def test_unreadable_cart_is_pr001(tmp_path: Path) -> None:
    (only,) = problems(tmp_path / "missing.json")
    assert only.code == "PR001"


def test_build_cart_from_data_checks_the_same_way() -> None:
    with pytest.raises(RulesetError) as caught:
        build_cart(
            {"lines": [{"sku": "A", "unit_price": "1.00", "deposit_paid": "-1"}]}, "CNY", SHANGHAI
        )
    assert [d.path for d in caught.value.diagnostics] == [("lines", 0, "deposit_paid")]


def test_a_csv_catalogue_is_streamed_past_the_size_a_file_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import promorules.cartfile as cartfile

    monkeypatch.setattr(cartfile, "MAX_FILE_BYTES", 64)  # far below either file
    rows = "".join(f"SKU-{n},{n}.00,{n // 2}.00,home\n" for n in range(1, 2001))
    items = load_catalog(write(tmp_path, "big.csv", "sku,price,cost,category\n" + rows), "CNY")
    assert len(items) == 2000
    assert items["SKU-2000"].price == 200000
    with pytest.raises(RulesetError, match="larger than 64 bytes"):
        load_catalog(write(tmp_path, "big.toml", CATALOG_TOML), "CNY")


def test_a_catalogue_that_stops_decoding_midway_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    good = b"".join(b"SKU-%d,1.00\n" % n for n in range(3000))  # past a read buffer
    path.write_bytes(b"sku,price\n" + good + b"C\xff\xfe,3.00\n")
    with pytest.raises(RulesetError) as caught:
        load_catalog(path, "CNY")
    (first,) = caught.value.diagnostics
    assert first.code == "PR001"
    assert "cannot read catalogue" in first.message
    assert first.line == 3002  # the header, 3,000 good rows, then the bad one


def test_a_problem_on_a_late_row_of_a_long_catalogue_is_located_there(tmp_path: Path) -> None:
    rows = [f"SKU-{n},{n}.00\n" for n in range(1, 5001)]
    rows[4321] = "SKU-BAD,1.001\n"
    path = write(tmp_path, "c.csv", "sku,price\n" + "".join(rows))
    with pytest.raises(RulesetError) as caught:
        load_catalog(path, "CNY")
    (first,) = caught.value.diagnostics
    assert (first.code, first.line) == ("PR302", 4323)
    assert first.path == ("item", 4321, "price")
