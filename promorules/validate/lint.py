"""Stage 1: lint a ruleset for settings that load but price badly (``PR4xx`` codes).

Checks that need only the common fields, the kinds' bounds and counters, and the
catalogue live here; checks of a kind's own fields come from the kind
(:meth:`promorules.kind.Kind.lint`). Every finding is located through the ruleset's
key positions and reported ``file:line:col: CODE``. Codes (docs/validate.md):

=====  ========  ==============================================================
code   severity  finding
=====  ========  ==============================================================
PR401  error     a tier that does not increase, or gives less at a higher step
PR402  error     a discount at or above its threshold
PR403  mixed     phases or windows that overlap (warning) or run backwards (error)
PR404  error     a pre-sale final window opening before the deposit window closes
PR405  error     a pre-sale deposit worth more than the price
PR406  warning   a per-customer limit above the global limit
PR407  warning   a budget smaller than one maximal discount
PR408  warning   a promotion that targets nothing in the catalogue
PR409  warning   a promotion whose window lies outside every campaign phase
PR410  warning   exclusive promotions whose order is decided by declaration order
PR411  error     a gift without a cost
PR412  error     anything that could give a negative total before the clamp
PR413  warning   no catalogue and no declared category margins: nothing to prove with
PR414  warning   no margin floor declared: nothing to validate
PR415  warning   a catalogue sku that breaks a floor at its list price
=====  ========  ==============================================================

PR404 and PR405 concern a pre-sale kind's own fields: that kind reports them.
"""

from __future__ import annotations

import itertools
import typing
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import attrs

from promorules.counters import CounterKind
from promorules.diagnostics import Collector, Diagnostic, Path, Severity
from promorules.engine import Engine
from promorules.kind import Lane
from promorules.money import format_amount
from promorules.ruleset import Amount, Promotion, Ruleset, Window
from promorules.validate.bounds import FloorSpec
from promorules.validate.space import Item, Space

# a per-customer counter and the global counter it must not exceed
_PAIRS = {
    CounterKind.COUPON_CUSTOMER_USES: CounterKind.COUPON_USES,
    CounterKind.FLASH_CUSTOMER_UNITS: CounterKind.FLASH_STOCK,
}


def lint_ruleset(
    engine: Engine,
    space: Space,
    floors: Sequence[FloorSpec],
    excluded: Sequence[tuple[Item, str]] = (),
) -> list[Diagnostic]:
    """Every lint finding for ``engine``'s ruleset over ``space``."""
    ruleset = engine.ruleset
    out = ruleset.collector()
    if not floors:
        out.add(
            "PR414",
            "no margin floor is declared: there is nothing to validate",
            ("guardrails",),
            warning=True,
        )
    if not space.has_catalog and not ruleset.catalog.categories:
        out.add(
            "PR413",
            "no catalogue given and no [catalog.categories] margins declared: no floor can "
            "be proven (pass --catalog FILE or declare category margins)",
            warning=True,
        )
    _phases(ruleset, out)
    for index, promotion in enumerate(ruleset.promotions):
        path: Path = ("promotion", index)
        kind = engine.kinds[promotion.kind]
        out.extend(kind.lint(promotion, ruleset), path)
        _config(promotion.config, path, out)
        bound = engine.bound(index)
        if bound.rate > 1 or (bound.line_rate is not None and bound.line_rate > 1):
            out.add("PR412", f"its kind bounds it above 100% of its base ({bound.note})", path)
        if bound.extra_cost < 0:
            out.add("PR412", "it declares a negative extra cost", path)
        _never_fires(ruleset, index, kind.without_lines, space, path, out)
        _counters(engine, promotion, path, out)
        _budget(index, bound.rate, bound.cap, space, engine, path, out)
    _ambiguous(engine, out)
    for item, floor in excluded:
        out.add(
            "PR415",
            f"catalogue sku {item.sku!r} breaks the {floor} at its list price "
            f"({format_amount(item.price, ruleset.campaign.currency)}, cost "
            f"{format_amount(int(item.cost), ruleset.campaign.currency)}): a cart of it alone "
            "breaks the floor with no promotion; the validator counts only carts that hold "
            "their floors at list price",
            warning=True,
        )
    return out.diagnostics()


def _phases(ruleset: Ruleset, out: Collector) -> None:
    phases = sorted(ruleset.campaign.phases.items(), key=lambda kv: kv[1].start)
    for (name_a, a), (name_b, b) in itertools.combinations(phases, 2):
        if a.start <= b.end and b.start <= a.end:
            out.add(
                "PR403",
                f"phases {name_a!r} and {name_b!r} overlap: promotions of both are live at once",
                ("campaign", "phases", name_b),
                warning=True,
            )


def _config(config: object, path: Path, out: Collector) -> None:
    """Negative amounts and backward windows anywhere in a kind's own fields."""
    cls: Any = type(config)
    if not attrs.has(cls):
        return
    for field in attrs.fields(cls):
        value = getattr(config, field.name)
        _value(value, field.type, (*path, field.name), out)


