"""``promorules validate``: prove a ruleset cannot break its margin floors, or show a cart
that does (see :mod:`promorules.validate` and docs/validate.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:20]!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000000")
    return value


def _lines(text: str) -> int:
    """--max-lines: no more than a cart may hold (promorules.cart.MAX_LINES)."""
    from promorules.cart import MAX_LINES

    value = _positive(text)
    if value > MAX_LINES:
        raise argparse.ArgumentTypeError(f"a cart holds at most {MAX_LINES} lines")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:20]!r}") from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="prove margin floors hold for every cart, or find one that breaks them",
        description="Lint a ruleset, bound every margin floor from the promotions' own "
        "discount bounds, and search for breaching carts where the bound cannot prove "
        "the floor. Exit 0: every floor PROVEN (or, with --fail-on breached, none "
        "BREACHED) and no lint error; 1: a floor BREACHED, or a lint error; 2: bad input; "
        "3: a floor UNPROVEN (none BREACHED) under --fail-on unproven, the default.",
    )
    parser.add_argument("ruleset", help="the ruleset (TOML)")
    parser.add_argument("--catalog", metavar="FILE", help="catalogue (CSV or TOML) of skus")
    parser.add_argument(
        "--max-lines",
        type=_lines,
        default=6,
        metavar="N",
        help="most lines in a cart considered (default: 6)",
    )
    parser.add_argument(
        "--max-quantity",
        type=_positive,
        default=5,
        metavar="Q",
        help="most units on a line (default: 5)",
    )
    parser.add_argument(
        "--examples",
        type=_positive,
        default=3000,
        metavar="N",
        help="search effort: examples per unproven floor (default: 3000)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="S",
        help="search seed; the same seed finds the same carts (default: 0)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="promorules-breaches",
        help="where breach carts are written (default: ./promorules-breaches)",
    )
    parser.add_argument(
        "--price-history",
        metavar="FILE",
        help="CSV of past prices (sku,date,price): check the ruleset's reference-price rule "
        "([price_rules]) against it; needs --catalog",
    )
    parser.add_argument(
        "--fail-on",
        choices=("unproven", "breached"),
        default="unproven",
        help="the least verdict that fails: unproven (default; an UNPROVEN floor exits 3, "
        "a BREACHED one 1) or breached (only a BREACHED floor fails, exit 1)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promorules.cartfile import load_catalog
    from promorules.diagnostics import RulesetError
    from promorules.engine import Engine
    from promorules.validate import FailOn, Options, validate
    from promorules.validate.report import render_text, to_dict

    try:
        engine = Engine.from_toml(args.ruleset)
        catalog = load_catalog(args.catalog, engine.currency) if args.catalog is not None else None
        price_findings = _price_rules(args, engine, catalog)
    except RulesetError as exc:
        if args.format == "json":
            print(exc.to_json())
            return 2
        raise
    options = Options(
        max_lines=args.max_lines,
        max_quantity=args.max_quantity,
        examples=args.examples,
        seed=args.seed,
        out_dir=Path(args.out),
        ruleset_path=args.ruleset,
        catalog_path=args.catalog,
        progress=not args.quiet,
        stream=sys.stderr,
        fail_on=FailOn(args.fail_on),
    )
    try:
        report = validate(engine, catalog, options)
    except OSError as exc:
        from promorules.diagnostics import PromorulesError

        raise PromorulesError(f"cannot write breach carts to {args.out!r}: {exc}") from None
    if price_findings:
        import attrs

        from promorules.validate.report import sorted_diagnostics

        merged = sorted_diagnostics((*report.diagnostics, *price_findings))
        report = attrs.evolve(report, diagnostics=merged)
    if args.format == "json":
        print(json.dumps(to_dict(report), indent=2))
    else:
        from promorules.cli.render import echo

        echo(render_text(report))
    return report.exit_code


def _price_rules(args: argparse.Namespace, engine: Any, catalog: Any) -> list[Any]:
    """Reference-price findings (PR601-PR603) when a price history is given."""
    if args.price_history is None:
        return []
    from promorules.diagnostics import PromorulesError
    from promorules.pricerules import check_price_rules, load_price_history

    if catalog is None:
        raise PromorulesError("--price-history needs --catalog (the skus to check)")
    history = load_price_history(args.price_history, engine.currency)
    return check_price_rules(engine, history, catalog)
