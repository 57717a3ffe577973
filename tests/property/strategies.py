"""Hypothesis strategies shared by the property tests: rulesets, carts, contexts.

Rulesets are drawn as the dicts a TOML file parses to, so every property also runs the
loader. Amounts are drawn as minor units and written the way a planner writes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from hypothesis import strategies as st

from promorules.cart import Cart, Context, Customer, Line
from promorules.counters import CounterKey, CounterKind, Snapshot
from promorules.money import format_amount
from tests.helpers import SHANGHAI

CATEGORIES = ("beauty", "digital", "home", "grocery")
LEFTOVERS = ("largest-remainder", "first-line", "last-line")
"""Where a pooled discount's leftover minor units go (the allocation settings)."""
MERCHANTS = ("m1", "m2", "m3")
SEGMENTS = ("new", "member", "churned")
CHANNELS = ("app", "web")
START = datetime(2026, 11, 11, 0, 0, tzinfo=SHANGHAI)


def money(minor: int) -> str:
    return format_amount(minor, "CNY")


def percents(low: int = 1, high: int = 100) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda p: f"{p}%")


@st.composite
def tiered_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    """A random but valid ``tiered`` promotion."""
    lane = draw(st.sampled_from(["item", "store", "platform"]))
    by_quantity = draw(st.booleans())
    mode = draw(st.sampled_from(["ladder", "every"]))
    table: dict[str, Any] = {"id": pid, "kind": "tiered", "lane": lane, "mode": mode}
    if mode == "every":
        if by_quantity:
            table["quantity"] = draw(st.integers(1, 5))
        else:
            table["threshold"] = money(draw(st.integers(100, 60_000)))
        table["off"] = money(draw(st.integers(1, 20_000)))
    else:
        count = draw(st.integers(1, 3))
        steps = sorted(
            draw(
                st.lists(
                    st.integers(1, 6) if by_quantity else st.integers(100, 100_000),
                    min_size=count,
                    max_size=count,
                    unique=True,
                )
            )
        )
        percent = draw(st.booleans())
        tiers = []
        for step in steps:
            tier: dict[str, Any] = {"quantity": step} if by_quantity else {"threshold": money(step)}
            if percent:
                tier["percent"] = draw(percents(1, 90))
            else:
                tier["off"] = money(draw(st.integers(1, 30_000)))
            tiers.append(tier)
        table["tiers"] = tiers
    if draw(st.booleans()):
        table["scope"] = draw(st.sampled_from(["store", "cross-store", "line"]))
    if draw(st.integers(0, 3)) == 0:
        table["cap"] = money(draw(st.integers(100, 50_000)))
    if draw(st.integers(0, 2)) == 0:
        table["leftover"] = draw(st.sampled_from(LEFTOVERS))
    if draw(st.integers(0, 2)) == 0:
        table["categories"] = draw(
            st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True)
        )
    if draw(st.integers(0, 4)) == 0:
        table["segments"] = [draw(st.sampled_from(SEGMENTS))]
    if draw(st.integers(0, 3)) == 0:
        table["priority"] = draw(st.integers(-2, 2))
    if draw(st.integers(0, 3)) == 0:
        share = draw(st.integers(0, 100))
        table["funded_by"] = {"platform": f"{share}%", "merchant": f"{100 - share}%"}
    return table


