"""What a promotion kind is: the contract between the engine and a plugin's kind.

A plugin registers :class:`Kind` instances (see :mod:`promorules.hookspecs`). A kind
owns the fields of its promotions beyond the common ones (an attrs class,
:attr:`Kind.config_type`, that the loader structures from TOML with unknown keys
refused), checks them (:meth:`Kind.check`), and compiles each promotion once, when the
engine is built, into an :data:`Evaluator`: a plain function the engine calls while
pricing a cart.

Pricing protocol
----------------
The engine applies lanes in order (``price -> item -> store -> platform`` by default).
Within a lane every promotion measures on the same base: the line amounts left by the
lanes before it. For each active promotion the engine gathers the indexes of the cart
lines in its scope (targeting and exclusions are resolved by the engine, through
indexes) and calls ``evaluator(state, lines)``. The evaluator returns either

- an :class:`Offer`: the discount per line it would give on that base, or, in the
  price lane, unit prices it offers (the engine keeps the lowest price per unit); or
- a :class:`NotApplied`: a reason code and the notes of an explanation, with an
  optional :class:`Upsell` hint.

Explanations are data, never text: :class:`~promorules.messages.Note` values (a stable
code and typed parameters, money as :class:`~promorules.messages.Amount`) that the
message catalogue words in the locale a reader asks for (see :mod:`promorules.messages`).

An evaluator must be pure: it reads ``state`` and never changes it or anything else.
The engine calls it twice for a cart whose explanations are read: first with
``state.explain`` False (the figures alone: the evaluator may answer :data:`QUIET`
instead of a :class:`NotApplied` and leave its notes out), then with it True; both
answers must carry the same figures.
The engine then resolves exclusive groups, caps each line at what is left (nothing
goes below zero, excess is never moved to other lines), applies budgets and the
guardrail, and records every adjustment with its funding split.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from promorules.counters import UNLIMITED, Availability, CounterKey, CounterSpec
from promorules.messages import Note
from promorules.money import Rounding

if TYPE_CHECKING:
    from datetime import datetime

    from promorules.cart import Customer, Line
    from promorules.diagnostics import Problem
    from promorules.model import Rule
    from promorules.ruleset import Promotion, Ruleset, Window


class Lane(str, enum.Enum):
    """Where a promotion stacks. Lanes apply in the ruleset's declared order."""

    PRICE = "price"
    ITEM = "item"
    STORE = "store"
    PLATFORM = "platform"


DEFAULT_LANES: tuple[Lane, ...] = (Lane.PRICE, Lane.ITEM, Lane.STORE, Lane.PLATFORM)


class Reason(str, enum.Enum):
    """Why a promotion gave nothing (or less than it could). Stable codes for scripts."""

    OUT_OF_WINDOW = "out-of-window"
    SEGMENT = "segment-not-targeted"
    CHANNEL = "channel-not-targeted"
    NO_ELIGIBLE_LINES = "no-eligible-lines"
    BELOW_THRESHOLD = "below-threshold"
    GIFT_DUPLICATE = "gift-already-given"
    """Its gift is already in the order (given by another promotion, not stackable)."""
    LOST_TO_GROUP = "lost-to-exclusive-group"
    EXCLUDED_BY = "excluded-by-promotion"
    NOTHING_LEFT = "nothing-left-to-discount"
    PAUSED = "paused"
    BUDGET_EXHAUSTED = "budget-exhausted"
    BUDGET_TRIMMED = "budget-trimmed"
    GUARDRAIL_CLAMPED = "guardrail-clamped"
    GUARDRAIL_REJECTED = "guardrail-rejected"
    NOT_PRESENTED = "code-not-presented"
    LIMIT_REACHED = "limit-reached"
    """A per-customer limit left fewer units (or none) for the offer."""
    SOLD_OUT = "sold-out"
    """The promotion's own stock left fewer units (or none) for the offer."""
    CODE_UNKNOWN = "code-unknown"
    CODE_MISTYPED = "code-mistyped"
    CODE_NOT_USED = "code-not-used"
    """Its promotion applies with another code the customer presented."""
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    ABOVE_MAXIMUM = "above-maximum"
    """The lines come to more than the most the promotion is for."""
    EXHAUSTED = "exhausted"
    """Every use of the promotion (a coupon) is taken."""
    CUSTOMER_LIMIT = "customer-limit-reached"
    """This customer has no use of it left."""
    CUSTOMER_REQUIRED = "customer-required"
    """Limited per customer, and the cart names no customer."""
    CODE_USED = "code-used"
    """The single-use code presented has been used."""
    OTHER = "other"


