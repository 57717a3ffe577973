"""``promorules diff``: what a changed ruleset changes, in its keys and in cart prices."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promorules.diff import PriceImpact, RulesetChanges

WORST = 10
"""Worst cases listed by default."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="what changed between two rulesets, and which carts change price",
        description="Compare OLD and NEW key by key (promotions matched by id), and with "
        "--carts or --orders price every sample under both: how many change price, by how "
        "much, each funder's cost and each floor's margin before and after. Samples are "
        "priced as they stand, every counter available. Exit 0: no difference; 1: "
        "differences; 2: bad input.",
    )
    parser.add_argument("old", help="the ruleset as it is (TOML)")
    parser.add_argument("new", help="the ruleset as it would be (TOML)")
    samples = parser.add_mutually_exclusive_group()
    samples.add_argument(
        "--carts",
        nargs="+",
        metavar="PATH",
        help="cart files, or directories of them (*.toml, *.json)",
    )
    samples.add_argument("--orders", metavar="LOG", help="an order log (.csv or .jsonl)")
    parser.add_argument("--catalog", metavar="FILE", help="catalogue (CSV or TOML) of sku facts")
    parser.add_argument(
        "--at", metavar="TIME", help="price every cart at this time (default: each cart's 'at')"
    )
    parser.add_argument(
        "--worst", type=int, default=WORST, metavar="N", help=f"worst cases listed ({WORST})"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="show a progress bar over an order log (default: when stderr is a terminal)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from promorules.cartfile import load_catalog
    from promorules.cli.price import parse_time
    from promorules.diagnostics import PromorulesError
    from promorules.diff import cart_samples, order_samples, price_impact, ruleset_changes
    from promorules.engine import Engine

    if args.worst < 0:
        raise PromorulesError("--worst: a count, 0 or more")
    old = Engine.from_toml(args.old)  # each checked first: a broken ruleset says where
    new = Engine.from_toml(args.new)
    changes = ruleset_changes(args.old, args.new)
    impact = None
    if args.carts or args.orders:
        catalog = load_catalog(args.catalog, old.currency) if args.catalog is not None else None
        if args.orders:
            samples = order_samples(args.orders, old, catalog)
            bar = _bar(args)
            try:
                impact = price_impact(old, new, samples, bar)
            finally:
                if bar is not None:
                    bar.close()
        else:
            at = parse_time(args.at, old.ruleset.tz) if args.at is not None else None
            impact = price_impact(old, new, cart_samples(args.carts, old, catalog, at))
    if args.format == "json":
        print(json.dumps(to_dict(changes, impact, old.currency, args.worst), indent=2))
    else:
        from promorules.cli.render import echo

        echo(render(changes, impact, old.currency, args.worst))
    different = changes.any or (impact is not None and bool(impact.changed))
    return 1 if different else 0


def _bar(args: argparse.Namespace) -> Any:
    from promorules.cli.progress import ProgressBar, count_rows

    show = args.progress if args.progress is not None else sys.stderr.isatty()
    if not show:
        return None
    return ProgressBar(count_rows(args.orders), "pricing", sys.stderr, "orders")


def render(changes: RulesetChanges, impact: PriceImpact | None, currency: str, worst: int) -> str:
    """The comparison as a planner reads it: the keys, then the carts."""
    from promorules.cli.render import safe, table
    from promorules.diff import value_text
    from promorules.money import format_amount

    def money(minor: int) -> str:
        return format_amount(minor, currency)

    out: list[str] = []
    if not changes.any:
        out.append("rulesets: no key differs")
    if changes.added:
        out.append("added: " + ", ".join(safe(p, 60) for p in changes.added))
    if changes.removed:
        out.append("removed: " + ", ".join(safe(p, 60) for p in changes.removed))
    if changes.changed:
        rows = [
            [
                safe(c.table, 60),
                safe(c.key, 60),
                safe(value_text(c.old), 60),
                safe(value_text(c.new), 60),
                c.line or "",
            ]
            for c in changes.changed
        ]
        out += ["", table(rows, ("table", "key", "old", "new", "line"))]
    if impact is None:
        return "\n".join(out)
    out += [
        "",
        f"carts: {impact.carts:,} priced, {len(impact.changed):,} change price",
    ]
    if impact.changed:
        cheaper = sum(1 for c in impact.changed if c.delta < 0)
        total = sum(c.delta for c in impact.changed)
        out.append(
            f"  {cheaper:,} cheaper, {len(impact.changed) - cheaper:,} dearer; "
            f"payable moves by {money(total)} in all"
        )
        out += ["", table([[label, n] for label, n in impact.buckets() if n], ("move", "carts"))]
        if worst:
            rows = [
                [safe(c.name, 60), money(c.old), money(c.new), money(c.delta)]
                for c in impact.worst(worst)
            ]
            out += ["", table(rows, ("cart", "old payable", "new payable", "change"))]
    if impact.funders:
        rows = [
            [funder, money(a), money(b), money(b - a)] for funder, (a, b) in impact.funders.items()
        ]
        out += ["", table(rows, ("funder", "old cost", "new cost", "change"))]
    if impact.floors:
        rows = [
            [f.name, _pct(f.old_lowest), _pct(f.new_lowest), f.old_broken, f.new_broken]
            for f in impact.floors
        ]
        out += [
            "",
            table(
                rows,
                ("floor", "old lowest margin", "new lowest margin", "old broken", "new broken"),
            ),
        ]
    return "\n".join(out)


def to_dict(
    changes: RulesetChanges, impact: PriceImpact | None, currency: str, worst: int
) -> dict[str, Any]:
    """The comparison as JSON: amounts as decimal strings in the ruleset's currency,
    margins as decimal shares, ruleset values as the TOML gives them."""
    from promorules.diff import ABSENT, json_value
    from promorules.money import format_amount

    def money(minor: int) -> str:
        return format_amount(minor, currency)

    out: dict[str, Any] = {
        "currency": currency,
        "added": list(changes.added),
        "removed": list(changes.removed),
        # a key one side lacks has no "old" (added) or no "new" (removed)
        "changed": [
            {
                "table": c.table,
                "key": c.key,
                **({} if c.old is ABSENT else {"old": json_value(c.old)}),
                **({} if c.new is ABSENT else {"new": json_value(c.new)}),
                "line": c.line,
            }
            for c in changes.changed
        ],
    }
    if impact is not None:
        out["carts"] = {
            "priced": impact.carts,
            "changed": len(impact.changed),
            "moves": dict(impact.buckets()),
            "changes": [
                {"cart": c.name, "old": money(c.old), "new": money(c.new), "change": money(c.delta)}
                for c in impact.changed
            ],
            "worst": [c.name for c in impact.worst(worst)],
        }
        out["funders"] = {
            funder: {"old": money(a), "new": money(b)} for funder, (a, b) in impact.funders.items()
        }
        out["floors"] = {
            f.name: {
                "old_lowest_margin": _share(f.old_lowest),
                "new_lowest_margin": _share(f.new_lowest),
                "old_broken": f.old_broken,
                "new_broken": f.new_broken,
            }
            for f in impact.floors
        }
    return out


def _pct(rate: Any) -> str:
    return "-" if rate is None else f"{float(rate) * 100:.1f}%"


def _share(rate: Any) -> str | None:
    return None if rate is None else f"{float(rate):.4f}"
