"""The campaign workload in promorules' own terms: its TOML ruleset and engine carts.

:func:`campaign_toml` writes :mod:`benchmarks.campaign`'s promotions as the TOML a planner
would write (priorities, lanes, groups and targeting explicit); :class:`CampaignCartMaker`
turns a campaign cart into a :class:`promorules.cart.Cart` and its
:class:`promorules.cart.Context`, with the catalogue's facts on each line.
"""

from __future__ import annotations

from collections.abc import Iterable

from benchmarks.campaign import DAY, Campaign, CampaignCart, Promo
from benchmarks.workload import CURRENCY
from promorules.cart import Cart as EngineCart
from promorules.cart import Context, Customer, Line


def _money(minor: int) -> str:
    return f'"{minor // 100}.{minor % 100:02d}"'


def _strings(values: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in sorted(values)) + "]"


def _kind_keys(p: Promo) -> list[str]:
    """The kind's own TOML keys of ``p``."""
    c = p.config
    kind = p.kind
    if kind == "flash_sale":
        hour = int(c["hour"])
        day = DAY.strftime("%Y-%m-%d")
        prices: dict[str, int] = c["prices"]
        body = ", ".join(f'"{sku}" = {_money(v)}' for sku, v in sorted(prices.items()))
        return [
            f"window = {{ start = {day}T{hour:02d}:00:00, end = {day}T{hour:02d}:59:59 }}",
            f"prices = {{ {body} }}",
        ]
    if kind == "member_price":
        return [f"segments = {_strings([str(c['segment'])])}", f'percent = "{c["percent"]}%"']
    if kind == "discount":
        if "percent" in c:
            return [f'percent = "{c["percent"]}%"']
        return [f"off_each = {_money(int(c['off_each']))}"]
    if kind == "bxgy":
        return [f"buy = {c['buy']}", f"get = {c['get']}"]
    if kind == "bundle":
        return [f"quantity = {c['quantity']}", f"price = {_money(int(c['price']))}"]
    if kind == "tiered":
        if c["mode"] == "ladder":
            tiers: tuple[tuple[int, int], ...] = c["tiers"]
            body = ", ".join(f"{{ threshold = {_money(t)}, off = {_money(o)} }}" for t, o in tiers)
            return ['mode = "ladder"', f"tiers = [{body}]"]
        keys = [
            'mode = "every"',
            f"threshold = {_money(int(c['step']))}",
            f"off = {_money(int(c['off']))}",
        ]
        if c["cap"]:
            keys.append(f"cap = {_money(int(c['cap']))}")
        return keys
    if kind == "coupon":
        keys = [f'code = "{c["code"]}"']
        if c["threshold"]:
            keys.append(f"threshold = {_money(int(c['threshold']))}")
        if "off" in c:
            keys.append(f"off = {_money(int(c['off']))}")
        else:
            keys.append(f'percent = "{c["percent"]}%"')
            keys.append(f"max_off = {_money(int(c['cap']))}")
        return keys
    if kind == "gift":
        return [
            f"threshold = {_money(int(c['threshold']))}",
            f'gifts = [{{ sku = "{c["sku"]}", unit_cost = {_money(int(c["cost"]))} }}]',
        ]
    if kind == "free_shipping":
        return [f"threshold = {_money(int(c['threshold']))}"]
    raise ValueError(f"{p.id}: no TOML for kind {kind}")


def campaign_toml(campaign: Campaign) -> str:
    """The campaign's ruleset as promorules TOML."""
    out = [
        "[campaign]",
        'name = "Double 11 campaign benchmark"',
        'grade = "S"',
        f'currency = "{CURRENCY}"',
        'timezone = "Asia/Shanghai"',
        "",
        "[guardrails]",
        'min_order_margin = "5%"',
        'min_line_margin = "0%"',
        'on_breach = "clamp"',
    ]
    for p in campaign.promotions:
        out += ["", "[[promotion]]", f'id = "{p.id}"', f'kind = "{p.kind}"']
        out += [f'lane = "{p.lane}"', f"priority = {p.priority}"]
        t = p.target
        for key, values in (
            ("skus", t.skus),
            ("categories", t.categories),
            ("brands", t.brands),
            ("merchants", t.merchants),
        ):
            if values:
                out.append(f"{key} = {_strings(values)}")
        if p.group is not None:
            out.append(f'group = "{p.group}"')
        if p.not_with:
            out.append(f"not_with = {_strings(p.not_with)}")
        out += _kind_keys(p)
    return "\n".join(out) + "\n"


class CampaignCartMaker:
    """Turns campaign carts into engine carts, with the catalogue's facts on each line."""

    def __init__(self, campaign: Campaign) -> None:
        self._facts = {
            s.sku: (s.price, s.cost, s.category, s.brand, s.merchant)
            for s in campaign.catalogue.values()
        }
        self._customers: dict[frozenset[str], Customer] = {}

    def __call__(self, cart: CampaignCart) -> tuple[EngineCart, Context]:
        lines = []
        for sku, qty in cart.lines:
            price, cost, category, brand, merchant = self._facts[sku]
            lines.append(Line(sku, qty, price, cost, category, brand, merchant))
        customer = self._customers.get(cart.segments)
        if customer is None:
            customer = self._customers[cart.segments] = Customer("bench", cart.segments)
        engine_cart = EngineCart(
            tuple(lines), customer=customer, currency=CURRENCY, shipping=cart.shipping
        )
        return engine_cart, Context(at=cart.at, coupons=cart.codes)