class CodeMatch(str, enum.Enum):
    """How a presented coupon code (normalised) relates to one promotion."""

    EXACT = "exact"
    """One of the promotion's codes."""
    MISTYPED = "mistyped"
    """Not one of its codes, but recognisably an attempt at one (a check character fails,
    or it is one typing slip away from a code): told apart from an unknown code."""


CodeMatcher = Callable[[str], "CodeMatch | None"]
"""A promotion's recogniser for presented codes; None means "not mine"."""


@attrs.frozen
class Upsell:
    """How close a cart is to a (better) reward: "spend 32.00 more to get 50.00 off"."""

    shortfall: int
    """Amount in minor units, or number of items when ``by_quantity``."""
    reward: Note
    """The reward reached, as data: ``Note("amount-off", {"amount": Amount(5000)})``,
    ``Note("percent-off", {"percent": Fraction(1, 5)})``, ``Note("gifts", ...)`` (the
    codes: :data:`promorules.messages.NOTES`), so a page can word "再买¥2减¥160"."""
    by_quantity: bool = False


class NotApplied:
    """An evaluator's answer when it gives nothing: a reason and the notes that say more
    (none: the reason alone says it)."""

    __slots__ = ("hint", "notes", "reason")

    def __init__(
        self, reason: Reason | str, notes: tuple[Note, ...] = (), hint: Upsell | None = None
    ):
        self.reason = reason
        self.notes = notes
        self.hint = hint


QUIET = NotApplied(Reason.OTHER)
"""What an evaluator may return instead of a :class:`NotApplied` when
``state.explain`` is False: the engine reads nothing from it."""


class Offer:
    """What one promotion would give on the current base.

    ``lines``/``amounts`` are parallel lists: the discount (minor units, >= 0) on each
    line index (``lines`` may be the very sequence the evaluator was given: nobody
    changes it). In the price lane an evaluator fills ``unit_prices``: one
    ``(line, unit_price, max_units)`` triple per line it reprices; each unit pays the
    lowest price offered for it (see :class:`~promorules.ruleset.PriceChoice`). A
    price-lane offer may also carry ``lines``/``amounts``: credits that do not compete
    for units (a deposit bonus), applied after the unit prices are settled, each capped
    at what is left of its line.

    ``base`` is the amount the promotion measured on (for the explanation), ``notes``
    an account of how, as data (``Note("tier-reached", ...)``), ``hint`` an upsell towards the
    next tier, ``reason`` why it gives less than it could although it applies (a stock
    or per-customer limit; shown with the explanation of an applied promotion).
    ``gifts`` are lines the promotion adds at price 0; ``shipping_off`` reduces the
    shipping fee; ``consumes`` lists the counters a quote with this offer would take
    (coupon use, stock), to which the engine adds budgets. ``unit_counters``, parallel
    to ``unit_prices``, names counters that each unit *won* at that price consumes
    (flash stock, per-customer units): the engine adds ``(key, units won)`` for them,
    so units that paid another price take nothing.

    ``deposits`` schedules a payment in instalments (a deposit pre-sale priced in its
    deposit window): ``(line, deposit)`` pairs, the deposit being due now and the rest
    of the line's payable amount due in ``balance_window``. The engine records the
    schedule on the quote (``Quote.payments``) and on the state for later lanes.
    ``codes`` names the presented codes the offer redeems (empty: every presented code
    the promotion matches).
    """

    __slots__ = (
        "amounts",
        "balance_window",
        "base",
        "codes",
        "consumes",
        "deposits",
        "gifts",
        "hint",
        "lines",
        "notes",
        "reason",
        "shipping_off",
        "unit_counters",
        "unit_prices",
    )

    def __init__(
        self,
        lines: Sequence[int] | None = None,
        amounts: list[int] | None = None,
        *,
        base: int = 0,
        notes: tuple[Note, ...] = (),
        hint: Upsell | None = None,
        unit_prices: list[tuple[int, int, int]] | None = None,
        gifts: list[Gift] | None = None,
        shipping_off: int = 0,
        consumes: list[tuple[CounterKey, int]] | None = None,
        unit_counters: list[tuple[CounterKey, ...]] | None = None,
        reason: Reason | str | None = None,
        deposits: list[tuple[int, int]] | None = None,
        balance_window: Window | None = None,
        codes: tuple[str, ...] = (),
    ) -> None:
        self.lines: Sequence[int] = lines if lines is not None else ()
        self.amounts = amounts if amounts is not None else []
        self.base = base
        self.notes = notes
        self.hint = hint
        self.unit_prices = unit_prices
        self.gifts = gifts
        self.shipping_off = shipping_off
        self.consumes = consumes
        self.unit_counters = unit_counters
        self.reason = reason
        self.deposits = deposits
        self.balance_window = balance_window
        self.codes = codes

    @property
    def total(self) -> int:
        return sum(self.amounts)


