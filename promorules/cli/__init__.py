"""The ``promorules`` command line: one module per subcommand.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``run`` (a function of the parsed arguments returning the exit code). Heavy imports
happen inside ``run``, and a command named first registers only its own module, so
``promorules price`` starts fast (it imports no other command's module).

Exit codes: 0 ok, 1 findings (a guardrail breach under ``warn``, a failed validation),
2 bad input or usage. Bad input never produces a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = (
    "price",
    "validate",
    "schema",
    "simulate",
    "sample_orders",
    "calendar",
    "coupons",
    "ledger",
    "plugins",
    "diff",
    "refund",
    "serve",
    "debug",
)
"""Subcommand modules under promorules.cli, in the order ``--help`` lists them."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only`` (a subcommand's name as typed), just that
    subcommand is registered, so a command imports no other command's module."""
    parser = argparse.ArgumentParser(
        prog="promorules",
        description="Price carts under promotion rulesets that can never break the margin floor.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is None or name == only.replace("-", "_"):
            importlib.import_module(f"promorules.cli.{name}").register(subparsers)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, when it is its first word and a known one."""
    if argv and argv[0].replace("-", "_") in COMMANDS:
        return argv[0]
    return None


def _version() -> str:
    from promorules import __version__

    return f"promorules {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    from promorules.cli.render import safe
    from promorules.diagnostics import PromorulesError, RulesetError

    # Error text quotes file names and input as given: through safe(), so an escape
    # sequence in a cart's path or content never reaches the terminal raw.
    try:
        return int(run(args))
    except RulesetError as exc:
        print("\n".join(safe(d, 2000) for d in exc.diagnostics), file=sys.stderr)
        return 2
    except PromorulesError as exc:
        print(f"promorules: error: {safe(exc, 2000)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("promorules: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
