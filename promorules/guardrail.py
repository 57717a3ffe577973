"""The runtime margin guardrail: floors checked after stacking, and the clamp.

A floor ``m`` on revenue ``R`` and cost ``C`` holds when ``(R - C) / R >= m``, that is
``R >= C / (1 - m)``: the smallest revenue that holds it is computed in integers and
rounded up, so a held floor is never held by rounding. Revenue is what the customer
pays for the goods (shipping excluded); cost includes gifts.

Clamp order (documented for planners): discounts are taken back from the promotion
with the lowest ``priority`` first; among equal priorities, from the lane applied last
(platform before store before item before price); among those, from the promotion
declared last. Line floors are restored first, then category floors, then the order
floor; taking a discount back only raises revenue, so a floor once held stays held.

Gifts: a gift's cost counts against the order floor. When the order floor could not
hold even with every discount taken back, but could without some gifts, the clamp
first drops gifts, from the lowest-ranked promotion first (last added first within a
promotion), just enough that taking discounts back can hold it; then it clamps as
above. Gifts are never dropped when their cost is not what breaks the floor.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from fractions import Fraction

import attrs

from promorules.money import allocate
from promorules.quote import Cut, Floor, GuardrailStatus, trim_cut
from promorules.ruleset import Guardrails, OnBreach

ORDER = "order"
# read on every clamped quote: module globals, as an enum member read off its class
# costs ~70 ns
CLAMP = OnBreach.CLAMP
CLAMPED = GuardrailStatus.CLAMPED
BREACHED = GuardrailStatus.BREACHED
_LINE_NAMES: list[str] = []  # "line[0]", "line[1]", ...: the line floors' names, made once
_LINE_0 = "line[0]"


def _line_names(count: int) -> list[str]:
    """The names of the floors of lines 0 to (at least) ``count - 1``. A longer list
    replaces the shared one, never grows it: a thread still reading the old one reads
    the same names."""
    global _LINE_NAMES
    names = _LINE_NAMES
    if len(names) < count:
        names = _LINE_NAMES = [f"line[{i}]" for i in range(max(count, 2 * len(names), 16))]
    return names


def minimum_revenue(cost: int, floor: Fraction) -> int:
    """The least revenue (minor units) whose margin over ``cost`` is at least ``floor``."""
    den = floor.denominator
    return _least(cost, den, den - floor.numerator)


def _least(cost: int, den: int, gap: int) -> int:
    """``minimum_revenue`` of a floor given as (denominator, denominator - numerator)."""
    return -((-cost * den) // gap)


@attrs.frozen
class Floors:
    line: Fraction | None
    order: Fraction | None
    categories: dict[str, Fraction]
    # (denominator, denominator - numerator) of the line and order floors, read on every
    # quote: minimum_revenue's integers without Fraction attribute lookups
    _line: tuple[int, int] | None = attrs.field(init=False, repr=False, eq=False)
    _order: tuple[int, int] | None = attrs.field(init=False, repr=False, eq=False)
    any: bool = attrs.field(init=False, repr=False, eq=False)
    """True when some floor is set."""

    def __attrs_post_init__(self) -> None:
        for name, floor in (("_line", self.line), ("_order", self.order)):
            ratio = (
                None if floor is None else (floor.denominator, floor.denominator - floor.numerator)
            )
            object.__setattr__(self, name, ratio)
        has_any = self.line is not None or self.order is not None or bool(self.categories)
        object.__setattr__(self, "any", has_any)

    @classmethod
    def from_guardrails(cls, guardrails: Guardrails) -> Floors:
        return cls(
            guardrails.min_line_margin, guardrails.min_order_margin, dict(guardrails.categories)
        )


@attrs.define
class Breach:
    name: str
    lines: list[int]
    minimum: Fraction
    need: int
    """Revenue missing to hold the floor."""


class Work:
    """The mutable working figures of one pricing call that the guardrail reads and trims."""

    __slots__ = (
        "_by_line",
        "adjustments",
        "amounts",
        "categories",
        "costs",
        "dropped",
        "extra_cost",
        "gifts",
        "settled",
    )

    def __init__(
        self,
        amounts: list[int],
        costs: list[int],
        categories: Sequence[str],
        adjustments: list[Cut],
        extra_cost: int,
        gifts: Sequence[tuple[int, int]] = (),
    ) -> None:
        self.amounts = amounts
        self.costs = costs
        self.categories = categories
        self.adjustments = adjustments
        self.extra_cost = extra_cost
        # (promotion index, cost) of each gift in the order, in the order they were added;
        # kept as given (read, never changed)
        self.gifts = gifts
        self.dropped: list[int] = []
        """Positions in ``gifts`` the clamp dropped (their cost is out of ``extra_cost``)."""
        self._by_line: list[list[int]] | None = None
        self.settled = False
        """Set by the clamp when its last check found every floor held."""

    @property
    def by_line(self) -> list[list[int]]:
        """The positions in ``adjustments`` of each line's cuts; worked out when the clamp
        first needs them (most quotes break no floor)."""
        if self._by_line is None:
            self._by_line = [[] for _ in self.amounts]
            for k, (_, line, _) in enumerate(self.adjustments):
                if line >= 0:
                    self._by_line[line].append(k)
        return self._by_line


def held(amounts: Sequence[int], costs: Sequence[int], extra_cost: int, floors: Floors) -> bool:
    """True when the line and order floors hold on these figures as priced: then neither
    the clamp nor ``reject`` has anything to do. Category floors are not looked at (a
    caller with any uses :func:`breaches`). In integers: ``ceil(cost * den / gap) >
    revenue`` exactly when ``cost * den > revenue * gap``, the gap being positive."""
    line = floors._line
    order = floors._order
    if len(amounts) == 1:  # the commonest cart: one line, its floor and the order's
        amount = amounts[0]
        cost = costs[0]
        if line is not None and cost * line[0] > amount * line[1]:
            return False
        return order is None or (cost + extra_cost) * order[0] <= amount * order[1]
    if line is not None:
        den, gap = line
        if den == gap:  # a floor of 0: a line holds at its cost (pairwise, in C)
            if any(map(operator.gt, costs, amounts)):
                return False
        else:
            for cost, amount in zip(costs, amounts, strict=True):
                if cost * den > amount * gap:
                    return False
    if order is not None and amounts:
        den, gap = order
        if (sum(costs) + extra_cost) * den > sum(amounts) * gap:
            return False
    return True


def breaches(work: Work, floors: Floors) -> list[Breach]:
    """Every floor the working figures break, line floors first."""
    found: list[Breach] = []
    if floors.line is not None:
        names = _line_names(len(work.amounts))
        for i, need in _line_needs(work, floors).items():
            found.append(Breach(names[i], [i], floors.line, need))
    for category, floor in floors.categories.items():
        lines, need = _category_need(work, category, floor)
        if need > 0:
            found.append(Breach(f"category:{category}", lines, floor, need))
    if floors.order is not None:
        need = _order_need(work, floors)
        if need > 0:
            found.append(Breach(ORDER, list(range(len(work.amounts))), floors.order, need))
    return found


def _line_needs(work: Work, floors: Floors) -> dict[int, int]:
    """The lines below the line floor, ascending, and the revenue each misses."""
    needs: dict[int, int] = {}
    if floors._line is not None:
        den, gap = floors._line
        costs, amounts = work.costs, work.amounts
        if den == gap:  # a floor of 0: a line holds at its cost (no division per line)
            for i, cost in enumerate(costs):
                if cost > amounts[i]:
                    needs[i] = cost - amounts[i]
        else:
            for i, cost in enumerate(costs):
                need = -((-cost * den) // gap) - amounts[i]
                if need > 0:
                    needs[i] = need
    return needs


def _order_need(work: Work, floors: Floors) -> int:
    """The revenue the order floor misses (<= 0: none; 0 for an order of no lines)."""
    if floors._order is None or not work.amounts:
        return 0
    den, gap = floors._order
    return _least(sum(work.costs) + work.extra_cost, den, gap) - sum(work.amounts)


def _category_need(work: Work, category: str, floor: Fraction) -> tuple[list[int], int]:
    """The lines of ``category`` and the revenue their floor misses (<= 0: none)."""
    lines = [i for i, c in enumerate(work.categories) if c == category]
    if not lines:
        return lines, 0
    cost = sum(work.costs[i] for i in lines)
    return lines, minimum_revenue(cost, floor) - sum(work.amounts[i] for i in lines)


def clamp(
    work: Work,
    floors: Floors,
    trim_order: Sequence[int],
    rank: Mapping[int, int] | None = None,
) -> tuple[dict[int, int], dict[str, int]]:
    """Take discounts back, in ``trim_order`` (promotion indexes), until floors hold.

    Returns what was taken per promotion index and per floor name (a floor that held
    from the start has no entry). Floors that cannot be held even with every discount
    taken back stay broken (the caller reports them); ``work.settled`` says whether
    every floor holds at the end.
    ``rank``: the position of each index in ``trim_order``, when the caller keeps it.
    """
    if rank is None:
        rank = {index: position for position, index in enumerate(trim_order)}
    if len(work.amounts) == 1 and not floors.categories:
        done = _clamp_one(work, floors, rank)
        if done is not None:
            return done
    span = len(trim_order) + 1  # ranks lie in [-1, span - 1), -1 for an index not in it
    amounts = work.amounts
    taken: dict[int, int] = {}
    per_floor: dict[str, int] = {}
    settled = True
    # one pass, line floors first, then categories, then the order, each need worked out
    # on the figures as they stand: taking back only raises revenue, so a floor held stays
    # held, and a floor still broken after its turn has nothing left to take on its lines
    needs = _line_needs(work, floors)
    if needs:
        names = _line_names(len(amounts))
        settled = _restore_lines(work, needs, names, rank, span, taken, per_floor)
    if floors.categories:
        for category, floor in floors.categories.items():
            lines, need = _category_need(work, category, floor)
            if need > 0:
                got = _take(work, lines, need, rank, taken)
                per_floor[f"category:{category}"] = got
                settled = settled and got == need
    if floors._order is not None:
        den, gap = floors._order
        goods_cost, revenue = sum(work.costs), sum(amounts)
        least = _least(goods_cost + work.extra_cost, den, gap)
        if least > revenue:
            # gifts are dropped only now, when the order floor is still broken: whether
            # to drop them depends on the revenue with every discount taken back, which
            # taking back leaves as it was (what a discount gives back, a line gains)
            if work.gifts:
                least = _drop_gifts(work, den, gap, rank, goods_cost, revenue, least)
            need = least - revenue
            if need > 0 and amounts:
                count = len(amounts)
                if count == 1:  # a one-line order: its line's discounts, as a line floor
                    met = _restore_lines(work, {0: need}, (ORDER,), rank, span, taken, per_floor)
                    settled = settled and met
                else:
                    got = _take(work, list(range(count)), need, rank, taken)
                    per_floor[ORDER] = got
                    settled = settled and got == need
    work.settled = settled
    return taken, per_floor


def _clamp_one(
    work: Work, floors: Floors, rank: Mapping[int, int]
) -> tuple[dict[int, int], dict[str, int]] | None:
    """``clamp`` of a one-line order without category floors (the commonest clamped
    cart), or None when two of its line's discounts share a rank (then the general
    path takes them in proportion).

    What the general path does, in one go: its line floor and then its order floor are
    both restored from the line's discounts, lowest-ranked first, each need worked out
    on the figures as they stand; so both are one greedy walk down the same discounts,
    the order's need starting where the line's stopped (a discount taken whole is skipped,
    as the general path leaves out discounts of nothing)."""
    by_rank: dict[int, int] = {}  # the line's discounts by rank: their positions
    count = 0  # how many: more than by_rank holds when two share a rank
    get = rank.get
    cuts = work.adjustments
    for k, (index, line, given) in enumerate(cuts):
        if line == 0 and given > 0:
            by_rank[get(index, -1)] = k
            count += 1
    if len(by_rank) < count:
        return None
    mine = list(map(by_rank.__getitem__, sorted(by_rank)))  # no closure over by_rank
    amounts = work.amounts
    amount = amounts[0]
    cost = work.costs[0]
    taken: dict[int, int] = {}
    per_floor: dict[str, int] = {}
    settled = True
    if floors._line is not None:
        den, gap = floors._line
        need = _least(cost, den, gap) - amount
        if need > 0:
            got = need - _walk(cuts, mine, need, taken)
            amount += got
            per_floor[_LINE_0] = got
            settled = got == need
    if floors._order is not None:
        den, gap = floors._order
        least = _least(cost + work.extra_cost, den, gap)
        if least > amount:
            if work.gifts:  # as in clamp: once the line floor is restored
                least = _drop_gifts(work, den, gap, rank, cost, amount, least)
            need = least - amount
            if need > 0:
                got = need - _walk(cuts, mine, need, taken)
                amount += got
                per_floor[ORDER] = got
                settled = settled and got == need
    amounts[0] = amount
    work.settled = settled
    return taken, per_floor


def _walk(cuts: list[Cut], positions: list[int], need: int, taken: dict[int, int]) -> int:
    """Take up to ``need`` back from the cuts at ``positions``, in their order, each as
    much as it has (those taken whole before are skipped); returns what is left of
    ``need``."""
    for k in positions:
        index, line, amount = cuts[k]
        if amount:
            if amount < need:
                cuts[k] = (index, line, 0)
                taken[index] = taken.get(index, 0) + amount
                need -= amount
            else:
                cuts[k] = (index, line, amount - need)
                taken[index] = taken.get(index, 0) + need
                return 0
    return need


def _restore_lines(
    work: Work,
    needs: dict[int, int],
    names: Sequence[str],
    rank: Mapping[int, int],
    span: int,
    taken: dict[int, int],
    per_floor: dict[str, int],
) -> bool:
    """Take back what the line floors ``needs`` (line -> revenue missing, lines in
    ascending order) from each line's own discounts, lowest-ranked promotion first;
    what was taken for line ``i`` goes to ``per_floor[names[i]]``. Returns whether
    every need was met.

    Each discount is keyed by its line and rank, ``line * span + rank + 1`` (``span``
    exceeds every ``rank + 1``: ranks are positions in the trim order, -1 for a promotion
    outside it), so one sort of the keys orders them line by line in clamp order, and
    each line is taken from greedily. Two discounts of a line sharing a key (a promotion
    with several on the line) are taken in proportion: by ``_take``, line by line."""
    by_key: dict[int, int] = {}  # their positions
    mine = 0  # the discounts on those lines: more than by_key holds when two share a key
    cuts = work.adjustments
    get = rank.get
    for k, (index, at, given) in enumerate(cuts):
        if at in needs and given > 0:
            by_key[at * span + get(index, -1) + 1] = k
            mine += 1
    if len(by_key) < mine:
        met = True
        for line, need in needs.items():
            got = per_floor[names[line]] = _take(work, [line], need, rank, taken)
            met = met and got == need
        return met
    keys = sorted(by_key)
    count = len(keys)
    k = 0  # the next key to look at: the first of its line
    amounts = work.amounts
    met = True
    for line, need in needs.items():
        left = need
        end = (line + 1) * span  # the keys of the next line
        while k < count and keys[k] < end:
            position = by_key[keys[k]]
            k += 1
            if left:
                index, at, amount = cuts[position]
                take = amount if amount < left else left
                cuts[position] = (index, at, amount - take)
                taken[index] = taken.get(index, 0) + take
                left -= take
        amounts[line] += need - left
        per_floor[names[line]] = need - left
        met = met and not left
    return met


def drop_gifts(work: Work, floor: Fraction, rank: Mapping[int, int]) -> None:
    """Drop gifts (lowest-ranked promotion first) while the order floor could not hold
    even with every discount taken back; only when dropping them can make it hold."""
    den = floor.denominator
    gap = den - floor.numerator
    goods_cost = sum(work.costs)
    least = _least(goods_cost + work.extra_cost, den, gap)
    _drop_gifts(work, den, gap, rank, goods_cost, sum(work.amounts), least)


def _drop_gifts(
    work: Work,
    den: int,
    gap: int,
    rank: Mapping[int, int],
    goods_cost: int,
    revenue: int,
    least: int,
) -> int:
    """``drop_gifts`` on the order floor as (denominator, denominator - numerator), the
    goods' cost, the revenue as priced and the floor's least revenue with every gift;
    returns the least revenue with the gifts kept."""
    if least <= revenue:
        return least  # the floor holds with the gifts as it is
    most = revenue + sum([a for _, line, a in work.adjustments if line >= 0 and a > 0])
    if least <= most:
        return least
    if _least(goods_cost, den, gap) > most:
        return least  # the goods alone break the floor: dropping gifts would not hold it
    gifts = work.gifts
    order = sorted(range(len(gifts)), key=lambda k: (rank.get(gifts[k][0], -1), -k))
    for k in order:
        if least <= most:
            break
        work.extra_cost -= gifts[k][1]
        work.dropped.append(k)
        least = _least(goods_cost + work.extra_cost, den, gap)
    return least


def gift_givers(work: Work, floors: Floors) -> set[int]:
    """Promotions whose gifts break the order floor at the current figures: the floor
    is broken, and would hold without the gifts' cost (for ``on_breach = reject``)."""
    if floors.order is None or not work.gifts or not work.amounts:
        return set()
    revenue, goods_cost = sum(work.amounts), sum(work.costs)
    if minimum_revenue(goods_cost + work.extra_cost, floors.order) <= revenue:
        return set()
    if minimum_revenue(goods_cost, floors.order) > revenue:
        return set()
    return {index for index, _ in work.gifts}


