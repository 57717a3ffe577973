"""The space of carts the validator reasons about: skus, moments, customers, wallets.

Both the bound and the search work over the same space, so a PROVEN claim and a
search result speak of the same carts:

- **Skus.** With a catalogue, every catalogue sku that has a price (a missing cost
  counts as 0, as it does when a cart file is priced). Without one, each category
  declared under ``[catalog.categories]`` stands for every sku it may hold: any list
  price in ``[min_price, max_price]`` and a unit cost at the declared margin (the worst
  the declaration allows), with any merchant, brand, sku name or tag the ruleset
  mentions, so targeted promotions can fire.
- **Moments.** The edges of every window (a promotion's ``window``, every campaign
  phase, and every :class:`~promorules.ruleset.Window` a kind holds in its own fields,
  such as a pre-sale's ``deposit_window`` and ``final_window``) cut time into slots in
  which the same promotions are live; a moment is drawn per slot (its first second, its
  middle and its last second) plus one before the first edge, so every distinct
  activation plan is reachable.
- **Customers.** Any subset of the segments the ruleset mentions, any channel it
  mentions (or none).
- **Wallets.** Any subset of the codes the kinds offer through
  :meth:`promorules.kind.Kind.example_codes`.
- **Choices.** For every promotion whose fields offer a ``choose_one_of`` list (items
  with a ``sku``, as the gift kind's), any one option or none (the kind's default).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from fractions import Fraction
from typing import Any

import attrs

from promorules.cartfile import CatalogItem
from promorules.engine import Engine
from promorules.plan import line_filter as engine_line_filter
from promorules.ruleset import Promotion, Ruleset, Window

SYNTHETIC_MAX_PRICE = 1_000_000
CHOICE_FIELD = "choose_one_of"
"""The field of a kind's config that lists options a customer picks one of (each with a
``sku``, the option's name in :attr:`promorules.cart.Context.choices`)."""
"""Highest list price (minor units) of a synthetic sku whose category declares none."""


@attrs.frozen
class Item:
    """A sku a cart line may hold. ``cost`` is exact (a declared margin may not land on
    a minor unit); a synthetic item stands for every price in ``[price, max_price]``."""

    sku: str
    price: int
    cost: Fraction
    category: str
    brand: str = ""
    merchant: str = ""
    tags: tuple[str, ...] = ()
    title: str = ""
    synthetic: bool = False
    max_price: int = 0
    margin: Fraction | None = None
    """A synthetic item's declared margin."""
    priced_low: bool = True
    """False for a synthetic item whose category declares no ``min_price``: its price is
    unknown from below, so absolute amounts cannot be set against it."""


@attrs.frozen
class Slot:
    """A span of time in which the same promotions are live, and moments inside it."""

    start: int
    end: int
    live: frozenset[int]
    """Indexes (into ``ruleset.promotions``) of the promotions live in the slot."""
    moments: tuple[datetime, ...]


@attrs.frozen
class Space:
    items: tuple[Item, ...]
    slots: tuple[Slot, ...]
    segments: tuple[str, ...]
    channels: tuple[str, ...]
    codes: tuple[str, ...]
    choices: tuple[tuple[str, tuple[str, ...]], ...]
    """Per promotion offering a choice: its id and its options."""
    merchants: tuple[str, ...]
    brands: tuple[str, ...]
    skus: tuple[str, ...]
    tags: tuple[str, ...]
    has_catalog: bool
    max_lines: int
    max_quantity: int
    _scopes: dict[int, tuple[Sequence[Promotion], Scopes]] = attrs.field(
        factory=dict, init=False, eq=False, repr=False
    )

    @property
    def moments(self) -> tuple[datetime, ...]:
        return tuple(m for slot in self.slots for m in slot.moments)

    def scopes(self, promotions: Sequence[Promotion]) -> Scopes:
        """Which of ``promotions`` may touch each item (:func:`may_touch`), worked out
        once per space and shared by lint and the bound."""
        found = self._scopes.get(id(promotions))
        if found is None or found[0] is not promotions:
            found = self._scopes[id(promotions)] = (promotions, _scopes(self.items, promotions))
        return found[1]


@attrs.frozen
class Scopes:
    """The promotions (by index) that may touch each item of a space."""

    touch: list[frozenset[int]]
    """Per item, the promotions that may touch it."""
    highest: dict[frozenset[int], int]
    """Per distinct set of :attr:`touch`, the highest list price of its items (a
    synthetic item's ``max_price``)."""


