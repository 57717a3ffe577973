"""Small builders shared by the tests: engines from TOML text, carts, instants."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from promorules.cart import Cart, Context, Customer, Line
from promorules.engine import Engine
from promorules_plugins import (
    bundle,
    bxgy,
    coupon,
    discount,
    flash_sale,
    free_shipping,
    gift,
    member_price,
    presale,
    tiered,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
D11 = datetime(2026, 11, 11, 10, 0, tzinfo=SHANGHAI)
PLUGINS: list[object] = [tiered]
ALL_KINDS: list[object] = [
    tiered,
    discount,
    coupon,
    flash_sale,
    member_price,
    presale,
    gift,
    bxgy,
    bundle,
    free_shipping,
]
"""Every built-in kind, loaded explicitly (tests never rely on installed entry points)."""

HEADER = """
[campaign]
name = "Test"
currency = "CNY"
timezone = "Asia/Shanghai"
[campaign.phases]
explosion = { start = 2026-11-11T00:00:00, end = 2026-11-11T23:59:59 }
"""


def engine(body: str, *, header: str = HEADER, plugins: list[object] | None = None) -> Engine:
    return Engine.from_string(header + body, plugins=PLUGINS if plugins is None else plugins)


def line(sku: str, qty: int, price: str, cost: str = "0", **kw: Any) -> Line:
    return Line(sku, qty, yuan(price), yuan(cost), **kw)


def yuan(text: str) -> int:
    from promorules.money import parse_amount

    return parse_amount(text, "CNY")


def cart(*lines: Line, segments: tuple[str, ...] = (), shipping: str = "0") -> Cart:
    return Cart(lines, Customer("c1", frozenset(segments)), "CNY", yuan(shipping))


def ctx(at: datetime = D11, coupons: tuple[str, ...] = (), channel: str | None = None) -> Context:
    return Context(at, channel, coupons)
