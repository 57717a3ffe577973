"""The ruleset: a campaign, its guardrails and its promotions, read from TOML.

Reading happens at the edge: :func:`load_ruleset` parses TOML, structures it into the
attrs classes below with cattrs (unknown keys refused, every error collected with its
key path), lets each promotion's kind check its own fields, and raises one
:class:`~promorules.diagnostics.RulesetError` with every problem located as
``file:line:col``. :func:`dump_ruleset` writes a ruleset back to TOML that loads into
an equal ruleset.
"""

from __future__ import annotations

import difflib
import enum
import functools
import re
import threading
import typing
from collections import Counter
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from datetime import date, datetime, time, tzinfo
from fractions import Fraction
from pathlib import Path as FilePath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from promorules.amounts import Amount as Amount
from promorules.amounts import Rate as Rate
from promorules.cart import MAX_AMOUNT, MAX_ID_LENGTH
from promorules.coupon_codes import normalise
from promorules.diagnostics import Collector, Path
from promorules.goals import Goals, check_goals
from promorules.kind import DEFAULT_LANES, Kind, Lane
from promorules.money import (
    MoneyError,
    Rounding,
    format_amount,
    format_percent,
    minor_units,
    parse_amount,
    parse_percent,
)
from promorules.reading import parse_toml, read_text

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")  # whole id: fullmatch (no "\n" after)
MAX_RULESET_BYTES = 8 * 1024 * 1024


class Grade(str, enum.Enum):
    S = "S"
    A = "A"
    B = "B"


class OnBreach(str, enum.Enum):
    """What the runtime guardrail does when stacked discounts break a margin floor."""

    CLAMP = "clamp"
    REJECT = "reject"
    WARN = "warn"


class BudgetPolicy(str, enum.Enum):
    """When a discount would exceed the budget left: give what is left, or nothing."""

    TRIM = "trim"
    REFUSE = "refuse"


class Funder(str, enum.Enum):
    PLATFORM = "platform"
    MERCHANT = "merchant"


@attrs.frozen
class Window:
    """A span of time, inclusive at one-second resolution: [start, end]."""

    start: datetime
    """The first second of the window (a local time is in the campaign's zone)."""
    end: datetime
    """The last second of the window: ``23:59:59`` covers that whole second."""

    def contains(self, at: datetime) -> bool:
        return self.start <= at.replace(microsecond=0) <= self.end


@attrs.frozen
class Campaign:
    """``[campaign]``: what the campaign is called, its currency, zone, grade and phases."""

    name: str
    """The campaign's name."""
    currency: str
    """ISO 4217 code; amounts are written in it."""
    timezone: str
    """IANA zone, for local date-times."""
    grade: Grade = Grade.B
    """S (platform-wide), A (festival or seasonal) or B (category or theme)."""
    phases: dict[str, Window] = attrs.field(factory=dict)
    """Named windows: ``explosion = { start = 2026-11-11T00:00:00, end =
    2026-11-11T23:59:59 }``."""
    rounding: Rounding = Rounding.DOWN
    """How percent discounts land on a minor unit; down never gives more than declared."""


@attrs.frozen
class Guardrails:
    """Margin floors no stack of promotions may break, and what to do when one would."""

    min_order_margin: Rate | None = None
    """Floor on ``(payable - cost) / payable`` of the goods of an order, gift costs
    included."""
    min_line_margin: Rate | None = None
    """The same floor per line (``"0%"``: nothing sold below cost)."""
    categories: dict[str, Rate] = attrs.field(factory=dict)
    """Per-category floors on the margin of a category's lines within an order:
    ``{ digital = "3%" }``."""
    on_breach: OnBreach = OnBreach.CLAMP
    """``clamp``: take discounts back until the floors hold; ``reject``: drop the
    promotions behind a breach; ``warn``: report only (the CLI exits 1)."""


class PriceChoice(str, enum.Enum):
    """Which offer a unit takes in the price lane when several promotions reprice it.

    ``lowest`` (the default): the lowest price offered (flash, member, presale...).
    ``priority``: the offer of the promotion with the highest ``priority`` (ties: the
    lower price, then declaration order), even when another is cheaper; a unit still
    never pays more than its list price, and units beyond an offer's limit fall to the
    next offer in the same order.
    """

    LOWEST = "lowest"
    PRIORITY = "priority"


@attrs.frozen
class CategoryFacts:
    """What a planner declares about a category's skus, for validating without a catalogue."""

    margin: Rate
    """The lowest gross margin any sku of the category has at its list price."""
    min_price: Amount | None = None
    """The lowest list price of a unit in the category (lets absolute amounts be bounded)."""
    max_price: Amount | None = None
    """The highest list price of a unit in the category."""


@attrs.frozen
class CatalogFacts:
    """``[catalog.categories.<name>]``: declared category margins and price ranges.

    Pricing never reads them; ``promorules validate`` uses them when it is given no
    catalogue file, in place of each sku's price and cost.
    """

    categories: dict[str, CategoryFacts] = attrs.field(factory=dict)
    """Per category: its lowest margin at list price and its price range."""