def _scopes(items: Sequence[Item], promotions: Sequence[Promotion]) -> Scopes:
    """:class:`Scopes` of ``items``: the promotions in scope of a catalogue sku depend
    only on the values of its fields some promotion mentions, so they are worked out
    once per combination of those (a synthetic item, one per declared category, on its
    own)."""
    filters = [scope_filter(promotion) for promotion in promotions]
    mentioned: list[set[str]] = [set(), set(), set(), set(), set()]
    for promotion in promotions:
        for position, names in enumerate(
            (
                (promotion.skus, promotion.exclude_skus),
                (promotion.categories, promotion.exclude_categories),
                (promotion.brands, promotion.exclude_brands),
                (promotion.merchants, promotion.exclude_merchants),
                (promotion.tags, promotion.exclude_tags),
            )
        ):
            for values in names:
                mentioned[position].update(values)
    skus, categories, brands, merchants, tags = mentioned
    indexes = range(len(promotions))
    known: dict[tuple[object, ...], frozenset[int]] = {}
    touch: list[frozenset[int]] = []
    highest: dict[frozenset[int], int] = {}
    for item in items:
        if item.synthetic:
            found = frozenset(i for i in indexes if may_touch(promotions[i], item))
        else:
            scope = (
                item.sku if item.sku in skus else None,
                item.category if item.category in categories else None,
                item.brand if item.brand in brands else None,
                item.merchant if item.merchant in merchants else None,
                tuple(t for t in item.tags if t in tags) if tags else (),
            )
            found_ = known.get(scope)
            if found_ is None:
                found_ = known[scope] = frozenset(
                    i for i in indexes if may_touch(promotions[i], item, filters[i])
                )
            found = found_
        touch.append(found)
        price = max(item.price, item.max_price)
        if highest.get(found, -1) < price:
            highest[found] = price
    return Scopes(touch, highest)


def build_space(
    engine: Engine,
    catalog: Mapping[str, CatalogItem] | None,
    *,
    max_lines: int,
    max_quantity: int,
) -> Space:
    """The space of carts for ``engine``'s ruleset (see the module docstring)."""
    ruleset = engine.ruleset
    promotions = ruleset.promotions
    merchants = _mentioned(promotions, "merchants", "exclude_merchants")
    brands = _mentioned(promotions, "brands", "exclude_brands")
    skus = _mentioned(promotions, "skus", "exclude_skus")
    tags = _mentioned(promotions, "tags", "exclude_tags")
    if catalog is not None:
        items = tuple(
            sorted(
                (
                    Item(
                        c.sku,
                        c.price,
                        Fraction(c.cost or 0),
                        c.category,
                        c.brand,
                        c.merchant,
                        c.tags,
                        c.title,
                    )
                    for c in catalog.values()
                    if c.price is not None and c.price > 0
                ),
                key=lambda i: (i.price, i.sku),
            )
        )
    else:
        items = _synthetic_items(ruleset)
    segments = _mentioned(promotions, "segments", "exclude_segments")
    channels = _mentioned(promotions, "channels")
    codes: list[str] = []
    for promotion in promotions:
        for code in engine.kinds[promotion.kind].example_codes(promotion):
            if code not in codes:
                codes.append(code)
    return Space(
        items=items,
        slots=_slots(ruleset),
        segments=segments,
        channels=channels,
        codes=tuple(codes),
        choices=tuple(
            (promotion.id, options)
            for promotion in promotions
            if (options := declared_choices(promotion.config))
        ),
        merchants=merchants,
        brands=brands,
        skus=skus,
        tags=tags,
        has_catalog=catalog is not None,
        max_lines=max_lines,
        max_quantity=max_quantity,
    )


