"""Settling a lane: what its offers leave beyond their discounts, once it is applied.

Deposit schedules (which later lanes see on the state), gifts (a sku already given is
refused unless both gifts are stackable) and the ledger counters the offers consume.
The generic walk and the written function of a plan call the same :class:`Settler`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from promorules.counters import Consumed
from promorules.kind import Gift, Offer, PricingState, Reason
from promorules.messages import Note
from promorules.plan import Compiled
from promorules.quote import Record, Status


class Settler:
    """Settles lanes for one engine (it names promotions by id in its explanations)."""

    __slots__ = ("_ids",)

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = ids

    def __call__(
        self,
        offers: list[tuple[Compiled, Offer]],
        state: PricingState,
        gifts: list[tuple[int, Gift]],
        consumes: list[Consumed],
        schedule: list[tuple[list[tuple[int, int]], Any]],
        records: dict[int, Record],
    ) -> None:
        """Settle ``offers`` (a lane's, in lane order) into ``gifts``, ``consumes`` and
        ``schedule``; ``records`` (the explained pass) learns of refused gifts."""
        for compiled, offer in offers:
            if offer.deposits:
                state.deposited = True
                for i, deposit in offer.deposits:
                    state.deposits[i] = deposit
                    state.deferred[i] = True
                schedule.append((list(offer.deposits), offer.balance_window))
            if offer.gifts:
                self._add_gifts(compiled, offer.gifts, gifts, records, consumes)
            if offer.consumes:
                index = compiled.index
                for key, n in offer.consumes:  # a loop: a generator would make cells here
                    consumes.append((index, key, n, -1))

    def _add_gifts(
        self,
        compiled: Compiled,
        offered: list[Gift],
        gifts: list[tuple[int, Gift]],
        records: dict[int, Record],
        consumes: list[Consumed],
    ) -> None:
        """Add the gifts of an offer; a sku already given is refused unless both gifts are
        stackable. A gift's stock counter is consumed only for a gift actually added, and
        a promotion whose every gift was refused (and that gave nothing else) is not
        applied, with the promotion that gave the gift named."""
        refused: list[Note] = []
        added = 0
        for gift in offered:
            holder = next(
                (
                    index
                    for index, g in gifts
                    if g.sku == gift.sku and not (g.stackable and gift.stackable)
                ),
                None,
            )
            if holder is not None:
                refused.append(Note("given-by", {"sku": gift.sku, "promotion": self._ids[holder]}))
                continue
            gifts.append((compiled.index, gift))
            added += 1
            if gift.counter is not None:
                consumes.append((compiled.index, gift.counter, gift.quantity, -1))
        record = records.get(compiled.index)
        if refused and not added and record is not None and record.amount == 0:
            records[compiled.index] = Record(
                Status.NOT_APPLIED,
                0,
                record.base,
                Reason.GIFT_DUPLICATE,
                (Note("gift-already-given", {"gifts": tuple(refused)}),),
                record.hint,
            )
