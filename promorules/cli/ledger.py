"""``promorules ledger``: the emergency controls and provisioning, from a terminal.

    promorules ledger status [--promotion P]
    promorules ledger pause PROMOTION | resume PROMOTION   [--new]
    promorules ledger adjust KIND:PROMOTION[:SUBJECT] DELTA [--clamp] [--new]
    promorules ledger sweep
    promorules ledger init RULESET.toml [--shards N [--hot KIND:PROMOTION[:SUBJECT]]...]
    promorules ledger log [--promotion P] [--limit N]

Every command takes ``--ledger URL`` (default: ``$PROMORULES_LEDGER``) and ``--format
table|json``; the commands that change something take ``--reason`` and ``--actor`` (default:
the OS user) for the audit log. Exit codes: 0 done, 1 refused or backend failure (a cut
larger than what is available, an unreachable server), 2 bad input (malformed key, amount
or URL, a promotion or counter the ledger does not know, unreadable ruleset).

A typo during an emergency must not look like success, so a promotion or counter the
ledger does not know is refused with the closest known names, unless ``--new`` says it is
meant. Money counters (budgets) are shown and adjusted in the currency's major units
(``adjust funder_budget:merchant +5000000.00``); the currency is the one ``init`` recorded
from the ruleset, or ``--currency``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from tabulate import tabulate

from promorules.cli.render import safe, table
from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec
from promorules.ledger import (
    CounterRow,
    InvalidRequest,
    Ledger,
    LedgerError,
    LogEntry,
    ProvisionResult,
    UnknownCounter,
    open_ledger,
)
from promorules.ledger.shards import MAX_SHARDS
from promorules.money import MoneyError, format_amount, minor_units, parse_amount

ENV = "PROMORULES_LEDGER"
OK, REFUSED, BAD_INPUT = 0, 1, 2
MONEY_KINDS = frozenset({CounterKind.BUDGET, CounterKind.FUNDER_BUDGET})


class _BadInput(Exception):
    pass


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``ledger`` and its subcommands to the main CLI."""
    parser = subparsers.add_parser(
        "ledger", help="inspect and steer the stateful limits of live promotions"
    )
    commands = parser.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")

    def command(
        name: str,
        help: str,
        run: Callable[[Ledger, argparse.Namespace], int],
        *,
        changes: bool = False,
    ) -> Any:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument(
            "--ledger",
            metavar="URL",
            default=os.environ.get(ENV),
            help=f"sqlite:///file.db, postgresql://..., redis://... (default: ${ENV})",
        )
        sub.add_argument("--format", choices=("table", "json"), default="table")
        sub.add_argument(
            "--currency",
            metavar="CODE",
            help="currency of the money counters (default: the one `init` recorded)",
        )
        if changes:
            sub.add_argument("--reason", help="why, for the audit log")
            sub.add_argument("--actor", help="who, for the audit log (default: the OS user)")
        sub.set_defaults(run=lambda args: _run(args, run))
        return sub

    status = command("status", "initial, held, used and available of each counter", _status)
    status.add_argument("--promotion", help="only this promotion's counters")
    for name, help, run in (
        ("pause", "refuse new reservations for a promotion", _pause),
        ("resume", "accept reservations for a paused promotion again", _resume),
    ):
        sub = command(name, help, run, changes=True)
        sub.add_argument("promotion")
        sub.add_argument(
            "--new", action="store_true", help="the ledger does not know the promotion yet"
        )
    adjust = command("adjust", "top up (+N) or cut (-N) a counter", _adjust, changes=True)
    adjust.add_argument("key", help="KIND:PROMOTION[:SUBJECT], as status prints it")
    adjust.add_argument(
        "delta", help="units, or money in major units for budgets: +500, -20, +5000000.00"
    )
    adjust.add_argument(
        "--clamp", action="store_true", help="cut to zero available instead of refusing"
    )
    adjust.add_argument(
        "--new", action="store_true", help="create the counter, with DELTA as its initial"
    )
    command("sweep", "expire reservations whose deadline has passed", _sweep)
    init = command(
        "init", "create the counters a ruleset declares (idempotent)", _init, changes=True
    )
    init.add_argument("ruleset", help="the ruleset TOML file")
    init.add_argument(
        "--shards",
        type=int,
        default=1,
        metavar="N",
        help="store each counter it creates as N shards (hot counters; default 1)",
    )
    init.add_argument(
        "--hot",
        action="append",
        default=[],
        metavar="KEY",
        help="with --shards, shard only this counter (repeat for more)",
    )
    log = command("log", "the audit log of pauses, resumes, adjusts and provisions", _log)
    log.add_argument("--promotion", help="only this promotion's entries")
    log.add_argument("--limit", type=int, metavar="N", help="only the last N entries")


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


