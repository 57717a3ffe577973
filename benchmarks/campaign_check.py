"""The campaign reference held to ``engine.price``, cart by cart, and what differs why.

:func:`check_campaign` prices every cart both ways and compares what a checkout reads:
the payable, each line's payable, each line's adjustments (promotion -> amount, after the
guardrail), the clamp's trims per promotion, the shipping left to pay and the gifts. A
cart that differs is priced again by the reference with today's engine's group rule
(:data:`benchmarks.campaign_reference.ENGINE_TODAY`): when that agrees with the engine,
the reference given is the one of issue 13's rule, and changing the rule's tie-break or
its real totals is what moves the figures, the difference is the exclusive-group
semantics issue 13 fixes (``known``: put down to ``ties`` and/or ``caps``); otherwise it
is a plain disagreement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from benchmarks.campaign import Campaign, CampaignCart
from benchmarks.campaign_reference import (
    ENGINE_TODAY,
    ISSUE_13,
    CampaignQuote,
    GroupRule,
    make_campaign_pricer,
)
from promorules.cart import Cart, Context
from promorules.engine import Engine
from promorules.quote import Quote

FIELDS = (
    "payable",
    "line payables",
    "line adjustments",
    "guardrail trims",
    "shipping payable",
    "gifts",
)


def engine_view(quote: Quote) -> tuple[Any, ...]:
    """What the comparison reads from a quote (through its public views)."""
    goods = [line for line in quote.lines if not line.gift]
    adjustments = []
    for line in goods:
        mine: dict[str, int] = {}
        for a in line.adjustments:
            mine[a.promotion] = mine.get(a.promotion, 0) + a.amount
        adjustments.append(mine)
    return (
        quote.payable,
        [line.payable for line in goods],
        adjustments,
        {k: v for k, v in quote.guardrail.trims.items() if v},
        quote.shipping_payable,
        [line.sku for line in quote.lines if line.gift],
    )


def reference_view(ref: CampaignQuote, ids: Sequence[str]) -> tuple[Any, ...]:
    adjustments: list[dict[str, int]] = [{} for _ in ref.amounts]
    for p, (lines, amounts) in ref.given.items():
        for i, amount in zip(lines, amounts, strict=True):
            if i >= 0 and amount:
                adjustments[i][ids[p]] = amount
    return (
        sum(ref.amounts) + ref.shipping,
        ref.amounts,
        adjustments,
        {ids[p]: v for p, v in ref.trims.items() if v},
        ref.shipping,
        ref.gifts,
    )


@attrs.define
class Disagreement:
    size: int
    cart: CampaignCart
    got: tuple[Any, ...]
    want: tuple[Any, ...]
    known: bool
    """Explained by the exclusive-group semantics of issue 13 (the engine agrees with the
    reference priced under today's group rule)."""
    causes: tuple[str, ...]
    """For a known one: ``ties`` and/or ``caps``."""

    def describe(self) -> str:
        what = "group semantics: " + " and ".join(self.causes) if self.known else "UNEXPLAINED"
        out = [f"DISAGREE ({self.size} lines; {what}): {self.cart}"]
        for name, g, w in zip(FIELDS, self.got, self.want, strict=True):
            if g != w:
                if isinstance(g, list) and isinstance(w, list) and len(g) == len(w):
                    g, w = (
                        {k: x for k, (x, y) in enumerate(zip(g, w, strict=True)) if x != y},
                        {k: y for k, (x, y) in enumerate(zip(g, w, strict=True)) if x != y},
                    )
                out.append(f"  {name}:\n    engine    {g}\n    reference {w}")
        return "\n".join(out)


@attrs.define
class CampaignCheck:
    """The outcome of :func:`check_campaign`."""

    checked: int
    disagreements: list[Disagreement]

    @property
    def unexplained(self) -> list[Disagreement]:
        return [d for d in self.disagreements if not d.known]

    @property
    def known(self) -> list[Disagreement]:
        return [d for d in self.disagreements if d.known]

    def summary(self) -> str:
        known = self.known
        ties = sum("ties" in d.causes for d in known)
        caps = sum("caps" in d.causes for d in known)
        return (
            f"campaign agreement: {self.checked - len(self.disagreements):,} of "
            f"{self.checked:,} carts identical; {len(known)} differ by the exclusive-group "
            f"semantics of issue 13 ({ties} by ties going to priority, {caps} by members' "
            f"real totals after caps); {len(self.unexplained)} unexplained"
        )


def check_campaign(
    engine: Engine,
    campaign: Campaign,
    reference: Callable[[CampaignCart], CampaignQuote],
    batches: dict[int, list[tuple[CampaignCart, tuple[Cart, Context]]]],
) -> CampaignCheck:
    """Every cart priced both ways; the disagreements, each classified."""
    ids = [p.id for p in campaign.promotions]
    rules: dict[GroupRule, Callable[[CampaignCart], CampaignQuote]] = {}

    def under(rule: GroupRule, cart: CampaignCart) -> tuple[Any, ...]:
        pricer = rules.get(rule)
        if pricer is None:
            pricer = rules[rule] = make_campaign_pricer(campaign, rule)
        return reference_view(pricer(cart), ids)

    out: list[Disagreement] = []
    checked = 0
    for size, batch in batches.items():
        for cart, (engine_cart, context) in batch:
            checked += 1
            got = engine_view(engine.price(engine_cart, context))
            want = reference_view(reference(cart), ids)
            if got == want:
                continue
            # known: the engine prices as the reference does under today's group rule,
            # the reference given is the one of issue 13's rule, and a rule's tie-break
            # or its real totals are what tell the two apart
            today = under(ENGINE_TODAY, cart)
            causes: list[str] = []
            if today == got and under(ISSUE_13, cart) == want:
                offered_priority = under(GroupRule(False, True), cart)
                if offered_priority != today:
                    causes.append("ties")
                if want != offered_priority:
                    causes.append("caps")
            known = bool(causes)
            out.append(Disagreement(size, cart, got, want, known, tuple(causes)))
    return CampaignCheck(checked, out)
