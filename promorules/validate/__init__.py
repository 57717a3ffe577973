"""``promorules validate``: can any cart, at any moment, break a margin floor?

Three stages over one space of carts (:mod:`promorules.validate.space`):

1. :mod:`~promorules.validate.lint`: settings that load but price badly (``PR4xx``).
2. :mod:`~promorules.validate.bounds`: the kinds' discount bounds composed along the
   lanes; a floor the arithmetic holds is PROVEN.
3. :mod:`~promorules.validate.search`: for every other floor, a targeted Hypothesis
   search for a breaching cart, shrunk to the smallest; found: BREACHED (written out as
   a cart file with the command that reproduces it), not found: UNPROVEN.

:func:`validate` runs them and returns a :class:`~promorules.validate.report.Report`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import attrs

from promorules.cartfile import CatalogItem, load_cart
from promorules.counters import UNLIMITED
from promorules.engine import Engine
from promorules.validate.blame import blame
from promorules.validate.bounds import Bounds, FloorSpec, floors_of
from promorules.validate.lint import lint_ruleset, problems_from_search
from promorules.validate.report import (
    Breach,
    FailOn,
    Report,
    Status,
    Verdict,
    price_command,
    slug,
    sorted_diagnostics,
    write_cart,
)
from promorules.validate.search import Case, Progress, search_floor, shortfall, unguarded
from promorules.validate.space import Item, Space, build_space

__all__ = ["FailOn", "Options", "Report", "Status", "validate"]


@attrs.frozen
class Options:
    """The limits of the carts considered and the effort of the search."""

    max_lines: int = 6
    max_quantity: int = 5
    examples: int = 3000
    """Examples per floor the search may try (the default search effort)."""
    seed: int = 0
    out_dir: Path | None = Path("promorules-breaches")
    """Where breach carts are written; ``None``: not written."""
    ruleset_path: str | None = None
    catalog_path: str | None = None
    progress: bool = False
    stream: TextIO | None = None
    fail_on: FailOn = FailOn.UNPROVEN
    """The least verdict that fails validation (see :attr:`Report.exit_code`)."""


def validate(
    engine: Engine,
    catalog: Mapping[str, CatalogItem] | None = None,
    options: Options | None = None,
) -> Report:
    """Lint, bound and search ``engine``'s ruleset; see the module docstring."""
    options = options or Options()
    started = time.monotonic()
    ruleset = engine.ruleset
    floors = floors_of(ruleset)
    space = build_space(
        engine, catalog, max_lines=options.max_lines, max_quantity=options.max_quantity
    )
    diagnostics = lint_ruleset(engine, space, floors, loss_leaders(space, floors))
    verdicts: list[Verdict] = []
    notes: dict[str, None] = {}
    if space.items:
        bounds = Bounds(engine, space)
        order: list[int] | None = None
        progress = Progress(options.stream, options.progress)
        for floor in floors:
            claim = bounds.claim(floor)
            if claim.proven:
                verdicts.append(Verdict(floor, Status.PROVEN, claim))
                continue
            if order is None:
                # riskiest skus first, for the search only: a ruleset proven on every
                # floor never pays for it (about a tenth of the bound's time)
                order = bounds.riskiest_first()
            outcome = search_floor(
                engine,
                space,
                floor,
                order,
                examples=options.examples,
                seed=options.seed,
                progress=progress,
            )
            notes.update(dict.fromkeys(outcome.observations))
            why = blame(bounds, floor)
            if outcome.found is None:
                verdicts.append(
                    Verdict(
                        floor, Status.UNPROVEN, claim, outcome.tried, outcome.seconds, None, why
                    )
                )
                continue
            breach = _breach(engine, catalog, floor, outcome.found.case, options)
            verdicts.append(
                Verdict(floor, Status.BREACHED, claim, outcome.tried, outcome.seconds, breach, why)
            )
    else:
        from promorules.validate.bounds import Claim

        for floor in floors:
            claim = Claim(floor, False, None, "", (), "no sku to reason about")
            verdicts.append(Verdict(floor, Status.UNPROVEN, claim))
    # what the search saw adds to lint only where lint did not already say it
    said = {d.code for d in diagnostics}
    diagnostics += problems_from_search(ruleset, (n for n in notes if n[:5] not in said))
    return Report(
        ruleset=options.ruleset_path or ruleset.source,
        currency=engine.currency,
        diagnostics=sorted_diagnostics(diagnostics),
        verdicts=tuple(verdicts),
        max_lines=options.max_lines,
        max_quantity=options.max_quantity,
        examples=options.examples,
        seed=options.seed,
        seconds=time.monotonic() - started,
        fail_on=options.fail_on,
    )


