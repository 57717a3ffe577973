"""``promorules refund``: what returning part of a priced cart gives back."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "refund",
        help="what returning units of a priced cart gives back, under a return policy",
        description="Price CART under RULESET, then work out what returning the --return "
        "units refunds: each unit's share of its line's payable, less (claw-back) what the "
        "remaining order no longer earns. Both policies' totals are shown, and what the "
        "return gives back to the ledger (coupon uses, stock, budget); with --ledger, "
        "--reservation and --refund-id it is given back.",
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
        help="keep: the rest of the order keeps its discounts; claw-back: it is priced "
        "again and what it no longer earns comes off the refund (default: the ruleset's "
        "[returns] remaining, else keep)",
    )
    parser.add_argument(
        "--shipping",
        choices=("full-return", "never", "always"),
        help="when shipping is refunded (default: the ruleset's [returns] shipping, else "
        "full-return: when every unit comes back)",
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
    parser.add_argument(
        "--ledger",
        metavar="URL",
        help="give back to this ledger what the return frees (needs --reservation and --refund-id)",
    )
    parser.add_argument(
        "--reservation", metavar="KEY", help="the committed reservation of the order"
    )
    parser.add_argument(
        "--refund-id",
        metavar="ID",
        help="this return's id: given again, the ledger changes nothing and answers the same",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from promorules.cart import Context
    from promorules.cartfile import load_cart, load_catalog
    from promorules.cli.price import parse_time
    from promorules.diagnostics import PromorulesError
    from promorules.engine import Engine
    from promorules.refund import ClawBack, ReturnPolicy, Shipping, parse_returns, refund

    if args.ledger is not None and (args.reservation is None or args.refund_id is None):
        raise PromorulesError(
            "--ledger gives back to a reservation: give --reservation KEY and --refund-id ID too"
        )
    if args.ledger is None and (args.reservation is not None or args.refund_id is not None):
        raise PromorulesError("--reservation and --refund-id go with --ledger URL")
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
    declared = engine.ruleset.returns
    shipping = declared.shipping if args.shipping is None else Shipping(args.shipping)
    remaining = declared.remaining if args.policy is None else ClawBack(args.policy)
    chosen = ReturnPolicy(remaining, shipping)
    other = ReturnPolicy(
        ClawBack.KEEP if chosen.remaining is ClawBack.CLAW_BACK else ClawBack.CLAW_BACK, shipping
    )
    result = refund(engine, found.cart, context, quote, returns, chosen, gifts_back)
    alternative = refund(engine, found.cart, context, quote, returns, other, gifts_back)
    applied = _give_back(args, result) if args.ledger is not None else None
    if isinstance(applied, str):
        from promorules.cli.render import safe

        print(f"promorules refund: the ledger refused: {safe(applied, 2000)}", file=sys.stderr)
        return 1
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
                    "gives_back": [[str(k), n] for k, n in result.consumption],
                    **({} if applied is None else {"ledger": applied}),
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
    if result.consumption:
        from promorules.cli.ledger import MONEY_KINDS

        given = [
            [safe(str(k), 120), money(n) if k.kind in MONEY_KINDS else f"{n:,}"]
            for k, n in result.consumption
        ]
        out += ["", table(given, ("the ledger gets back", "amount"))]
    else:
        out += ["", "the ledger gets nothing back"]
    if applied is not None:
        out.append(
            f"given back to reservation {safe(applied['reservation'], 120)} as refund "
            f"{safe(applied['refund_id'], 120)}"
        )
    echo("\n".join(out))
    return 0


def _give_back(args: argparse.Namespace, result: Any) -> dict[str, Any] | str:
    """Give back to the ledger what the return frees: what the ledger answered, or why
    it refused (a reservation not committed, more than it used, an id reused)."""
    from promorules.diagnostics import PromorulesError
    from promorules.ledger import InvalidRequest, LedgerError, open_ledger

    try:
        with open_ledger(args.ledger) as ledger:
            done = ledger.refund(args.reservation, result, args.refund_id)
    except InvalidRequest as exc:
        raise PromorulesError(f"the ledger: {exc}") from None
    except LedgerError as exc:
        return str(exc)
    except ImportError as exc:
        raise PromorulesError(
            f"the ledger: {exc} (install promorules[postgres] or promorules[redis])"
        ) from None
    return {
        "reservation": done.reservation,
        "refund_id": done.refund_id,
        "given_back": [[str(k), n] for k, n in done.consumption],
    }


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