@st.composite
def rulesets(
    draw: st.DrawFn,
    *,
    on_breach: str | None = None,
    guarded: bool | None = None,
    max_promotions: int = 5,
) -> dict[str, Any]:
    """A ruleset dict with random tiered promotions and (optionally) random floors."""
    count = draw(st.integers(1, max_promotions))
    promotions = [draw(tiered_promotions(f"p{i}")) for i in range(count)]
    # one exclusive group now and then, within a lane
    if count >= 2 and draw(st.booleans()):
        lane = promotions[0]["lane"]
        for promotion in promotions:
            if promotion["lane"] == lane:
                promotion["group"] = "g"
    data: dict[str, Any] = {
        "campaign": {
            "name": "Property",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "rounding": draw(st.sampled_from(["down", "half-up", "half-even"])),
        },
        "promotion": promotions,
    }
    if guarded if guarded is not None else draw(st.booleans()):
        guardrails: dict[str, Any] = {
            "on_breach": on_breach or draw(st.sampled_from(["clamp", "reject", "warn"])),
            "min_order_margin": draw(percents(0, 40)),
        }
        if draw(st.booleans()):
            guardrails["min_line_margin"] = draw(percents(0, 20))
        if draw(st.booleans()):
            guardrails["categories"] = {draw(st.sampled_from(CATEGORIES)): draw(percents(0, 30))}
        data["guardrails"] = guardrails
    return data


