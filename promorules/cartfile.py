"""Reading sample carts (JSON or TOML) and catalogues (CSV or TOML) for the CLI.

A cart file names its lines by sku; a catalogue may supply each sku's price, cost,
category, brand and merchant so sample carts stay short (a value written in the cart
wins over the catalogue). Every problem is collected and reported with its location,
as for rulesets.

Cart file shape (TOML shown; JSON has the same keys)::

    at = 2026-11-11T10:00:00        # optional: default pricing time (campaign zone)
    channel = "app"                 # optional
    coupons = ["D11-PLAT-20"]       # optional
    choices = { gift-pick = "MUG" } # optional: promotion id -> option the customer picked
    shipping = "10.00"              # optional shipping fee
    [customer]
    id = "c-1001"
    segments = ["member"]
    [[lines]]
    sku = "LIP-001"
    quantity = 2
    unit_price = "199.00"           # optional with a catalogue
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, tzinfo
from pathlib import Path as FilePath
from typing import Any

import attrs

from promorules.cart import MAX_CHOICES, MAX_CODE_LENGTH, MAX_CODES, Cart, Customer, Line
from promorules.diagnostics import Collector, Path
from promorules.money import MAX_AMOUNT, MoneyError, format_amount, parse_amount
from promorules.reading import csv_records, load_document
from promorules.records import CATALOG_KEYS, LINE_KEYS, CatalogRecord, LineRecord, structure

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Largest cart or TOML catalogue read (held in memory whole); a CSV catalogue is
streamed and bounded by :data:`MAX_CATALOG_ITEMS` instead."""
MAX_CATALOG_ITEMS = 5_000_000
MAX_CATALOG_BYTES = 1 << 30
"""Most bytes of a CSV catalogue read (it is streamed: a million skus is about 73 MB)."""
MAX_LINES = 10_000

CART_KEYS = (
    "at",
    "channel",
    "coupons",
    "choices",
    "shipping",
    "customer",
    "lines",
    "currency",
)
_CUSTOMER_KEYS = ("id", "segments", "tags")


@attrs.frozen
class CatalogItem:
    sku: str
    price: int | None = None
    cost: int | None = None
    category: str = ""
    brand: str = ""
    merchant: str = ""
    tags: tuple[str, ...] = ()
    title: str = ""


@attrs.frozen
class CartFile:
    """A cart read from a file, with the context values it carries (if any)."""

    cart: Cart
    at: datetime | None = None
    channel: str | None = None
    coupons: tuple[str, ...] = ()
    source: str = ""
    choices: tuple[tuple[str, str], ...] = ()


def load_catalog(file: str | FilePath, currency: str) -> dict[str, CatalogItem]:
    """Read a catalogue: CSV with a header row, or TOML with ``[[item]]`` tables.

    A CSV catalogue is streamed: read a record at a time through the reading layer, with
    no bound but :data:`MAX_CATALOG_BYTES` and :data:`MAX_CATALOG_ITEMS`, and only the
    rows with a problem keep their position (a catalogue of a million skus is read in
    one pass, holding its items alone). Every row is structured like a cart line
    (:class:`~promorules.records.CatalogRecord`) and must make a valid :class:`Line`."""
    source = str(file)
    if source.endswith(".csv"):
        return _stream_csv(file, source, currency)
    out = Collector(source)
    data, positions, _ = load_document(file, "catalogue", MAX_FILE_BYTES)
    out.positions.update(positions)
    items = data.get("item", []) if isinstance(data, dict) else None
    if not isinstance(items, list):
        out.add("PR302", "a TOML catalogue holds [[item]] tables", ("item",))
        items = []
    catalog: dict[str, CatalogItem] = {}
    for i, row in enumerate(items):
        _catalog_item(("item", i), row, currency, catalog, out)
    out.raise_if_errors()
    return catalog


def _stream_csv(file: str | FilePath, source: str, currency: str) -> dict[str, CatalogItem]:
    out = Collector(source)
    catalog: dict[str, CatalogItem] = {}
    records = csv_records(file, "catalogue", MAX_CATALOG_BYTES, "PR302")
    _, header = next(records, (1, []))
    for field in header:
        if field not in CATALOG_KEYS:
            out.add("PR302", f"unknown column {field[:40]!r}; known: {', '.join(CATALOG_KEYS)}")
    index = 0
    for line, fields in records:
        if not fields:
            continue  # a blank line is no item
        where: Path = ("item", index)
        out.positions[where] = (line, 1)
        if index >= MAX_CATALOG_ITEMS:
            out.add("PR302", f"at most {MAX_CATALOG_ITEMS} items", where)
            break
        before = len(out.problems)
        if len(fields) > len(header):
            extra = len(fields) - len(header)
            out.add("PR302", f"row has {extra} more field(s) than the header", where)
        # unknown columns were reported once, on the header, not again on every row
        row = {k: v for k, v in zip(header, fields, strict=False) if k in CATALOG_KEYS and v != ""}
        _catalog_item(where, row, currency, catalog, out)
        if len(out.problems) == before:
            del out.positions[where]  # only rows with a problem keep where they are
        index += 1
    out.raise_if_errors()
    return catalog


