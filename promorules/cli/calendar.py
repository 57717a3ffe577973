"""``promorules calendar``: a year of campaigns at a glance, with rhythm warnings."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "calendar",
        help="lay out a year of campaigns and check their rhythm",
        description="Show each campaign's grade and phases month by month, and warn "
        "where the year departs from the planners' rhythm (grade counts, preparation, "
        "days online, overlapping S-grade campaigns, phase order). Warnings exit 0.",
    )
    parser.add_argument("rulesets", nargs="+", metavar="RULESET", help="rulesets (TOML)")
    parser.add_argument("--year", type=int, help="year to show (default: the busiest)")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the calendar as a PNG")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from promorules.calendar import check_rhythm, load_entries, pick_year, plot, render
    from promorules.plugins import PluginHost

    entries = load_entries(args.rulesets, PluginHost.default().kinds)
    year = args.year if args.year is not None else pick_year(entries)
    warnings = check_rhythm(entries, year)
    shown = [
        e for e in entries if e.online is None or (e.online[0].year <= year <= e.online[1].year)
    ]
    if args.plot:
        plot(shown, year, args.plot)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "year": year,
                    "campaigns": [
                        {
                            "name": e.name,
                            "grade": e.grade.value,
                            "ruleset": e.source,
                            "online_days": e.online_days,
                            "preparation_days": e.preparation_days,
                            "phases": [
                                {
                                    "name": p.name,
                                    "stage": None if p.stage is None else p.stage.name.lower(),
                                    "start": p.start.isoformat(),
                                    "end": p.end.isoformat(),
                                }
                                for p in e.phases
                            ],
                        }
                        for e in shown
                    ],
                    "warnings": [w.to_dict() for w in warnings],
                },
                indent=2,
            )
        )
    else:
        from promorules.cli.render import echo, safe

        echo(render(shown, year))
        if warnings:
            print()
            # warnings quote campaign and phase names as the rulesets spell them
            echo("\n".join(safe(w, 400) for w in warnings))
        if args.plot:
            print(f"\ncalendar drawn to {args.plot}")
    return 0