@attrs.frozen
class Stacking:
    """``[stacking]``: the order lanes apply in, and how offers compete."""

    lanes: tuple[Lane, ...] = DEFAULT_LANES
    """The order lanes apply in; ``price`` must come first."""
    price: PriceChoice = PriceChoice.LOWEST
    """How the price lane picks one price per unit: ``lowest`` (the lowest offered) or
    ``priority`` (the offer of the highest-priority promotion, never above list)."""
    upsell_within: Rate = attrs.field(factory=lambda: Rate(Fraction(3, 10)))
    """Hint at the next tier when the cart is this close to it (share of its threshold)."""
    funder_budget_policy: BudgetPolicy = BudgetPolicy.TRIM
    """When a funder's share of a quote would exceed what is left of its ``[budgets]``
    amount: take discounts back (lowest priority first) until it fits, or drop them."""


class ClawBack(str, enum.Enum):
    """What a partial return does to the rest of the order."""

    KEEP = "keep"
    CLAW_BACK = "claw-back"


class ReturnShipping(str, enum.Enum):
    """When a return refunds the shipping fee paid."""

    FULL_RETURN = "full-return"
    NEVER = "never"
    ALWAYS = "always"


@attrs.frozen
class ReturnPolicy:
    """``[returns]``: what returned units give back (docs/returns.md). Pricing never
    reads it; ``promorules refund`` and :func:`promorules.refund.refund` use it unless
    told otherwise."""

    remaining: ClawBack = ClawBack.KEEP
    """``keep``: the rest of the order keeps its discounts and gifts; ``claw-back``: it is
    priced again without the returned units, and what it no longer earns (a gift it
    keeps, at its value) comes off the refund, never below zero."""
    shipping: ReturnShipping = ReturnShipping.FULL_RETURN
    """When the shipping fee paid is refunded: ``full-return`` (every paid unit comes
    back), ``never``, or ``always`` (with any return)."""


def _default_funding() -> dict[Funder, Rate]:
    return {}


@attrs.frozen
class Promotion:
    """One promotion: the fields every kind shares, and its kind's own ``config``."""

    id: str
    """Unique in the ruleset: 1-64 letters, digits, ``_ . : -``."""
    kind: str
    """The promotion kind (``promorules plugins`` lists them)."""
    title: str = ""
    """Shown to planners."""
    lane: Lane | None = None
    """Where it stacks. None: the kind's default lane (the first it declares)."""
    priority: int = 0
    """Higher applies first within a lane, wins ties and is trimmed last by the guardrail."""
    phases: tuple[str, ...] = ()
    """Names of campaign phases it is live in (with neither phases nor window: always)."""
    window: Window | None = None
    """When it is live: ``{ start, end }`` (in place of ``phases``)."""
    skus: tuple[str, ...] = ()
    """Lines it targets, by sku. Every declared dimension must match; any value within one."""
    categories: tuple[str, ...] = ()
    """Lines it targets, by category."""
    brands: tuple[str, ...] = ()
    """Lines it targets, by brand."""
    merchants: tuple[str, ...] = ()
    """Lines it targets, by merchant (store)."""
    tags: tuple[str, ...] = ()
    """Lines it targets, by tag."""
    exclude_skus: tuple[str, ...] = ()
    """Lines it never touches, by sku."""
    exclude_categories: tuple[str, ...] = ()
    """Lines it never touches, by category."""
    exclude_brands: tuple[str, ...] = ()
    """Lines it never touches, by brand."""
    exclude_merchants: tuple[str, ...] = ()
    """Lines it never touches, by merchant."""
    exclude_tags: tuple[str, ...] = ()
    """Lines it never touches, by tag."""
    segments: tuple[str, ...] = ()
    """Customer segments it is offered to (any of them)."""
    exclude_segments: tuple[str, ...] = ()
    """Customer segments it is never offered to."""
    channels: tuple[str, ...] = ()
    """Channels it is offered in (the pricing context's channel)."""
    group: str | None = None
    """Exclusive group: of the promotions sharing it (in one lane), only the best for the
    customer applies: an offer is worth what the lane really gives with it (after the
    higher-priority promotions, each line capped at what is left), the shipping it takes
    off and its gifts at their ``value``; ties to the higher priority, then the earlier."""
    not_with: tuple[str, ...] = ()
    """Ids it never stacks with on the same line: lines an earlier-lane partner discounted
    are out of its scope; in the same lane the better one wins."""
    unlock_codes: tuple[str, ...] = ()
    """Codes of which the customer must present one for the promotion to apply (any
    kind: a code-gated percent off, free shipping, buy-2-get-1); compared normalised."""
    funded_by: dict[Funder, Rate] = attrs.field(factory=_default_funding)
    """Split between ``platform`` and ``merchant``, adding up to 100%; default: the
    platform funds the platform lane, the merchant the others."""
    budget: Amount | None = None
    """A money budget for this promotion (a ledger counter)."""
    budget_policy: BudgetPolicy = BudgetPolicy.TRIM
    """When a discount would exceed the budget left: ``trim`` it to what is left, or
    ``refuse`` it."""
    config: Any = None

    def effective_lane(self, kind: Kind) -> Lane:
        return self.lane if self.lane is not None else kind.lanes[0]

    def funding(self, lane: Lane) -> dict[Funder, Rate]:
        """The funding split, defaulting by lane: the platform funds its own lane."""
        if self.funded_by:
            return dict(self.funded_by)
        funder = Funder.PLATFORM if lane is Lane.PLATFORM else Funder.MERCHANT
        return {funder: Rate(Fraction(1))}


