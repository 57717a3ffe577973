"""``promorules debug plan``: the Python function the engine writes for one activation plan.

The engine writes, once per activation plan (the promotions live at one moment for one
kind of customer), the walk over its lanes as one Python function
(:mod:`promorules.hotpath`). This prints that function's source, as tracebacks and
debuggers see it, for the moment and customer given.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "debug", help="look inside the engine (a plan's generated source)", description=__doc__
    )
    inner = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    plan = inner.add_parser("plan", help="print the generated source of one activation plan")
    plan.add_argument("ruleset", help="the TOML ruleset")
    plan.add_argument(
        "--at", help="the moment (ISO 8601; the ruleset's zone when none); default: now"
    )
    plan.add_argument(
        "--segment", action="append", default=[], help="a customer segment (repeatable)"
    )
    plan.add_argument("--channel", help="the sales channel")
    plan.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from promorules.cli.price import parse_time
    from promorules.engine import Engine

    engine = Engine.from_toml(args.ruleset)
    zone = ZoneInfo(engine.ruleset.campaign.timezone)
    moment = datetime.now(zone) if args.at is None else parse_time(args.at, zone)
    print(engine.plan_source(moment, frozenset(args.segment), args.channel), end="")
    return 0