@attrs.frozen
class Gift:
    """A line a promotion adds at price 0; its cost counts against the order's margin."""

    sku: str
    unit_cost: int
    quantity: int = 1
    title: str = ""
    stackable: bool = False
    """True when another promotion may add the same gift sku to the same order."""
    counter: CounterKey | None = None
    """The stock counter the gift draws on (``quantity`` units); the engine consumes it
    only when the gift is actually added to the order."""
    value: int | None = None
    """What one unit is worth to the customer (its usual selling price), for weighing
    the offer against others of its exclusive group; None: its unit cost."""

    @property
    def worth(self) -> int:
        """What the gift line is worth to the customer: :attr:`value` (else the unit
        cost) times the quantity."""
        return (self.unit_cost if self.value is None else self.value) * self.quantity


@attrs.frozen
class Bound:
    """The most a promotion can discount, for the validator to compose.

    ``rate``: the largest discount as a share of the amount it measures on (``1`` when
    nothing better is known: a discount never exceeds its base). ``cap``: an absolute
    cap per order in minor units, when one exists. ``extra_cost``: cost a promotion adds
    without a discount (a gift's cost), per order.

    ``rate`` bounds the promotion's total over the lines it measures on, not what one
    line may receive: a "cheapest item free" offer gives at most a third of the pool
    yet all of one line. ``line_rate`` is the most any single line receives as a share
    of that line's own amount; ``None`` when the kind does not promise one (then a line
    may lose all of it, except in the price lane, whose offers are per unit by
    construction, and when ``rate`` is 0). ``min_base``: the least base (minor units)
    on which the promotion gives or adds anything (a gift's threshold); it lets the
    validator set ``extra_cost`` against the smallest order that can carry it. Rounding
    (a rate landing on a minor unit, a pool split by largest remainder) may add one minor
    unit per line beyond these shares; the validator allows for it.

    Per-unit refinements, for a validator that knows list prices (a catalogue). When
    any is set (``refined``), a unit of a sku in scope is discounted at most its price
    part plus ``unit_off``, capped at its list price:

    ``unit_prices``: the lowest unit price the promotion can charge, by sku (``"*"``:
    any sku in scope); the price part of a listed sku is ``max(list - price, 0)``.
    ``other_rate``: the price part, as a share of list, for skus in scope that
    ``unit_prices`` does not cover (``None``: nothing). ``unit_off``: an absolute
    discount per unit on top of any price (a deposit bonus), in minor units.
    :meth:`unit_depth` computes it.

    A refinement by the dearest unit in scope, in any lane: ``group_price`` ``(n,
    price)`` says the promotion discounts units of its scope only in groups of ``n``
    that pay ``price`` together, and spreads its whole discount over the grouped units
    in proportion to their amounts (a bundle), so every grouped unit loses the same
    share of its amount, ``1 - price * groups / (the grouped units' amount)``, which is
    at most ``1 - price / (n * dearest)``, ``dearest`` the highest list price of a unit
    in scope. ``max_groups``: the most groups per order (``None``: no limit); an order
    then loses at most ``max_groups * (n * dearest - price)``. A validator that knows
    the list prices in scope works both out (:meth:`group_depth`, :meth:`group_cap`).
    """

    rate: Fraction = Fraction(1)
    cap: int | None = None
    extra_cost: int = 0
    note: str = ""
    line_rate: Fraction | None = None
    min_base: int = 0
    unit_prices: dict[str, int] = attrs.field(factory=dict)
    other_rate: Fraction | None = None
    unit_off: int = 0
    group_price: tuple[int, int] | None = None
    max_groups: int | None = None

    @property
    def refined(self) -> bool:
        return bool(self.unit_prices) or self.other_rate is not None or self.unit_off > 0

    def group_depth(self, dearest: int | None) -> Fraction:
        """With ``group_price``, the largest share of its amount a unit in scope loses
        (and of its pool an order loses) when no unit in scope is listed above
        ``dearest`` (``None``: unknown, so the whole unit), never above ``rate``;
        ``rate`` without ``group_price``."""
        if self.group_price is None or dearest is None:
            return self.rate
        size, price = self.group_price
        if size * dearest <= price:
            return Fraction(0)
        return min(1 - Fraction(price, size * dearest), Fraction(self.rate))

    def group_cap(self, dearest: int | None) -> int | None:
        """With ``group_price`` and ``max_groups``, the most an order loses when no unit
        in scope is listed above ``dearest``: each group saves at most ``n * dearest -
        price`` (the lower of that and ``cap``); ``cap`` otherwise."""
        if self.group_price is None or self.max_groups is None or dearest is None:
            return self.cap
        size, price = self.group_price
        most = self.max_groups * max(size * dearest - price, 0)
        return most if self.cap is None else min(self.cap, most)

    def unit_depth(self, sku: str, list_price: int) -> Fraction:
        """The largest discount on one unit of ``sku`` (in scope) listed at
        ``list_price``, as a share of that price; ``rate`` when nothing is refined."""
        if not self.refined:
            return self.rate
        price_part, credit = self.unit_parts(sku, list_price)
        return min(price_part + credit, Fraction(1))

    def unit_parts(self, sku: str, list_price: int) -> tuple[Fraction, Fraction]:
        """:meth:`unit_depth` in its two parts, as shares of ``list_price``: the price
        part (a unit price, which competes with the other unit prices of the price lane:
        each unit pays one of them) and the credit on top (``unit_off``, which adds up).
        Meaningful when ``refined``."""
        if list_price <= 0:
            return Fraction(0), Fraction(0)
        price = self.unit_prices.get(sku, self.unit_prices.get("*"))
        if price is not None:
            part = Fraction(max(list_price - price, 0))
        else:
            part = (self.other_rate or Fraction(0)) * list_price
        return part / list_price, Fraction(self.unit_off, list_price)


