"""The validator's findings: verdicts per floor, breach carts on disk, text and JSON.

A breach is written as a cart file in the format ``promorules price`` reads (JSON, with
every line's price, cost and attributes, so it reproduces without the catalogue), and
the report carries the exact command that prices it.
"""

from __future__ import annotations

import enum
import json
import re
import shlex
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

from promorules.diagnostics import Diagnostic, Severity
from promorules.money import format_amount, format_percent
from promorules.validate.blame import Blame
from promorules.validate.bounds import Claim, FloorSpec
from promorules.validate.search import Case, Shortfall


class Status(str, enum.Enum):
    PROVEN = "proven"
    BREACHED = "breached"
    UNPROVEN = "unproven"


class FailOn(str, enum.Enum):
    """The least verdict that fails validation (``--fail-on``)."""

    UNPROVEN = "unproven"
    """A floor not PROVEN fails: BREACHED exits 1, UNPROVEN exits 3 (the default)."""
    BREACHED = "breached"
    """Only a BREACHED floor fails; an UNPROVEN one is reported and exits 0."""


EXIT_OK = 0
EXIT_BREACHED = 1
"""A floor BREACHED, or a lint error."""
EXIT_UNPROVEN = 3
"""No floor BREACHED and no lint error, but a floor UNPROVEN (under ``--fail-on unproven``);
2 stays the exit code of bad input, as for every command."""


@attrs.frozen
class Breach:
    """A concrete case that breaks a floor before the clamp."""

    case: Case
    shortfall: Shortfall
    cart_file: str | None
    command: str
    at_checkout: str
    """What the ruleset's own guardrail does with this cart (clamp, reject, warn)."""
    needs_top_up: bool = False
    """The cart breaks the floor only once a budget is raised past what the ruleset
    declares (``promorules ledger adjust``); priced with budgets as declared, it holds."""


@attrs.frozen
class Verdict:
    floor: FloorSpec
    status: Status
    claim: Claim
    tried: int = 0
    seconds: float = 0.0
    breach: Breach | None = None
    blame: Blame = attrs.field(factory=Blame)
    """For a floor not PROVEN: the promotions it fails on and what would make it hold."""


@attrs.frozen
class Report:
    ruleset: str
    currency: str
    diagnostics: tuple[Diagnostic, ...]
    verdicts: tuple[Verdict, ...]
    max_lines: int
    max_quantity: int
    examples: int
    seed: int
    seconds: float
    fail_on: FailOn = FailOn.UNPROVEN

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def exit_code(self) -> int:
        """1: a floor BREACHED or a lint error; else 3: a floor UNPROVEN, when ``fail_on``
        is UNPROVEN; else 0. A CI gate tells a real breach from a missing proof by it."""
        statuses = {v.status for v in self.verdicts}
        if Status.BREACHED in statuses or self.errors:
            return EXIT_BREACHED
        if Status.UNPROVEN in statuses and self.fail_on is FailOn.UNPROVEN:
            return EXIT_UNPROVEN
        return EXIT_OK

    def verdict(self, name: str) -> Verdict:
        for verdict in self.verdicts:
            if verdict.floor.name == name:
                return verdict
        raise KeyError(name)


def pct(rate: Fraction | None) -> str:
    if rate is None:
        return "n/a"
    return format_percent(Fraction(round(rate * 10000), 10000))


def points(rate: Fraction | None) -> str:
    if rate is None:
        return "unbounded"
    return f"{float(rate * 100):.2f} points"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "floor"


def cart_data(case: Case, currency: str) -> dict[str, Any]:
    """The case as a cart file (the format of :mod:`promorules.cartfile`)."""

    def money(amount: int) -> str:
        return format_amount(amount, currency)

    lines = []
    for line in case.lines:
        entry: dict[str, Any] = {
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price": money(line.unit_price),
            "unit_cost": money(line.unit_cost),
            "category": line.category,
            "brand": line.brand,
            "merchant": line.merchant,
        }
        if line.tags:
            entry["tags"] = list(line.tags)
        if line.title:
            entry["title"] = line.title
        if line.deposit_paid:
            entry["deposit_paid"] = money(line.deposit_paid)
        lines.append(entry)
    data: dict[str, Any] = {"at": case.at.isoformat()}
    if case.channel is not None:
        data["channel"] = case.channel
    if case.coupons:
        data["coupons"] = list(case.coupons)
    if case.choices:
        data["choices"] = dict(case.choices)
    data["customer"] = {"id": "validator", "segments": sorted(case.segments)}
    data["lines"] = lines
    return data


def write_cart(case: Case, currency: str, directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(cart_data(case, currency), indent=2) + "\n", encoding="utf-8")
    return path


def price_command(ruleset: str, cart: str, catalog: str | None) -> str:
    words = ["promorules", "price", ruleset, cart]
    if catalog:
        words += ["--catalog", catalog]
    return " ".join(shlex.quote(w) for w in words)


