"""``promorules refund``: what returning part of a priced cart gives back."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "refund",
        help="what returning units of a priced cart gives back, under a return policy",
        description="Price CART under RULESET, then work out what returning the --return "
        "units refunds: each unit's share of its line's payable, less (claw-back) what the "
        "remaining order no longer earns. Both policies' totals are shown.",
    )
    parser.add_argument("ruleset", help="the ruleset (TOML)")
    parser.add_argument("cart", help="the cart file as it was priced (JSON or TOML)")
    parser.add_argument(
        "--return",
        dest="returns",
        action="append",
        required=True,
        metavar="SKU[=QTY]",
        help="units returned (repeatable; QTY defaults to 1)",
    )
    parser.add_argument(
        "--policy",
        choices=("keep", "claw-back"),
        default="keep",
        help="keep: the rest of the order keeps its discounts (default); claw-back: it is "
        "priced again and what it no longer earns comes off the refund",
    )
    parser.add_argument(
        "--shipping",
        choices=("full-return", "never", "always"),
        default="full-return",
        help="when shipping is refunded (default: when every unit comes back)",
    )
    parser.add_argument(
        "--gift-back",
        action="append",
        default=[],
        metavar="SKU[=QTY]",
        help="gift units brought back too (not charged under claw-back)",
    )
    parser.add_argument("--catalog", metavar="FILE", help="catalogue (CSV or TOML) of sku facts")
    parser.add_argument("--at", metavar="TIME", help="when the cart was priced (default: its 'at')")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from promorules.cart import Context
    from promorules.cartfile import load_cart, load_catalog
    from promorules.cli.price import parse_time
    from promorules.diagnostics import PromorulesError
    from promorules.engine import Engine
    from promorules.refund import ClawBack, ReturnPolicy, Shipping, parse_returns, refund

    engine = Engine.from_toml(args.ruleset)
    tz = engine.ruleset.tz
    catalog = load_catalog(args.catalog, engine.currency) if args.catalog is not None else None
    found = load_cart(args.cart, engine.currency, tz, catalog)
    at = parse_time(args.at, tz) if args.at is not None else found.at
    if at is None:
        raise PromorulesError(
            f"{args.cart}: the cart gives no 'at' (when it was priced); give --at"
        )
    context = Context(at, found.channel, tuple(found.coupons), choices=found.choices)
    quote = engine.price(found.cart, context)
    returns = parse_returns(args.returns, found.cart)
    gifts_back = _gifts_back(args.gift_back)
    shipping = Shipping(args.shipping)
    chosen = ReturnPolicy(ClawBack(args.policy), shipping)
    other = ReturnPolicy(
        ClawBack.KEEP if chosen.remaining is ClawBack.CLAW_BACK else ClawBack.CLAW_BACK, shipping
    )
    result = refund(engine, found.cart, context, quote, returns, chosen, gifts_back)
    alternative = refund(engine, found.cart, context, quote, returns, other, gifts_back)
    money = quote.money
    if args.format == "json":
        print(
            json.dumps(
                {
                    "cart": args.cart,
                    "at": at.isoformat(),
                    "currency": quote.currency,
                    "paid": money(quote.payable),
                    "policy": {"remaining": chosen.remaining.value, "shipping": shipping.value},
                    "lines": [
                        {"sku": r.sku, "quantity": r.quantity, "refund": money(r.amount)}
                        for r in result.lines
                    ],
                    "goods": money(result.goods),
                    "clawed_back": money(result.clawed_back),
                    "gifts_charged": money(result.gifts_charged),
                    "shipping": money(result.shipping),
                    "total": money(result.total),
                    "other_policy": {
                        "remaining": other.remaining.value,
                        "total": money(alternative.total),
                    },
                },
                indent=2,
            )
        )
        return 0
    from promorules.cli.render import echo, safe, table

    rows = [[safe(r.sku, 40), r.quantity, money(r.amount)] for r in result.lines]
    out = [
        f"cart {safe(args.cart, 120)} at {at.isoformat()}: paid {money(quote.payable)}",
        "",
        table(rows, ("returned", "units", "their share of the payable")),
        "",
    ]
    totals = [["goods", money(result.goods)]]
    if result.clawed_back:
        totals.append(["less discounts the rest no longer earns", "-" + money(result.clawed_back)])
    if result.gifts_charged:
        totals.append(["less gifts the rest no longer earns", "-" + money(result.gifts_charged)])
    totals += [["shipping", money(result.shipping)], ["refund", money(result.total)]]
    out.append(table(totals, (f"policy {chosen.remaining.value}", "amount")))
    out += ["", f"under {other.remaining.value}: {money(alternative.total)}"]
    echo("\n".join(out))
    return 0


def _gifts_back(texts: list[str]) -> dict[str, int]:
    from promorules.diagnostics import PromorulesError

    out: dict[str, int] = {}
    for text in texts:
        sku, _, count = text.partition("=")
        if not count:
            count = "1"
        if not count.isdigit() or int(count) < 1:
            raise PromorulesError(f"--gift-back {text[:60]!r}: SKU=QTY, QTY at least 1")
        out[sku.strip()] = out.get(sku.strip(), 0) + int(count)
    return out