@st.composite
def lines(draw: st.DrawFn, index: int) -> Line:
    price = draw(st.integers(0, 500_000))
    cost = draw(st.integers(0, price + price // 5))  # now and then sold below cost
    return Line(
        f"sku{index}",
        draw(st.integers(1, 5)),
        price,
        cost,
        draw(st.sampled_from(CATEGORIES)),
        "",
        draw(st.sampled_from(MERCHANTS)),
    )


@st.composite
def carts(draw: st.DrawFn, max_lines: int = 8) -> Cart:
    count = draw(st.integers(1, max_lines))
    segments = frozenset(draw(st.lists(st.sampled_from(SEGMENTS), max_size=2)))
    return Cart(
        tuple(draw(lines(i)) for i in range(count)),
        Customer(f"c{draw(st.integers(0, 9))}", segments),
    )


def contexts() -> st.SearchStrategy[Context]:
    return st.integers(0, 3 * 24 * 3600).map(lambda s: Context(START + timedelta(seconds=s)))


# --------------------------------------------------------------- the price lane

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
        # sometimes a line listed at its cost: then the line floor takes every discount
        # on it back whole
        cost = draw(st.integers(0, list_unit) | st.just(list_unit))
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
        mine = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash", ("c-1", sku))
        remaining[mine] = mine_left[sku]
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
            # a deposit is paid for at most every unit, and never past the line's amount
            # (a Line refuses more: the excess would vanish from the quote)
            units = min(lines[0].quantity, lines[0].amount // deposit)
            paid = deposit * draw(st.integers(0, units))
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


CODES = ("C0", "C1", "C2", "C3", "C4", "C5")
"""Codes the coupon strategies declare; carts present some of them, and strangers."""


@st.composite
def coupon_promotions(draw: st.DrawFn, pid: str, code: str) -> dict[str, Any]:
    """A random but valid ``coupon`` promotion redeemed by ``code``."""
    table: dict[str, Any] = {
        "id": pid,
        "kind": "coupon",
        "lane": draw(st.sampled_from(["store", "platform"])),
        "code": code,
    }
    if draw(st.booleans()):
        table["off"] = money(draw(st.integers(1, 60_000)))
    else:
        table["percent"] = draw(percents(1, 100))
        if draw(st.booleans()):
            table["max_off"] = money(draw(st.integers(1, 30_000)))
    if draw(st.booleans()):
        table["threshold"] = money(draw(st.integers(100, 200_000)))
    if draw(st.integers(0, 2)) == 0:
        table["merchants"] = [draw(st.sampled_from(MERCHANTS))]
    if draw(st.integers(0, 2)) == 0:
        table["categories"] = [draw(st.sampled_from(CATEGORIES))]
    if draw(st.integers(0, 2)) == 0:
        table["stackable"] = True
    if draw(st.integers(0, 3)) == 0:
        table["priority"] = draw(st.integers(-2, 2))
    if draw(st.integers(0, 3)) == 0:
        table["uses_per_customer"] = draw(st.integers(1, 3))
    return table


# -- basket kinds: bxgy, bundle, gift, free_shipping ------------------------------------

GIFT_SKUS = ("GIFT-A", "GIFT-B", "GIFT-C")


@st.composite
def gift_items(draw: st.DrawFn, skus: list[str]) -> list[dict[str, Any]]:
    items = []
    for sku in skus:
        item: dict[str, Any] = {"sku": sku, "unit_cost": money(draw(st.integers(0, 30_000)))}
        if draw(st.booleans()):
            item["quantity"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            item["stock"] = draw(st.integers(0, 5))
        if draw(st.integers(0, 3)) == 0:
            item["value"] = money(draw(st.integers(0, 30_000)))
        items.append(item)
    return items


@st.composite
def basket_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    """A random but valid promotion of one of the basket kinds."""
    kind = draw(st.sampled_from(["bxgy", "bundle", "gift", "free_shipping"]))
    table: dict[str, Any] = {"id": pid, "kind": kind}
    if kind == "bxgy":
        table["lane"] = draw(st.sampled_from(["item", "store", "platform"]))
        table["buy"] = draw(st.integers(1, 3))
        table["get"] = draw(st.integers(1, 2))
        if draw(st.booleans()):
            table["percent"] = draw(percents(1, 100))
        if draw(st.booleans()):
            table["max_repeats"] = draw(st.integers(1, 3))
        scope = draw(st.sampled_from(["one", "partial", "get_skus", "get_categories"]))
        if scope == "partial":
            table["partial"] = True
        elif scope == "get_skus":
            table["get_skus"] = draw(
                st.lists(st.sampled_from(SKUS), min_size=1, max_size=2, unique=True)
            )
        elif scope == "get_categories":
            table["get_categories"] = [draw(st.sampled_from(CATEGORIES))]
    elif kind == "bundle":
        table["lane"] = draw(st.sampled_from(["item", "store", "platform"]))
        table["quantity"] = draw(st.integers(2, 4))
        table["price"] = money(draw(st.integers(0, 600_000)))
        if draw(st.booleans()):
            table["max_repeats"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            table["skus"] = draw(
                st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True)
            )
    elif kind == "gift":
        table["lane"] = draw(st.sampled_from(["item", "store", "platform"]))
        if draw(st.booleans()):
            table["quantity"] = draw(st.integers(1, 6))
        else:
            table["threshold"] = money(draw(st.integers(1, 200_000)))
        skus = draw(st.lists(st.sampled_from(GIFT_SKUS), min_size=1, max_size=3, unique=True))
        split = draw(st.integers(0, len(skus)))
        if split:
            table["gifts"] = draw(gift_items(skus[:split]))
        if split < len(skus):
            table["choose_one_of"] = draw(gift_items(skus[split:]))
        table["stackable"] = draw(st.booleans())
    else:
        table["lane"] = draw(st.sampled_from(["store", "platform"]))
        condition = draw(st.sampled_from(["none", "threshold", "quantity"]))
        if condition == "threshold":
            table["threshold"] = money(draw(st.integers(0, 100_000)))
        elif condition == "quantity":
            table["quantity"] = draw(st.integers(1, 4))
        reduction = draw(st.sampled_from(["all", "off", "percent", "price"]))
        if reduction == "off":
            table["off"] = money(draw(st.integers(1, 2_000)))
        elif reduction == "percent":
            table["percent"] = draw(percents(1, 100))
        elif reduction == "price":
            table["price"] = money(draw(st.integers(0, 2_000)))
    if draw(st.integers(0, 2)) == 0:
        table["categories"] = draw(
            st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True)
        )
    if draw(st.integers(0, 3)) == 0:
        table["priority"] = draw(st.integers(-2, 2))
    if draw(st.integers(0, 5)) == 0:
        table["budget"] = money(draw(st.integers(1, 20_000)))
    return table


# -- every kind (the real kinds and the test-only kinds of tests/kinds.py) ---------------
# When a kind lands, add its strategy to KIND_STRATEGIES: every engine-wide and
# soundness property then covers it.

TEST_CODES = ("PLAT10", "STORE20", "VIP")


def windows() -> st.SearchStrategy[dict[str, str]]:
    """A window inside the three days from START, written as TOML local date-times."""

    def window(pair: tuple[int, int]) -> dict[str, Any]:
        a, b = sorted(pair)
        return {"start": START + timedelta(hours=a), "end": START + timedelta(hours=b, minutes=59)}

    return st.tuples(st.integers(0, 71), st.integers(0, 71)).map(window)


@st.composite
def stub_coupon_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    table: dict[str, Any] = {
        "id": pid,
        "kind": "test_coupon",
        "lane": draw(st.sampled_from(["platform", "store", "item"])),
        "code": draw(st.sampled_from(TEST_CODES)),
    }
    if draw(st.booleans()):
        table["threshold"] = money(draw(st.integers(0, 100_000)))
    if draw(st.booleans()):
        table["off"] = money(draw(st.integers(1, 20_000)))
    else:
        table["percent"] = draw(percents(1, 50))
    if draw(st.integers(0, 2)) == 0:
        table["cap"] = money(draw(st.integers(100, 20_000)))
    return table


@st.composite
def other_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["test_price", "test_gift", "test_bonus", "test_cheapest"]))
    table: dict[str, Any] = {"id": pid, "kind": kind}
    if kind == "test_price":
        table["percent"] = draw(percents(1, 70))
    elif kind == "test_gift":
        table["threshold"] = money(draw(st.integers(0, 80_000)))
        table["gift_sku"] = f"gift-{pid}"
        table["gift_cost"] = money(draw(st.integers(0, 5_000)))
    elif kind == "test_bonus":
        table["bonus"] = money(draw(st.integers(1, 20_000)))
    else:
        table["buy"] = draw(st.integers(2, 4))
    return table


SKUS = tuple(f"sku{i}" for i in range(6))
"""Skus the per-sku kinds name: the same names :func:`lines` and :func:`catalogues` use."""
COUPON_CODES = ("D11", "SAVE20", "MEMBER")
"""Shared codes of the real coupons; :func:`wallets` presents them."""
DEPOSITS = (5_000, 10_000, 30_000)
"""Pre-sale deposits; carts say a multiple of one of them was paid (:func:`deposit_paid`)."""
DEPOSIT_END = 30
"""Hours after START when every pre-sale's deposit window closes (its final window opens
later): the moments of the properties fall in both."""

# the lanes each real or test kind accepts, for strategies that move promotions between lanes
KIND_LANES = {
    "tiered": ("item", "store", "platform"),
    "test_coupon": ("platform", "store", "item"),
    "coupon": ("store", "platform"),
    "discount": ("item", "store", "platform"),
    "bxgy": ("item", "store", "platform"),
    "bundle": ("item", "store", "platform"),
    "gift": ("item", "store", "platform"),
    "free_shipping": ("store", "platform"),
}


@st.composite
def discount_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    """A ``discount`` with any of its settings: the reward (percent, off_each, off_line),
    conditions, scope, cap, max_units, pooled rounding and leftover, cheapest / dearest."""
    table: dict[str, Any] = {
        "id": pid,
        "kind": "discount",
        "lane": draw(st.sampled_from(["item", "store", "platform"])),
    }
    reward = draw(st.sampled_from(["percent", "off_each", "off_line"]))
    if reward == "percent":
        table["percent"] = draw(percents(1, 100))
    else:
        table[reward] = money(draw(st.integers(1, 50_000)))
    if draw(st.integers(0, 2)) == 0:
        table["threshold"] = money(draw(st.integers(0, 100_000)))
    if draw(st.integers(0, 3)) == 0:
        table["min_quantity"] = draw(st.integers(1, 4))
    if draw(st.integers(0, 4)) == 0:
        table["max_amount"] = money(draw(st.integers(100_000, 600_000)))
    if draw(st.integers(0, 2)) == 0:
        table["scope"] = draw(st.sampled_from(["order", "store", "line"]))
    if draw(st.integers(0, 3)) == 0:
        table["cap"] = money(draw(st.integers(1, 50_000)))
    if reward != "off_line" and draw(st.integers(0, 3)) == 0:
        table["cheapest"] = draw(st.integers(1, 3))
        table["dearest"] = draw(st.booleans())
    elif reward == "percent" and draw(st.booleans()):
        table["round"] = "pool"
    elif reward == "off_each" and draw(st.booleans()):
        table["max_units"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 2)) == 0:
        table["leftover"] = draw(st.sampled_from(LEFTOVERS))
    return table


