"""The price lane: one price per unit.

Price-lane offers are unit prices (flash, member, presale prices), each possibly limited
to a number of units. Each unit pays the lowest price offered for it (or, with
``[stacking] price = "priority"``, the price of the highest-priority offer); units past
an offer's limit fall to the next price, or the list price. Credits that do not compete
with prices (a presale deposit bonus) apply after, capped at what is left of the line.
"""

from __future__ import annotations

from typing import Any

from promorules.counters import Consumed, CounterKey
from promorules.kind import Offer, Reason
from promorules.messages import Note
from promorules.plan import Compiled
from promorules.quote import Cut, Record, Status


def apply_prices(
    offers: list[tuple[Compiled, Offer]],
    state: Any,
    adjustments: list[Cut],
    touched: list[set[int]] | None,
    records: dict[int, Record] | None,
    consumes: list[Consumed],
    by_priority: bool = False,
) -> None:
    """Each unit pays the lowest unit price offered for it; then credits apply.

    Counters named per unit (``Offer.unit_counters``) are consumed for the units
    each offer actually won, never for units that paid another price. With
    ``by_priority`` (``[stacking] price = "priority"``) the higher-priority offer wins a
    unit even where another is lower. ``records`` None: not explaining.
    """
    per_line: dict[int, list[tuple[int, int, int, int, int]]] = {}
    for rank, (compiled, offer) in enumerate(offers):
        order = -compiled.priority if by_priority else 0
        for position, (line, price, units) in enumerate(offer.unit_prices or ()):
            per_line.setdefault(line, []).append((order, price, rank, position, units))
    applied: dict[int, int] = {}
    won: dict[tuple[int, int], int] = {}
    amounts = state.amounts
    # a line's amount never goes below the deposit paid for it (its payments add up)
    deposits = state.deposits if state.deposited else None

    def give(index: int, line: int, amount: int) -> bool:
        """Apply ``amount`` off ``line`` for promotion ``index``, capped at what is left
        of the line (above its deposit); False when nothing was left to take."""
        left = amounts[line] if deposits is None else amounts[line] - deposits[line]
        amount = min(amount, left)
        if amount <= 0:
            return False
        amounts[line] -= amount
        adjustments.append((index, line, amount))
        if touched is not None:
            touched[line].add(index)
        applied[index] = applied.get(index, 0) + amount
        return True

    for line, candidates in per_line.items():
        list_unit = state.list_unit[line]
        left = state.qty[line]
        candidates.sort()
        for _order, price, rank, position, units in candidates:
            if left <= 0:
                break
            if price >= list_unit:  # never above list; by priority a later one may be lower
                continue
            take = min(units, left)
            if take <= 0:
                continue
            if give(offers[rank][0].index, line, (list_unit - price) * take):
                won[rank, position] = take
            left -= take
    for rank, (compiled, offer) in enumerate(offers):
        index = compiled.index
        for line, amount in zip(offer.lines, offer.amounts, strict=True):
            give(index, line, amount)
        if offer.unit_counters:
            # per counter and line: a line whose discount the guardrail or a budget later
            # takes back whole paid another price, and its units take nothing
            taken: dict[tuple[CounterKey, int], int] = {}
            unit_prices = offer.unit_prices or ()
            for position, keys in enumerate(offer.unit_counters):
                units = won.get((rank, position), 0)
                if units:
                    line = unit_prices[position][0]
                    for key in keys:
                        taken[key, line] = taken.get((key, line), 0) + units
            consumes.extend((index, key, n, line) for (key, line), n in taken.items())
    if records is None:  # not explaining
        return
    for compiled, offer in offers:
        amount = applied.get(compiled.index, 0)
        if amount:
            records[compiled.index] = Record(
                Status.APPLIED,
                amount,
                offer.base,
                offer.reason,
                offer.notes,
                offer.hint,
            )
        else:
            records[compiled.index] = Record(
                Status.NOT_APPLIED,
                0,
                offer.base,
                Reason.LOST_TO_GROUP,
                _LOWER_PRICE,
                offer.hint,
            )


_LOWER_PRICE = (Note("lower-price-applies"),)
