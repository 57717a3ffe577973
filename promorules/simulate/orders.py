"""Order logs: reading orders to replay, one a row, streaming, with located errors.

An order log is CSV (a header row, then one order a row) or JSON Lines (one JSON
object a line). Either holds, per order:

- ``time`` (required): ISO 8601; a time without an offset is in the campaign's zone;
- ``order``: an id (default: ``line-<n>``); ``customer``: the customer id;
- ``segment``: the customer's segments (``member`` or ``member|new``; a JSON list too);
- ``channel``; ``coupons``: codes presented (``D11-20|VIP``; a JSON list too);
- ``lines`` (required): ``SKU*QTY`` items separated by ``;`` (``LUMI-SERUM*2;NOVA-CABLE``),
  a quantity of 1 by default and ``@PRICE`` to override the catalogue's unit price
  (``NOVA-BUDS*1@459.00``). In JSON, a list of such strings or of objects with the keys
  of a cart file line (``sku``, ``quantity``, ``unit_price``, ``unit_cost``, ...);
- ``shipping``: the shipping fee;
- ``deposits``: at the final payment of a deposit pre-sale, the deposit already paid
  per sku (``HEARTH-DUVET=100.00``, several joined by ``|``; a JSON list too), set on
  the order's line of that sku (``Line.deposit_paid``). In JSON a line object may give
  ``deposit_paid`` itself.

Sku facts (price, cost, category, brand, merchant) come from the catalogue unless the
row gives them. Rows are read lazily and never all held: memory stays flat however
long the log. A bad row is an :class:`OrderError` naming ``file:line``. A quoted CSV
field may hold newlines: a row ends at a newline outside quotes, and :func:`plan_blocks`
cuts the log into byte ranges that workers read on their own only at such newlines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, tzinfo
from pathlib import Path as FilePath
from typing import Any, BinaryIO, NoReturn

import attrs

from promorules.cart import MAX_CODE_LENGTH, MAX_CODES, Cart, Customer, Line
from promorules.cartfile import MAX_LINES, CatalogItem
from promorules.diagnostics import Collector, Diagnostic, RulesetError, format_path
from promorules.money import MAX_AMOUNT, MoneyError, parse_amount
from promorules.reading import MAX_DEPTH, MAX_INT_DIGITS, csv_fields, deepest, open_input
from promorules.records import LineRecord, structure

MAX_ROW_BYTES = 1024 * 1024
"""Longest order row accepted; longer is an error, not a silent truncation."""
COLUMNS = (
    "time",
    "order",
    "customer",
    "segment",
    "channel",
    "lines",
    "coupons",
    "shipping",
    "deposits",
)
_CACHE_LIMIT = 20_000
"""Most distinct lines and customers kept for reuse; past it the cache starts afresh."""


class OrderError(RulesetError):
    """A row of an order log that cannot be replayed, located as ``file:line``."""

    def __init__(self, file: str, line: int, message: str, code: str = "PR303") -> None:
        self.diagnostic = Diagnostic(code, message, (), file, line, 1)
        super().__init__([self.diagnostic])

    def __reduce__(self) -> tuple[type[OrderError], tuple[str, int, str, str]]:
        # raised in worker processes: travel back whole, not as a bare message
        d = self.diagnostic
        return (OrderError, (d.file, d.line, d.message, d.code))


class Order:
    """One order to replay: when, the cart, and the context it was placed in."""

    __slots__ = ("at", "cart", "channel", "coupons", "id", "line", "segment", "ts")

    def __init__(
        self,
        at: datetime,
        cart: Cart,
        channel: str | None,
        coupons: tuple[str, ...],
        ident: str,
        line: int,
        segment: str,
    ) -> None:
        self.at = at
        self.ts = at.timestamp()
        self.cart = cart
        self.channel = channel
        self.coupons = coupons
        self.id = ident
        self.line = line
        self.segment = segment


@attrs.frozen
class LogFormat:
    """How a log's rows are written: ``csv`` with its header columns, or ``jsonl``."""

    kind: str
    columns: tuple[str, ...] = ()
    first_line: int = 1
    """Line number of the first order row (2 after a CSV header)."""