class PricingState:
    """What an evaluator may read while a cart is priced (filled in by the engine).

    ``amounts[i]`` is line ``i``'s amount at the start of the current lane (the base
    every promotion of the lane measures on); ``qty``, ``list_unit`` and ``cost_unit``
    are per line as well. ``choices`` maps a promotion id to the option the customer
    picked (:attr:`promorules.cart.Context.choices`). Read-only for evaluators.

    Deposits (pre-sale): ``deposits[i]`` is the deposit credited to line ``i``: what
    the cart says was already paid (``Line.deposit_paid``, final-payment window), or
    the deposit an earlier lane scheduled now (deposit window), in which case
    ``deferred[i]`` is True: the balance is paid later, so nothing that applies only
    at the final payment (a coupon) should use the line now. What the customer still
    pays for a line is ``amounts[i] - deposits[i]``: a kind with a face value (a
    coupon) must keep that balance above its face value.

    ``explain`` is False when the engine wants the figures alone (checkout's hot path):
    an evaluator may then leave out what only explains them (``notes``, ``hint``, a
    :class:`NotApplied`'s notes) and return :data:`QUIET` instead of building a
    :class:`NotApplied`. The figures must not depend on it: the engine prices the cart
    again with ``explain`` on when the quote is asked for its explanations.
    """

    __slots__ = (
        "_deferred",
        "_deposits",
        "amounts",
        "at",
        "availability",
        "channel",
        "choices",
        "coupons",
        "customer",
        "deposited",
        "explain",
        "lines",
        "list_unit",
        "qty",
        "rounding",
        "shipping",
        "ts",
    )

    _NO_CHOICES: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init__(
        self,
        lines: Sequence[Line],
        customer: Customer,
        at: datetime,
        channel: str | None = None,
        coupons: tuple[str, ...] = (),
        availability: Availability = UNLIMITED,
        rounding: Rounding = Rounding.DOWN,
        shipping: int = 0,
        choices: Mapping[str, str] | None = None,
        explain: bool = True,
    ) -> None:
        self.lines = lines
        if len(lines) == 1:  # the commonest cart, built without the loops
            line = lines[0]
            self.qty = [line.quantity]
            self.list_unit = [line.unit_price]
            self.amounts = [line.unit_price * line.quantity]
            self.deposited = line.deposit_paid > 0
        else:
            self.qty = [line.quantity for line in lines]
            self.list_unit = [line.unit_price for line in lines]
            self.amounts = [line.unit_price * line.quantity for line in lines]
            self.deposited = any([line.deposit_paid for line in lines])
        """Whether some line carries a deposit (paid, or scheduled by an earlier lane):
        then no line's amount goes below its deposit."""
        self._deposits: list[int] | None = None  # built when first read (few carts have any)
        self._deferred: list[bool] | None = None
        self.customer = customer
        self.at = at
        # int(at.timestamp()) in integers: the same seconds at a third of the cost (the
        # float's own path when a fraction of a second could round it: far from now,
        # before 1970, or an offset in microseconds)
        tz = at.tzinfo
        offset = tz.utcoffset(at) if tz is not None else None
        if offset is not None and not offset.microseconds:
            ts = (
                at.toordinal() * 86400
                + at.hour * 3600
                + at.minute * 60
                + at.second
                - offset.days * 86400
                - offset.seconds
                - 62135683200  # date(1970, 1, 1).toordinal() * 86400
            )
            if at.microsecond and not 0 <= ts < 8589934592:  # 2**33 s: year 2242
                ts = int(at.timestamp())
        else:
            ts = int(at.timestamp())
        self.ts = ts
        self.channel = channel
        self.coupons = coupons
        self.availability = availability
        self.rounding = rounding
        self.shipping = shipping
        self.choices: Mapping[str, str] = choices if choices is not None else self._NO_CHOICES
        self.explain = explain

    @property
    def deposits(self) -> list[int]:
        """Per line, the deposit credited to it (see above); built on first access."""
        deposits = self._deposits
        if deposits is None:
            deposits = self._deposits = [line.deposit_paid for line in self.lines]
        return deposits

    @property
    def deferred(self) -> list[bool]:
        """Per line, whether its balance is paid later (see above); built on first access."""
        deferred = self._deferred
        if deferred is None:
            deferred = self._deferred = [False] * len(self.lines)
        return deferred

    @property
    def cost_unit(self) -> list[int]:
        """Unit cost per line (worked out on access: few kinds read it)."""
        return [line.unit_cost for line in self.lines]

    def base(self, lines: Sequence[int]) -> int:
        """The amounts of ``lines`` at the start of the lane, summed (what most kinds
        measure a threshold on)."""
        amounts = self.amounts
        if len(lines) == len(amounts):  # distinct indexes: every line
            return sum(amounts)
        return sum(map(amounts.__getitem__, lines))  # map: no closure made per call