# -- money in major units ---------------------------------------------------------------


def _currency(ledger: Ledger, args: argparse.Namespace) -> str | None:
    """The currency budgets are counted in: --currency, else what the ledger recorded."""
    code: str | None = args.currency or ledger.currency()
    if code is not None:
        try:
            minor_units(code)
        except MoneyError as exc:
            raise _BadInput(f"--currency: {exc}") from None
    return code


def _major(minor: int, currency: str | None) -> str:
    """Minor units as major units with thousands separators: 500000000 CNY -> 5,000,000.00."""
    if currency is None:
        return f"{minor:,}"
    text = format_amount(minor, currency)
    sign = "-" if text.startswith("-") else ""
    whole, dot, part = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}{dot}{part}"


def _figure(row_key: CounterKey, minor: int, currency: str | None) -> str:
    return _major(minor, currency) if row_key.kind in MONEY_KINDS else f"{minor:,}"


def _delta(key: CounterKey, text: str, currency: str | None) -> int:
    """DELTA in the counter's unit: major units of money for budgets, whole units otherwise."""
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    if key.kind in MONEY_KINDS:
        if currency is None:
            raise _BadInput(
                f"{key} counts money but the ledger does not record its currency:"
                " give --currency CODE (or run `promorules ledger init RULESET`)"
            )
        try:
            return sign * parse_amount(body, currency)
        except MoneyError as exc:
            raise _BadInput(f"delta {text[:40]!r}: {exc}") from None
    if not body.isascii() or not body.isdigit():
        raise _BadInput(f"delta for {key} must be a whole number of units, got {text[:40]!r}")
    return sign * int(body)


# -- knowing what exists ----------------------------------------------------------------


def _closest(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=3, cutoff=0.5)
    return f" (did you mean {', '.join(safe(c, 80) for c in close)}?)" if close else ""


def _known_promotion(ledger: Ledger, promotion: str, new: bool = False) -> None:
    if new:
        return
    known = ledger.promotions()
    if promotion not in known:
        raise _BadInput(
            f"unknown promotion {safe(promotion, 80)!r}{_closest(promotion, known)};"
            " give --new if it is meant"
        )


def _key(text: str) -> CounterKey:
    try:
        return CounterKey.parse(text)
    except ValueError as exc:
        raise _BadInput(f"{text[:200]!r} is not KIND:PROMOTION[:SUBJECT] ({exc})") from None


# -- commands ---------------------------------------------------------------------------


def _row_json(row: CounterRow, currency: str | None) -> dict[str, object]:
    subject = row.key.subject
    return {
        "key": str(row.key),
        "kind": row.key.kind.value,
        "promotion": row.key.promotion,
        # a template has no subject; a structured one is its list of parts
        "subject": None
        if row.is_template
        else list(subject)
        if isinstance(subject, tuple)
        else subject,
        "template": row.is_template,
        "currency": currency if row.key.kind in MONEY_KINDS else None,
        "initial": row.initial,
        "held": row.held,
        "used": row.used,
        "available": row.available,
    }


