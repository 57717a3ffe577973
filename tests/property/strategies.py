"""Hypothesis strategies shared by the property tests: rulesets, carts, contexts.

Rulesets are drawn as the dicts a TOML file parses to, so every property also runs the
loader. Amounts are drawn as minor units and written the way a planner writes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from promorules.cart import Cart, Context, Customer, Line
from promorules.money import format_amount
from tests.helpers import SHANGHAI

CATEGORIES = ("beauty", "digital", "home", "grocery")
MERCHANTS = ("m1", "m2", "m3")
SEGMENTS = ("new", "member", "churned")
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
        table["scope"] = draw(st.sampled_from(["store", "cross-store"]))
    if draw(st.integers(0, 3)) == 0:
        table["cap"] = money(draw(st.integers(100, 50_000)))
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


# -- every kind (tiered and the test-only kinds of tests/kinds.py) -----------------------
# When a real kind lands, add its strategy to KIND_STRATEGIES: every engine-wide and
# soundness property then covers it.

CODES = ("PLAT10", "STORE20", "VIP")


def windows() -> st.SearchStrategy[dict[str, str]]:
    """A window inside the three days from START, written as TOML local date-times."""

    def window(pair: tuple[int, int]) -> dict[str, Any]:
        a, b = sorted(pair)
        return {"start": START + timedelta(hours=a), "end": START + timedelta(hours=b, minutes=59)}

    return st.tuples(st.integers(0, 71), st.integers(0, 71)).map(window)


@st.composite
def coupon_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    table: dict[str, Any] = {
        "id": pid,
        "kind": "test_coupon",
        "lane": draw(st.sampled_from(["platform", "store", "item"])),
        "code": draw(st.sampled_from(CODES)),
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


KIND_STRATEGIES = {
    "tiered": tiered_promotions,
    "test_coupon": coupon_promotions,
    "others": other_promotions,
}


@st.composite
def any_promotions(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    table: dict[str, Any] = draw(
        st.sampled_from(sorted(KIND_STRATEGIES)).flatmap(lambda name: KIND_STRATEGIES[name](pid))
    )
    if draw(st.integers(0, 2)) == 0:
        table["window"] = draw(windows())
    if "categories" not in table and draw(st.integers(0, 3)) == 0:
        table["categories"] = [draw(st.sampled_from(CATEGORIES))]
    if draw(st.integers(0, 4)) == 0:
        table["segments"] = [draw(st.sampled_from(SEGMENTS))]
    return table


@st.composite
def wide_rulesets(
    draw: st.DrawFn, *, on_breach: str | None = None, max_promotions: int = 5
) -> dict[str, Any]:
    """A guarded ruleset with random promotions of every kind."""
    count = draw(st.integers(1, max_promotions))
    promotions = [draw(any_promotions(f"p{i}")) for i in range(count)]
    lanes = [p for p in promotions if "lane" in p]  # tiered and coupons name their lane
    if len(lanes) >= 2 and draw(st.integers(0, 2)) == 0:
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
    return {
        "campaign": {
            "name": "Wide",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "rounding": draw(st.sampled_from(["down", "half-up", "half-even"])),
        },
        "guardrails": guardrails,
        "promotion": promotions,
    }


def wallets() -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(CODES), unique=True).map(tuple)


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