def loss_leaders(space: Space, floors: list[FloorSpec]) -> list[tuple[Item, str]]:
    """Catalogue skus that break a floor at list price, with no promotion at all. Such a
    cart is the catalogue's problem, not the ruleset's: the line floor leaves them out,
    and only carts that hold a floor at list price count as its breaches."""
    out = []
    # price * (1 - f) < cost in whole numbers: a Fraction per sku and floor was most of
    # this pass's time on a large catalogue
    keeps = [(f, (1 - f.floor).numerator, (1 - f.floor).denominator) for f in floors]
    for item in space.items:
        cost = item.cost
        broken = next(
            (
                f.label
                for f, n, d in keeps
                if (f.category is None or f.category == item.category)
                and item.price * n * cost.denominator < cost.numerator * d
            ),
            None,
        )
        if broken is not None and not item.synthetic:
            out.append((item, broken))
    return out


def _breach(
    engine: Engine,
    catalog: Mapping[str, CatalogItem] | None,
    floor: FloorSpec,
    case: Case,
    options: Options,
) -> Breach:
    currency = engine.currency
    cart = case.cart(currency)
    loose = unguarded(engine)
    found = shortfall(loose.price(cart, case.context()), cart, floor)
    guarded = engine.price(cart, case.context())
    report = guarded.guardrail
    mode = engine.ruleset.guardrails.on_breach.value
    if report.trims:
        taken = sum(report.trims.values())
        from promorules.money import format_amount

        at_checkout = (
            f"on_breach = {mode}: the guardrail takes {format_amount(taken, currency)} back "
            f"({', '.join(sorted(report.trims))}), status {report.status.value}"
        )
    elif report.rejected:
        at_checkout = (
            f"on_breach = {mode}: the guardrail drops {', '.join(report.rejected)}, "
            f"status {report.status.value}"
        )
    elif report.status.value == "breached":
        at_checkout = (
            f"on_breach = {mode}: no discount can be taken back to hold it (a gift's cost, "
            "or on_breach = warn): the order goes through breached"
        )
    else:
        at_checkout = f"on_breach = {mode}: status {report.status.value}"
    ruleset_path = options.ruleset_path or engine.ruleset.source
    cart_path: str | None = None
    command = ""
    if options.out_dir is not None:
        name = f"{slug(Path(ruleset_path).stem)}-{slug(floor.name)}"
        written = write_cart(case, currency, options.out_dir, name)
        cart_path = str(written)
        command = price_command(ruleset_path, cart_path, options.catalog_path)
        # the file must reproduce the breach exactly as found
        again = load_cart(written, currency, engine.ruleset.tz)
        assert again.cart == cart, "breach cart does not round-trip"
        assert again.choices == case.choices, "breach choices do not round-trip"
    # within the budgets as declared (no ledger attached) the cart may hold the floor
    declared = attrs.evolve(case.context(), availability=UNLIMITED)
    needs_top_up = shortfall(loose.price(cart, declared), cart, floor).deficit <= 0
    return Breach(case, found, cart_path, command, at_checkout, needs_top_up)
