"""Helpers for the price-lane kind tests: a campaign header, carts, instants."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from promorules.cart import Cart, Context, Customer, Line
from promorules.counters import UNLIMITED, Availability
from promorules.engine import Engine
from promorules.quote import Quote
from promorules_plugins import flash_sale, member_price, presale, tiered

TZ = ZoneInfo("Asia/Shanghai")
PLUGINS = [tiered, flash_sale, member_price, presale]

HEADER = """
[campaign]
name = "test"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
presale   = { start = 2026-10-31T20:00:00, end = 2026-11-10T23:59:59 }
explosion = { start = 2026-11-11T00:00:00, end = 2026-11-11T23:59:59 }
"""

DEPOSIT_TIME = datetime(2026, 11, 5, 10, 0, tzinfo=TZ)
SALE_TIME = datetime(2026, 11, 11, 10, 0, tzinfo=TZ)
BEFORE = datetime(2026, 10, 1, 10, 0, tzinfo=TZ)


def engine(body: str, header: str = HEADER) -> Engine:
    return Engine.from_string(header + body, plugins=PLUGINS)


def line(sku: str, quantity: int, price: str, cost: str = "0", **kw: object) -> Line:
    return Line(sku, quantity, _minor(price), _minor(cost), **kw)  # type: ignore[arg-type]


def _minor(text: str) -> int:
    whole, _, part = text.partition(".")
    return int(whole) * 100 + int((part + "00")[:2])


def price(
    eng: Engine,
    lines: list[Line],
    at: datetime = SALE_TIME,
    *,
    customer: Customer | None = None,
    availability: Availability = UNLIMITED,
    explain: bool = False,
) -> Quote:
    """``eng.price`` on these lines; ``explain``: ``eng.explained`` (every explanation
    worked out at once)."""
    cart = Cart(tuple(lines), customer or Customer("c-1"), "CNY")
    context = Context(at, availability=availability)
    return eng.explained(cart, context) if explain else eng.price(cart, context)
