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

import csv
import json
from collections.abc import Mapping
from datetime import date, datetime, time, tzinfo
from pathlib import Path as FilePath
from typing import Any

import attrs

from promorules.cart import MAX_CHOICES, MAX_CODE_LENGTH, MAX_CODES, Cart, Customer, Line
from promorules.diagnostics import Collector, Path, RulesetError
from promorules.money import MoneyError, parse_amount

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Largest cart or TOML catalogue read (held in memory whole); a CSV catalogue is
streamed and bounded by :data:`MAX_CATALOG_ITEMS` instead."""
MAX_CATALOG_ITEMS = 5_000_000
MAX_LINES = 10_000

_CART_KEYS = (
    "at",
    "channel",
    "coupons",
    "choices",
    "shipping",
    "customer",
    "lines",
    "currency",
)
_LINE_KEYS = (
    "sku",
    "quantity",
    "unit_price",
    "unit_cost",
    "category",
    "brand",
    "merchant",
    "tags",
    "title",
    "deposit_paid",
)
_CUSTOMER_KEYS = ("id", "segments", "tags")
_CATALOG_KEYS = ("sku", "price", "cost", "category", "brand", "merchant", "tags", "title")


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


def _read(path: str | FilePath, what: str, code: str) -> tuple[str, str]:
    source = str(path)
    try:
        size = FilePath(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise OSError(f"file is {size} bytes; at most {MAX_FILE_BYTES} are read")
        return FilePath(path).read_text(encoding="utf-8"), source
    except (OSError, UnicodeDecodeError) as exc:
        collector = Collector(source)
        collector.add(code, f"cannot read {what}: {exc}")
        raise RulesetError(collector.diagnostics()) from None


def _parse(text: str, source: str) -> tuple[Any, Mapping[Path, tuple[int, int]]]:
    if source.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            collector = Collector(source, {(): (exc.lineno, exc.colno)})
            collector.add("PR002", f"JSON syntax error: {exc.msg}")
            raise RulesetError(collector.diagnostics()) from None
        except RecursionError:  # [[[[...: the parser's stack ran out before the text did
            collector = Collector(source)
            collector.add("PR002", "JSON nested too deeply to be a cart")
            raise RulesetError(collector.diagnostics()) from None
        from promorules.jsonpos import key_positions

        return data, key_positions(text)
    from promorules.ruleset import read_toml

    return read_toml(text, source)


def load_catalog(file: str | FilePath, currency: str) -> dict[str, CatalogItem]:
    """Read a catalogue: CSV with a header row, or TOML with ``[[item]]`` tables.

    A CSV catalogue is streamed: read a row at a time, with no size limit beyond
    :data:`MAX_CATALOG_ITEMS`, and only the rows with a problem keep their position (a
    catalogue of a million skus is read in one pass, holding its items alone)."""
    source = str(file)
    if source.endswith(".csv"):
        return _stream_csv(file, source, currency)
    text, source = _read(file, "catalogue", "PR001")
    out = Collector(source)
    data, positions = _parse(text, source)
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
    line = 1  # where reading stopped, should it fail (the row after the last one read)
    try:
        with FilePath(file).open("rb") as handle:
            # decoded a line at a time, so a bad byte is reported on its own line
            reader = csv.DictReader(raw.decode("utf-8") for raw in handle)
            for field in reader.fieldnames or []:
                if field not in _CATALOG_KEYS:
                    out.add(
                        "PR302",
                        f"unknown column {field[:40]!r}; known: {', '.join(_CATALOG_KEYS)}",
                    )
            for index, record in enumerate(reader):
                if index >= MAX_CATALOG_ITEMS:
                    out.positions[("item", index)] = (reader.line_num, 1)
                    out.add("PR302", f"at most {MAX_CATALOG_ITEMS} items", ("item", index))
                    break
                where: Path = ("item", index)
                before = len(out.problems)
                # the physical line: a quoted field may span lines
                out.positions[where] = (reader.line_num, 1)
                line = reader.line_num + 1
                extra = record.pop(None, None)
                if extra:
                    out.add("PR302", f"row has {len(extra)} more field(s) than the header", where)
                # unknown columns were reported once, on the header, not again on every row
                row = {
                    k: v for k, v in record.items() if k in _CATALOG_KEYS and v not in ("", None)
                }
                _catalog_item(where, row, currency, catalog, out)
                if len(out.problems) == before:
                    del out.positions[where]  # only rows with a problem keep where they are
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        collector = Collector(source, {(): (line, 1)})
        collector.add("PR001", f"cannot read catalogue: {exc}")
        raise RulesetError(collector.diagnostics()) from None
    out.raise_if_errors()
    return catalog


def _catalog_item(
    where: Path, row: object, currency: str, catalog: dict[str, CatalogItem], out: Collector
) -> None:
    """Check one catalogue row and add it to ``catalog`` (problems go to ``out``)."""
    if not isinstance(row, Mapping):
        out.add("PR302", "an item is a table", where)
        return
    for key in row:
        if key not in _CATALOG_KEYS:
            out.add("PR302", f"unknown key {str(key)[:40]!r}", (*where, key))
    sku = row.get("sku")
    if not isinstance(sku, str) or not sku:
        out.add("PR302", "every item needs a sku", (*where, "sku"))
        return
    if sku in catalog:
        out.add("PR302", f"sku {sku[:40]!r} listed twice", (*where, "sku"))
    price = _money(row.get("price"), currency, (*where, "price"), out, "PR302")
    cost = _money(row.get("cost"), currency, (*where, "cost"), out, "PR302")
    raw_tags = row.get("tags", ())
    tags = (
        tuple(t for t in raw_tags.split("|") if t)
        if isinstance(raw_tags, str)
        else tuple(str(t) for t in raw_tags)
    )
    item = CatalogItem(
        sku,
        price,
        cost,
        str(row.get("category", "")),
        str(row.get("brand", "")),
        str(row.get("merchant", "")),
        tags,
        str(row.get("title", "")),
    )
    try:  # an item must make a valid line: the API's bounds, checked once, here
        Line(
            sku,
            1,
            price or 0,
            cost or 0,
            item.category,
            item.brand,
            item.merchant,
            tags,
            item.title,
        )
    except (TypeError, ValueError) as exc:
        out.add("PR302", str(exc), where)
        return
    catalog[sku] = item


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
    text, source = _read(path, "cart", "PR001")
    data, positions = _parse(text, source)
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
        if key not in _CART_KEYS:
            out.add(
                "PR301", f"unknown key {str(key)[:40]!r}; known: {', '.join(_CART_KEYS)}", (key,)
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
    if not isinstance(raw, dict):
        out.add("PR301", "a line is a table", path)
        return None
    for key in raw:
        if key not in _LINE_KEYS:
            out.add(
                "PR301",
                f"unknown key {str(key)[:40]!r}; known: {', '.join(_LINE_KEYS)}",
                (*path, key),
            )
    sku = raw.get("sku")
    if not isinstance(sku, str) or not sku or len(sku) > 128:
        out.add(
            "PR301", "every line needs a sku (a string of at most 128 characters)", (*path, "sku")
        )
        return None
    item = catalog.get(sku) if catalog is not None else None
    if catalog is not None and item is None and "unit_price" not in raw:
        out.add(
            "PR301",
            f"sku {sku!r} is not in the catalogue and the line gives no unit_price",
            (*path, "sku"),
        )
        return None
    quantity = raw.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 10**6:
        out.add("PR301", "quantity must be a whole number from 1 to 1000000", (*path, "quantity"))
        return None
    price = _money(raw.get("unit_price"), currency, (*path, "unit_price"), out)
    cost = _money(raw.get("unit_cost"), currency, (*path, "unit_cost"), out)
    deposit = _money(raw.get("deposit_paid"), currency, (*path, "deposit_paid"), out) or 0
    if price is None and item is not None:
        price = item.price
    if cost is None and item is not None:
        cost = item.cost
    if price is None:
        if "unit_price" not in raw:
            out.add(
                "PR301", "unit_price is missing (and no catalogue gives it)", (*path, "unit_price")
            )
        return None

    def text(key: str, fallback: str) -> str:
        value = raw.get(key, fallback)
        if not isinstance(value, str):
            out.add("PR301", f"{key} must be a string", (*path, key))
            return fallback
        return value

    tags = (
        _strings(raw["tags"], (*path, "tags"), out)
        if "tags" in raw
        else (item.tags if item is not None else ())
    )
    try:
        return Line(
            sku,
            quantity,
            price,
            cost or 0,
            text("category", item.category if item else ""),
            text("brand", item.brand if item else ""),
            text("merchant", item.merchant if item else ""),
            tags,
            text("title", item.title if item else ""),
            deposit,
        )
    except (TypeError, ValueError) as exc:  # the API's bounds (amounts, lengths, deposit)
        out.add("PR301", str(exc), path)
        return None
