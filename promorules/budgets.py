"""Budgets in pricing: a promotion's own budget, and each funder's.

A promotion with a ``budget`` gives no more than the ledger says is left of it
(``budget_policy``: trimmed to what is left, or refused); a funder with a ``[budgets]``
amount pays no more than is left of it, discounts it funds taken back in the
guardrail's trim order (``[stacking] funder_budget_policy``). The generic walk and the
written function of a plan call the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promorules.counters import CounterKey
from promorules.kind import Offer, Reason
from promorules.messages import Amount, Note
from promorules.money import allocate
from promorules.plan import Compiled
from promorules.quote import Cut, Record, Status, trim_cut
from promorules.ruleset import Funder


def apply_budgets(
    offers: list[tuple[Compiled, Offer]],
    adjustments: list[Cut],
    amounts: list[int],
    availability: Any,
    records: dict[int, Record],
) -> int:
    """Trim or refuse offers over their budget; returns the shipping fee given back
    (a trimmed shipping discount), which the caller adds to the fee left to pay."""
    shipping_back = 0
    for compiled, _offer in offers:
        if compiled.budget is None:
            continue
        left = availability.remaining(compiled.budget_key)
        if left is None:
            left = compiled.budget
        mine, weights = _given(adjustments, compiled.index)
        given = sum(weights)
        if given <= left:
            continue
        keep = 0 if compiled.refuse_over_budget else max(left, 0)
        backs = [w - kept for w, kept in zip(weights, allocate(keep, weights), strict=True)]
        shipping_back += _take_back(adjustments, mine, backs, amounts)
        record = records.get(compiled.index)
        if record is None:  # not explaining
            continue
        if keep == 0:
            records[compiled.index] = Record(
                Status.NOT_APPLIED,
                0,
                record.base,
                Reason.BUDGET_EXHAUSTED,
                (),
                None,
            )
        else:
            record.status, record.amount, record.reason = (
                Status.TRIMMED,
                keep,
                Reason.BUDGET_TRIMMED,
            )
            record.notes = (*record.notes, Note("budget-trimmed", {"amount": Amount(given - keep)}))
    return shipping_back


class FunderBudgets:
    """Keeps each budgeted funder's share of a quote within what is left of its budget."""

    __slots__ = ("_budgets", "_refuse", "_shares", "_trim_order", "keys")

    def __init__(
        self,
        keys: Mapping[Funder, CounterKey],
        budgets: Mapping[Funder, int],
        shares: Sequence[Sequence[tuple[Funder, int]]],
        trim_order: Sequence[int],
        refuse: bool,
    ) -> None:
        self.keys = keys
        """The ledger counter of each budgeted funder (empty: no funder budgets)."""
        self._budgets = budgets
        self._shares = shares
        self._trim_order = trim_order
        self._refuse = refuse

    def _share(self, index: int, total: int, funder: Funder) -> int:
        """The part of a promotion's ``total`` its funding split gives ``funder`` (the same
        split the quote reports)."""
        shares = self._shares[index]
        parts = allocate(total, [weight for _, weight in shares])
        return sum(part for (f, _), part in zip(shares, parts, strict=True) if f is funder)

    def apply(
        self,
        adjustments: list[Cut],
        amounts: list[int],
        availability: Any,
        records: dict[int, Record],
    ) -> int:
        """Keep each budgeted funder's share of the quote within what is left of its budget.

        Over budget, discounts the funder pays part of are taken back in the guardrail's
        trim order (lowest priority first): by as little as makes the share fit (``trim``)
        or whole (``refuse``). Returns the shipping fee given back."""
        shipping_back = 0
        refuse = self._refuse
        for funder, key in self.keys.items():
            left = availability.remaining(key)
            if left is None:
                left = self._budgets[funder]
            left = max(left, 0)
            totals: dict[int, int] = {}
            for index, _line, amount in adjustments:
                totals[index] = totals.get(index, 0) + amount
            share = {i: self._share(i, t, funder) for i, t in totals.items() if t}
            over = sum(share.values()) - left
            for index in self._trim_order:
                if over <= 0:
                    break
                if not share.get(index):
                    continue
                total = totals[index]
                keep = 0
                if not refuse:
                    # the largest total whose share fits what the others leave
                    room = share[index] - over
                    low, high = 0, total
                    while low < high:
                        middle = (low + high + 1) // 2
                        if self._share(index, middle, funder) <= room:
                            low = middle
                        else:
                            high = middle - 1
                    keep = low
                shipping_back += take_back(index, total - keep, adjustments, amounts)
                over -= share[index] - self._share(index, keep, funder)
                record = records.get(index)
                if record is None:
                    continue
                if keep == 0:
                    records[index] = Record(
                        Status.NOT_APPLIED,
                        0,
                        record.base,
                        Reason.BUDGET_EXHAUSTED,
                        (Note("funder-budget-exhausted", {"funder": funder.value}),),
                        None,
                    )
                else:
                    record.status, record.amount, record.reason = (
                        Status.TRIMMED,
                        keep,
                        Reason.BUDGET_TRIMMED,
                    )
                    over_by = Amount(total - keep)
                    record.notes = (*record.notes, Note("budget-trimmed", {"amount": over_by}))
        return shipping_back


def take_back(index: int, amount: int, adjustments: list[Cut], amounts: list[int]) -> int:
    """Take ``amount`` back from promotion ``index``'s adjustments, spread in proportion to
    them; returns the part that goes back to the shipping fee."""
    mine, given = _given(adjustments, index)
    return _take_back(adjustments, mine, allocate(amount, given), amounts)


def _given(adjustments: list[Cut], index: int) -> tuple[list[int], list[int]]:
    """The positions of promotion ``index``'s cuts of more than nothing, and their amounts."""
    mine = [k for k, (p, _, amount) in enumerate(adjustments) if p == index and amount > 0]
    return mine, [adjustments[k][2] for k in mine]


def _take_back(
    adjustments: list[Cut], positions: list[int], backs: list[int], amounts: list[int]
) -> int:
    """Take each of ``backs`` off the cut at the same place in ``positions``; what comes
    back goes to its line, and the part from the shipping fee's cuts is returned."""
    shipping_back = 0
    for k, back in zip(positions, backs, strict=True):
        line = adjustments[k][1]
        trim_cut(adjustments, k, back)
        if line >= 0:
            amounts[line] += back
        else:
            shipping_back += back
    return shipping_back
