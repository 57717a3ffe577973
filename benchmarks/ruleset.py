"""The workload in promorules' own terms: a TOML ruleset, cart lines, and files for the CLI.

:func:`ruleset_toml` writes the workload's 20 promotions as the TOML a planner would write;
:func:`to_cart` turns a workload cart into a :class:`promorules.cart.Cart` and
:class:`promorules.cart.Context`, with the catalogue facts on each line as checkout code
would pass them. :func:`write_cli_files` writes the ruleset, the catalogue (CSV) and a sample
cart, for timing ``promorules price`` as a fresh process.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from benchmarks.workload import (
    CURRENCY,
    Bundle,
    BuyXGetYFree,
    Cart,
    CategoryPercentOff,
    EveryXOffY,
    LadderTiers,
    PlatformPercentCoupon,
    StoreCoupon,
    Workload,
)
from promorules.cart import Cart as EngineCart
from promorules.cart import Context, Customer, Line

MEMBER = Customer(id="bench", segments=frozenset({"member"}))
GUEST = Customer(id="bench")


def _money(minor: int) -> str:
    return f'"{minor // 100}.{minor % 100:02d}"'


def _strings(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def ruleset_toml(workload: Workload) -> str:
    """The workload's ruleset as promorules TOML (priorities, lanes and scopes explicit)."""
    rs = workload.ruleset
    g = rs.guardrail
    # windows are inclusive to the second: the flash sale's [start, end) ends a second early
    last = (rs.flash.end - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    first = rs.flash.start.strftime("%Y-%m-%dT%H:%M:%S")
    out = [
        "[campaign]",
        'name = "Double 11 benchmark"',
        'grade = "S"',
        f'currency = "{CURRENCY}"',
        'timezone = "Asia/Shanghai"',
        "",
        "[guardrails]",
        f'min_order_margin = "{g.min_order_margin_pct}%"',
        f'min_line_margin = "{g.min_line_margin_pct}%"',
        f'on_breach = "{g.mode}"',
    ]

    def promotion(pid: str, kind: str, priority: int, *fields: str) -> None:
        out.extend(["", "[[promotion]]", f'id = "{pid}"', f'kind = "{kind}"'])
        out.append(f"priority = {priority}")
        out.extend(fields)

    flash = rs.flash
    prices = ", ".join(f'"{sku}" = {_money(p)}' for sku, p in sorted(flash.prices.items()))
    promotion(
        flash.id,
        "flash_sale",
        flash.priority,
        f"window = {{ start = {first}, end = {last} }}",
        f"prices = {{ {prices} }}",
    )
    m = rs.member
    promotion(
        m.id,
        "member_price",
        m.priority,
        f"segments = {_strings([m.segment])}",
        f"categories = {_strings(m.categories)}",
        f'percent = "{m.percent}%"',
    )
    for item in rs.item:
        if isinstance(item, BuyXGetYFree):
            promotion(
                item.id,
                "bxgy",
                item.priority,
                f"categories = {_strings([item.category])}",
                f"buy = {item.buy}",
                f"get = {item.free}",
            )
        elif isinstance(item, CategoryPercentOff):
            promotion(
                item.id,
                "discount",
                item.priority,
                f"categories = {_strings([item.category])}",
                f'percent = "{item.percent}%"',
            )
        elif isinstance(item, Bundle):
            promotion(
                item.id,
                "bundle",
                item.priority,
                f"skus = {_strings(item.skus)}",
                f"quantity = {item.quantity}",
                f"price = {_money(item.price)}",
            )
    for store in rs.store:
        if isinstance(store, LadderTiers):
            tiers = ", ".join(
                f"{{ threshold = {_money(t)}, off = {_money(o)} }}" for t, o in store.tiers
            )
            promotion(
                store.id,
                "tiered",
                store.priority,
                'lane = "store"',
                f"merchants = {_strings([store.merchant])}",
                'mode = "ladder"',
                f"tiers = [{tiers}]",
            )
        elif isinstance(store, StoreCoupon):
            promotion(
                store.id,
                "coupon",
                store.priority,
                'lane = "store"',
                f"merchants = {_strings([store.merchant])}",
                f'code = "{store.code}"',
                f"threshold = {_money(store.threshold)}",
                f"off = {_money(store.off)}",
            )
    for plat in rs.platform:
        if isinstance(plat, EveryXOffY):
            promotion(
                plat.id,
                "tiered",
                plat.priority,
                'lane = "platform"',
                'mode = "every"',
                f"threshold = {_money(plat.step)}",
                f"off = {_money(plat.off)}",
                f"cap = {_money(plat.cap)}",
            )
        elif isinstance(plat, PlatformPercentCoupon):
            promotion(
                plat.id,
                "coupon",
                plat.priority,
                'lane = "platform"',
                f'code = "{plat.code}"',
                f'percent = "{plat.percent}%"',
                f"max_off = {_money(plat.cap)}",
            )
    gift = rs.gift
    promotion(
        gift.id,
        "gift",
        gift.priority,
        'lane = "platform"',
        f"threshold = {_money(gift.threshold)}",
        f'gifts = [{{ sku = "{gift.gift_sku}", unit_cost = {_money(gift.gift_cost)} }}]',
    )
    ship = rs.shipping
    promotion(
        ship.id,
        "free_shipping",
        ship.priority,
        'lane = "platform"',
        f"threshold = {_money(ship.threshold)}",
    )
    return "\n".join(out) + "\n"


class CartMaker:
    """Turns workload carts into engine carts, with the catalogue's facts on each line."""

    def __init__(self, workload: Workload) -> None:
        self._facts = {
            s.sku: (s.price, s.cost, s.category, s.brand, s.merchant)
            for s in workload.catalogue.values()
        }

    def __call__(self, cart: Cart) -> tuple[EngineCart, Context]:
        lines = []
        for sku, qty in cart.lines:
            price, cost, category, brand, merchant = self._facts[sku]
            lines.append(Line(sku, qty, price, cost, category, brand, merchant))
        engine_cart = EngineCart(
            tuple(lines),
            customer=MEMBER if cart.member else GUEST,
            currency=CURRENCY,
            shipping=cart.shipping,
        )
        return engine_cart, Context(at=cart.at, coupons=cart.codes)


def write_cli_files(workload: Workload, cart: Cart, directory: Path) -> tuple[Path, Path, Path]:
    """Write the ruleset, the catalogue and ``cart`` for ``promorules price``; their paths."""
    ruleset = directory / "bench.toml"
    ruleset.write_text(ruleset_toml(workload), encoding="utf-8")
    catalogue = directory / "catalog.csv"
    with catalogue.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "price", "cost", "category", "brand", "merchant", "tags"])
        for s in workload.catalogue.values():
            writer.writerow(
                [
                    s.sku,
                    s.sku,
                    f"{s.price // 100}.{s.price % 100:02d}",
                    f"{s.cost // 100}.{s.cost % 100:02d}",
                    s.category,
                    s.brand,
                    s.merchant,
                    "",
                ]
            )
    cart_file = directory / "cart.toml"
    body = [f"at = {cart.at.strftime('%Y-%m-%dT%H:%M:%S')}", f"shipping = {_money(cart.shipping)}"]
    body += ["", "[customer]", 'id = "bench"']
    if cart.member:
        body.append('segments = ["member"]')
    for sku, qty in cart.lines:
        body += ["", "[[lines]]", f'sku = "{sku}"', f"quantity = {qty}"]
    cart_file.write_text("\n".join(body) + "\n", encoding="utf-8")
    return ruleset, catalogue, cart_file
