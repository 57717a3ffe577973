"""``promorules coupons``: coupon code tools (``generate`` single-use codes in bulk)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

PROGRESS_FROM = 50_000
"""Runs this big report progress on stderr."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "coupons", help="coupon code tools", description="Coupon code tools."
    )
    tools = parser.add_subparsers(dest="tool", metavar="TOOL")
    generate = tools.add_parser(
        "generate",
        help="make single-use codes of a series",
        description=(
            "Make distinct single-use coupon codes from a cryptographically secure source: "
            "PREFIX, random characters without look-alikes (no 0 O 1 I Z) and a check "
            "character that catches any one mistyped character or swapped neighbours. "
            "List the file as codes_file (with series = PREFIX) in a coupon promotion."
        ),
    )
    generate.add_argument("--prefix", required=True, help="the series prefix, e.g. D11")
    generate.add_argument("--count", required=True, type=int, help="how many codes")
    generate.add_argument(
        "--length", type=int, default=None, help="random characters per code (default 10)"
    )
    generate.add_argument("--output", "-o", metavar="FILE", help="write here, not to stdout")
    generate.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    generate.set_defaults(run=run_generate)
    parser.set_defaults(run=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_generate(args: argparse.Namespace) -> int:
    import os
    import tempfile
    from pathlib import Path

    from promorules.coupon_codes import DEFAULT_LENGTH, CodeError, generate
    from promorules.diagnostics import PromorulesError

    length = DEFAULT_LENGTH if args.length is None else args.length
    big = args.count >= PROGRESS_FROM

    def progress(done: int) -> None:
        if big and done % PROGRESS_FROM == 0:
            print(f"promorules: {done:,} of {args.count:,} codes", file=sys.stderr)

    try:
        codes = generate(args.prefix, args.count, length, progress=progress)
        first = next(codes)  # validates the request before any file is touched
    except CodeError as exc:
        raise PromorulesError(f"coupons generate: {exc}") from None
    if args.output is None:
        out = sys.stdout
        out.write(first + "\n")
        for code in codes:
            out.write(code + "\n")
        out.flush()
        return 0
    target = Path(args.output)
    if target.exists() and not args.force:
        raise PromorulesError(
            f"coupons generate: {args.output!r} exists; pass --force to overwrite it"[:300]
        )
    # write beside the target and rename, so a reader never sees half a file
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".codes-")
    except OSError as exc:
        raise PromorulesError(f"coupons generate: cannot write there: {exc}"[:300]) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(f"# promorules coupons: series {first[: -length - 1]}, {args.count} codes\n")
            out.write(first + "\n")
            for code in codes:
                out.write(code + "\n")
        os.replace(temporary, target)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise PromorulesError(f"coupons generate: cannot write: {exc}"[:300]) from None
        raise
    print(f"promorules: wrote {args.count:,} codes to {target}", file=sys.stderr)
    return 0