def _table(rows: Iterable[CounterRow], paused: frozenset[str], currency: str | None) -> str:
    body = [
        (
            safe(r.key, 200) + (" (template)" if r.is_template else ""),
            _figure(r.key, r.initial, currency),
            _figure(r.key, r.held, currency),
            _figure(r.key, r.used, currency),
            _figure(r.key, r.available, currency),
            "paused" if r.key.promotion in paused else "",
        )
        for r in rows
    ]
    headers = ("counter", "initial", "held", "used", "available", "")
    text: str = tabulate(
        body,
        headers=headers,
        colalign=("left", "right", "right", "right", "right", "left"),
        disable_numparse=True,
    )
    if any(r.key.kind in MONEY_KINDS for r in rows):
        # never let a planner read fen as yuan
        text += (
            f"\n\nbudgets in {currency}"
            if currency is not None
            else "\n\nbudgets in minor units (the ledger does not record its currency:"
            " --currency CODE)"
        )
    return text


def _status(ledger: Ledger, args: argparse.Namespace) -> int:
    if args.promotion is not None:
        _known_promotion(ledger, args.promotion)
    currency = _currency(ledger, args)
    rows = ledger.status(args.promotion)
    paused = ledger.paused()
    data = {"counters": [_row_json(r, currency) for r in rows], "paused": sorted(paused)}
    text = _table(rows, paused, currency) if rows else "no counters"
    if paused:
        text += "\n\npaused: " + ", ".join(safe(p, 80) for p in sorted(paused))
    _emit(args, data, text)
    return OK


def _pause(ledger: Ledger, args: argparse.Namespace) -> int:
    _known_promotion(ledger, args.promotion, args.new)
    ledger.pause(args.promotion, actor=args.actor, reason=args.reason)
    _emit(args, {"paused": args.promotion}, f"paused {safe(args.promotion)}")
    return OK


def _resume(ledger: Ledger, args: argparse.Namespace) -> int:
    _known_promotion(ledger, args.promotion, args.new)
    ledger.resume(args.promotion, actor=args.actor, reason=args.reason)
    _emit(args, {"resumed": args.promotion}, f"resumed {safe(args.promotion)}")
    return OK


def _adjust(ledger: Ledger, args: argparse.Namespace) -> int:
    key = _key(args.key)
    currency = _currency(ledger, args)
    delta = _delta(key, args.delta, currency)
    if ledger.exists(key):
        row = ledger.adjust(key, delta, clamp=args.clamp, actor=args.actor, reason=args.reason)
    elif not args.new:
        # only on this failing path is it worth listing counters for the hint
        names = [str(r.key) for r in ledger.status(key.promotion)] or [
            str(r.key) for r in ledger.status()
        ]
        raise _BadInput(
            f"unknown counter {str(key)!r}{_closest(str(key), names)};"
            " give --new to create it with DELTA as its initial"
        )
    elif delta < 0:
        raise _BadInput(f"a new counter starts at zero or more, not {args.delta!r}")
    else:
        result = ledger.provision([CounterSpec(key, delta)], actor=args.actor, reason=args.reason)
        if result.created:
            row = CounterRow(key, delta, 0, 0, delta)
        else:  # created by someone else meanwhile: show what is there
            row = next(r for r in ledger.status(key.promotion) if r.key == key)
    _emit(args, _row_json(row, currency), _table([row], ledger.paused(), currency))
    return OK


def _sweep(ledger: Ledger, args: argparse.Namespace) -> int:
    expired = ledger.sweep()
    _emit(args, {"expired": expired}, f"expired {expired} reservation(s)")
    return OK


def _init(ledger: Ledger, args: argparse.Namespace) -> int:
    specs, currency, promotions = _ruleset_counters(args.ruleset)
    shards = _declared_shards(specs, args.shards, [_key(k) for k in args.hot])
    if currency is not None:
        ledger.set_currency(currency)
    ledger.record_promotions(promotions)
    result = ledger.provision(specs, shards=shards, actor=args.actor, reason=args.reason)
    _emit(args, _provision_json(result), _provision_text(result))
    return OK