Evaluator = Callable[[PricingState, Sequence[int]], "Offer | NotApplied"]


@attrs.frozen
class CompileEnv:
    """What a kind may use while compiling a promotion."""

    ruleset: Ruleset
    rounding: Rounding
    currency: str
    # upsell_within as (numerator, denominator): read on every cart short of a threshold
    _within: tuple[int, int] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        within = self.ruleset.stacking.upsell_within
        object.__setattr__(self, "_within", (within.numerator, within.denominator))

    def upsell(
        self,
        shortfall: int,
        threshold: int,
        reward: Note | Callable[[], Note],
        by_quantity: bool = False,
    ) -> Upsell | None:
        """The hint towards a threshold ``shortfall`` away, when it is worth giving: the
        cart is within the ruleset's ``upsell_within`` share of the threshold, or one item
        short. One rule for every kind, so hints read the same across a campaign.

        ``reward`` may be a function making the reward's note: it is called only when the
        hint is given, so carts far from the threshold do not pay for building it."""
        if shortfall <= 0:
            return None
        num, den = self._within
        # integers, not Fraction arithmetic: this runs on every cart short of a threshold
        if shortfall * den <= num * threshold or (by_quantity and shortfall == 1):
            return Upsell(shortfall, reward if isinstance(reward, Note) else reward(), by_quantity)
        return None