def _catalog_item(
    where: Path, row: object, currency: str, catalog: dict[str, CatalogItem], out: Collector
) -> None:
    """Structure one catalogue row and add it to ``catalog`` (problems go to ``out``)."""
    record = structure(row, CatalogRecord, currency, where, out, code="PR302", noun="item")
    if record is None:
        return
    if record.sku in catalog:
        out.add("PR302", f"sku {record.sku[:40]!r} listed twice", (*where, "sku"))
    item = CatalogItem(
        record.sku,
        record.price,
        record.cost,
        record.category,
        record.brand,
        record.merchant,
        record.tags,
        record.title,
    )
    try:  # an item must make a valid line: the API's bounds, checked once, here
        Line(
            item.sku,
            1,
            item.price or 0,
            item.cost or 0,
            item.category,
            item.brand,
            item.merchant,
            item.tags,
            item.title,
        )
    except (TypeError, ValueError) as exc:
        out.add("PR302", str(exc), where)
        return
    catalog[record.sku] = item


def _money(
    value: Any, currency: str, path: Path, out: Collector, code: str = "PR301"
) -> int | None:
    if value is None:
        return None
    try:
        minor = parse_amount(value, currency)
    except MoneyError as exc:
        out.add(code, str(exc), path)
        return None
    if minor < 0:
        out.add(code, "must not be negative", path)
        return None
    return minor


def _strings(value: Any, path: Path, out: Collector) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        out.add("PR301", "expected a list of strings", path)
        return ()
    return tuple(value)


def load_cart(
    path: str | FilePath,
    currency: str,
    tz: tzinfo,
    catalog: Mapping[str, CatalogItem] | None = None,
) -> CartFile:
    """Read a cart file; raises RulesetError listing every problem found."""
    data, positions, source = load_document(path, "cart", MAX_FILE_BYTES)
    return build_cart(data, currency, tz, catalog, source=source, positions=positions)


def build_cart(
    data: Any,
    currency: str,
    tz: tzinfo,
    catalog: Mapping[str, CatalogItem] | None = None,
    *,
    source: str = "<cart>",
    positions: Mapping[Path, tuple[int, int]] | None = None,
) -> CartFile:
    out = Collector(source, dict(positions or {}))
    if not isinstance(data, dict):
        out.add("PR301", "a cart is a table (a JSON object)")
        out.raise_if_errors()
    for key in data:
        if key not in CART_KEYS:
            out.add(
                "PR301", f"unknown key {str(key)[:40]!r}; known: {', '.join(CART_KEYS)}", (key,)
            )
    declared = data.get("currency", currency)
    if declared != currency:
        out.add(
            "PR301",
            f"cart is in {str(declared)[:8]!r} but the ruleset prices in {currency}",
            ("currency",),
        )
    at = _moment(data.get("at"), tz, out)
    channel = data.get("channel")
    if channel is not None and not isinstance(channel, str):
        out.add("PR301", "channel must be a string", ("channel",))
        channel = None
    coupons = _strings(data.get("coupons"), ("coupons",), out)
    if len(coupons) > MAX_CODES:
        out.add("PR301", f"at most {MAX_CODES} coupon codes", ("coupons",))
    for i, code in enumerate(coupons):
        if len(code) > MAX_CODE_LENGTH:
            out.add(
                "PR301",
                f"coupon code too long ({len(code)} characters, at most {MAX_CODE_LENGTH})",
                ("coupons", i),
            )
    choices = _choices(data.get("choices"), out)
    shipping = _money(data.get("shipping", 0), currency, ("shipping",), out) or 0
    customer = _customer(data.get("customer", {}), out)
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        out.add("PR301", "a cart needs a non-empty list of lines", ("lines",))
        raw_lines = []
    if len(raw_lines) > MAX_LINES:
        out.add("PR301", f"at most {MAX_LINES} lines", ("lines",))
        raw_lines = []
    lines = [_line(raw, ("lines", i), currency, catalog, out) for i, raw in enumerate(raw_lines)]
    out.raise_if_errors()
    try:
        cart = Cart(tuple(line for line in lines if line is not None), customer, currency, shipping)
    except (TypeError, ValueError) as exc:  # the API's bounds: the list total, the shipping fee
        out.add("PR301", str(exc), ("lines",))
        out.raise_if_errors()
        raise  # pragma: no cover - raise_if_errors raised
    return CartFile(cart, at, channel, coupons[:MAX_CODES], source, choices)