def _value(value: object, declared: object, path: Path, out: Collector) -> None:
    if isinstance(value, Window):
        if value.end < value.start:
            out.add("PR403", "window ends before it starts", path)
    elif attrs.has(type(value)):
        _config(value, path, out)
    elif isinstance(value, tuple | list):
        item_type = next(iter(typing.get_args(declared)), None)
        for i, item in enumerate(value):
            _value(item, item_type, (*path, i), out)
    elif isinstance(value, dict):
        args = typing.get_args(declared)
        value_type = args[1] if len(args) == 2 else None
        for key, item in value.items():
            _value(item, value_type, (*path, str(key)), out)
    elif (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value < 0
        and _is_amount(declared)
    ):
        out.add("PR412", "a negative amount can push a total below zero", path)


def _is_amount(declared: object) -> bool:
    return declared is Amount or Amount in typing.get_args(declared)


def _never_fires(
    ruleset: Ruleset,
    index: int,
    without_lines: bool,
    space: Space,
    path: Path,
    out: Collector,
) -> None:
    promotion = ruleset.promotions[index]
    scopes = space.scopes(ruleset.promotions).highest if space.items else {}
    if space.items and not without_lines and not any(index in touch for touch in scopes):
        where = "in the catalogue" if space.has_catalog else "in the declared categories"
        out.add("PR408", f"targets no sku {where}: it can never fire", path, warning=True)
    phases = ruleset.campaign.phases.values()
    if promotion.window is not None and phases:
        w = promotion.window
        if not any(w.start <= p.end and p.start <= w.end for p in phases):
            out.add(
                "PR409",
                "its window lies outside every campaign phase: it can never fire during "
                "the campaign",
                (*path, "window"),
                warning=True,
            )


def _counters(engine: Engine, promotion: Promotion, path: Path, out: Collector) -> None:
    specs = list(engine.kinds[promotion.kind].counters(promotion))
    for spec in specs:
        partner = _PAIRS.get(spec.key.kind)
        if partner is None:
            continue
        for other in specs:
            if other.key.kind is partner and spec.initial > other.initial:
                subject = f" for {other.key.subject}" if other.key.subject else ""
                out.add(
                    "PR406",
                    f"the per-customer limit ({spec.initial}) is above the global limit"
                    f"{subject} ({other.initial}): no customer can ever reach it",
                    path,
                    warning=True,
                )
                break


def _budget(
    index: int,
    rate: Fraction,
    cap: int | None,
    space: Space,
    engine: Engine,
    path: Path,
    out: Collector,
) -> None:
    promotion = engine.ruleset.promotions[index]
    if promotion.budget is None or rate <= 0:
        return
    scopes = space.scopes(engine.ruleset.promotions)
    prices = [price for touch, price in scopes.highest.items() if index in touch]
    if not prices:
        return
    largest = rate * max(prices) * space.max_lines * space.max_quantity
    one = min(Fraction(cap), largest) if cap is not None else largest
    if promotion.budget < one:
        money = engine.currency
        out.add(
            "PR407",
            f"its budget ({format_amount(promotion.budget, money)}) is smaller than one "
            f"maximal discount (up to {format_amount(int(one), money)} on a cart within the "
            "limits): one order can exhaust it",
            (*path, "budget"),
            warning=True,
        )


def _ambiguous(engine: Engine, out: Collector) -> None:
    ruleset = engine.ruleset
    promotions = ruleset.promotions
    index = {p.id: i for i, p in enumerate(promotions)}
    lanes = [p.effective_lane(engine.kinds[p.kind]) for p in promotions]
    pairs: dict[tuple[int, int], str] = {}
    for a, b in itertools.combinations(range(len(promotions)), 2):
        pa, pb = promotions[a], promotions[b]
        if pa.group is not None and pa.group == pb.group:
            pairs[(a, b)] = f"exclusive group {pa.group!r}"
    for a, p in enumerate(promotions):
        for other in p.not_with:
            partner = index.get(other)
            if partner is not None and lanes[a] is lanes[partner] and lanes[a] is not Lane.PRICE:
                pairs.setdefault((min(a, partner), max(a, partner)), "not_with")
    for (a, b), why in sorted(pairs.items()):
        pa, pb = promotions[a], promotions[b]
        if pa.priority == pb.priority and _may_overlap(ruleset, pa, pb):
            out.add(
                "PR410",
                f"{pb.id!r} and {pa.id!r} ({why}) share priority {pa.priority}: when they "
                "give the same, declaration order decides; give them distinct priorities",
                ("promotion", b, "priority")
                if ("promotion", b, "priority") in ruleset.positions
                else ("promotion", b),
                warning=True,
            )


def _may_overlap(ruleset: Ruleset, a: Promotion, b: Promotion) -> bool:
    wa, wb = ruleset.windows(a), ruleset.windows(b)
    if not wa or not wb:
        return True
    return any(x.start <= y.end and y.start <= x.end for x in wa for y in wb)


def problems_from_search(ruleset: Ruleset, notes: Iterable[str]) -> list[Diagnostic]:
    """Anomalies the search saw (``CODE:message``) as located diagnostics."""
    out = ruleset.collector()
    for note in notes:
        code, _, message = note.partition(":")
        out.add(code, message + " (seen while searching)")
    return out.diagnostics()


def is_error(diagnostic: Diagnostic) -> bool:
    return diagnostic.severity is Severity.ERROR