class Kind:
    """Base class of a promotion kind. Subclass it in a plugin and register an instance.

    Class attributes to set: :attr:`name` (the ``kind = "..."`` of the TOML),
    :attr:`config_type` (an attrs class holding the kind's own fields; its types drive
    both parsing and the JSON schema), :attr:`lanes` (the lanes it may sit in, the
    first being the default) and :attr:`summary` (one line for ``promorules plugins``).
    """

    name: ClassVar[str]
    config_type: ClassVar[type[Any]]
    lanes: ClassVar[tuple[Lane, ...]]
    summary: ClassVar[str] = ""
    without_lines: ClassVar[bool] = False
    """True for kinds that may apply with no line in scope (free shipping on the fee)."""

    def check(self, promotion: Promotion) -> Iterable[Problem]:
        """Problems with the promotion's own fields beyond their types (paths relative
        to the promotion table, e.g. ``("tiers", 1, "threshold")``)."""
        return ()

    def rule(self, promotion: Promotion, env: CompileEnv) -> Rule | None:
        """The promotion's rule in the core's model (:mod:`promorules.model`): the
        way to write a kind. From it the core derives the evaluator, the compiled
        figures of the hot path, the threshold and the validator's bound, so the kind
        implements none of :meth:`compile`, :meth:`threshold` and :meth:`bound`.

        Return None for a promotion the model cannot state (stateful or combinatorial
        offers: stock per unit, gifts, cheapest-unit runs); the engine then calls
        :meth:`compile`'s evaluator, and the validator uses :meth:`bound`."""
        return None

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        """Build the evaluator the engine calls for this promotion on every cart, for a
        promotion :meth:`rule` does not state."""
        raise NotImplementedError(f"kind {self.name!r} gives neither a rule nor an evaluator")

    def threshold(self, promotion: Promotion) -> int:
        """The least amount (minor units) its lines in scope must come to at the start of
        its lane for the promotion to give or add anything ("spend 599, get a gift":
        59900); 0 when it has none, or counts items.

        The hot path does not call the evaluator of a promotion that covers every line
        while the cart comes to less (the explained pass still does, for its upsell hint),
        so this must never exceed the threshold the evaluator itself applies."""
        return 0

    def reach(self, promotion: Promotion) -> frozenset[str] | None:
        """The skus outside which this promotion never gives anything, whatever its
        targeting says (a flash sale pricing 50 skus, with no percent for the others,
        reaches those 50); None when the kind knows no such limit.

        The engine leaves lines of other skus out of the promotion's scope, so its
        evaluator is not called for them and the explanation of a cart holding none of
        them is the one of a cart with nothing in scope."""
        return None

    def implicit_group(self, promotion: Promotion, lane: Lane) -> str | None:
        """The exclusive group of a promotion that declares no ``group`` of its own.

        Lets a kind state a rule of its trade once ("one store coupon per store per
        order") instead of every ruleset repeating it. The engine resolves it like a
        declared group; give it a name no planner would write (e.g. ``"coupon:store:x"``)
        that includes ``lane``, since a group's members must share a lane.
        """
        return None

    def code_matcher(self, promotion: Promotion, env: CompileEnv) -> CodeMatcher | None:
        """For kinds redeemed by codes: recognise a presented code (see :class:`CodeMatch`).

        Called once when the engine is built. The engine asks every matcher about every
        presented code (already normalised: see :func:`promorules.coupon_codes.normalise`) so the
        quote can account for each code, including those no live promotion uses: unknown,
        mistyped, expired, not yet valid. Keep it cheap: it runs for each priced cart that
        carries codes.

        A promotion with a matcher is redeemed by its codes: it gives nothing unless one
        of them is presented (``CodeMatch.EXACT``), so the engine's hot path does not call
        its evaluator for a cart presenting none (the explained pass still does, to say
        why). Its evaluator must then give nothing either.
        """
        return None

    def bound(self, promotion: Promotion) -> Bound:
        """The most this promotion can discount (conservative); see :class:`Bound`."""
        return Bound(note="no bound declared: assumed up to the whole base")

    def counters(self, promotion: Promotion) -> Iterable[CounterSpec]:
        """The ledger counters quotes of this promotion consume (coupon uses, stock)."""
        return ()

    def lint(self, promotion: Promotion, ruleset: Ruleset) -> Iterable[Problem]:
        """What ``promorules validate`` should warn a planner about in this promotion's own
        fields beyond :meth:`check`: settings that load but price badly (a higher tier
        giving less, a discount at or above its threshold, a gift without a cost). Codes
        are the ``PR4xx`` lint codes of docs/validate.md; paths are relative to the
        promotion table; a :class:`~promorules.diagnostics.Problem` with warning severity
        does not fail validation, an error does."""
        return ()

    def example_codes(self, promotion: Promotion) -> Iterable[str]:
        """Codes a customer may present to unlock this promotion (a coupon's shared code,
        a few of its bulk codes), so the validator can put them in a customer's wallet
        while it searches for breaching carts. Kinds without codes keep the default."""
        return ()