def _choices(value: Any, out: Collector) -> tuple[tuple[str, str], ...]:
    """``choices``: a table of promotion id -> option (both short strings)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        out.add("PR301", 'choices is a table of promotion id = "option"', ("choices",))
        return ()
    pairs = []
    for key, option in value.items():
        if not isinstance(option, str):
            out.add("PR301", "a choice is a string (the option picked)", ("choices", key[:64]))
        elif len(key) > MAX_CODE_LENGTH or len(option) > MAX_CODE_LENGTH:
            out.add("PR301", f"at most {MAX_CODE_LENGTH} characters", ("choices", key[:64]))
        else:
            pairs.append((key, option))
    if len(pairs) > MAX_CHOICES:
        out.add("PR301", f"at most {MAX_CHOICES} choices", ("choices",))
        return ()
    return tuple(sorted(pairs))


def _moment(value: Any, tz: tzinfo, out: Collector) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            out.add("PR301", f"not a date-time: {value[:40]!r}", ("at",))
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=tz)
    out.add("PR301", "expected a date-time", ("at",))
    return None


def _customer(raw: Any, out: Collector) -> Customer:
    if not isinstance(raw, dict):
        out.add("PR301", "customer is a table", ("customer",))
        return Customer()
    for key in raw:
        if key not in _CUSTOMER_KEYS:
            out.add("PR301", f"unknown key {str(key)[:40]!r}", ("customer", key))
    ident = raw.get("id", "")
    if not isinstance(ident, str) or len(ident) > 128:
        out.add(
            "PR301", "customer id must be a string of at most 128 characters", ("customer", "id")
        )
        ident = ""
    try:
        return Customer(
            ident,
            frozenset(_strings(raw.get("segments"), ("customer", "segments"), out)),
            frozenset(_strings(raw.get("tags"), ("customer", "tags"), out)),
        )
    except (TypeError, ValueError) as exc:  # the API's bounds: how many, how long
        out.add("PR301", str(exc), ("customer",))
        return Customer(ident)


def _line(
    raw: Any,
    path: Path,
    currency: str,
    catalog: Mapping[str, CatalogItem] | None,
    out: Collector,
) -> Line | None:
    record = structure(
        raw,
        LineRecord,
        currency,
        path,
        out,
        code="PR301",
        noun="line",
        unknown=f"; known: {', '.join(LINE_KEYS)}",
        first_only=True,
    )
    if record is None:
        return None
    sku, quantity = record.sku, record.quantity
    item = catalog.get(sku) if catalog is not None else None
    if catalog is not None and item is None and record.unit_price is None:
        out.add(
            "PR301",
            f"sku {sku!r} is not in the catalogue and the line gives no unit_price",
            (*path, "sku"),
        )
        return None
    price: int | None = record.unit_price
    cost: int | None = record.unit_cost
    if price is None and item is not None:
        price = item.price
    if cost is None and item is not None:
        cost = item.cost
    deposit = record.deposit_paid or 0
    if price is None:
        out.add("PR301", "unit_price is missing (and no catalogue gives it)", (*path, "unit_price"))
        return None
    if price * quantity > MAX_AMOUNT:
        out.add(
            "PR301",
            f"the line's amount (unit_price x quantity) is beyond the largest amount "
            f"accepted ({format_amount(MAX_AMOUNT, currency)})",
            (*path, "quantity"),
        )
        return None
    if deposit > price * quantity:
        # the overpaid part would vanish from the quote: refused, not silently dropped
        out.add(
            "PR301",
            f"deposit_paid ({format_amount(deposit, currency)}) is more than the line's "
            f"amount ({format_amount(price * quantity, currency)})",
            (*path, "deposit_paid"),
        )
        return None

    def text(value: str | None, fallback: str) -> str:
        return value if value is not None else fallback

    tags = record.tags if record.tags is not None else (item.tags if item is not None else ())
    try:
        return Line(
            sku,
            quantity,
            price,
            cost or 0,
            text(record.category, item.category if item else ""),
            text(record.brand, item.brand if item else ""),
            text(record.merchant, item.merchant if item else ""),
            tags,
            text(record.title, item.title if item else ""),
            deposit,
        )
    except (TypeError, ValueError) as exc:  # a bound Line itself holds: located, not raised
        out.add("PR301", str(exc), path)
        return None