# -- rendering -------------------------------------------------------------------------
def render_text(report: Report) -> str:
    from promorules.cli.render import safe

    out = [safe(d, 2000) for d in report.diagnostics]
    if out:
        out.append("")
    money = report.currency
    for v in report.verdicts:
        floor, claim = v.floor, v.claim
        head = f"{safe(floor.label, 120)} >= {pct(floor.floor)}: {v.status.value.upper()}"
        out.append(head)
        if v.status is Status.PROVEN:
            out.append(f"  bound: {safe(claim.reason, 300)}")
            if claim.rests_on:
                out.append("  rests on: " + ", ".join(safe(r, 120) for r in claim.rests_on))
            else:
                out.append("  rests on: no promotion can discount these lines")
        elif v.status is Status.BREACHED and v.breach is not None:
            b = v.breach
            case, s = b.case, b.shortfall
            out.append(
                f"  {safe(s.where, 40)} margin {pct(s.margin)} before the clamp "
                f"({format_amount(s.revenue, money)} paid against a cost of "
                f"{format_amount(s.cost, money)}; {format_amount(s.deficit, money)} short)"
            )
            who = ", ".join(sorted(case.segments)) or "no segment"
            wallet = ", ".join(case.coupons) or "no coupon"
            where = f", channel {safe(case.channel, 40)}" if case.channel else ""
            picked = "".join(
                f", picks {safe(option, 40)} for {safe(pid, 40)}" for pid, option in case.choices
            )
            out.append(
                f"  at {case.at.isoformat()}, customer: {safe(who, 80)}{where}, "
                f"coupons: {safe(wallet, 120)}{picked}"
            )
            for line in case.lines:
                out.append(
                    f"    {line.quantity} x {safe(line.sku, 40)} at "
                    f"{format_amount(line.unit_price, money)} (cost "
                    f"{format_amount(line.unit_cost, money)}, {safe(line.category, 20)}, "
                    f"{safe(line.merchant or '-', 30)})"
                )
            out.append(f"  at checkout: {safe(b.at_checkout, 300)}")
            if b.needs_top_up:
                out.append(
                    "  only once a budget is topped up (promorules ledger adjust): within the "
                    "budgets as declared (as `promorules price` prices it) the cart holds"
                )
            if b.cart_file:
                out.append(f"  cart: {safe(b.cart_file, 200)}")
            out.append(f"  reproduce: {safe(b.command, 400)}")
            out.append(f"  found after {v.tried} examples in {v.seconds:.1f}s")
            _blame_text(v.blame, out)
        else:
            if claim.worst_margin is None:
                out.append(
                    f"  the bound allows a payable of zero ({safe(claim.worst, 120)}): the gap "
                    "below the floor is unbounded"
                )
            else:
                out.append(
                    f"  the bound allows {pct(claim.worst_margin)} ({safe(claim.worst, 120)}): "
                    f"a gap of {points(claim.gap)} below the floor"
                )
            out.append(f"  why: {safe(claim.reason, 400)}")
            out.append(
                f"  search: no breach in {v.tried} examples ({v.seconds:.1f}s, within "
                f"{report.max_lines} lines of up to {report.max_quantity} units)"
            )
            _blame_text(v.blame, out)
    counts = {s: sum(1 for v in report.verdicts if v.status is s) for s in Status}
    out.append("")
    out.append(
        f"{counts[Status.PROVEN]} proven, {counts[Status.BREACHED]} breached, "
        f"{counts[Status.UNPROVEN]} unproven; {report.errors} lint error(s), "
        f"{len(report.diagnostics) - report.errors} warning(s); {report.seconds:.1f}s"
    )
    return "\n".join(out)


def _blame_text(blame: Blame, out: list[str]) -> None:
    from promorules.cli.render import safe

    if blame.culprits:
        out.append("  fails on: " + ", ".join(safe(c, 80) for c in blame.culprits))
    for fix in blame.fixes:
        out.append(f"  would hold with {safe(fix, 200)}")


def to_dict(report: Report) -> dict[str, Any]:
    money = report.currency

    def verdict(v: Verdict) -> dict[str, Any]:
        claim = v.claim
        data: dict[str, Any] = {
            "floor": v.floor.name,
            "label": v.floor.label,
            "minimum": pct(v.floor.floor),
            "status": v.status.value,
            "bound": {
                "proven": claim.proven,
                "worst_margin": None if claim.worst_margin is None else pct(claim.worst_margin),
                "gap_points": None if claim.gap is None else float(round(claim.gap * 100, 4)),
                "worst": claim.worst,
                "rests_on": list(claim.rests_on),
                "reason": claim.reason,
            },
            "search": {"examples": v.tried, "seconds": round(v.seconds, 3)},
        }
        if v.status is not Status.PROVEN:
            data["fails_on"] = list(v.blame.culprits)
            data["would_hold_with"] = list(v.blame.fixes)
        if v.breach is not None:
            b = v.breach
            data["breach"] = {
                "where": b.shortfall.where,
                "margin": pct(b.shortfall.margin),
                "paid": format_amount(b.shortfall.revenue, money),
                "cost": format_amount(b.shortfall.cost, money),
                "short": format_amount(b.shortfall.deficit, money),
                "cart": cart_data(b.case, money),
                "cart_file": b.cart_file,
                "command": b.command,
                "at_checkout": b.at_checkout,
                "needs_top_up": b.needs_top_up,
            }
        return data

    return {
        "ruleset": report.ruleset,
        "exit_code": report.exit_code,
        "fail_on": report.fail_on.value,
        "limits": {"max_lines": report.max_lines, "max_quantity": report.max_quantity},
        "examples": report.examples,
        "seed": report.seed,
        "seconds": round(report.seconds, 3),
        "diagnostics": [d.to_dict() for d in report.diagnostics],
        "guardrails": [verdict(v) for v in report.verdicts],
    }


def sorted_diagnostics(diagnostics: Sequence[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.code)))
