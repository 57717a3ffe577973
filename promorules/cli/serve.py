"""``promorules serve``: the HTTP API and the planners' page (see promorules.serve)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

TOKEN_VARIABLE = "PROMORULES_RELOAD_TOKEN"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="price over HTTP, with a page for planners and live ruleset reloads",
        description="Serve RULESET... over HTTP (JSON; GET /openapi.json documents it) "
        "with a page for planners at /. A changed ruleset file is reloaded, validated "
        f"and swapped in; POST /v1/rulesets/NAME does the same when {TOKEN_VARIABLE} "
        "is set. A ruleset with errors or a BREACHED floor is refused.",
    )
    parser.add_argument("rulesets", nargs="+", metavar="RULESET", help="rulesets (TOML)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000)")
    parser.add_argument("--catalog", metavar="FILE", help="catalogue (CSV or TOML) of sku facts")
    parser.add_argument(
        "--watch",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="poll the ruleset files this often and reload a changed one (2; 0: off)",
    )
    parser.add_argument(
        "--reload-examples",
        type=int,
        default=300,
        metavar="N",
        help="examples per floor when validating a ruleset before it goes live (300)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from promorules.cartfile import load_catalog
    from promorules.diagnostics import PromorulesError
    from promorules.holder import EngineHolder, load_file
    from promorules.plugins import PluginHost
    from promorules.serve.app import Service, create_app
    from promorules.serve.watch import Watcher

    if not 0 < args.port < 65536:
        raise PromorulesError(f"--port: 1 to 65535 (got {args.port})")
    if args.watch < 0 or args.reload_examples < 1:
        raise PromorulesError("--watch is 0 or more seconds; --reload-examples at least 1")
    kinds = PluginHost.default().kinds
    holders: dict[str, EngineHolder] = {}
    for path in args.rulesets:
        loaded = load_file(path, kinds)
        if loaded.name in holders:
            raise PromorulesError(f"{path}: a ruleset named {loaded.name!r} is served already")
        holders[loaded.name] = EngineHolder(loaded, kinds)
    currencies = {h.current.engine.currency for h in holders.values()}
    catalog = None
    if args.catalog is not None:
        if len(currencies) > 1:
            raise PromorulesError("--catalog: the rulesets price in several currencies")
        catalog = load_catalog(args.catalog, currencies.pop())
    service = Service(
        holders,
        kinds,
        catalog,
        args.catalog,
        token=os.environ.get(TOKEN_VARIABLE) or None,
        reload_examples=args.reload_examples,
    )
    watcher = Watcher(holders, service.judge, args.watch) if args.watch else None
    if watcher is not None:
        watcher.start()
    print(
        f"promorules serve: http://{args.host}:{args.port}/ ("
        + ", ".join(f"{n} {h.current.version}" for n, h in holders.items())
        + ")",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn.run(create_app(service), host=args.host, port=args.port, log_level="warning")
    finally:
        if watcher is not None:
            watcher.stop()
    return 0