COMMON_KEYS = frozenset(f.name for f in attrs.fields(Promotion) if f.name != "config")


@attrs.frozen
class Simulation:
    """Assumptions ``promorules simulate`` states in its report (``[simulate]``).

    ``uplift`` maps a grade (``S``, ``A``, ``B``: every promotion of a campaign of that
    grade) or a promotion id (which wins over the grade) to the share by which the
    promotion is assumed to raise the sales it touches: ``"30%"`` means the sales it
    applied to are 1.3 times what they would have been without it.
    """

    uplift: dict[str, Rate] = attrs.field(factory=dict)
    """The share by which promotions are assumed to raise the sales they touch, by grade
    (``S``, ``A``, ``B``) or promotion id (which wins): ``{ S = "30%", d11-ladder =
    "45%" }``."""

    def uplift_for(self, promotion: str, grade: Grade) -> Rate | None:
        """The uplift assumed for ``promotion`` in a campaign of ``grade``, if any."""
        found = self.uplift.get(promotion)
        return found if found is not None else self.uplift.get(grade.value)


class ReferencePrice(str, enum.Enum):
    """Named reference-price rules: the lowest price over the days before a promotion."""

    LOWEST_7_DAYS = "lowest-7-days"
    """China, SAMR 2020: a "was" price is the lowest transaction price of the prior 7 days."""
    LOWEST_30_DAYS = "lowest-30-days"
    """EU Omnibus directive, Art. 6a: the prior price is the lowest of the last 30 days."""

    @property
    def days(self) -> int:
        return 7 if self is ReferencePrice.LOWEST_7_DAYS else 30


@attrs.frozen
class PriceRules:
    """What regulators (or the platform) require of promotion prices (``[price_rules]``).

    The reference price of a sku is its lowest price over the ``days`` before a
    promotion starts; a "was" price shown above it is misleading, and with ``min_cut``
    an event price must be at least that share below it. Checked against a price
    history by :func:`promorules.pricerules.check_price_rules`.
    """

    reference: ReferencePrice | None = None
    """A named rule: ``lowest-7-days`` (China, SAMR 2020) or ``lowest-30-days`` (EU
    Omnibus directive, Art. 6a)."""
    reference_days: int | None = None
    """The look-back in days (1 to 366), in place of a named ``reference``."""
    min_cut: Rate | None = None
    """How far below the reference price an event price must be (Tmall asked 10% for
    Double 11); needs a reference rule."""

    @property
    def days(self) -> int | None:
        """How many days before a promotion the reference price looks back, if declared."""
        if self.reference_days is not None:
            return self.reference_days
        return self.reference.days if self.reference is not None else None


@attrs.frozen
class Ruleset:
    campaign: Campaign
    guardrails: Guardrails = Guardrails()
    stacking: Stacking = Stacking()
    promotions: tuple[Promotion, ...] = ()
    budgets: dict[Funder, Amount] = attrs.field(factory=dict)
    """Money budgets per funder across all promotions."""
    simulate: Simulation = Simulation()
    price_rules: PriceRules = PriceRules()
    catalog: CatalogFacts = attrs.field(factory=CatalogFacts)
    goals: Goals = attrs.field(factory=Goals)
    returns: ReturnPolicy = ReturnPolicy()
    source: str = attrs.field(default="<ruleset>", eq=False)
    positions: Mapping[Path, tuple[int, int]] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.campaign.timezone)

    def promotion(self, promotion_id: str) -> Promotion:
        for promotion in self.promotions:
            if promotion.id == promotion_id:
                return promotion
        raise KeyError(promotion_id)

    def collector(self) -> Collector:
        """A collector for problems found in this ruleset after loading (lint, a kind's
        late checks): located in its file, promotions named by id as loading names them."""
        positions = self.positions
        return Collector(
            self.source,
            positions if isinstance(positions, MutableMapping) else dict(positions),
            self._names,
        )

    @functools.cached_property
    def _names(self) -> dict[Path, str]:
        return promotion_names([p.id for p in self.promotions])

    def windows(self, promotion: Promotion) -> tuple[Window, ...]:
        """When a promotion is live: its window, its phases, or always (empty tuple)."""
        if promotion.window is not None:
            return (promotion.window,)
        return tuple(self.campaign.phases[p] for p in promotion.phases)


# --------------------------------------------------------------------------- reading


def resolve_types(cls: type[Any]) -> None:
    """Resolve string annotations of an attrs class and of the attrs classes it holds."""
    seen: set[type[Any]] = set()

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and attrs.has(tp):
            if tp in seen:
                return
            seen.add(tp)
            attrs.resolve_types(tp)
            for field in attrs.fields(tp):
                visit(field.type)
        for arg in getattr(tp, "__args__", ()) or ():
            visit(arg)

    visit(cls)


