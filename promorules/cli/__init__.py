"""Command line entry point (placeholder until the main CLI lands: it only dispatches)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from promorules.cli import ledger


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="promorules")
    subparsers = parser.add_subparsers(dest="command", required=True)
    ledger.register(subparsers)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
