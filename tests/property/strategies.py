"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import attrs
from hypothesis import strategies as st

from promorules.cart import Customer, Line
from promorules.counters import CounterKey, CounterKind, Snapshot

TZ = ZoneInfo("Asia/Shanghai")
DEPOSIT_TIME = datetime(2026, 11, 5, 10, 0, tzinfo=TZ)
SALE_TIME = datetime(2026, 11, 11, 10, 0, tzinfo=TZ)

PRICE_HEADER = """
[campaign]
name = "property"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
presale   = { start = 2026-10-31T20:00:00, end = 2026-11-10T23:59:59 }
explosion = { start = 2026-11-11T00:00:00, end = 2026-11-11T23:59:59 }
"""


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@attrs.frozen
class PriceLaneCase:
    """A generated price-lane scenario and the plain facts a model needs."""

    ruleset: str
    lines: tuple[Line, ...]
    customer: Customer
    at: datetime
    availability: Snapshot
    flash: dict[str, int]
    """sku -> flash unit price."""
    member: dict[str, int]
    """sku -> member unit price."""
    flash_left: dict[str, int]
    """sku -> flash units this customer can still get (stock and limit together)."""
    presale: bool


@st.composite
def price_lane_cases(
    draw: st.DrawFn, *, with_presale: bool = True, with_guardrail: bool = True
) -> PriceLaneCase:
    count = draw(st.integers(1, 4))
    skus = [f"S{i}" for i in range(count)]
    lines = []
    for sku in skus:
        list_unit = draw(st.integers(1, 200_000))
        cost = draw(st.integers(0, list_unit))
        lines.append(Line(sku, draw(st.integers(1, 5)), list_unit, cost))
    flash = {
        sku: draw(st.integers(1, line.unit_price + 100))
        for sku, line in zip(skus, lines, strict=True)
        if draw(st.booleans())
    }
    member = {
        sku: draw(st.integers(1, line.unit_price + 100))
        for sku, line in zip(skus, lines, strict=True)
        if draw(st.booleans())
    }
    stock = draw(st.integers(1, 6))
    per_customer = draw(st.integers(1, 4))
    stock_left = {sku: draw(st.integers(0, stock)) for sku in flash}
    mine_left = {sku: draw(st.integers(0, per_customer)) for sku in flash}
    remaining = {}
    for sku in flash:
        remaining[CounterKey(CounterKind.FLASH_STOCK, "flash", sku)] = stock_left[sku]
        remaining[CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash", f"c-1/{sku}")] = mine_left[
            sku
        ]
    text = PRICE_HEADER
    if with_guardrail:
        text += '\n[guardrails]\nmin_line_margin = "0%"\n'
        text += f'on_breach = "{draw(st.sampled_from(["clamp", "reject"]))}"\n'
    if flash:
        prices = ", ".join(f'"{sku}" = "{_money(p)}"' for sku, p in flash.items())
        text += f"""
[[promotion]]
id = "flash"
kind = "flash_sale"
phases = ["explosion"]
prices = {{ {prices} }}
stock = {stock}
per_customer = {per_customer}
"""
    if member:
        prices = ", ".join(f'"{sku}" = "{_money(p)}"' for sku, p in member.items())
        text += f"""
[[promotion]]
id = "member"
kind = "member_price"
segments = ["vip"]
prices = {{ {prices} }}
"""
    presale = with_presale and draw(st.booleans())
    at = SALE_TIME
    if presale:
        deposit = draw(st.integers(1, 50_000))
        worth = draw(st.integers(deposit, deposit + 50_000))
        text += f"""
[[promotion]]
id = "presale"
kind = "presale"
skus = ["S0"]
deposit = "{_money(deposit)}"
worth = "{_money(worth)}"
deposit_phase = "presale"
final_phase = "explosion"
"""
        if draw(st.booleans()):
            at = DEPOSIT_TIME
        else:
            paid = deposit * draw(st.integers(0, lines[0].quantity))
            lines[0] = attrs.evolve(lines[0], deposit_paid=paid)
        if with_guardrail and draw(st.booleans()):
            text += """
[[promotion]]
id = "every"
kind = "tiered"
lane = "platform"
mode = "every"
threshold = "300.00"
off = "30.00"
"""
    segments = frozenset({"vip"}) if draw(st.booleans()) else frozenset()
    return PriceLaneCase(
        ruleset=text,
        lines=tuple(lines),
        customer=Customer("c-1", segments),
        at=at,
        availability=Snapshot(remaining),
        flash=flash,
        member=member if segments else {},
        flash_left={sku: min(stock_left[sku], mine_left[sku]) for sku in flash},
        presale=presale,
    )
