"""Compiled promotions and activation plans: what the engine prices a cart with.

A :class:`Compiled` promotion is built once per engine: its evaluator, lane, targeting
predicate and stacking facts. A :class:`Plan` is the set of promotions live at one moment
for one kind of customer (segments, channel), by lane, with a cache of which of them
each distinct line falls under; the engine keeps one plan per activation slot.
"""

from __future__ import annotations

from typing import Any

from promorules.cart import Line
from promorules.counters import CounterKey, CounterKind
from promorules.kind import Evaluator, Kind, Lane, Reason
from promorules.model import Rule
from promorules.quote import Record, Status
from promorules.ruleset import BudgetPolicy, Promotion

SCOPE_CACHE_LIMIT = 65536
"""Distinct lines (sku, category, brand, merchant, tags) a plan remembers the scope of."""
FOREVER = (-(2**62), 2**62)
"""The span of a promotion with no window or phase, in epoch seconds."""
NO_LINES_RECORD = Record(Status.NOT_APPLIED, 0, 0, Reason.NO_ELIGIBLE_LINES)


class Compiled:
    """One promotion ready for pricing: its evaluator and everything the engine needs."""

    __slots__ = (
        "anchor",
        "budget",
        "budget_key",
        "channels",
        "evaluate",
        "exclude_segments",
        "group",
        "index",
        "kind",
        "lane",
        "lane_position",
        "line_filter",
        "not_with",
        "priority",
        "promotion",
        "refuse_over_budget",
        "rule",
        "segments",
        "spans",
        "steps",
        "threshold",
    )

    def __init__(
        self,
        index: int,
        promotion: Promotion,
        kind: Kind,
        lane: Lane,
        lane_position: int,
        evaluate: Evaluator,
        spans: list[tuple[int, int]],
    ) -> None:
        self.index = index
        self.promotion = promotion
        self.kind = kind
        self.lane = lane
        self.lane_position = lane_position
        self.evaluate = evaluate
        self.spans = spans
        self.priority = promotion.priority
        self.group = (
            promotion.group if promotion.group is not None else kind.implicit_group(promotion, lane)
        )
        self.not_with: frozenset[int] = frozenset()
        self.segments = frozenset(promotion.segments)
        self.exclude_segments = frozenset(promotion.exclude_segments)
        self.channels = frozenset(promotion.channels)
        self.rule: Rule | None = None
        """The promotion's rule in the model (:meth:`Kind.rule`), set by the engine:
        the hot path writes its figures inline; None for a kind's own evaluator."""
        self.steps: dict[tuple[str, bool], Any] = {}
        """Its part of a dispatched lane written as a function of its own, by how the
        lane is written and whether pausing is asked (:func:`promorules.hotpath.write_step`),
        written when a cart first reaches it in such a lane."""
        self.threshold = 0
        """The least amount its lines must come to for it to give anything (the rule's,
        else :meth:`Kind.threshold`), set by the engine."""
        self.budget = promotion.budget
        self.budget_key = CounterKey(CounterKind.BUDGET, promotion.id)
        self.refuse_over_budget = promotion.budget_policy is BudgetPolicy.REFUSE
        reach = kind.reach(promotion)
        self.line_filter = line_filter(promotion, reach)
        self.anchor = anchor(promotion, reach)
        """The smallest set of values a line must hold one of (by position in the line's
        key: sku, category, brand, merchant) to be in scope; None: no such set."""


def anchor(p: Promotion, reach: frozenset[str] | None = None) -> tuple[int, frozenset[str]] | None:
    """The smallest of the sets a line must hold one of (``(position in the line's key,
    values)``: skus, categories, brands, merchants, or the kind's ``reach``) to fall
    under ``p``; None when ``p`` states none (every line, or excluded ones and tags)."""
    found: tuple[int, frozenset[str]] | None = None
    for position, values in (
        (0, p.skus),
        (1, p.categories),
        (2, p.brands),
        (3, p.merchants),
        (0, reach),
    ):
        if values is not None and len(values) and (found is None or len(values) < len(found[1])):
            found = (position, frozenset(values))
    return found


def line_filter(p: Promotion, reach: frozenset[str] | None = None) -> Any:
    """A predicate on a line's (sku, category, brand, merchant, tags), or None for all.

    ``reach``: the only skus the promotion's kind can give anything on
    (:meth:`Kind.reach <promorules.kind.Kind.reach>`), when it says."""
    include = [
        (0, frozenset(p.skus)),
        (1, frozenset(p.categories)),
        (2, frozenset(p.brands)),
        (3, frozenset(p.merchants)),
    ]
    include = [(k, s) for k, s in include if s]
    if reach is not None:
        include.append((0, reach))
    exclude = [
        (0, frozenset(p.exclude_skus)),
        (1, frozenset(p.exclude_categories)),
        (2, frozenset(p.exclude_brands)),
        (3, frozenset(p.exclude_merchants)),
    ]
    exclude = [(k, s) for k, s in exclude if s]
    tags, exclude_tags = frozenset(p.tags), frozenset(p.exclude_tags)
    if not (include or exclude or tags or exclude_tags):
        return None

    def matches(key: tuple[str, str, str, str, tuple[str, ...]]) -> bool:
        for position, wanted in include:
            if key[position] not in wanted:
                return False
        for position, unwanted in exclude:
            if key[position] in unwanted:
                return False
        if tags and tags.isdisjoint(key[4]):
            return False
        return not (exclude_tags and not exclude_tags.isdisjoint(key[4]))

    return matches