@st.composite
def real_coupon_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    return draw(coupon_promotions(pid, draw(st.sampled_from(COUPON_CODES))))


def _unit_prices(draw: st.DrawFn) -> dict[str, str]:
    skus = draw(st.lists(st.sampled_from(SKUS), max_size=3, unique=True))
    return {sku: money(draw(st.integers(1, 300_000))) for sku in skus}


@st.composite
def flash_sale_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    # the whole three days half the time, so the flash prices meet the carts' moments
    whole = {"start": START, "end": START + timedelta(hours=71, minutes=59)}
    table: dict[str, Any] = {
        "id": pid,
        "kind": "flash_sale",
        "window": draw(st.one_of(st.just(whole), windows())),
    }
    prices = _unit_prices(draw)
    if prices:
        table["prices"] = prices
    if not prices or draw(st.booleans()):
        table["percent"] = draw(percents(1, 90))
    for key in ("stock", "total_stock", "per_customer"):
        if draw(st.integers(0, 2)) == 0:
            table[key] = draw(st.integers(1, 6))
    return table


@st.composite
def member_price_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    table: dict[str, Any] = {
        "id": pid,
        "kind": "member_price",
        "segments": [draw(st.sampled_from(SEGMENTS))],
    }
    prices = _unit_prices(draw)
    if prices:
        table["prices"] = prices
    if not prices or draw(st.booleans()):
        table["percent"] = draw(percents(1, 90))
    return table


