"""``promorules price``: price sample carts under a ruleset and explain the result."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promorules.quote import Quote


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "price",
        help="price sample carts",
        description="Price one or more cart files (JSON or TOML) under a TOML ruleset.",
    )
    parser.add_argument("ruleset", help="the ruleset (TOML)")
    parser.add_argument("carts", nargs="+", metavar="CART", help="cart files (JSON or TOML)")
    parser.add_argument(
        "--at",
        metavar="TIME",
        help="pricing time, ISO 8601 (local times are in the campaign's zone); "
        "default: the cart's 'at', else now",
    )
    parser.add_argument(
        "--coupon",
        action="append",
        default=[],
        metavar="CODE",
        help="a coupon code the customer presents (repeatable)",
    )
    parser.add_argument("--channel", help="sales channel (overrides the cart's)")
    parser.add_argument("--catalog", metavar="FILE", help="catalogue (CSV or TOML) of sku facts")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--lang",
        default="en",
        metavar="LOCALE",
        help="the language of explanations and code findings: en (default) or zh-CN",
    )
    parser.add_argument(
        "--ledger",
        metavar="URL",
        help="price against a live snapshot of this ledger (stock, uses, budgets, pauses)",
    )
    parser.add_argument(
        "--reservation",
        metavar="KEY",
        help="with --ledger: the order already holds this reservation (its idempotency "
        "key) and prices again; what it holds counts as available",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from promorules.cart import Context
    from promorules.cartfile import load_cart, load_catalog
    from promorules.diagnostics import PromorulesError
    from promorules.engine import Engine
    from promorules.quote import GuardrailStatus

    _check_coupons(args.coupon)
    if args.reservation is not None and not args.ledger:
        raise PromorulesError("--reservation names a hold in a ledger: give --ledger URL too")
    lang = _check_lang(args.lang)
    engine = Engine.from_toml(args.ruleset)
    ruleset = engine.ruleset
    tz = ruleset.tz
    catalog = load_catalog(args.catalog, engine.currency) if args.catalog is not None else None
    # an empty --at is refused as a bad time, not taken for "not given"
    at = parse_time(args.at, tz) if args.at is not None else None
    results = []
    inputs: list[Any] = []  # (cart, context) of each result, to price again live
    for path in args.carts:
        cart_file = load_cart(path, engine.currency, tz, catalog)
        moment = at or cart_file.at or datetime.now(tz)
        coupons = tuple(cart_file.coupons) + tuple(args.coupon)
        try:
            context = Context(
                moment,
                args.channel or cart_file.channel,
                coupons,
                choices=cart_file.choices,
                reservation=args.reservation,
            )
        except (TypeError, ValueError) as exc:
            raise PromorulesError(f"{path}: {exc}") from None
        # everything is printed: explanations worked out in the one pass
        results.append((path, moment, engine.explained(cart_file.cart, context)))
        inputs.append((cart_file.cart, context))
    if args.ledger:
        results = _priced_live(args.ledger, engine, results, inputs, args.reservation)
    if args.format == "json":
        print(
            json.dumps(
                [
                    {"cart": path, "at": moment.isoformat(), **quote.to_dict(locale=lang)}
                    for path, moment, quote in results
                ],
                indent=2,
            )
        )
    else:
        from promorules.cli.render import echo

        echo("\n\n".join(render(path, moment, quote, lang) for path, moment, quote in results))
    breached = any(q.guardrail.status is GuardrailStatus.BREACHED for _, _, q in results)
    return 1 if breached else 0


def _priced_live(
    url: str, engine: Any, results: list[Any], inputs: list[Any], reservation: str | None
) -> list[Any]:
    """The same carts priced again against one snapshot of the ledger at ``url``, the
    holds of ``reservation`` counted as available."""
    import attrs

    from promorules.live import live_availability

    def priced(availability: Any) -> list[Any]:
        return [
            (path, moment, engine.explained(cart, attrs.evolve(context, availability=availability)))
            for (path, moment, _), (cart, context) in zip(results, inputs, strict=True)
        ]

    return priced(live_availability(url, priced, reservation))


def _check_coupons(codes: list[str]) -> None:
    """Refuse bad --coupon arguments up front, as usage errors, before any file is read."""
    from promorules.cart import MAX_CODE_LENGTH, MAX_CODES
    from promorules.diagnostics import PromorulesError

    if len(codes) > MAX_CODES:
        raise PromorulesError(f"--coupon: at most {MAX_CODES} codes (got {len(codes)})")
    for code in codes:
        if not code or len(code) > MAX_CODE_LENGTH:
            raise PromorulesError(
                f"--coupon: a code is 1 to {MAX_CODE_LENGTH} characters (got {len(code)})"
            )


def _check_lang(text: str) -> str:
    """The bundled locale ``--lang`` names; a usage error naming those bundled if none."""
    from promorules.diagnostics import PromorulesError
    from promorules.messages import LocaleError, resolve

    try:
        return resolve(text)
    except LocaleError as exc:
        raise PromorulesError(f"--lang: {exc}") from None


def parse_time(text: str, tz: Any) -> datetime:
    from promorules.diagnostics import PromorulesError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PromorulesError(
            f"--at: not an ISO 8601 time: {text[:40]!r} (e.g. 2026-11-11T10:00:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _pct(rate: Any) -> str:
    return "-" if rate is None else f"{float(rate) * 100:.1f}%"


def render(path: str, moment: datetime, quote: Quote, lang: str = "en") -> str:
    """The quote as tables a planner reads: lines, totals, guardrail, explanations (these,
    code findings and payment labels in ``lang``)."""
    from promorules.cli.render import safe, table

    money = quote.money
    rows = []
    for line in quote.lines:
        adjustments = "\n".join(
            f"-{money(a.amount)} {safe(a.promotion, 40)} ({a.lane.value})" for a in line.adjustments
        ) or ("gift" if line.gift else "")
        rows.append(
            [
                safe(line.sku, 32),
                line.quantity,
                money(line.unit_price),
                money(line.list_amount),
                adjustments,
                money(line.payable),
                _pct(line.margin),
            ]
        )
    out = [f"cart {safe(path, 120)} at {moment.isoformat()}  ({quote.currency})", ""]
    out.append(table(rows, ("sku", "qty", "unit", "list", "adjustments", "payable", "margin")))
    totals = [
        ["list", money(quote.list_total)],
        ["discounts", money(quote.discount_total)],
    ]
    if quote.shipping_fee:
        totals.append(["shipping", money(quote.shipping_payable)])
    totals += [
        ["payable", money(quote.payable)],
        ["cost (incl. gifts)", money(quote.cost_total)],
        ["margin", _pct(quote.margin)],
    ]
    for funder, amount in quote.discounts_by_funder.items():
        totals.append([f"funded by {funder.value}", money(amount)])
    out += ["", table(totals, ("total", "amount"))]
    if quote.payments:
        payments = [
            [
                safe(p.render(lang), 60),
                money(p.amount),
                p.status.value,
                ""
                if p.window is None
                else f"{p.window.start.isoformat()} .. {p.window.end.isoformat()}",
            ]
            for p in quote.payments
        ]
        out += ["", table(payments, ("payment", "amount", "status", "due"))]
    guardrail = quote.guardrail
    if guardrail.floors:
        floors = [
            [
                safe(f.name, 60),
                _pct(f.minimum),
                _pct(f.margin),
                "held" if f.held else "BROKEN",
                money(f.trimmed) if f.trimmed else "",
            ]
            for f in guardrail.floors
        ]
        out += [
            "",
            f"guardrail: {guardrail.status.value}",
            table(floors, ("floor", "minimum", "margin", "status", "clamped")),
        ]
        if guardrail.rejected:
            out.append("rejected: " + ", ".join(safe(p, 40) for p in guardrail.rejected))
    explanations = [
        [safe(e.promotion, 40), e.lane.value, e.status.value, safe(e.render(lang), 100)]
        for e in quote.explanations
    ]
    out += ["", table(explanations, ("promotion", "lane", "status", "explanation"))]
    if quote.codes:
        codes = [
            [
                safe(f.code, 40),
                safe(f.promotion or "-", 40),
                f.status.value,
                f.reason or "",
                safe(f.render(lang), 100),
            ]
            for f in quote.codes
        ]
        out += ["", table(codes, ("code", "promotion", "status", "reason", "explanation"))]
    return "\n".join(out)
