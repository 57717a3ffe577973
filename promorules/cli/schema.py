"""``promorules schema``: the JSON Schema of the ruleset format, for editors and CI."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="write the JSON Schema of the ruleset format",
        description="Write a JSON Schema of the ruleset format, built from the installed "
        "plugins' own field definitions, so editors validate TOML rulesets while planners "
        "type.",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from promorules.diagnostics import PromorulesError
    from promorules.plugins import PluginHost
    from promorules.schema import ruleset_schema

    text = json.dumps(ruleset_schema(PluginHost.default().kinds), indent=2) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise PromorulesError(f"cannot write {args.output!r}: {exc}") from None
    else:
        print(text, end="")
    return 0