class _ValueProblem(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _enums_in(tp: Any, seen: set[Any] | None = None) -> set[type[enum.Enum]]:
    """Every enum class a type refers to, through unions, containers and attrs classes."""
    seen = set() if seen is None else seen
    found: set[type[enum.Enum]] = set()
    if tp in seen:
        return found
    seen.add(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        found.add(tp)
    elif isinstance(tp, type) and attrs.has(tp):
        resolve_types(tp)
        for field in attrs.fields(tp):
            found |= _enums_in(field.type, seen)
    for arg in getattr(tp, "__args__", ()) or ():
        found |= _enums_in(arg, seen)
    return found


def _converter(currency: str, tz: tzinfo, tables: tuple[type[Any], ...] = ()) -> cattrs.Converter:
    """A converter bound to the ruleset's currency and time zone, strict about types.

    One per currency, zone and set of kinds' config classes, built once: cattrs generates
    (and compiles) the structuring code of each class on first use and caches it, but
    registering any hook afterwards clears that cache. So every hook, the enums of every
    table included, is registered here, before anything is structured; loading 1,000
    promotions then generates each class's code once instead of once per promotion.
    """
    key = (currency, tz, tables)
    conv = _CONVERTERS.get(key)
    if conv is None:
        built = _build_converter(currency, tz, tables)
        with _CONVERTERS_LOCK:  # two threads loading at once keep one converter
            conv = _CONVERTERS.setdefault(key, built)
            if len(_CONVERTERS) > 32:  # a long-lived process that meets many currencies
                _CONVERTERS.pop(next(iter(_CONVERTERS)))
    return conv


_CONVERTERS: dict[tuple[str, tzinfo, tuple[type[Any], ...]], cattrs.Converter] = {}
_CONVERTERS_LOCK = threading.Lock()


def _build_converter(currency: str, tz: tzinfo, tables: tuple[type[Any], ...]) -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)

    def amount(value: object, _: object) -> Amount:
        try:
            return Amount(parse_amount(value, currency))
        except MoneyError as exc:
            raise _ValueProblem("PR104", str(exc)) from None

    def rate(value: object, _: object) -> Rate:
        try:
            return Rate(parse_percent(value))
        except MoneyError as exc:
            raise _ValueProblem("PR105", str(exc)) from None

    def moment(value: object, _: object) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=tz)
        if isinstance(value, date):
            return datetime.combine(value, time(), tzinfo=tz)
        raise _ValueProblem(
            "PR106", f"expected a date-time like 2026-11-11T00:00:00, not {_show(value)}"
        )

    def string(value: object, _: object) -> str:
        if not isinstance(value, str):
            raise _ValueProblem("PR103", f"expected a string, not {_show(value)}")
        if len(value) > 1000:
            raise _ValueProblem("PR103", f"string too long ({len(value)} characters, at most 1000)")
        return value

    def integer(value: object, _: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _ValueProblem("PR103", f"expected an integer, not {_show(value)}")
        return value

    def boolean(value: object, _: object) -> bool:
        if not isinstance(value, bool):
            raise _ValueProblem("PR103", f"expected true or false, not {_show(value)}")
        return value

    def enum_hook(value: object, cls: type[enum.Enum]) -> enum.Enum:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in cls)
            raise _ValueProblem("PR103", f"expected one of {allowed}, not {_show(value)}") from None

    def sequence_guard(value: object, cls: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise _ValueProblem("PR103", f"expected a list, not {_show(value)}")
        return structure_tuple(value, cls)

    registered: set[type[enum.Enum]] = set()

    def register_enums(tp: Any) -> None:
        """Give each enum met in ``tp`` the strict enum hook, by exact class.

        cattrs dispatches classes before predicates, so a predicate hook alone never
        reaches a ``str``/``int`` subclass such as an Enum; registering the class itself
        does. An enum already registered is not registered again (that would clear the
        cache of generated code).
        """
        for found in _enums_in(tp) - registered:
            conv.register_structure_hook(found, enum_hook)
            registered.add(found)

    def table_factory(cls: Any) -> Any:
        # a class outside ``tables`` (a kind's config written back by dump_ruleset, say)
        # registers its enums on first use; those of the known tables are already in
        register_enums(cls)
        structure = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)

        def table_guard(value: object, target: Any) -> Any:
            if not isinstance(value, dict):
                raise _ValueProblem("PR103", f"expected a table, not {_show(value)}")
            return structure(value, target)

        return table_guard

    conv.register_structure_hook(Amount, amount)
    conv.register_structure_hook(Rate, rate)
    conv.register_structure_hook(datetime, moment)
    # By class: cattrs' own hooks for these are class-dispatched and would otherwise win
    # (str(5) -> "5", int("5") -> 5, bool("false") -> True). Enums are registered by
    # exact class as they are met (register_enums), so they never fall back to str.
    conv.register_structure_hook(str, string)
    conv.register_structure_hook(int, integer)
    conv.register_structure_hook(bool, boolean)
    for known in (Grade, OnBreach, BudgetPolicy, Funder, Rounding, Lane, Ruleset, *tables):
        register_enums(known)
    structure_tuple = conv.get_structure_hook(tuple[str, ...])
    conv.register_structure_hook_func(
        lambda t: getattr(t, "__origin__", None) is tuple, sequence_guard
    )
    conv.register_structure_hook_factory(attrs.has, table_factory)

    conv.register_unstructure_hook(Amount, lambda v: format_amount(v, currency))
    conv.register_unstructure_hook(Rate, format_percent)
    conv.register_unstructure_hook(datetime, lambda v: v.astimezone(tz).replace(tzinfo=None))
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda v: v.value
    )
    # Warm up now rather than during the first loads: cattrs keeps each mapping type's
    # hook by registering it, which clears the cache, so the first pass over the tables
    # leaves some classes to be generated again; the second pass generates those, and
    # nothing is registered (or cleared) after it.
    warm = [
        f.type
        for f in attrs.fields(Ruleset)
        if (isinstance(f.type, type) and attrs.has(f.type)) or typing.get_origin(f.type) is dict
    ]
    for _ in range(2):
        for table in (*warm, Promotion, *tables):
            conv.get_structure_hook(table)
    return conv


