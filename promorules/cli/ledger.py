"""``promorules ledger``: the emergency controls and provisioning, from a terminal.

    promorules ledger status [--promotion P] [--format table|json]
    promorules ledger pause PROMOTION | resume PROMOTION
    promorules ledger adjust KIND:PROMOTION:SUBJECT DELTA [--clamp]
    promorules ledger sweep
    promorules ledger init RULESET.toml

Every command takes ``--ledger URL`` (default: ``$PROMORULES_LEDGER``). Exit codes: 0 done,
1 refused or backend failure (a cut larger than what is available, an unreachable
server), 2 bad input (malformed key or URL, unknown counter, unreadable ruleset).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from tabulate import tabulate

from promorules.cli.render import safe
from promorules.counters import CounterKey, CounterSpec
from promorules.ledger import (
    CounterRow,
    InvalidRequest,
    Ledger,
    LedgerError,
    ProvisionResult,
    UnknownCounter,
    open_ledger,
)

ENV = "PROMORULES_LEDGER"
OK, REFUSED, BAD_INPUT = 0, 1, 2


class _BadInput(Exception):
    pass


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``ledger`` and its subcommands to the main CLI."""
    parser = subparsers.add_parser(
        "ledger", help="inspect and steer the stateful limits of live promotions"
    )
    commands = parser.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")

    def command(name: str, help: str, run: Callable[[Ledger, argparse.Namespace], int]) -> Any:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument(
            "--ledger",
            metavar="URL",
            default=os.environ.get(ENV),
            help=f"sqlite:///file.db, postgresql://..., redis://... (default: ${ENV})",
        )
        sub.add_argument("--format", choices=("table", "json"), default="table")
        sub.set_defaults(run=lambda args: _run(args, run))
        return sub

    status = command("status", "initial, held, used and available of each counter", _status)
    status.add_argument("--promotion", help="only this promotion's counters")
    command("pause", "refuse new reservations for a promotion", _pause).add_argument("promotion")
    command("resume", "accept reservations for a paused promotion again", _resume).add_argument(
        "promotion"
    )
    adjust = command("adjust", "top up (+N) or cut (-N) a counter", _adjust)
    adjust.add_argument("key", help="KIND:PROMOTION:SUBJECT, as status prints it")
    adjust.add_argument("delta", help="units or minor units, e.g. +500 or -20")
    adjust.add_argument(
        "--clamp", action="store_true", help="cut to zero available instead of refusing"
    )
    command("sweep", "expire reservations whose deadline has passed", _sweep)
    init = command("init", "create the counters a ruleset declares (idempotent)", _init)
    init.add_argument("ruleset", help="the ruleset TOML file")


def _run(args: argparse.Namespace, body: Callable[[Ledger, argparse.Namespace], int]) -> int:
    if not args.ledger:
        return _fail(BAD_INPUT, f"no ledger: give --ledger URL or set ${ENV}")
    try:
        with open_ledger(args.ledger) as ledger:
            return body(ledger, args)
    except _BadInput as exc:
        return _fail(BAD_INPUT, str(exc))
    except (InvalidRequest, UnknownCounter) as exc:
        return _fail(BAD_INPUT, str(exc))
    except LedgerError as exc:
        return _fail(REFUSED, str(exc))
    except ImportError as exc:
        return _fail(BAD_INPUT, f"{exc} (install promorules[postgres] or promorules[redis])")


def _fail(code: int, message: str) -> int:
    print(f"promorules ledger: error: {safe(message, 2000)}", file=sys.stderr)
    return code


def _emit(args: argparse.Namespace, data: object, text: str) -> None:
    # counter keys carry customer ids and skus from checkout: never raw to a terminal
    print(json.dumps(data, indent=2) if args.format == "json" else safe(text, None, lines=True))