@st.composite
def presale_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    """A pre-sale whose deposit window closes DEPOSIT_END hours after START, its final
    window opening after that."""
    deposit = draw(st.sampled_from(DEPOSITS))
    worth = draw(st.integers(deposit, deposit * 3))
    opens = draw(st.integers(0, DEPOSIT_END - 1))
    final = draw(st.integers(DEPOSIT_END + 1, 70))
    table: dict[str, Any] = {
        "id": pid,
        "kind": "presale",
        "skus": draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True)),
        "deposit": money(deposit),
        "worth": money(worth),
        "deposit_window": {
            "start": START + timedelta(hours=opens),
            "end": START + timedelta(hours=DEPOSIT_END),
        },
        "final_window": {
            "start": START + timedelta(hours=final),
            "end": START + timedelta(hours=71, minutes=59),
        },
    }
    if draw(st.booleans()):
        table["presale_price"] = money(draw(st.integers(worth, worth + 300_000)))
    return table


KIND_STRATEGIES = {
    "tiered": tiered_promotions,
    "test_coupon": stub_coupon_promotions,
    "others": other_promotions,
    "discount": discount_promotions,
    "coupon": real_coupon_promotions,
    "flash_sale": flash_sale_promotions,
    "member_price": member_price_promotions,
    "presale": presale_promotions,
    "basket": basket_promotions,  # bxgy, bundle, gift, free_shipping
}