def detect_format(path: str | FilePath) -> LogFormat:
    """The log's format by its extension; a CSV log's header is read and checked."""
    source = str(path)
    suffix = FilePath(path).suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise OrderError(source, 1, "an order log is .csv or .jsonl (JSON Lines)", "PR001")
    if suffix != ".csv":
        open_log(path).close()  # refused now, not in a worker, if it is no regular file
        return LogFormat("jsonl")
    try:
        with open_log(path) as handle:
            raw = handle.readline(MAX_ROW_BYTES + 1)
    except OSError as exc:
        raise OrderError(source, 1, f"cannot read order log: {exc}", "PR001") from None
    try:
        header = raw.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise OrderError(source, 1, "the header is not UTF-8 text") from None
    try:
        columns = tuple(c.strip() for c in csv_fields(header))
    except ValueError as exc:
        raise OrderError(source, 1, f"the header cannot be read: {exc}") from None
    for column in columns:
        if column not in COLUMNS:
            raise OrderError(
                source, 1, f"unknown column {column[:40]!r}; known: {', '.join(COLUMNS)}"
            )
    for required in ("time", "lines"):
        if required not in columns:
            raise OrderError(source, 1, f"the header lacks the {required!r} column")
    if len(set(columns)) != len(columns):
        raise OrderError(source, 1, "a column is named twice in the header")
    return LogFormat("csv", columns, 2)


def open_log(path: str | FilePath) -> BinaryIO:
    """The log opened for reading; a FIFO, device or directory is a PR001 OrderError."""
    try:
        return open_input(path, "order log")
    except RulesetError as exc:
        first = exc.diagnostics[0]
        raise OrderError(first.file, first.line, first.message, first.code) from None


@attrs.frozen
class Block:
    """A byte range of a log holding whole rows, and the line number it starts at."""

    start: int
    end: int
    first_line: int


def plan_blocks(path: str | FilePath, fmt: LogFormat, size: int) -> Iterator[Block]:
    """Cut the log into blocks of about ``size`` bytes, each ending at a row's end.

    Lazily: one block's bytes are read at a time (to count its lines), so planning a
    large log holds no more than one block.
    """
    with open_log(path) as handle:
        if fmt.kind == "csv":
            handle.readline(MAX_ROW_BYTES + 1)
        position, line = handle.tell(), fmt.first_line
        quoted = False  # inside a quoted CSV field, where a newline does not end a row
        while True:
            data = handle.read(size)
            if not data:
                return
            if not data.endswith(b"\n"):
                data += handle.readline()
            if fmt.kind == "csv":
                quoted ^= data.count(b'"') % 2 == 1
                while quoted and (more := handle.readline()):
                    data += more
                    quoted ^= more.count(b'"') % 2 == 1
            yield Block(position, position + len(data), line)
            position += len(data)
            line += data.count(b"\n")