def _structure(
    conv: cattrs.Converter, data: object, cls: type[Any], path: Path, out: Collector
) -> Any:
    try:
        return conv.structure(data, cls)
    except Exception as exc:  # every structuring failure becomes located problems
        _explain(exc, path, out, cls)
        return None


def _explain(exc: BaseException, path: Path, out: Collector, cls: Any) -> None:
    if isinstance(exc, ClassValidationError | IterableValidationError):
        for sub in exc.exceptions:
            sub_path = path
            for note in getattr(sub, "__notes__", ()):
                if isinstance(note, AttributeValidationNote):
                    sub_path = (*path, note.name)
                elif isinstance(note, IterableValidationNote):
                    index = note.index
                    sub_path = (*path, index if isinstance(index, int | str) else str(index))
            _explain(sub, sub_path, out, None)
    elif isinstance(exc, ForbiddenExtraKeysError):
        known = [f.name for f in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        for key in sorted(exc.extra_fields):
            out.add("PR101", _unknown_key(key, known), (*path, key))
    elif isinstance(exc, KeyError):
        out.add("PR102", "required key is missing", path)
    elif isinstance(exc, _ValueProblem):
        out.add(exc.code, str(exc), path)
    else:
        out.add("PR103", str(exc) or type(exc).__name__, path)


def _unknown_key(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {_show(key)}{hint}"


def _show(value: object) -> str:
    """Untrusted input rendered safely and briefly for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_TOP_KEYS = (
    "campaign",
    "guardrails",
    "stacking",
    "promotion",
    "budgets",
    "simulate",
    "price_rules",
    "catalog",
    "goals",
    "returns",
)


def read_toml(
    text: str, source: str
) -> tuple[dict[str, Any], MutableMapping[Path, tuple[int, int]]]:
    """Parse TOML text; every failure is a located PR002 diagnostic.

    The key positions come back unscanned: they are worked out when a problem is
    first located (see :class:`promorules.tomlpos.LazyPositions`).
    """
    return parse_toml(text, source)


def load_ruleset(path: str | FilePath, kinds: Mapping[str, Kind]) -> Ruleset:
    """Read and check the TOML ruleset at ``path`` (see :func:`parse_ruleset`)."""
    text = read_text(path, "ruleset", MAX_RULESET_BYTES)
    return parse_ruleset(text, kinds, source=str(path))


def parse_ruleset(text: str, kinds: Mapping[str, Kind], *, source: str = "<ruleset>") -> Ruleset:
    """Parse a ruleset from TOML text; raises RulesetError with every problem located."""
    data, positions = read_toml(text, source)
    return build_ruleset(data, kinds, source=source, positions=positions)


def build_ruleset(
    data: Mapping[str, Any],
    kinds: Mapping[str, Kind],
    *,
    source: str = "<ruleset>",
    positions: Mapping[Path, tuple[int, int]] | None = None,
) -> Ruleset:
    """Structure and check a ruleset from already-parsed data (a TOML document's dict)."""
    # not copied: a copy would scan lazy positions that a clean ruleset never reads
    out = Collector(source, positions if isinstance(positions, MutableMapping) else None)
    if positions is not None and not isinstance(positions, MutableMapping):
        out.positions.update(positions)
    for key in data:
        if key not in _TOP_KEYS:
            out.add("PR101", _unknown_key(key, list(_TOP_KEYS)), (key,))

    raw_campaign = data.get("campaign")
    if not isinstance(raw_campaign, dict):
        out.add("PR102", "a ruleset needs a [campaign] table", ("campaign",))
        out.raise_if_errors()
    assert isinstance(raw_campaign, dict)
    currency, tz = _currency_and_zone(raw_campaign, out)
    conv = _converter(currency, tz, _config_types(kinds.values()))

    campaign = _structure(conv, raw_campaign, Campaign, ("campaign",), out)
    guardrails = _structure(conv, data.get("guardrails", {}), Guardrails, ("guardrails",), out)
    stacking = _structure(conv, data.get("stacking", {}), Stacking, ("stacking",), out)
    budgets = _structure(conv, data.get("budgets", {}), dict[Funder, Amount], ("budgets",), out)
    simulate = _structure(conv, data.get("simulate", {}), Simulation, ("simulate",), out)
    price_rules = _structure(conv, data.get("price_rules", {}), PriceRules, ("price_rules",), out)
    catalog = _structure(conv, data.get("catalog", {}), CatalogFacts, ("catalog",), out)
    goals = _structure(conv, data.get("goals", {}), Goals, ("goals",), out)
    returns = _structure(conv, data.get("returns", {}), ReturnPolicy, ("returns",), out)

    raw_promotions = data.get("promotion", [])
    if not isinstance(raw_promotions, list):
        out.add("PR103", "write promotions as [[promotion]] tables", ("promotion",))
        raw_promotions = []
    raw_ids = [raw.get("id") if isinstance(raw, dict) else None for raw in raw_promotions]
    out.names.update(promotion_names(raw_ids))
    _check_ids(raw_ids, out)
    # every id written down, even of a promotion dropped for its own errors: a reference
    # to it (not_with, an uplift) is not wrong, and one broken promotion must not make
    # the others report errors of their own
    declared = {i for i in raw_ids if isinstance(i, str)}
    # with their index in the file: a dropped promotion must not shift the paths (and
    # so the lines) of the problems found in the ones after it
    promotions: list[tuple[int, Promotion]] = []
    for index, raw in enumerate(raw_promotions):
        promotion = _promotion(conv, raw, ("promotion", index), kinds, out)
        if promotion is not None:
            promotions.append((index, promotion))

    if campaign is not None:
        _check_campaign(campaign, out)
    if guardrails is not None:
        _check_guardrails(guardrails, out)
    if stacking is not None:
        _check_stacking(stacking, out)
    if catalog is not None:
        _check_catalog(catalog, out)
    if campaign is not None:
        _check_promotions(promotions, campaign, kinds, declared, out)
    if simulate is not None:
        _check_simulate(simulate, declared, out)
    if price_rules is not None:
        _check_price_rules(price_rules, out)
    if goals is not None:
        check_goals(goals, campaign.phases if campaign is not None else {}, out)
    out.raise_if_errors()
    return Ruleset(
        campaign=campaign,
        guardrails=guardrails,
        stacking=stacking,
        promotions=tuple(p for _, p in promotions),
        budgets=budgets,
        simulate=simulate,
        price_rules=price_rules,
        catalog=catalog,
        goals=goals,
        returns=returns,
        source=source,
        positions=out.positions,
    )


def promotion_names(ids: Sequence[object]) -> dict[Path, str]:
    """How diagnostics name each promotion: by its id when that id is well formed and
    unique (``promotion "d11-ladder"``), else by its index (no entry)."""
    counts = Counter(i for i in ids if isinstance(i, str))
    return {
        ("promotion", index): f'promotion "{pid}"'
        for index, pid in enumerate(ids)
        if isinstance(pid, str) and _ID.fullmatch(pid) and counts[pid] == 1
    }


def _check_ids(ids: Sequence[object], out: Collector) -> None:
    """Ids well formed and unique, over every promotion written (even a broken one)."""
    first: dict[str, int] = {}
    for index, pid in enumerate(ids):
        if not isinstance(pid, str):
            continue  # a missing or non-string id is the structuring's to report
        path: Path = ("promotion", index, "id")
        if not _ID.fullmatch(pid):
            out.add(
                "PR103",
                "an id is 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter "
                "or digit",
                path,
            )
        if pid in first:
            line, _ = out.position(("promotion", first[pid], "id"))
            out.add(
                "PR202",
                f"duplicate id {pid!r} (first used by promotion[{first[pid]}] on line {line})",
                path,
            )
        first.setdefault(pid, index)


def _config_types(items: Iterable[Any], *, of_instances: bool = False) -> tuple[type[Any], ...]:
    """The config classes of kinds (or of config objects), in a stable order for a key."""
    types = {type(i) if of_instances else i.config_type for i in items}
    return tuple(sorted(types, key=lambda t: (t.__module__, t.__qualname__)))


def _currency_and_zone(raw: Mapping[str, Any], out: Collector) -> tuple[str, tzinfo]:
    currency = raw.get("currency", "CNY")
    try:
        minor_units(currency if isinstance(currency, str) else "")
    except MoneyError as exc:
        out.add("PR103", str(exc), ("campaign", "currency"))
        currency = "CNY"
    zone = raw.get("timezone", "UTC")
    tz = time_zone(zone)
    if tz is None:
        out.add("PR106", f"unknown time zone {_show(zone)}", ("campaign", "timezone"))
        tz = ZoneInfo("UTC")
    return currency, tz


_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]{1,32}(/[A-Za-z0-9_+-]{1,32}){0,3}")


def time_zone(name: object) -> tzinfo | None:
    """The IANA zone ``name`` names, or None if it names none.

    ZoneInfo treats a key as a path under its zone directories: "Asia" opens a
    directory (IsADirectoryError), "" and "../x" raise ValueError, 300 characters
    "File name too long". Only names shaped like IANA ones reach it, and whatever it
    raises for one that is not a zone file means "no such zone".
    """
    if not isinstance(name, str) or not _ZONE_NAME.fullmatch(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _promotion(
    conv: cattrs.Converter, raw: object, path: Path, kinds: Mapping[str, Kind], out: Collector
) -> Promotion | None:
    if not isinstance(raw, dict):
        out.add("PR103", "a promotion is a table", path)
        return None
    kind_name = raw.get("kind")
    kind = kinds.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        if kind_name is None:
            out.add("PR102", "every promotion needs a kind", (*path, "kind"))
        else:
            close = difflib.get_close_matches(str(kind_name), list(kinds), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(sorted(kinds)) or "none installed"
            out.add(
                "PR201",
                f"unknown promotion kind {_show(kind_name)}{hint}; installed kinds: {known}",
                (*path, "kind"),
            )
        return None
    config_fields = {f.name for f in attrs.fields(kind.config_type)}
    common = {k: v for k, v in raw.items() if k in COMMON_KEYS}
    own = {k: v for k, v in raw.items() if k in config_fields and k not in COMMON_KEYS}
    # counted before the unknown keys: a misspelt key must not also trigger the kind's
    # own checks ("thresold" would otherwise add "give a threshold" for the same typo)
    before = len(out.problems)
    for key in raw:
        if key not in COMMON_KEYS and key not in config_fields:
            out.add(
                "PR101",
                _unknown_key(key, sorted(COMMON_KEYS | config_fields))
                + f" for a {kind.name} promotion",
                (*path, key),
            )
    base = _structure(conv, common, Promotion, path, out)
    config = _structure(conv, own, kind.config_type, path, out)
    if base is None or config is None or len(out.problems) > before:
        return None
    promotion: Promotion = attrs.evolve(base, config=config)
    out.extend(kind.check(promotion), path)
    return promotion


def _check_window(window: Window, path: Path, out: Collector) -> None:
    if window.end < window.start:
        out.add("PR106", "window ends before it starts", path)


def _check_campaign(campaign: Campaign, out: Collector) -> None:
    for name, window in campaign.phases.items():
        _check_window(window, ("campaign", "phases", name), out)


def _check_guardrails(guardrails: Guardrails, out: Collector) -> None:
    floors: list[tuple[Path, Rate | None]] = [
        (("guardrails", "min_order_margin"), guardrails.min_order_margin),
        (("guardrails", "min_line_margin"), guardrails.min_line_margin),
    ]
    floors += [(("guardrails", "categories", c), r) for c, r in guardrails.categories.items()]
    for category in guardrails.categories:
        if len(category) > MAX_ID_LENGTH:
            path: Path = ("guardrails", "categories", category)
            out.add("PR103", f"a category name is at most {MAX_ID_LENGTH} characters", path)
    for path, rate in floors:
        if rate is not None and not (-1 < rate < 1):
            out.add("PR105", "a margin floor must lie between -100% and 100% (exclusive)", path)


def _check_stacking(stacking: Stacking, out: Collector) -> None:
    lanes = stacking.lanes
    if sorted(lanes) != sorted(DEFAULT_LANES) or len(set(lanes)) != len(lanes):
        names = ", ".join(lane.value for lane in DEFAULT_LANES)
        out.add("PR204", f"lanes must list each of {names} exactly once", ("stacking", "lanes"))
    elif lanes[0] is not Lane.PRICE:
        out.add("PR204", "the price lane must come first", ("stacking", "lanes"))
    if not (0 <= stacking.upsell_within <= 1):
        out.add("PR105", "must lie between 0% and 100%", ("stacking", "upsell_within"))


def _check_catalog(catalog: CatalogFacts, out: Collector) -> None:
    for name, facts in catalog.categories.items():
        path: Path = ("catalog", "categories", name)
        if not (-1 < facts.margin < 1):
            out.add(
                "PR105", "a margin must lie between -100% and 100% (exclusive)", (*path, "margin")
            )
        if len(name) > MAX_ID_LENGTH:
            # no cart line could name it (promorules.cart bounds a category's length)
            out.add("PR103", f"a category name is at most {MAX_ID_LENGTH} characters", path)
        for key in ("min_price", "max_price"):
            value = getattr(facts, key)
            if value is not None and value <= 0:
                out.add("PR104", "a price must be positive", (*path, key))
            elif value is not None and value > MAX_AMOUNT:
                out.add("PR104", f"a price is at most {MAX_AMOUNT:,} minor units", (*path, key))
        low, high = facts.min_price, facts.max_price
        if low is not None and high is not None and low > high:
            out.add("PR104", "min_price is above max_price", (*path, "min_price"))


def _check_promotions(
    promotions: list[tuple[int, Promotion]],
    campaign: Campaign,
    kinds: Mapping[str, Kind],
    ids: set[str],
    out: Collector,
) -> None:
    group_lanes: dict[str, Lane] = {}
    for index, promotion in promotions:
        path: Path = ("promotion", index)
        kind = kinds[promotion.kind]
        lane = promotion.effective_lane(kind)
        if lane not in kind.lanes:
            allowed = ", ".join(la.value for la in kind.lanes)
            out.add(
                "PR204",
                f"a {kind.name} promotion may sit in lane {allowed}, not {lane.value}",
                (*path, "lane"),
            )
        for item, phase in enumerate(promotion.phases):
            if phase not in campaign.phases:
                known = ", ".join(campaign.phases) or "none declared"
                out.add(
                    "PR204",
                    f"unknown phase {phase!r} (campaign phases: {known})",
                    (*path, "phases", item),
                )
        if promotion.phases and promotion.window is not None:
            out.add("PR203", "give phases or a window, not both", (*path, "window"))
        if promotion.window is not None:
            _check_window(promotion.window, (*path, "window"), out)
        for item, other in enumerate(promotion.not_with):
            if other not in ids:
                out.add(
                    "PR204",
                    f"not_with names unknown promotion {other!r}",
                    (*path, "not_with", item),
                )
        if promotion.funded_by and sum(promotion.funded_by.values()) != 1:
            total = format_percent(Fraction(sum(promotion.funded_by.values())))
            out.add("PR205", f"funding shares add up to {total}, not 100%", (*path, "funded_by"))
        if promotion.group is not None:
            first = group_lanes.setdefault(promotion.group, lane)
            if first is not lane:
                out.add(
                    "PR203",
                    f"exclusive group {promotion.group!r} spans lanes {first.value} and "
                    f"{lane.value}; members of a group must share a lane",
                    (*path, "group"),
                )
        if promotion.budget is not None and promotion.budget <= 0:
            out.add("PR104", "a budget must be positive", (*path, "budget"))
        for item, code in enumerate(promotion.unlock_codes):
            if len(code) > 64 or not normalise(code):
                out.add(
                    "PR203",
                    "a code is 1 to 64 characters with at least one letter or digit",
                    (*path, "unlock_codes", item),
                )
        for field in _NAMES:
            for item, name in enumerate(getattr(promotion, field)):
                if len(name) > MAX_ID_LENGTH:
                    # no cart, customer or context can carry it (promorules.cart bounds)
                    out.add("PR103", f"at most {MAX_ID_LENGTH} characters", (*path, field, item))


_NAMES = (
    "skus",
    "categories",
    "brands",
    "merchants",
    "tags",
    "exclude_skus",
    "exclude_categories",
    "exclude_brands",
    "exclude_merchants",
    "exclude_tags",
    "segments",
    "exclude_segments",
    "channels",
)
"""Promotion fields naming what a cart line, customer or context carries."""


def _check_simulate(simulate: Simulation, ids: set[str], out: Collector) -> None:
    grades = {g.value for g in Grade}
    for key, rate in simulate.uplift.items():
        path: Path = ("simulate", "uplift", key)
        if key not in ids and key not in grades:
            out.add(
                "PR204",
                f"uplift names {_show(key)}, which is neither a grade (S, A, B) "
                "nor a promotion of this ruleset",
                path,
            )
        if not (-1 < rate <= 100):
            out.add("PR105", "an uplift must lie above -100% and at most 10000%", path)


def _check_price_rules(rules: PriceRules, out: Collector) -> None:
    if rules.reference is not None and rules.reference_days is not None:
        out.add(
            "PR203", "give reference or reference_days, not both", ("price_rules", "reference_days")
        )
    if rules.reference_days is not None and not 1 <= rules.reference_days <= 366:
        out.add(
            "PR103",
            "reference_days must be a whole number of days from 1 to 366",
            ("price_rules", "reference_days"),
        )
    if rules.min_cut is not None:
        if rules.days is None:
            out.add(
                "PR203",
                "min_cut needs a reference price rule (reference or reference_days)",
                ("price_rules", "min_cut"),
            )
        if not 0 < rules.min_cut < 1:
            out.add(
                "PR105",
                "min_cut must lie between 0% and 100% (exclusive)",
                ("price_rules", "min_cut"),
            )


# --------------------------------------------------------------------------- writing


def ruleset_to_data(ruleset: Ruleset) -> dict[str, Any]:
    """The ruleset as a TOML-ready dict that :func:`build_ruleset` reads back equal."""
    campaign = ruleset.campaign
    configs = (p.config for p in ruleset.promotions if p.config is not None)
    conv = _converter(campaign.currency, ruleset.tz, _config_types(configs, of_instances=True))
    data: dict[str, Any] = {"campaign": _plain(conv.unstructure(campaign))}
    data["guardrails"] = _plain(conv.unstructure(ruleset.guardrails))
    data["stacking"] = conv.unstructure(ruleset.stacking)
    if ruleset.budgets:
        data["budgets"] = _plain(conv.unstructure(ruleset.budgets, dict[Funder, Amount]))
    if ruleset.simulate != Simulation():
        data["simulate"] = _plain(conv.unstructure(ruleset.simulate))
    if ruleset.price_rules != PriceRules():
        data["price_rules"] = _plain(_drop_defaults(conv, ruleset.price_rules, PriceRules))
    if ruleset.catalog.categories:
        data["catalog"] = _plain(conv.unstructure(ruleset.catalog))
    if not ruleset.goals.empty:
        data["goals"] = _plain(_drop_defaults(conv, ruleset.goals, Goals))
    if ruleset.returns != ReturnPolicy():
        data["returns"] = _plain(_drop_defaults(conv, ruleset.returns, ReturnPolicy))
    promotions = []
    for promotion in ruleset.promotions:
        table = _drop_defaults(conv, promotion, Promotion)
        table.pop("config", None)
        table.update(_drop_defaults(conv, promotion.config, type(promotion.config)))
        promotions.append(_plain(table))
    if promotions:
        data["promotion"] = promotions
    return data


def dump_ruleset(ruleset: Ruleset) -> str:
    import tomli_w

    return tomli_w.dumps(ruleset_to_data(ruleset))


def _drop_defaults(conv: cattrs.Converter, obj: Any, cls: type[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in attrs.fields(cls):
        value = getattr(obj, field.name)
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if default is not attrs.NOTHING and value == default:
            continue
        if value is None:
            continue
        out[field.name] = conv.unstructure(value, field.type if field.type else type(value))
    return out


def _plain(data: Any) -> Any:
    """Enum keys and values as their text; empty tables and None left out (TOML has no null)."""
    if isinstance(data, enum.Enum):
        return data.value
    if isinstance(data, dict):
        return {_plain(k): _plain(v) for k, v in data.items() if v is not None and v != {}}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data
