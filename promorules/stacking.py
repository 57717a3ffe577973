"""Stacking within a lane: which offers survive exclusive groups and not_with pairs.

Offers of one lane all measure on the same base. Of an exclusive ``group``, one member
applies: the group is settled where its first member comes up in lane order, each member
worth what it would give on what the offers before it left (discounts, shipping taken
off, gifts at their value). Where a ``not_with`` pair clashes inside one lane, the lane
keeps the compatible combination worth most to the customer. The losers are explained
as ``lost-to-exclusive-group``, naming the offers they lost to.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from promorules.kind import Offer, Reason
from promorules.messages import Note
from promorules.money import allocate
from promorules.plan import Compiled
from promorules.quote import Record, Status


class Discounts(Offer):
    """An offer of discounts alone, as a plan's written function makes them: ``lines``
    and their ``amounts`` (or a shipping fee off); every other field is the class's,
    ``Offer``'s defaults, so it is built with two stores rather than fourteen."""

    __slots__ = ()

    base = 0
    notes = ()
    hint = None
    unit_prices = None
    gifts = None
    consumes = None
    unit_counters = None
    reason = None
    deposits = None
    balance_window = None
    codes = ()

    def __init__(
        self, lines: Sequence[int] = (), amounts: list[int] | None = None, shipping_off: int = 0
    ) -> None:
        self.lines = lines
        self.amounts = amounts if amounts is not None else []
        self.shipping_off = shipping_off


class Pooled(Discounts):
    """The offer of a group member whose rule gives one figure for its pool: ``given``
    split over ``weights`` (the lane-start amounts of ``lines``) by largest remainder
    when its ``amounts`` are first read. A group's losers are never split: while none
    of its lines has been claimed on in the lane, a member is worth ``given`` itself
    (no part of a largest-remainder split exceeds its weight, so no line caps it)."""

    __slots__ = ("given", "weights")

    def __init__(self, lines: Sequence[int], given: int, weights: list[int]) -> None:
        self.lines = lines
        self.given = given
        self.weights = weights
        self.shipping_off = 0

    def __getattr__(self, name: str) -> list[int]:
        """``amounts``, split when first read (then kept in its slot)."""
        if name != "amounts":
            raise AttributeError(name)
        parts = self.amounts = allocate(self.given, self.weights)
        return parts

    @property
    def total(self) -> int:
        return self.given


def resolve(
    offers: list[tuple[Compiled, Offer]],
    records: dict[int, Record] | None,
    amounts: Sequence[int] | None = None,
    shipping: int = 0,
) -> list[tuple[Compiled, Offer]]:
    """Keep the most valuable offers where groups or not_with pairs conflict.

    ``offers`` is in lane order. Without a ``not_with`` pair among them (the usual case),
    each exclusive group keeps one member: with ``amounts`` (what is left of each line
    at the start of the lane) and ``shipping`` (the fee left), the group is settled where
    its first member comes up, after the offers before it have claimed their part, and
    each member is worth what it would give there, every line capped at what is left
    (integers only, nothing allocated); without them (the price lane, whose offers are
    unit prices), an offer is worth what it asks. Ties go to the higher priority, then
    the earlier declaration. With a ``not_with`` pair in the lane, see :func:`_clashes`.
    The losers are recorded in ``records`` (None: not explaining).
    """
    members: dict[str, list[tuple[Compiled, Offer]]] = {}  # by group, in lane order
    contested = False
    for c, o in offers:
        if c.not_with and _partnered(c, offers):
            return _clashes(offers, records, amounts, shipping)
        group = c.group
        if group is not None:
            found = members.get(group)
            if found is None:
                members[group] = [(c, o)]
            else:
                found.append((c, o))
                contested = True
    if not contested:
        return offers
    if amounts is None:
        keep = {max(m, key=_asked)[0].index for m in members.values()}
    else:
        keep = _settle_groups(offers, members, amounts, shipping)
    out = []
    for compiled, offer in offers:
        group = compiled.group
        if group is None or compiled.index in keep or len(members[group]) == 1:
            out.append((compiled, offer))
        elif records is not None:
            records[compiled.index] = _lost(offer, [c for c, _ in members[group]], keep)
    return out


def _partnered(compiled: Compiled, offers: list[tuple[Compiled, Offer]]) -> bool:
    """Whether a ``not_with`` partner of ``compiled`` is among ``offers``."""
    return any(p.index in compiled.not_with for p, _ in offers)


def _asked(member: tuple[Compiled, Offer]) -> tuple[int, int, int]:
    """A group member ranked by what it asks, then priority, then declaration."""
    compiled, offer = member
    return (_worth(offer), compiled.priority, -compiled.index)