def _row_json(row: CounterRow) -> dict[str, object]:
    return {
        "key": str(row.key),
        "kind": row.key.kind.value,
        "promotion": row.key.promotion,
        "subject": row.key.subject,
        "template": row.is_template,
        "initial": row.initial,
        "held": row.held,
        "used": row.used,
        "available": row.available,
    }


def _table(rows: Iterable[CounterRow], paused: frozenset[str]) -> str:
    body = [
        (
            safe(r.key, 200) + (" (template)" if r.is_template else ""),
            r.initial,
            r.held,
            r.used,
            r.available,
            "paused" if r.key.promotion in paused else "",
        )
        for r in rows
    ]
    headers = ("counter", "initial", "held", "used", "available", "")
    return tabulate(body, headers=headers, intfmt=",", disable_numparse=False)


def _status(ledger: Ledger, args: argparse.Namespace) -> int:
    rows = ledger.status(args.promotion)
    paused = ledger.paused()
    data = {"counters": [_row_json(r) for r in rows], "paused": sorted(paused)}
    text = _table(rows, paused) if rows else "no counters"
    if paused:
        text += "\n\npaused: " + ", ".join(safe(p, 80) for p in sorted(paused))
    _emit(args, data, text)
    return OK


def _pause(ledger: Ledger, args: argparse.Namespace) -> int:
    ledger.pause(args.promotion)
    _emit(args, {"paused": args.promotion}, f"paused {args.promotion}")
    return OK


def _resume(ledger: Ledger, args: argparse.Namespace) -> int:
    ledger.resume(args.promotion)
    _emit(args, {"resumed": args.promotion}, f"resumed {args.promotion}")
    return OK


def _adjust(ledger: Ledger, args: argparse.Namespace) -> int:
    try:
        key = CounterKey.parse(args.key)
    except ValueError as exc:
        raise _BadInput(f"{args.key!r} is not KIND:PROMOTION:SUBJECT ({exc})") from exc
    try:
        delta = int(args.delta)
    except ValueError as exc:
        raise _BadInput(f"delta must be a whole number, got {args.delta!r}") from exc
    row = ledger.adjust(key, delta, clamp=args.clamp)
    _emit(args, _row_json(row), _table([row], ledger.paused()))
    return OK


def _sweep(ledger: Ledger, args: argparse.Namespace) -> int:
    expired = ledger.sweep()
    _emit(args, {"expired": expired}, f"expired {expired} reservation(s)")
    return OK


def _init(ledger: Ledger, args: argparse.Namespace) -> int:
    specs = _ruleset_counters(args.ruleset)
    result = ledger.provision(specs)
    _emit(args, _provision_json(result), _provision_text(result))
    return OK


def _ruleset_counters(path: str) -> tuple[CounterSpec, ...]:
    """The counters a ruleset declares, through the engine (imported only here)."""
    try:
        from promorules.engine import Engine
    except ImportError as exc:
        raise _BadInput(f"the pricing engine is not available: {exc}") from exc
    try:
        counters: tuple[CounterSpec, ...] = tuple(Engine.from_toml(path).counters)
    except OSError as exc:
        raise _BadInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    except Exception as exc:  # the engine's own ruleset errors: report, never a traceback
        raise _BadInput(f"{path}: {exc}") from exc
    return counters


def _provision_json(result: ProvisionResult) -> dict[str, object]:
    return {
        "created": [str(k) for k in result.created],
        "unchanged": [str(k) for k in result.unchanged],
        "differing": [
            {"key": str(k), "ledger_initial": have, "ruleset_initial": want}
            for k, have, want in result.differing
        ],
    }


def _provision_text(result: ProvisionResult) -> str:
    lines = [f"created {len(result.created)}, unchanged {len(result.unchanged)} counter(s)"]
    lines += [f"  created {k}" for k in result.created]
    for key, have, want in result.differing:
        lines.append(
            f"  left alone {key}: ledger initial {have}, ruleset says {want}"
            " (use `promorules ledger adjust` to change a live counter)"
        )
    return "\n".join(lines)
