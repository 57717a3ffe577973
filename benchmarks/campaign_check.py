"""The campaign reference held to ``engine.price``, cart by cart.

:func:`check_campaign` prices every cart both ways and compares what a checkout reads:
the payable, each line's payable, each line's adjustments (promotion -> amount, after the
guardrail), the clamp's trims per promotion, the shipping left to pay and the gifts. Any
cart that differs in any of them is a disagreement: the benchmark prints it and stops
before timing (a reference that prices something else is not a floor to time against).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from benchmarks.campaign import Campaign, CampaignCart
from benchmarks.campaign_reference import CampaignQuote
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
    """A cart the engine and the reference price differently."""

    size: int
    cart: CampaignCart
    got: tuple[Any, ...]
    """The engine's view (:func:`engine_view`)."""
    want: tuple[Any, ...]
    """The reference's view (:func:`reference_view`)."""

    def describe(self) -> str:
        """The cart and each field that differs (lists narrowed to the differing items)."""
        out = [f"DISAGREE ({self.size} lines): {self.cart}"]
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

    def summary(self) -> str:
        same = self.checked - len(self.disagreements)
        return (
            f"campaign agreement: {same:,} of {self.checked:,} carts identical; "
            f"{len(self.disagreements):,} differ"
        )


def check_campaign(
    engine: Engine,
    campaign: Campaign,
    reference: Callable[[CampaignCart], CampaignQuote],
    batches: dict[int, list[tuple[CampaignCart, tuple[Cart, Context]]]],
) -> CampaignCheck:
    """Every cart priced both ways; every cart that differs."""
    ids = [p.id for p in campaign.promotions]
    out: list[Disagreement] = []
    checked = 0
    for size, batch in batches.items():
        for cart, (engine_cart, context) in batch:
            checked += 1
            got = engine_view(engine.price(engine_cart, context))
            want = reference_view(reference(cart), ids)
            if got != want:
                out.append(Disagreement(size, cart, got, want))
    return CampaignCheck(checked, out)