def _lost(offer: Offer, group: list[Compiled], keep: set[int]) -> Record:
    """The record of a group member that lost to the group's winner (in ``keep``)."""
    winner = next(c for c in group if c.index in keep)
    return Record(
        Status.NOT_APPLIED,
        0,
        offer.base,
        Reason.LOST_TO_GROUP,
        (Note("lost-to", {"winners": (winner.promotion.id,)}),),
        None,
    )


def _settle_groups(
    offers: list[tuple[Compiled, Offer]],
    members: dict[str, list[tuple[Compiled, Offer]]],
    amounts: Sequence[int],
    shipping: int,
) -> set[int]:
    """The winner of each contested group (promotion indexes): the lane is followed in
    order, each offer kept claiming its part of its lines (capped at what is left); a
    group is settled at its first member, each member worth what it would give on what
    is left then (lines, shipping fee, gifts at their value). The lane is followed no
    further than the last group settled."""
    left: dict[int, int] = {}  # what is left of the lines claimed on so far
    settled: dict[str, int] = {}
    contested = sum([len(m) > 1 for m in members.values()])
    for compiled, offer in offers:
        group = compiled.group
        if group is not None and len(members[group]) > 1:
            if group in settled:
                continue
            best: tuple[int, int, int] | None = None
            for c, o in members[group]:
                if o.__class__ is Pooled and (not left or left.keys().isdisjoint(o.lines)):
                    worth = o.given  # no line of it claimed on: no line caps it
                else:
                    worth = 0
                    for i, amount in zip(o.lines, o.amounts, strict=True):
                        room = left.get(i)
                        if room is None:
                            room = amounts[i]
                        worth += amount if amount < room else room if room > 0 else 0
                if o.shipping_off:
                    worth += min(o.shipping_off, shipping)
                if o.gifts:
                    worth += sum(gift.worth for gift in o.gifts)
                key = (worth, c.priority, -c.index)
                if best is None or key > best:
                    best, compiled, offer = key, c, o
            settled[group] = compiled.index
            if len(settled) == contested:
                break  # the last group settled: what is claimed after it changes nothing
        _claim(offer, left, amounts)
        if offer.shipping_off and shipping > 0:
            shipping -= min(offer.shipping_off, shipping)
    return set(settled.values())


def _clashes(
    offers: list[tuple[Compiled, Offer]],
    records: dict[int, Record] | None,
    amounts: Sequence[int] | None = None,
    shipping: int = 0,
) -> list[tuple[Compiled, Offer]]:
    """Keep the most valuable combination where groups and not_with pairs of one lane
    conflict.

    Offers that clash (same exclusive group, or a not_with pair) form components;
    each component keeps its most valuable compatible subset (exhaustively up to 12
    offers, greedily by value beyond), ties to the higher-priority, then the
    earlier-declared promotions. Offers that clash with nothing are kept as they are.

    With ``amounts`` and ``shipping``, a subset is worth what the lane would really give
    with it: the kept offers applied in lane order, each line capped at what is left.
    Without them, an offer is worth what it asks.
    """
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
    simulate = amounts is not None and _caps_matter(offers, conflicted, amounts, clash)
    clashing = {id(o) for _, o in conflicted}
    by_fee = any(o.shipping_off for _, o in offers)

    def value_of(members: list[int]) -> Callable[[tuple[int, ...]], int] | None:
        """What the lane gives with a subset of ``members`` kept (and every offer
        clashing with nothing), applied in lane order: counted on the offers sharing a
        line with them alone (lines are applied one by one: the others give the same
        whatever is kept), unless a shipping fee is shared. None: worth what is asked."""
        if not simulate:
            return None
        assert amounts is not None
        lines: set[int] = set()
        for i in members:
            lines.update(conflicted[i][1].lines)
        own = {id(conflicted[i][1]) for i in members}
        relevant = [
            o
            for _, o in offers
            if id(o) in own or (id(o) not in clashing and (by_fee or not lines.isdisjoint(o.lines)))
        ]

        def value(combo: tuple[int, ...]) -> int:
            chosen = {id(conflicted[i][1]) for i in combo}
            kept = [o for o in relevant if id(o) in chosen or id(o) not in clashing]
            return _applied(kept, amounts, shipping)

        return value

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
        kept.update(best_subset(members, conflicted, values, clash, value_of(members)))
    keep = {conflicted[i][0].index for i in kept}
    out = []
    for compiled, offer in offers:
        if compiled.index in keep or all(compiled is not c for c, _ in conflicted):
            out.append((compiled, offer))
            continue
        if records is None:
            continue
        winners = tuple(
            conflicted[i][0].promotion.id for i in sorted(kept) if clash(compiled, conflicted[i][0])
        )
        records[compiled.index] = Record(
            Status.NOT_APPLIED,
            0,
            offer.base,
            Reason.LOST_TO_GROUP,
            (Note("lost-to", {"winners": winners}),),
            None,
        )
    return out


