"""Stacking within a lane: which offers survive exclusive groups and not_with pairs.

Offers of one lane all measure on the same base. Where they clash (they share an
exclusive ``group``, or one is ``not_with`` the other) the lane keeps the combination
worth most to the customer (discounts, shipping taken off, gifts at their value); the
losers are explained as ``lost-to-exclusive-group``, naming the offers they lost to.
"""

from __future__ import annotations

import itertools
from typing import Any

from promorules.kind import Offer, Reason
from promorules.plan import Compiled
from promorules.quote import Status


def resolve(
    offers: list[tuple[Compiled, Offer]], records: dict[int, list[Any]] | None
) -> list[tuple[Compiled, Offer]]:
    """Keep the most valuable combination where groups or not_with pairs conflict.

    Offers that clash (same exclusive group, or a not_with pair) form components;
    each component keeps its most valuable compatible subset (exhaustively up to 12
    offers, greedily by value beyond), ties to the higher-priority, earlier-declared
    promotions. Offers that clash with nothing are kept as they are. The losers are
    recorded in ``records`` (None: not explaining).
    """
    # the common case first: no two offers share a group or form a not_with pair
    groups: set[str] = set()
    for c, _ in offers:
        if c.not_with and any(p.index in c.not_with for p, _ in offers):
            break
        if c.group is not None:
            if c.group in groups:
                break
            groups.add(c.group)
    else:
        return offers
    conflicted = [
        (c, o)
        for c, o in offers
        if c.group is not None or any(p.index in c.not_with for p, _ in offers)
    ]
    if not conflicted:
        return offers

    def clash(a: Compiled, b: Compiled) -> bool:
        return (a.group is not None and a.group == b.group) or b.index in a.not_with

    count = len(conflicted)
    values = [_worth(o) for _, o in conflicted]
    # components of the clash graph, found by a small union-find
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in itertools.combinations(range(count), 2):
        if clash(conflicted[a][0], conflicted[b][0]):
            parent[root(a)] = root(b)
    components: dict[int, list[int]] = {}
    for i in range(count):
        components.setdefault(root(i), []).append(i)
    kept: set[int] = set()
    for members in components.values():
        kept.update(best_subset(members, conflicted, values, clash))
    keep = {conflicted[i][0].index for i in kept}
    out = []
    for compiled, offer in offers:
        if compiled.index in keep or all(compiled is not c for c, _ in conflicted):
            out.append((compiled, offer))
            continue
        if records is None:
            continue
        winners = ", ".join(
            conflicted[i][0].promotion.id for i in sorted(kept) if clash(compiled, conflicted[i][0])
        )
        records[compiled.index] = [
            Status.NOT_APPLIED,
            0,
            offer.base,
            Reason.LOST_TO_GROUP,
            f"a better offer for the customer applies instead ({winners})",
            None,
        ]
    return out


def _worth(offer: Offer) -> int:
    """What an offer is worth to the customer: its discount, the shipping it takes off,
    and its gifts at their value (:attr:`Gift.worth <promorules.kind.Gift.worth>`)."""
    worth = offer.total + offer.shipping_off
    if offer.gifts:
        worth += sum(gift.worth for gift in offer.gifts)
    return worth


def best_subset(
    members: list[int],
    conflicted: list[tuple[Compiled, Offer]],
    values: list[int],
    clash: Any,
) -> tuple[int, ...]:
    """The most valuable subset of ``members`` (positions in ``conflicted``) in which no
    two clash."""
    if len(members) == 1:
        return tuple(members)
    if len(members) > 12:  # too many to enumerate: greedy by value
        chosen: list[int] = []
        for i in sorted(members, key=lambda i: -values[i]):
            if all(not clash(conflicted[i][0], conflicted[j][0]) for j in chosen):
                chosen.append(i)
        return tuple(chosen)
    best: tuple[int, int] = (-1, 0)
    best_set: tuple[int, ...] = ()
    for size in range(len(members), 0, -1):
        for combo in itertools.combinations(members, size):
            if any(
                clash(conflicted[a][0], conflicted[b][0])
                for a, b in itertools.combinations(combo, 2)
            ):
                continue
            value = sum(values[i] for i in combo)
            # ties: the higher-priority, earlier-declared promotions win
            tiebreak = -sum(conflicted[i][0].index for i in combo)
            if (value, tiebreak) > best:
                best, best_set = (value, tiebreak), combo
    return best_set