def _take(
    work: Work, lines: list[int], need: int, rank: Mapping[int, int], taken: dict[int, int]
) -> int:
    """Take up to ``need`` back from adjustments on ``lines``, lowest-ranked promotion
    first; a promotion's share is taken from its lines in proportion (largest remainder;
    each of them whole when the promotion is taken back whole)."""
    by_promotion: dict[int, list[int]] = {}  # the positions of each promotion's cuts
    whole = len(lines) == len(work.amounts)  # the order floor: every line, ascending
    cuts = work.adjustments
    if whole:
        # straight from the adjustments, put in line order below for the promotions
        # actually trimmed: the order by_line gives, without building it
        for k, (index, line, given) in enumerate(cuts):
            if line >= 0 and given > 0:
                found = by_promotion.get(index)
                if found is None:
                    by_promotion[index] = [k]
                else:
                    found.append(k)
    else:
        by_line = work.by_line
        for i in lines:
            for k in by_line[i]:
                index, _, given = cuts[k]
                if given > 0:
                    by_promotion.setdefault(index, []).append(k)
    amounts = work.amounts
    got = 0
    for index in sorted(by_promotion, key=lambda p: rank.get(p, -1)):
        if got >= need:
            break
        positions = by_promotion[index]
        weights = [cuts[k][2] for k in positions]
        available = sum(weights)
        if need - got >= available:  # all of it back: each part is its whole weight
            take = available
            for k in positions:
                _, line, given = cuts[k]
                amounts[line] += given
                cuts[k] = (index, line, 0)
        else:
            take = need - got
            if whole:  # stable: ties keep the order they were made
                positions.sort(key=lambda k: cuts[k][1])
                weights = [cuts[k][2] for k in positions]
            for k, part in zip(positions, allocate(take, weights), strict=True):
                amounts[cuts[k][1]] += part
                trim_cut(cuts, k, part)
        taken[index] = taken.get(index, 0) + take
        got += take
    return got


def report(work: Work, floors: Floors, trimmed: dict[str, int]) -> tuple[Floor, ...]:
    """The floors as they stand on the final figures."""
    out: list[Floor] = []
    broken = {b.name for b in breaches(work, floors)}

    def add(name: str, minimum: Fraction, revenue: int, cost: int) -> None:
        margin = Fraction(revenue - cost, revenue) if revenue > 0 else None
        out.append(Floor(name, minimum, margin, name not in broken, trimmed.get(name, 0)))

    amounts, costs = work.amounts, work.costs
    if floors.order is not None and amounts:
        add(ORDER, floors.order, sum(amounts), sum(costs) + work.extra_cost)
    for category, floor in floors.categories.items():
        lines = [i for i, c in enumerate(work.categories) if c == category]
        if lines:
            add(
                f"category:{category}",
                floor,
                sum(amounts[i] for i in lines),
                sum(costs[i] for i in lines),
            )
    if floors.line is not None:
        names = _line_names(len(amounts))
        for i in range(len(amounts)):
            name = names[i]
            if name in broken or name in trimmed:
                add(name, floors.line, amounts[i], costs[i])
    return tuple(out)
