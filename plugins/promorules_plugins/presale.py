"""The ``presale`` kind: deposit pre-sale with deposit inflation ("pay 100, worth 150").

Config (amounts per unit)::

    kind = "presale"
    skus = ["NOVA-PHONE"]
    deposit = "100.00"
    worth = "150.00"                  # what the deposit counts for at the final payment
    deposit_phase = "presale"         # or deposit_window = { start = ..., end = ... }
    final_phase = "explosion"         # or final_window = { ... }; opens after the deposit
    presale_price = "899.00"          # optional: competes in the price lane
    funded_by = { merchant = "100%" } # common field: who pays the bonus

The promotion is live in its two windows only (leave the common ``window`` and
``phases`` unset). It sits in the price lane, so every later lane (store and platform
thresholds, coupons) measures on the price less the bonus:

- deposit window: each unit gets the bonus (worth - deposit) as a discount, the
  presale price (if any) competes with other price-lane offers, and the quote carries
  a payment schedule: the deposit now, the balance in the final window
  (``Quote.payments``).
- final window: only units covered by the deposit the cart line says was paid
  (``Line.deposit_paid // deposit``) get the bonus and the presale price; the quote
  shows the deposit as paid and the balance as due now.

The bonus is a credit, not a price: it applies whichever price wins the unit, and it
counts against margin like any discount, funded per ``funded_by``. Hand check: price
1000, deposit 100 worth 150: discount 50, order total 950, deposit 100 + balance 850.

For coupons: the engine exposes each line's deposit on ``PricingState.deposits`` (and
``deferred`` in the deposit window, when the balance is not paid now); a coupon
applies at the final payment only, and only while ``amounts[i] - deposits[i]`` (the
balance) stays above its face value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

import attrs

from promorules import hookimpl
from promorules.diagnostics import Problem
from promorules.kind import (
    Bound,
    CompileEnv,
    Evaluator,
    Kind,
    Lane,
    NotApplied,
    Offer,
    PricingState,
    Reason,
)
from promorules.messages import Amount as Minor
from promorules.messages import Note
from promorules.money import format_amount
from promorules.ruleset import Amount, Promotion, Ruleset, Window

NO_DEPOSIT = "no-deposit-paid"
"""Reason code: final-payment window, but no line in scope carries a paid deposit."""


@attrs.frozen
class PresaleConfig:
    deposit: Amount
    """What the customer pays per unit in the deposit window."""
    worth: Amount
    """What the deposit counts for at the final payment; the bonus ``worth - deposit`` is
    a discount (funded per ``funded_by``)."""
    deposit_window: Window | None = None
    """When deposits are taken: ``{ start, end }`` (give this or ``deposit_phase``)."""
    deposit_phase: str | None = None
    """When deposits are taken: a campaign phase."""
    final_window: Window | None = None
    """When the final payment is made: ``{ start, end }``, opening after the deposit
    window closes (give this or ``final_phase``)."""
    final_phase: str | None = None
    """When the final payment is made: a campaign phase."""
    presale_price: Amount | None = None
    """A unit price for presale units, competing with the other offers of the price
    lane; the deposit may not be worth more than it."""


class Presale(Kind):
    name = "presale"
    config_type = PresaleConfig
    lanes = (Lane.PRICE,)
    summary = "deposit pre-sale: a deposit worth more at the final payment, paid in two parts"

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        config: PresaleConfig = promotion.config
        if config.deposit <= 0:
            yield Problem("PR203", "deposit must be above zero", ("deposit",))
        if config.worth < config.deposit:
            yield Problem("PR203", "worth must be at least the deposit", ("worth",))
        if config.presale_price is not None:
            if config.presale_price <= 0:
                yield Problem("PR203", "presale_price must be above zero", ("presale_price",))
            elif config.worth > config.presale_price:
                yield Problem(
                    "PR203", "the deposit cannot be worth more than the presale price", ("worth",)
                )
        if promotion.window is not None or promotion.phases:
            yield Problem(
                "PR203",
                "a presale is live in its deposit and final windows: leave window and phases unset",
                ("window" if promotion.window else "phases",),
            )
        for which in ("deposit", "final"):
            window, phase = getattr(config, f"{which}_window"), getattr(config, f"{which}_phase")
            if (window is None) == (phase is None):
                yield Problem(
                    "PR203",
                    f"give exactly one of {which}_window or {which}_phase",
                    (f"{which}_window",),
                )
            elif window is not None and window.end < window.start:
                yield Problem("PR106", "window ends before it starts", (f"{which}_window",))
        if config.deposit_window is not None and config.final_window is not None:
            yield from _order(config.deposit_window, config.final_window)

    def lint(self, promotion: Promotion, ruleset: Ruleset) -> Iterable[Problem]:
        # PR404 (final window opening before the deposit window closes) and a deposit
        # worth more than the presale price are load errors already (check() and the
        # phase resolution at compile time refuse them), so lint has only the prices it
        # can see without a catalogue: the categories' declared price ranges.
        config: PresaleConfig = promotion.config
        if not promotion.categories or promotion.skus:
            return  # a sku named outright may lie outside the declared ranges
        facts = ruleset.catalog.categories
        highs = [facts[c].max_price if c in facts else None for c in promotion.categories]
        if any(high is None for high in highs):
            return
        highest = max(high for high in highs if high is not None)
        if config.worth > highest:
            currency = ruleset.campaign.currency
            yield Problem(
                "PR405",
                f"the deposit is worth {format_amount(config.worth, currency)}, more than "
                f"any price its categories declare (at most {format_amount(highest, currency)})",
                ("worth",),
            )

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: PresaleConfig = promotion.config
        deposit_window, final_window = _windows(promotion, env.ruleset)
        deposit, worth, presale_price = config.deposit, config.worth, config.presale_price
        bonus = worth - deposit
        terms = Note(
            "presale-terms",
            {"deposit": Minor(deposit), "worth": Minor(worth), "bonus": Minor(bonus)},
        )
        priced = (
            (Note("presale-price", {"price": Minor(presale_price)}),)
            if presale_price is not None
            else ()
        )

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            at = state.at
            in_deposit = deposit_window.contains(at)
            if not in_deposit and not final_window.contains(at):
                return NotApplied(Reason.OUT_OF_WINDOW, (_OUTSIDE,))
            offered: list[tuple[int, int, int]] = []
            credit_lines: list[int] = []
            credits: list[int] = []
            deposits: list[tuple[int, int]] = []
            notes: list[Note] = []
            base = 0
            for i in lines:
                qty, list_unit = state.qty[i], state.list_unit[i]
                sku = state.lines[i].sku
                if in_deposit:
                    units = qty
                else:
                    paid = state.lines[i].deposit_paid
                    units = min(paid // deposit, qty)
                    if units < qty:
                        notes.append(
                            Note("deposit-covers", {"sku": sku, "units": units, "quantity": qty})
                        )
                if units <= 0:
                    continue
                base += state.amounts[i]
                if presale_price is not None and presale_price < list_unit:
                    offered.append((i, presale_price, units))
                if bonus > 0:
                    credit_lines.append(i)
                    credits.append(bonus * units)
                if in_deposit:
                    deposits.append((i, deposit * units))
            if not base:
                return NotApplied(NO_DEPOSIT, tuple(notes))
            stage = _DEPOSIT_NOW if in_deposit else _DEPOSIT_PAID
            return Offer(
                credit_lines,
                credits,
                base=base,
                notes=(terms, *priced, stage, *notes),
                unit_prices=offered or None,
                deposits=deposits or None,
                balance_window=final_window if in_deposit else None,
            )

        return evaluate

    def bound(self, promotion: Promotion) -> Bound:
        config: PresaleConfig = promotion.config
        bonus = config.worth - config.deposit
        unit_prices: dict[str, int] = {}
        if config.presale_price is not None:
            unit_prices["*"] = config.presale_price
        note = f"bonus {bonus} minor units per unit"
        if config.presale_price is not None:
            note += ", presale price below list"
        return Bound(
            rate=Fraction(1),
            note=note + ": depth depends on list prices",
            unit_prices=unit_prices,
            unit_off=bonus,
        )


_OUTSIDE = Note("outside-presale-windows")
_DEPOSIT_NOW = Note("deposit-now")
_DEPOSIT_PAID = Note("deposit-paid")


def _order(deposit: Window, final: Window, path: str = "final_window") -> Iterable[Problem]:
    if final.start <= deposit.end:
        yield Problem(
            "PR203", "the final-payment window must open after the deposit window closes", (path,)
        )


def _windows(promotion: Promotion, ruleset: Ruleset) -> tuple[Window, Window]:
    """The two windows with phases resolved. Phase problems (which :meth:`Presale.check`
    cannot see: it has no campaign) are raised located, as load errors are."""
    config: PresaleConfig = promotion.config
    phases = ruleset.campaign.phases
    prefix = ("promotion", ruleset.promotions.index(promotion))
    out = ruleset.collector()
    found: list[Window | None] = []
    for which in ("deposit", "final"):
        window, phase = getattr(config, f"{which}_window"), getattr(config, f"{which}_phase")
        if window is None:
            window = phases.get(phase)
            if window is None:
                known = ", ".join(phases) or "none declared"
                out.add(
                    "PR204",
                    f"unknown phase {phase!r} (campaign phases: {known})",
                    (*prefix, f"{which}_phase"),
                )
        found.append(window)
    deposit, final = found
    if (
        deposit is not None
        and final is not None
        and (config.deposit_window is None or config.final_window is None)
    ):  # with two tables check() has said it already
        path = "final_phase" if config.final_window is None else "final_window"
        out.extend(_order(deposit, final, path), prefix)
    out.raise_if_errors()
    assert deposit is not None and final is not None
    return deposit, final


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(Presale())