@st.composite
def any_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    table: dict[str, Any] = draw(
        st.sampled_from(sorted(KIND_STRATEGIES)).flatmap(lambda name: KIND_STRATEGIES[name](pid))
    )
    # a pre-sale lives in its own two windows; a flash sale has drawn its window
    if table["kind"] not in ("presale", "flash_sale") and draw(st.integers(0, 2)) == 0:
        table["window"] = draw(windows())
    if "categories" not in table and draw(st.integers(0, 3)) == 0:
        table["categories"] = [draw(st.sampled_from(CATEGORIES))]
    if draw(st.integers(0, 4)) == 0:
        table["segments"] = [draw(st.sampled_from(SEGMENTS))]
    elif draw(st.integers(0, 6)) == 0:
        table["exclude_segments"] = [draw(st.sampled_from(SEGMENTS))]
    if draw(st.integers(0, 5)) == 0:
        table["channels"] = [draw(st.sampled_from(CHANNELS))]
    if "code" not in table and draw(st.integers(0, 5)) == 0:
        # a code-gated promotion (the wallets present these codes)
        table["unlock_codes"] = [draw(st.sampled_from(TEST_CODES + COUPON_CODES))]
    if draw(st.integers(0, 5)) == 0:
        # a ledger counter: the proofs must hold whatever `ledger adjust` sets it to
        table["budget"] = money(draw(st.integers(1, 50_000)))
        table["budget_policy"] = draw(st.sampled_from(["trim", "refuse"]))
    return table


@st.composite
def coupon_rulesets(draw: st.DrawFn, /, **options: Any) -> dict[str, Any]:
    """A ruleset of random tiered promotions plus two to six random coupons."""
    data = draw(rulesets(max_promotions=3, **options))
    count = draw(st.integers(2, len(CODES)))
    coupons = [draw(coupon_promotions(f"k{i}", CODES[i])) for i in range(count)]
    stackable = [c for c in coupons if c.get("stackable")]
    if len(stackable) >= 2 and draw(st.booleans()):
        stackable[0]["not_with"] = [stackable[1]["id"]]
    data["promotion"] = data["promotion"] + coupons
    return data


def presented_codes() -> st.SearchStrategy[tuple[str, ...]]:
    """Declared codes (any case, with dashes) and a few strangers, as customers type."""
    declared = st.sampled_from(CODES).flatmap(
        lambda c: st.sampled_from([c, c.lower(), f" {c[0]}-{c[1:]} "])
    )
    strangers = st.sampled_from(["NOPE", "C9", "CO", "\x1b[2J", "c-0-0"])
    # declared codes twice as likely as strangers, so coupons get to apply
    return st.lists(st.one_of(declared, declared, strangers), max_size=6).map(tuple)


@st.composite
def basket_rulesets(
    draw: st.DrawFn, *, on_breach: str | None = None, guarded: bool | None = None
) -> dict[str, Any]:
    """A ruleset mixing basket-kind promotions with tiered ones."""
    data = draw(rulesets(on_breach=on_breach, guarded=guarded, max_promotions=2))
    count = draw(st.integers(1, 5))
    data["promotion"] = data["promotion"] + [draw(basket_promotions(f"b{i}")) for i in range(count)]
    return data


@st.composite
def basket_carts(draw: st.DrawFn) -> Cart:
    cart = draw(carts(max_lines=6))
    return Cart(cart.lines, cart.customer, "CNY", draw(st.integers(0, 3_000)))


@st.composite
def basket_contexts(draw: st.DrawFn, promotions: int = 6) -> Context:
    """A moment, a choice of gift now and then, and gift stock left (or not limited)."""
    from promorules.counters import CounterKey, CounterKind, Snapshot

    at = START + timedelta(seconds=draw(st.integers(0, 3 * 24 * 3600)))
    choices = {
        f"b{i}": draw(st.sampled_from([*GIFT_SKUS, "NOPE"]))
        for i in range(promotions)
        if draw(st.integers(0, 2)) == 0
    }
    left = {
        CounterKey(CounterKind.GIFT_STOCK, f"b{i}", sku): draw(st.integers(0, 3))
        for i in range(promotions)
        for sku in GIFT_SKUS
        if draw(st.integers(0, 3)) == 0
    }
    return Context(at, choices=choices, availability=Snapshot(left))