def _worth(offer: Offer) -> int:
    """What an offer is worth to the customer: its discount, the shipping it takes off,
    and its gifts at their value (:attr:`Gift.worth <promorules.kind.Gift.worth>`)."""
    worth = offer.total + offer.shipping_off
    if offer.gifts:
        worth += sum(gift.worth for gift in offer.gifts)
    return worth


def _caps_matter(
    offers: list[tuple[Compiled, Offer]],
    conflicted: list[tuple[Compiled, Offer]],
    amounts: Sequence[int],
    clash: Callable[[Compiled, Compiled], bool],
) -> bool:
    """Whether applying the lane could give a clashing offer less than it asks: it asks
    more than a line has or takes shipping off, or shares a line with an offer that
    clashes with nothing, or with a clashing offer it may be kept beside. Otherwise
    each subset is worth what its offers ask (plus what the others give, the same for
    every subset), and the lane need not be simulated for each."""
    clashing = {id(o) for _, o in conflicted}
    settled: set[int] = set()
    for _, offer in offers:
        if id(offer) not in clashing:
            settled.update(offer.lines)
    for position, (compiled, offer) in enumerate(conflicted):
        if offer.shipping_off or not settled.isdisjoint(offer.lines):
            return True
        if any(amount > amounts[i] for i, amount in zip(offer.lines, offer.amounts, strict=True)):
            return True
        for other, other_offer in conflicted[position + 1 :]:
            if not clash(compiled, other) and not set(offer.lines).isdisjoint(other_offer.lines):
                return True
    return False


def _applied(offers: list[Offer], amounts: Sequence[int], shipping: int) -> int:
    """What ``offers`` give applied in order, each line capped at what is left of it
    (and the shipping fee at what is left), gifts at their value."""
    left: dict[int, int] = {}  # what is left of the lines given on so far
    given = 0
    for offer in offers:
        given += _claim(offer, left, amounts)
        off = offer.shipping_off
        if off:
            off = min(off, shipping)
            if off > 0:
                shipping -= off
                given += off
        if offer.gifts:
            given += sum(gift.worth for gift in offer.gifts)
    return given


def _claim(offer: Offer, left: dict[int, int], amounts: Sequence[int]) -> int:
    """Apply ``offer`` to its lines, each capped at what is left of it (``left``, filled
    from ``amounts`` when a line is first claimed on); what it gives."""
    given = 0
    for i, amount in zip(offer.lines, offer.amounts, strict=True):
        room = left.get(i)
        if room is None:
            room = amounts[i]
        if amount > room:
            amount = room
        if amount > 0:
            left[i] = room - amount
            given += amount
    return given


def best_subset(
    members: list[int],
    conflicted: list[tuple[Compiled, Offer]],
    values: list[int],
    clash: Any,
    value: Callable[[tuple[int, ...]], int] | None = None,
) -> tuple[int, ...]:
    """The most valuable subset of ``members`` (positions in ``conflicted``) in which no
    two clash: worth ``value(subset)`` when given (what the lane really gives with it),
    else the sum of ``values``. Ties go to the subset whose strongest member has the
    higher priority, then was declared earlier."""
    if len(members) == 1:
        return tuple(members)
    if len(members) > 12:  # too many to enumerate: greedy by value
        chosen: list[int] = []
        for i in sorted(members, key=lambda i: -values[i]):
            if all(not clash(conflicted[i][0], conflicted[j][0]) for j in chosen):
                chosen.append(i)
        return tuple(chosen)
    best: tuple[int, list[tuple[int, int]]] | None = None
    best_set: tuple[int, ...] = ()
    for size in range(len(members), 0, -1):
        for combo in itertools.combinations(members, size):
            if any(
                clash(conflicted[a][0], conflicted[b][0])
                for a, b in itertools.combinations(combo, 2)
            ):
                continue
            worth = value(combo) if value is not None else sum(values[i] for i in combo)
            # ties: the higher priority, then the earlier declared
            rank = sorted(
                ((conflicted[i][0].priority, -conflicted[i][0].index) for i in combo), reverse=True
            )
            if best is None or (worth, rank) > best:
                best, best_set = (worth, rank), combo
    return best_set