def _mentioned(promotions: Sequence[Promotion], *fields: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for promotion in promotions:
        for name in fields:
            for value in getattr(promotion, name):
                seen.setdefault(value, None)
    return tuple(sorted(seen))


def _synthetic_items(ruleset: Ruleset) -> tuple[Item, ...]:
    out = []
    for category, facts in sorted(ruleset.catalog.categories.items()):
        low = facts.min_price
        high = facts.max_price or max(low or 0, SYNTHETIC_MAX_PRICE)
        price = low if low is not None else 1
        out.append(
            Item(
                f"{category}-sku",
                price,
                (1 - Fraction(facts.margin)) * price,
                category,
                synthetic=True,
                max_price=high,
                margin=Fraction(facts.margin),
                priced_low=low is not None,
            )
        )
    return tuple(out)


def declared_windows(value: object) -> tuple[Window, ...]:
    """Every :class:`~promorules.ruleset.Window` held anywhere in a kind's own fields (a
    pre-sale's deposit and final windows, a kind's sub-windows): the kind contract says
    nothing of when a kind gives what, but a window in its config is where it changes."""
    if isinstance(value, Window):
        return (value,)
    cls: Any = type(value)
    if attrs.has(cls):
        fields = attrs.fields(cls)
        return tuple(w for f in fields for w in declared_windows(getattr(value, f.name)))
    if isinstance(value, tuple | list):
        return tuple(w for item in value for w in declared_windows(item))
    if isinstance(value, dict):
        return tuple(w for item in value.values() for w in declared_windows(item))
    return ()


def declared_choices(config: object) -> tuple[str, ...]:
    """The options a customer may pick from a promotion's ``choose_one_of`` field (by
    sku); empty when its kind offers no choice."""
    if not attrs.has(type(config)) or not hasattr(config, CHOICE_FIELD):
        return ()
    options = getattr(config, CHOICE_FIELD)
    if not isinstance(options, tuple | list):
        return ()
    skus = (getattr(option, "sku", None) for option in options)
    return tuple(dict.fromkeys(sku for sku in skus if isinstance(sku, str) and sku))


def _slots(ruleset: Ruleset) -> tuple[Slot, ...]:
    spans: list[list[tuple[int, int]]] = []
    for promotion in ruleset.promotions:
        windows = ruleset.windows(promotion)
        spans.append([(int(w.start.timestamp()), int(w.end.timestamp()) + 1) for w in windows])
    # a kind's own windows only add edges: the promotion's liveness stays its common
    # window (or always), which over-approximates when it gives anything
    own = [w for promotion in ruleset.promotions for w in declared_windows(promotion.config)]
    edges = sorted(
        {edge for span in spans for pair in span for edge in pair}
        | {
            edge
            for w in (*ruleset.campaign.phases.values(), *own)
            for edge in (int(w.start.timestamp()), int(w.end.timestamp()) + 1)
        }
    )
    tz = ruleset.tz
    if not edges:
        anytime = datetime(2000, 1, 1, tzinfo=tz)
        return (Slot(0, 0, frozenset(range(len(spans))), (anytime,)),)
    bounds = [(edges[0] - 1, edges[0]), *itertools.pairwise(edges)]
    bounds.append((edges[-1], edges[-1] + 1))
    out = []
    for start, end in bounds:
        live = frozenset(
            i for i, span in enumerate(spans) if not span or any(a <= start < b for a, b in span)
        )
        seconds = sorted({start, (start + end - 1) // 2, end - 1})
        moments = tuple(
            m for s in seconds if start <= s < end and (m := _instant(s, tz)) is not None
        )
        out.append(Slot(start, end, live, moments))
    return tuple(out)


def _instant(second: int, tz: tzinfo) -> datetime | None:
    """The instant ``second`` seconds after the epoch, in ``tz``; None outside the years a
    datetime holds (1 to 9999). A window may start on 0001-01-01 or end on 9999-12-31:
    the second before it or after it is no time a cart can be priced at, so its slot
    simply has no moment there."""
    try:
        return datetime.fromtimestamp(second, tz)
    except (OverflowError, ValueError, OSError):
        return None


def scope_filter(
    promotion: Promotion,
) -> Callable[[tuple[str, str, str, str, tuple[str, ...]]], bool] | None:
    """The engine's own scope rule for ``promotion`` (``None``: every line), so the
    bound, the search and pricing agree on what a promotion targets."""
    found: Callable[[tuple[str, str, str, str, tuple[str, ...]]], bool] | None = engine_line_filter(
        promotion
    )
    return found


def may_touch(promotion: Promotion, item: Item, matches: object = ...) -> bool:
    """Whether ``promotion`` can discount a line of ``item``.

    For a catalogue sku this is the engine's scope rule exactly. A synthetic item stands
    for every sku of its category, so only the category dimension can rule it out.
    ``matches``: the promotion's :func:`scope_filter`, when already built.
    """
    if item.synthetic:
        if promotion.categories and item.category not in promotion.categories:
            return False
        return item.category not in promotion.exclude_categories
    rule = scope_filter(promotion) if matches is ... else matches
    if rule is None:
        return True
    assert callable(rule)
    return bool(rule((item.sku, item.category, item.brand, item.merchant, item.tags)))