def _declared_shards(
    specs: Sequence[CounterSpec], count: int, hot: Sequence[CounterKey]
) -> dict[CounterKey, int]:
    """The shard count of each counter ``init`` creates: ``--shards`` for the ``--hot``
    ones, or for every counter but the templates when no ``--hot`` is given."""
    if not 1 <= count <= MAX_SHARDS:
        raise _BadInput(f"--shards is 1 to {MAX_SHARDS}, got {count}")
    declared = {spec.key for spec in specs}
    for key in hot:
        if key not in declared:
            known = [str(k) for k in declared]
            raise _BadInput(
                f"--hot {safe(str(key), 200)!r} is not a counter of the ruleset"
                f"{_closest(str(key), known)}"
            )
        if key.subject == ANY_SUBJECT:
            raise _BadInput(f"--hot {safe(str(key), 200)!r} is a template: it cannot be sharded")
    if hot and count == 1:
        raise _BadInput("--hot names counters to shard: give --shards N too")
    if count == 1:
        return {}
    chosen = hot or [key for key in declared if key.subject != ANY_SUBJECT]
    return {key: count for key in chosen}


def _ruleset_counters(path: str) -> tuple[tuple[CounterSpec, ...], str | None, tuple[str, ...]]:
    """The counters, currency and promotion ids of a ruleset, through the engine."""
    try:
        from promorules.engine import Engine
    except ImportError as exc:
        raise _BadInput(f"the pricing engine is not available: {exc}") from exc
    try:
        engine = Engine.from_toml(path)
        counters: tuple[CounterSpec, ...] = tuple(engine.counters)
    except OSError as exc:
        raise _BadInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    except Exception as exc:  # the engine's own ruleset errors: report, never a traceback
        raise _BadInput(f"{path}: {exc}") from exc
    currency = getattr(engine, "currency", None)
    ruleset = getattr(engine, "ruleset", None)
    promotions = tuple(p.id for p in getattr(ruleset, "promotions", ()))
    return counters, currency if isinstance(currency, str) else None, promotions


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


def _log(ledger: Ledger, args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 0:
        raise _BadInput("--limit must be zero or more")
    if args.promotion is not None:
        _known_promotion(ledger, args.promotion)
    currency = _currency(ledger, args)
    entries = ledger.log(args.promotion, args.limit)
    data = [_entry_json(e) for e in entries]
    rows = [
        (
            e.seq,
            datetime.fromtimestamp(e.at, UTC).isoformat(timespec="seconds"),
            safe(e.actor, 32),
            e.action.value,
            safe(e.target or e.promotion, 60),
            _change(e, currency),
            safe(e.reason or "", 60),
        )
        for e in entries
    ]
    headers = ("#", "when (UTC)", "who", "action", "what", "change", "reason")
    _emit(args, data, table(rows, headers) if rows else "no entries")
    return OK


def _entry_json(entry: LogEntry) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "at": datetime.fromtimestamp(entry.at, UTC).isoformat(),
        "actor": entry.actor,
        "action": entry.action.value,
        "promotion": entry.promotion,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
    }


def _change(entry: LogEntry, currency: str | None) -> str:
    """Before and after, in the words and units a planner reads."""
    before, after = entry.before, entry.after
    if "paused" in after:
        words = {True: "paused", False: "running"}
        return f"{words[bool(before.get('paused'))]} -> {words[bool(after['paused'])]}"
    if "created" in after:
        created = after["created"]
        return f"created {len(created) if isinstance(created, dict) else 0} counter(s)"
    if "refund" in after:
        # a refund of reservation ``target``: what it has been given back, per counter
        was, now = before.get("refunded"), after.get("refunded")
        if not isinstance(was, dict) or not isinstance(now, dict):
            return ""
        moved = []
        for name, total in now.items():
            key = CounterKey.parse(name)
            back = int(str(total)) - int(str(was.get(name, 0)))
            moved.append(f"{safe(name, 60)} +{_figure(key, back, currency)}")
        return f"refund {safe(after['refund'], 40)}: " + ", ".join(moved)
    try:
        key = CounterKey.parse(entry.target)
    except ValueError:
        return ""
    parts: Sequence[str] = ("initial", "available")
    return ", ".join(
        f"{name} {_figure(key, int(str(before.get(name, 0))), currency)}"
        f" -> {_figure(key, int(str(after.get(name, 0))), currency)}"
        for name in parts
    )