class Plan:
    """The promotions live at one moment for one kind of customer, by lane, with a cache
    of which of them each distinct line falls under.

    ``defaults`` is the record of every promotion a cart leaves untouched: not live
    (why), or live with no line of the cart in scope. Quotes read it for the promotions
    they hold no record of, so pricing writes records only for those it looked at.
    ``always`` lists, per lane, the positions of promotions evaluated even without a
    line in scope (``Kind.without_lines``); ``everywhere`` those whose scope is every
    line (no targeting): they are left out of the per-line scopes, and pricing gives
    them all the cart's lines at once.

    Promotions are also numbered across lanes (*slots*: lane by lane, in apply order):
    the slot of position ``k`` in lane ``p`` is ``offsets[p] + k``, and ``places[slot]``
    is ``(p, k)``. ``hot`` is the
    plan's hot-path function (:mod:`promorules.hotpath`), built when first needed;
    ``hot_paused`` the same asking the ledger snapshot which promotions are paused.
    """

    __slots__ = (
        "always",
        "defaults",
        "everywhere",
        "hot",
        "hot_paused",
        "index",
        "lanes",
        "offsets",
        "places",
        "scope_cache",
        "shape",
        "slots",
    )

    def __init__(
        self,
        lanes: list[list[Compiled]],
        inactive: list[tuple[int, Reason]],
        count: int,
    ) -> None:
        self.lanes = lanes
        no_lines = NO_LINES_RECORD
        defaults: list[Record] = [no_lines] * count
        for index, reason in inactive:
            defaults[index] = Record(Status.NOT_APPLIED, 0, 0, reason)
        self.defaults: tuple[Record, ...] = tuple(defaults)
        self.always = [
            frozenset(k for k, c in enumerate(lane) if c.kind.without_lines) for lane in lanes
        ]
        self.everywhere = [
            tuple(k for k, c in enumerate(lane) if c.line_filter is None) for lane in lanes
        ]
        self.offsets: list[int] = []
        self.slots: list[Compiled] = []
        self.places: list[tuple[int, int]] = []
        for position, lane in enumerate(lanes):
            self.offsets.append(len(self.slots))
            self.slots.extend(lane)
            self.places.extend((position, k) for k in range(len(lane)))
        self.shape = tuple(tuple(c.index for c in lane) for lane in lanes)
        """The plan's promotions by lane (indexes): plans of one shape price alike."""
        self.hot: Any = None
        self.hot_paused: Any = None
        self.scope_cache: dict[tuple[str, str, str, str, tuple[str, ...]], tuple[int, ...]] = {}
        self.index: tuple[dict[tuple[int, str], list[int]], list[int]] | None = None
        """The targeted slots by a value a line must hold to fall under them (see
        :attr:`Compiled.anchor`), and those without one; built when first wanted."""

    def scope(self, line: Line) -> tuple[int, ...]:
        """The slots of the targeted promotions ``line`` falls under, ascending (those in
        ``everywhere`` left out). A line not seen before is tested against the promotions
        :attr:`index` gives for its sku, category, brand and merchant alone."""
        key = (line.sku, line.category, line.brand, line.merchant, line.tags)
        found = self.scope_cache.get(key)
        if found is None:
            by_value, unanchored = self.index or self._index()
            candidates = list(unanchored)
            for position, value in enumerate((line.sku, line.category, line.brand, line.merchant)):
                candidates += by_value.get((position, value), ())
            candidates.sort()
            slots = self.slots
            found = tuple(slot for slot in candidates if slots[slot].line_filter(key))
            if len(self.scope_cache) >= SCOPE_CACHE_LIMIT:
                self.scope_cache.clear()
            self.scope_cache[key] = found
        return found

    def _index(self) -> tuple[dict[tuple[int, str], list[int]], list[int]]:
        by_value: dict[tuple[int, str], list[int]] = {}
        unanchored: list[int] = []
        for slot, c in enumerate(self.slots):
            if c.line_filter is None:
                continue
            if c.anchor is None:
                unanchored.append(slot)
                continue
            position, values = c.anchor
            for value in values:
                by_value.setdefault((position, value), []).append(slot)
        self.index = (by_value, unanchored)
        return self.index