@st.composite
def wide_rulesets(
    draw: st.DrawFn, *, on_breach: str | None = None, max_promotions: int = 5
) -> dict[str, Any]:
    """A guarded ruleset with random promotions of every kind."""
    count = draw(st.integers(1, max_promotions))
    promotions = [draw(any_promotions(f"p{i}")) for i in range(count)]
    lanes = [p for p in promotions if "lane" in p]  # the price-lane kinds name none
    if (
        len(lanes) >= 2
        and lanes[0]["lane"] in KIND_LANES[lanes[1]["kind"]]
        and draw(st.integers(0, 2)) == 0
    ):
        lanes[1]["lane"] = lanes[0]["lane"]
        lanes[0]["group"] = lanes[1]["group"] = "g"
    guardrails: dict[str, Any] = {
        "on_breach": on_breach or draw(st.sampled_from(["clamp", "reject", "warn"])),
        "min_order_margin": draw(percents(0, 20)),
    }
    if draw(st.booleans()):
        guardrails["min_line_margin"] = draw(percents(0, 10))
    if draw(st.booleans()):
        guardrails["categories"] = {draw(st.sampled_from(CATEGORIES)): draw(percents(0, 25))}
    data: dict[str, Any] = {
        "campaign": {
            "name": "Wide",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "rounding": draw(st.sampled_from(["down", "half-up", "half-even"])),
        },
        "guardrails": guardrails,
        "promotion": promotions,
    }
    if draw(st.integers(0, 3)) == 0:
        later = draw(st.permutations(["item", "store", "platform"]))
        data["stacking"] = {
            "lanes": ["price", *later],
            "price": draw(st.sampled_from(["lowest", "priority"])),
            "funder_budget_policy": draw(st.sampled_from(["trim", "refuse"])),
        }
    if draw(st.integers(0, 5)) == 0:
        funder = draw(st.sampled_from(["platform", "merchant"]))
        data["budgets"] = {funder: money(draw(st.integers(1, 50_000)))}
    return data


def wallets() -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(TEST_CODES + COUPON_CODES), unique=True).map(tuple)


def deposit_paid(draw: st.DrawFn, line: Line) -> Line:
    """``line``, now and then with a pre-sale deposit paid for some of its units."""
    if draw(st.integers(0, 2)):
        return line
    deposit = draw(st.sampled_from(DEPOSITS))
    # never past the line's amount, which a Line refuses
    paid = deposit * draw(st.integers(0, min(line.quantity, line.amount // deposit)))
    return attrs.evolve(line, deposit_paid=paid)


@st.composite
def wide_carts(draw: st.DrawFn, max_lines: int = 8) -> Cart:
    """Random carts (:func:`carts`) with a shipping fee and deposits paid now and then."""
    cart = draw(carts(max_lines=max_lines))
    lines = tuple(deposit_paid(draw, line) for line in cart.lines)
    return Cart(lines, cart.customer, "CNY", draw(st.integers(0, 3_000)))


@st.composite
def catalogues(draw: st.DrawFn, max_items: int = 8) -> dict[str, Any]:
    """A small catalogue, mostly at healthy margins, now and then a thin one."""
    from promorules.cartfile import CatalogItem

    count = draw(st.integers(1, max_items))
    out = {}
    for i in range(count):
        price = draw(st.integers(100, 300_000))
        margin = draw(st.sampled_from([0, 5, 10, 20, 35, 50, 70, 90]))
        cost = price - price * margin // 100
        out[f"sku{i}"] = CatalogItem(
            f"sku{i}",
            price,
            cost,
            draw(st.sampled_from(CATEGORIES)),
            "",
            draw(st.sampled_from(MERCHANTS)),
        )
    return out