def rows(
    path: str | FilePath, fmt: LogFormat, block: Block | None = None
) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw row)`` for every non-blank row of the log or of one block."""
    with open_log(path) as handle:
        if block is None:
            if fmt.kind == "csv":
                handle.readline(MAX_ROW_BYTES + 1)
            number, left = fmt.first_line, -1
        else:
            handle.seek(block.start)
            number, left = block.first_line, block.end - block.start
        while left != 0:
            raw = handle.readline(MAX_ROW_BYTES + 1 if left < 0 else min(left, MAX_ROW_BYTES + 1))
            if not raw:
                return
            if left > 0:
                left -= len(raw)
            # a CSV row goes on past a newline inside a quoted field (an odd count of
            # quotes so far); one row still holds at most MAX_ROW_BYTES
            while (
                fmt.kind == "csv"
                and raw.count(b'"') % 2 == 1
                and len(raw) <= MAX_ROW_BYTES
                and left != 0
            ):
                more = handle.readline(MAX_ROW_BYTES + 1 - len(raw) if left < 0 else left)
                if not more:
                    break
                if left > 0:
                    left -= len(more)
                raw += more
            if raw.strip():
                yield number, raw
            number += raw.count(b"\n") or 1


class OrderReader:
    """Turns raw rows into :class:`Order` values for one ruleset's currency and zone.

    Lines and customers repeat across a log; they are immutable, so each distinct one
    is built once and shared (bounded caches), which keeps reading cheap.
    """

    def __init__(
        self,
        source: str,
        fmt: LogFormat,
        currency: str,
        tz: tzinfo,
        catalog: Mapping[str, CatalogItem] | None,
    ) -> None:
        self.source = source
        self.fmt = fmt
        self.currency = currency
        self.tz = tz
        self.catalog = catalog or {}
        self._lines: dict[tuple[str, int, int | None], Line] = {}
        self._customers: dict[tuple[str, str], Customer] = {}

    def read(self, path: str | FilePath, block: Block | None = None) -> Iterator[Order]:
        for number, raw in rows(path, self.fmt, block):
            yield self.parse(raw, number)

    def parse(self, raw: bytes, number: int) -> Order:
        """One row as an :class:`Order`; raises OrderError located at ``number``."""
        if len(raw) > MAX_ROW_BYTES:
            self._fail(number, f"row is longer than {MAX_ROW_BYTES} bytes")
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            self._fail(number, "row is not UTF-8 text")
        if self.fmt.kind == "csv":
            try:
                fields = csv_fields(text)
            except ValueError as exc:
                self._fail(number, str(exc))
            if len(fields) != len(self.fmt.columns):
                self._fail(
                    number,
                    f"row has {len(fields)} fields; the header names {len(self.fmt.columns)}",
                )
            row: dict[str, Any] = {
                k: v for k, v in zip(self.fmt.columns, fields, strict=True) if v != ""
            }
        else:
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                self._fail(number, f"JSON syntax error at column {exc.colno}: {exc.msg}")
            except RecursionError:  # [[[[...: the parser's stack ran out first
                self._fail(number, "JSON nested too deeply to be an order")
            except ValueError:  # an integer literal past Python's digit limit
                self._fail(number, f"a number longer than {MAX_INT_DIGITS:,} digits")
            if deepest(row) is not None:
                self._fail(number, f"nested more than {MAX_DEPTH} levels deep")
            if not isinstance(row, dict):
                self._fail(number, "a row is a JSON object")
            for key in row:
                if key not in COLUMNS:
                    self._fail(
                        number, f"unknown key {str(key)[:40]!r}; known: {', '.join(COLUMNS)}"
                    )
        return self._order(row, number)

    def _fail(self, number: int, message: str) -> NoReturn:
        raise OrderError(self.source, number, message)

    def _order(self, row: Mapping[str, Any], number: int) -> Order:
        at = self._time(row.get("time"), number)
        ident = self._text(row.get("order", f"line-{number}"), "order", number)
        customer_id = self._text(row.get("customer", ""), "customer", number)
        segments = self._names(row.get("segment"), "segment", number)
        channel = row.get("channel")
        if channel is not None:
            channel = self._text(channel, "channel", number)
        coupons = self._names(row.get("coupons"), "coupons", number)
        if len(coupons) > MAX_CODES:
            self._fail(number, f"at most {MAX_CODES} coupon codes may be presented")
        if any(len(code) > MAX_CODE_LENGTH for code in coupons):
            self._fail(number, f"a coupon code is at most {MAX_CODE_LENGTH} characters")
        shipping = 0
        if row.get("shipping") is not None:
            shipping = self._money(row["shipping"], "shipping", number)
        raw_lines = row.get("lines")
        if isinstance(raw_lines, str):
            items: list[Any] = [item for item in raw_lines.split(";") if item.strip()]
        elif isinstance(raw_lines, list):
            items = raw_lines
        else:
            items = []
        if not items:
            self._fail(number, 'an order needs lines (e.g. "LUMI-SERUM*2;NOVA-CABLE")')
        if len(items) > MAX_LINES:
            self._fail(number, f"at most {MAX_LINES} lines an order")
        lines = tuple(self._line(item, number) for item in items)
        if row.get("deposits") is not None:
            lines = self._deposits(lines, row["deposits"], number)
        key = (customer_id, "|".join(segments))
        customer = self._customers.get(key)
        if customer is None:
            if len(self._customers) >= _CACHE_LIMIT:
                self._customers.clear()
            try:
                customer = Customer(customer_id, frozenset(segments))
            except (TypeError, ValueError) as exc:  # the API's bounds (how many segments)
                self._fail(number, str(exc))
            self._customers[key] = customer
        try:
            cart = Cart(lines, customer, self.currency, shipping)
        except (TypeError, ValueError) as exc:  # the API's bounds (list total, shipping)
            self._fail(number, str(exc))
        return Order(at, cart, channel, coupons, ident, number, "|".join(sorted(segments)))

    def _deposits(self, lines: tuple[Line, ...], value: Any, number: int) -> tuple[Line, ...]:
        """``lines`` with the deposits paid (``SKU=AMOUNT|...``) set on their skus' lines."""
        paid: dict[str, int] = {}
        for entry in self._names(value, "deposits", number):
            sku, sep, amount = entry.partition("=")
            if not sep or not sku.strip():
                self._fail(number, f"deposits: write SKU=AMOUNT, not {entry[:40]!r}")
            paid[sku.strip()] = self._money(amount.strip(), f"deposit of {sku[:40]!r}", number)
        missing = [sku for sku in paid if sku not in {line.sku for line in lines}]
        if missing:
            self._fail(number, f"deposits: {missing[0][:40]!r} is not a line of the order")
        return tuple(
            attrs.evolve(line, deposit_paid=paid[line.sku]) if line.sku in paid else line
            for line in lines
        )

    def _time(self, value: Any, number: int) -> datetime:
        if not isinstance(value, str) or not value:
            self._fail(number, "every order needs a time (ISO 8601, e.g. 2026-11-11T10:00:00)")
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            self._fail(number, f"not an ISO 8601 time: {value[:40]!r}")
        return at if at.tzinfo is not None else at.replace(tzinfo=self.tz)

    def _text(self, value: Any, what: str, number: int) -> str:
        if not isinstance(value, str) or len(value) > 128:
            self._fail(number, f"{what} must be text of at most 128 characters")
        return str(value)

    def _names(self, value: Any, what: str, number: int) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            parts = [part.strip() for part in value.split("|")]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            parts = [part.strip() for part in value]
        else:
            self._fail(number, f"{what} must be text (a|b) or a list of strings")
        if len(parts) > 64 or any(len(part) > 128 for part in parts):
            self._fail(number, f"{what}: too many or too long names")
        return tuple(part for part in parts if part)

    def _money(self, value: Any, what: str, number: int) -> int:
        try:
            minor = parse_amount(value, self.currency)
        except MoneyError as exc:
            self._fail(number, f"{what}: {exc}")
        if minor < 0:
            self._fail(number, f"{what} must not be negative")
        return minor

    def _line(self, item: Any, number: int) -> Line:
        if isinstance(item, str):
            sku, _, price_text = item.strip().partition("@")
            sku, star, qty_text = sku.partition("*")
            sku = sku.strip()
            quantity = 1
            if star:
                try:
                    quantity = int(qty_text)
                except ValueError:
                    self._fail(number, f"not a quantity in {item[:40]!r} (write SKU*2)")
            price = self._money(price_text.strip(), "price", number) if price_text else None
            return self._catalog_line(sku, quantity, price, number)
        if isinstance(item, dict):
            return self._object_line(item, number)
        self._fail(number, 'a line is "SKU*QTY" text or an object with a sku')
        raise AssertionError  # pragma: no cover - _fail raises

    def _catalog_line(self, sku: str, quantity: int, price: int | None, number: int) -> Line:
        key = (sku, quantity, price)
        found = self._lines.get(key)
        if found is not None:
            return found
        if not sku or len(sku) > 128:
            self._fail(number, "every line needs a sku of at most 128 characters")
        if not 1 <= quantity <= 10**6:
            self._fail(number, f"quantity of {sku[:40]!r} must be from 1 to 1000000")
        item = self.catalog.get(sku)
        if price is None:
            if item is None or item.price is None:
                self._fail(
                    number,
                    f"sku {sku[:40]!r} has no price: give a catalogue "
                    "(--catalog) or write SKU*QTY@PRICE",
                )
            assert item is not None and item.price is not None
            price = item.price
        if price * quantity > MAX_AMOUNT:
            self._fail(number, f"the line of {sku[:40]!r} is beyond the largest amount accepted")
        try:
            line = Line(
                sku,
                quantity,
                price,
                (item.cost or 0) if item else 0,
                item.category if item else "",
                item.brand if item else "",
                item.merchant if item else "",
                item.tags if item else (),
                item.title if item else "",
            )
        except (TypeError, ValueError) as exc:  # a bound Line itself holds
            self._fail(number, str(exc))
        if len(self._lines) >= _CACHE_LIMIT:
            self._lines.clear()
        self._lines[key] = line
        return line

    def _object_line(self, item: Mapping[str, Any], number: int) -> Line:
        # structured like a cart file's line (one record, one list of keys); a row
        # stops at its first problem, so the first one found is the one reported
        found = Collector(self.source)
        record = structure(item, LineRecord, self.currency, (), found, code="PR303", noun="line")
        if record is None:
            first = found.problems[0]
            where = format_path(first.path)
            self._fail(number, f"line {where}: {first.message}" if where else first.message)
        assert record is not None
        base = self._catalog_line(record.sku, record.quantity, record.unit_price, number)
        changes: dict[str, Any] = {}
        if record.unit_cost is not None:
            changes["unit_cost"] = record.unit_cost
        if record.deposit_paid is not None:
            if record.deposit_paid > base.amount:
                self._fail(number, "deposit_paid is more than the line's amount")
            changes["deposit_paid"] = record.deposit_paid
        for key in ("category", "brand", "merchant", "title"):
            value = getattr(record, key)
            if value is not None:
                changes[key] = self._text(value, key, number)
        if record.tags is not None:
            changes["tags"] = self._names(list(record.tags), "tags", number)
        try:
            return attrs.evolve(base, **changes) if changes else base
        except (TypeError, ValueError) as exc:  # a bound Line itself holds
            self._fail(number, str(exc))
