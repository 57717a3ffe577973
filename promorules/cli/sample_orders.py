"""``promorules sample-orders``: write a realistic synthetic order log for a ruleset."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any, TextIO


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sample-orders",
        help="generate a synthetic order log to try simulate with",
        description="Write COUNT synthetic orders for RULESET, in time order, over its "
        "campaign phases (an evening rush, peaking on the explosion day), drawing skus "
        "from the catalogue: lifecycle segments, shipping fees, and deposit pre-sales as "
        "a deposit row and a final-payment row.",
    )
    parser.add_argument("ruleset", help="the ruleset (TOML)")
    parser.add_argument("-n", "--count", type=int, default=10_000, help="orders (default 10000)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write (.csv or .jsonl); default: CSV on stdout",
    )
    parser.add_argument(
        "--catalog",
        metavar="FILE",
        help="required: the catalogue (CSV or TOML) to draw skus, prices and costs from; "
        "the bundled examples use rulesets/catalog.csv",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--start",
        metavar="TIME",
        help="spread orders from this time instead of the campaign phases",
    )
    parser.add_argument("--days", type=int, default=7, help="days from --start (default 7)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from promorules.cartfile import load_catalog
    from promorules.diagnostics import PromorulesError
    from promorules.engine import Engine
    from promorules.simulate.sample import write_sample

    if not 0 <= args.count <= 100_000_000:
        raise PromorulesError("--count: from 0 to 100000000 orders")
    if not 1 <= args.days <= 366:
        raise PromorulesError("--days: from 1 to 366")
    if not args.catalog:
        # no default: a path relative to the current directory fails everywhere but in
        # the repository, and a bundled catalogue would not hold the ruleset's skus
        raise PromorulesError(
            "sample-orders needs --catalog FILE: the skus, prices and costs to draw "
            "orders from (the bundled examples use rulesets/catalog.csv)"
        )
    engine = Engine.from_toml(args.ruleset)
    catalog = load_catalog(args.catalog, engine.currency)
    start = None
    if args.start is not None:  # given empty, it is refused, not taken for "not given"
        start = _start(args.start, args.days, engine.ruleset.tz)
    fmt = "jsonl" if args.output and args.output.endswith((".jsonl", ".ndjson")) else "csv"

    def write(handle: TextIO) -> int:
        try:
            return write_sample(
                engine.ruleset,
                catalog,
                handle,
                count=args.count,
                seed=args.seed,
                fmt=fmt,
                start=start,
                days=args.days,
            )
        except OverflowError:  # the ruleset's phases run to the edge of year 1 or 9999
            raise PromorulesError(
                "the orders would fall outside the years 1 to 9999 (give --start)"
            ) from None

    if args.output:
        count = _write_atomically(args.output, write)
        print(f"wrote {count} rows to {args.output}", file=sys.stderr)
    else:
        write(sys.stdout)
    return 0


def _start(text: str, days: int, tz: tzinfo) -> datetime:
    """``--start`` as an aware time from which ``days`` of orders can be written."""
    from promorules.diagnostics import PromorulesError

    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise PromorulesError(f"--start: not an ISO 8601 time: {text[:40]!r}") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    try:
        # orders are drawn hour by hour in the campaign's zone: the whole span, and the
        # hour after it, must be times a datetime can hold
        local = start.astimezone(tz)
        local + timedelta(days=days + 1)
        local - timedelta(days=1)
    except OverflowError:
        raise PromorulesError(
            f"--start: {text[:40]!r} with --days {days} runs outside the years 1 to 9999"
        ) from None
    return start


def _write_atomically(path: str, write: Callable[[TextIO], int]) -> int:
    """Write through a temporary file beside ``path``, renamed over it on success only:
    a failure part-way leaves no empty or half-written log behind (nor clobbers one)."""
    import os
    import tempfile

    from promorules.diagnostics import PromorulesError

    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(prefix=".sample-orders-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PromorulesError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            count = write(handle)
        os.replace(temporary, path)
    except OSError as exc:
        os.unlink(temporary)
        raise PromorulesError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        os.unlink(temporary)
        raise
    return count
