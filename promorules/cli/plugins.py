"""``promorules plugins``: the installed promotion kinds and where they come from."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plugins", help="list installed promotion kinds", description=__doc__
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from promorules.cli.render import echo, table
    from promorules.plugins import PluginHost

    kinds = PluginHost.default().kinds
    rows = []
    for name in kinds:
        info = kinds.info(name)
        lanes = ", ".join(lane.value for lane in info.kind.lanes)
        rows.append(
            {"kind": name, "lanes": lanes, "summary": info.kind.summary, "source": info.source}
        )
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        echo(
            table(
                ([r["kind"], r["lanes"], r["summary"], r["source"]] for r in rows),
                ("kind", "lanes", "summary", "from"),
            )
        )
    return 0
