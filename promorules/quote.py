"""The quote: what a cart costs under a ruleset, and why.

The engine fills a :class:`Quote` with plain lists while pricing (fast); the attrs
views (:class:`QuoteLine`, :class:`Adjustment`, :class:`Explanation`, ...) are built
when first asked for, so checkout code that only reads ``quote.payable`` pays for
nothing else. Every amount is integer minor units of ``quote.currency``.

Explanations, code findings and upsell hints are data (a reason code, the promotion's
id and title, :class:`~promorules.messages.Note` values with typed parameters); their
text is worded when read, in the locale asked for (``explanation.render("zh-CN")``;
``message`` is the English). See docs/quote.md.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any

import attrs

from promorules.counters import Consumed, Consumption, CounterKey
from promorules.kind import Gift, Lane, Reason, Upsell
from promorules.messages import Amount, Catalogue, Note, catalogue
from promorules.money import allocate, format_amount, format_percent

if TYPE_CHECKING:
    from promorules.cart import Cart, Context, Line
    from promorules.ruleset import Funder, Window


class Status(str, enum.Enum):
    APPLIED = "applied"
    TRIMMED = "trimmed"
    """Applied, but the guardrail or a budget took part of it back."""
    NOT_APPLIED = "not-applied"


class Record:
    """What became of one promotion in an explained pass: its status, what it gave,
    the amount it measured on, why (a :class:`~promorules.kind.Reason`, or a kind's own
    code), the notes that word the detail, and an upsell hint. Budgets and the guardrail
    may still trim a record of the pass (status, amount, reason, notes) before the quote
    is built; the plan's defaults (:attr:`promorules.plan.Plan.defaults`) are shared and
    never changed."""

    __slots__ = ("amount", "base", "hint", "notes", "reason", "status")

    def __init__(
        self,
        status: Status,
        amount: int,
        base: int,
        reason: Reason | str | None,
        notes: tuple[Note, ...] = (),
        hint: Upsell | None = None,
    ) -> None:
        self.status = status
        self.amount = amount
        self.base = base
        self.reason = reason
        self.notes = notes
        self.hint = hint

    def __repr__(self) -> str:
        return (
            f"Record({self.status.value}, {self.amount}, base={self.base}, "
            f"reason={self.reason!r}, notes={self.notes!r})"
        )


Cut = tuple[int, int, int]
"""One promotion's discount on one line of a pass: ``(promotion, line, amount)``, the
promotion's index in the plan, the cart line's index (-1: the shipping fee) and the
amount in minor units. Pricing makes them in the order it applies the promotions.
A cut is never changed: budgets and the guardrail take part of one back by putting a
smaller one in its place in the pass's list (:func:`trim_cut`). A tuple, not a class:
pricing makes one per promotion per line, and an instance of a class costs about 80 ns
more to make (7% of a 10-line cart's price, 12% of a 100-line one's)."""


def trim_cut(cuts: list[Cut], position: int, back: int) -> None:
    """Take ``back`` (at most its amount) off the cut at ``position`` in ``cuts``."""
    promotion, line, amount = cuts[position]
    cuts[position] = (promotion, line, amount - back)


class GuardrailStatus(str, enum.Enum):
    OK = "ok"
    CLAMPED = "clamped"
    REJECTED = "rejected"
    BREACHED = "breached"
    """A floor is broken in the final quote: under ``warn``, or not fixable by trimming."""


class PaymentStatus(str, enum.Enum):
    PAID = "paid"
    """Paid before this quote (a deposit); part of the order total, not due again."""
    DUE_NOW = "due-now"
    DUE_LATER = "due-later"


@attrs.frozen
class Payment:
    """One instalment of an order paid in parts (deposit pre-sale)."""

    label: str
    """"deposit", "deposit paid", "balance" or "due now"."""
    amount: int
    status: PaymentStatus
    window: Window | None = None
    """When a later payment is due (the final-payment window)."""

    def render(self, locale: str = "en") -> str:
        """The label worded in ``locale`` ("deposit" is 定金 in zh-CN)."""
        return catalogue(locale).payment(self.label)


@attrs.frozen
class Adjustment:
    promotion: str
    lane: Lane
    amount: int
    funding: dict[Funder, int]
    title: str = ""
    """The promotion's title as the ruleset gives it ("" when it has none)."""


@attrs.frozen
class AppliedPromotion:
    """One promotion that gave the order something: a discount, gift lines, or both."""

    id: str
    title: str
    """As the ruleset gives it; "" when it has none."""
    kind: str
    lane: Lane
    amount: int
    """The discount it gave (shipping included), after budgets and the guardrail."""
    gifts: int = 0
    """Gift units it added."""


@attrs.frozen
class QuoteLine:
    sku: str
    quantity: int
    unit_price: int
    unit_cost: int
    list_amount: int
    adjustments: tuple[Adjustment, ...]
    payable: int
    cost: int
    margin: Fraction | None
    """(payable - cost) / payable; None when nothing is paid."""
    gift: bool = False

    @property
    def discount(self) -> int:
        return self.list_amount - self.payable


@attrs.frozen
class Explanation:
    """What one promotion did with the cart, and why, as data; worded on access.

    ``reason`` is a stable code (:class:`~promorules.kind.Reason` values, and the bundled
    kinds' own), ``notes`` say more with typed parameters, ``hint`` is the upsell towards
    its next reward. :meth:`render` words it all in a locale; :attr:`message` is the
    English."""

    promotion: str
    kind: str
    lane: Lane
    status: Status
    amount: int
    base: int
    reason: str | None
    notes: tuple[Note, ...] = ()
    hint: Upsell | None = None
    title: str = ""
    """The promotion's title as the ruleset gives it ("" when it has none)."""
    currency: str = "CNY"

    @property
    def message(self) -> str:
        """The explanation in English."""
        return self.render("en")

    def render(self, locale: str = "en") -> str:
        """The explanation worded in ``locale`` (e.g. ``"zh-CN"``)."""
        return _worded(self, catalogue(locale))

    def upsell(self, locale: str = "en") -> str | None:
        """The upsell hint alone, worded ("spend CN¥2.00 more to get CN¥160.00 off");
        None without one."""
        if self.hint is None:
            return None
        return _hint(catalogue(locale), self.currency, self.hint)


@attrs.frozen
class CodeFinding:
    """What became of one coupon code the customer presented; worded on access."""

    code: str
    """The code as normalised for matching (ASCII letters upper-cased, separators and
    invisible characters dropped, so safe to print): never the raw input."""
    promotion: str | None
    """The promotion the code belongs to (or, when mistyped, resembles); None if unknown."""
    status: Status
    amount: int
    reason: str | None
    notes: tuple[Note, ...] = ()
    title: str = ""
    """The title of :attr:`promotion` ("" when none)."""
    currency: str = "CNY"
    base: int = 0
    hint: Upsell | None = None

    @property
    def message(self) -> str:
        """The finding in English."""
        return self.render("en")

    def render(self, locale: str = "en") -> str:
        """The finding worded in ``locale``."""
        return _worded(self, catalogue(locale))


def _worded(found: Explanation | CodeFinding, words: Catalogue) -> str:
    """What became of a promotion (or of a code), worded from the catalogue ``words``."""
    return _sentence(
        words,
        found.currency,
        found.status,
        found.amount,
        found.base,
        found.reason,
        found.notes,
        found.hint,
    )


@attrs.frozen
class Floor:
    """One guardrail floor as checked on the final quote."""

    name: str
    """"order", "line[3]" or "category:beauty"."""
    minimum: Fraction
    margin: Fraction | None
    held: bool
    trimmed: int
    """Minor units of discount the clamp took back to hold this floor."""


class GuardrailReport:
    """The guardrail's verdict on a quote. ``floors`` is worked out when first read."""

    __slots__ = ("__dict__", "_floors", "rejected", "status", "trims")

    def __init__(
        self,
        status: GuardrailStatus,
        floors: Callable[[], tuple[Floor, ...]] | tuple[Floor, ...],
        trims: dict[str, int],
        rejected: tuple[str, ...],
    ) -> None:
        self.status = status
        self._floors = floors
        self.trims = trims
        """Per promotion id, how much the clamp took back."""
        self.rejected = rejected
        """Promotions dropped under ``reject``."""

    @cached_property
    def floors(self) -> tuple[Floor, ...]:
        return self._floors() if callable(self._floors) else self._floors

    @property
    def breached(self) -> bool:
        return self.status is GuardrailStatus.BREACHED

    def __repr__(self) -> str:
        return f"GuardrailReport({self.status.value}, trims={self.trims}, rejected={self.rejected})"


def margin_of(revenue: int, cost: int) -> Fraction | None:
    return Fraction(revenue - cost, revenue) if revenue > 0 else None


class Quote:
    """The priced cart. Built by the engine; read it, never construct it yourself."""

    def __init__(  # positional too: the engine builds one per cart, on its hot path
        self,
        currency: str,
        lines: Sequence[Line],
        amounts: list[int],
        adjustments: list[Cut],
        promotions: Sequence[tuple[str, str, Lane, list[tuple[Funder, int]], str]],
        records: dict[int, Record],
        gifts: list[tuple[int, Gift]],
        shipping: tuple[int, int],
        guardrail: GuardrailReport,
        consumption: Sequence[Consumed],
        budgets: Mapping[int, CounterKey] | None = None,
        funder_budgets: Mapping[Funder, CounterKey] | None = None,
        schedule: Sequence[tuple[list[tuple[int, int]], Window | None]] = (),
        codes: Sequence[tuple[str, int, Reason | None]] = (),
        defaults: Sequence[Record] = (),
        explain: Callable[[Cart, Context], Quote] | None = None,
        cart: Cart | None = None,
        context: Context | None = None,
    ) -> None:
        self.currency = currency
        self._lines = lines
        self._amounts = amounts
        self._adjustments = adjustments
        self._promotions = promotions
        self._records = records
        self._gifts = gifts
        self._shipping = shipping
        self.guardrail = guardrail
        self._consumes = consumption
        self._budgets = budgets or {}
        self._funder_budgets = funder_budgets or {}
        # [((line, deposit due now), ...), window of the balance] per deposit schedule
        self._schedule = schedule
        # (normalised code, promotion index or -1, reason overriding the record or None)
        self._codes = codes
        # per promotion index, the record of a promotion pricing did not look at (not
        # live, or nothing in scope): ``records`` holds only those it did
        self._defaults = defaults
        # from Engine.price: the same cart priced with explanations (records, codes),
        # called when an explanation or code finding is first asked for
        self._explain = explain
        self.cart = cart
        """The cart priced (what :meth:`Engine.refund <promorules.engine.Engine.refund>`
        works a return out from)."""
        self.context = context
        """The context it was priced in."""

    # -- totals (cheap) ---------------------------------------------------------------
    @cached_property
    def list_total(self) -> int:
        """Sum of list amounts of the cart lines (shipping excluded)."""
        return sum(line.unit_price * line.quantity for line in self._lines)

    @cached_property
    def goods_payable(self) -> int:
        return sum(self._amounts)

    @property
    def shipping_fee(self) -> int:
        return self._shipping[0]

    @property
    def shipping_payable(self) -> int:
        return self._shipping[1]

    @cached_property
    def payable(self) -> int:
        """What the customer pays now: goods after discounts, plus shipping."""
        return self.goods_payable + self.shipping_payable

    @cached_property
    def discount_total(self) -> int:
        return self.list_total - self.goods_payable + self.shipping_fee - self.shipping_payable

    @cached_property
    def cost_total(self) -> int:
        """Cost of goods sold, gifts included."""
        goods = sum(line.unit_cost * line.quantity for line in self._lines)
        return goods + sum(gift.unit_cost * gift.quantity for _, gift in self._gifts)

    @cached_property
    def margin(self) -> Fraction | None:
        """Order gross margin on the goods: (goods payable - cost incl. gifts) / payable."""
        return margin_of(self.goods_payable, self.cost_total)

    @cached_property
    def payments(self) -> tuple[Payment, ...]:
        """The order total split into instalments; empty when it is all due now.

        Deposits already paid (``Line.deposit_paid``) come first, then deposits due
        now, then balances due in a later window, then whatever is due now (the balance
        after a paid deposit, other lines, shipping). The parts add up to
        :attr:`payable`, unless a paid deposit exceeds what its line now costs (a
        deposit is not refunded).
        """
        paid = sum(line.deposit_paid for line in self._lines)
        if not paid and not self._schedule:
            return ()
        out: list[Payment] = []
        if paid:
            out.append(Payment("deposit paid", paid, PaymentStatus.PAID))
        now = sum(
            min(deposit, self._amounts[i])
            for entries, _ in self._schedule
            for i, deposit in entries
        )
        if now:
            out.append(Payment("deposit", now, PaymentStatus.DUE_NOW))
        later = 0
        for entries, window in self._schedule:
            balance = sum(max(self._amounts[i] - deposit, 0) for i, deposit in entries)
            later += balance
            out.append(Payment("balance", balance, PaymentStatus.DUE_LATER, window))
        rest = max(self.payable - paid - now - later, 0)
        if rest or paid:
            out.append(Payment("balance" if paid else "due now", rest, PaymentStatus.DUE_NOW))
        return tuple(out)

    @cached_property
    def due_now(self) -> int:
        """What the customer pays at this checkout: :attr:`payable` less deposits already
        paid and balances due later."""
        if not self.payments:
            return self.payable
        return sum(p.amount for p in self.payments if p.status is PaymentStatus.DUE_NOW)

    # -- views (built on access) ------------------------------------------------------
    @cached_property
    def discounts_by_promotion(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for index, _line, amount in self._adjustments:
            if amount:
                pid = self._promotions[index][0]
                out[pid] = out.get(pid, 0) + amount
        return out

    def _split(self, index: int, amount: int) -> dict[Funder, int]:
        shares = self._promotions[index][3]
        parts = allocate(amount, [weight for _, weight in shares])
        return {funder: part for (funder, _), part in zip(shares, parts, strict=True)}

    @cached_property
    def _promotion_totals(self) -> dict[int, int]:
        totals: dict[int, int] = {}
        for index, _line, amount in self._adjustments:
            if amount:
                totals[index] = totals.get(index, 0) + amount
        return totals

    @cached_property
    def _adjustment_funding(self) -> list[dict[Funder, int]]:
        """The funder split of every adjustment, exact both ways: per adjustment the parts
        add up to its amount, and per promotion each funder's parts add up to that
        funder's share of the promotion's total (each funder's share is spread over the
        promotion's adjustments by largest remainder, the last funder takes the rest)."""
        out: list[dict[Funder, int]] = [{} for _ in self._adjustments]
        by_promotion: dict[int, list[int]] = {}
        for position, (index, _line, amount) in enumerate(self._adjustments):
            if amount:
                by_promotion.setdefault(index, []).append(position)
        for index, positions in by_promotion.items():
            funders = self._split(index, self._promotion_totals[index])
            left = [self._adjustments[p][2] for p in positions]
            names = list(funders)
            for number, funder in enumerate(names):
                parts = left if number == len(names) - 1 else allocate(funders[funder], left)
                for p, part in zip(positions, parts, strict=True):
                    out[p][funder] = part
                left = [rest - part for rest, part in zip(left, parts, strict=True)]
        return out

    @cached_property
    def consumption(self) -> Consumption:
        """What the order would take from the ledger: the counters the promotions named
        (coupon uses, stock, gifts given), plus the money each budgeted promotion and
        funder gives, one entry per counter. A promotion that ends up giving nothing
        (trimmed to zero by its budget or the guardrail, its gift dropped) consumes
        nothing, and units won at a price (flash stock) take nothing from a line whose
        discount was taken back whole."""
        totals = self._promotion_totals
        given = {(index, gift.counter) for index, gift in self._gifts}
        kept: set[tuple[int, int]] | None = None  # (promotion, line) still discounted
        merged: dict[CounterKey, int] = {}
        for index, key, amount, line in self._consumes:
            if line >= 0:  # units won at a price: only while that line keeps its discount
                if kept is None:
                    kept = {(p, at) for p, at, amount in self._adjustments if amount > 0}
                if (index, line) not in kept:
                    continue
            elif not (totals.get(index) or (index, key) in given):
                continue
            merged[key] = merged.get(key, 0) + amount
        out = list(merged.items())
        for index, key in self._budgets.items():
            if totals.get(index):
                out.append((key, totals[index]))
        for funder, key in self._funder_budgets.items():
            amount = self.discounts_by_funder.get(funder, 0)
            if amount:
                out.append((key, amount))
        return tuple(out)

    @cached_property
    def gifts(self) -> tuple[tuple[str, Gift], ...]:
        """The gift lines added: ``(promotion id, gift)``, in the order of the lines."""
        return tuple((self._promotions[index][0], gift) for index, gift in self._gifts)

    @cached_property
    def gifts_by_promotion(self) -> dict[str, tuple[int, int]]:
        """Per promotion id that added gift lines: (units given, their cost). Gifts are no
        discount, so :attr:`discounts_by_promotion` cannot show them."""
        out: dict[str, tuple[int, int]] = {}
        for index, gift in self._gifts:
            pid = self._promotions[index][0]
            units, cost = out.get(pid, (0, 0))
            out[pid] = (units + gift.quantity, cost + gift.unit_cost * gift.quantity)
        return out

    @cached_property
    def discounts_by_funder(self) -> dict[Funder, int]:
        """Each promotion's total split once by its funding shares, then summed.

        Splitting line by line and adding up drifts by a unit per line (60% of 150.00
        over four lines gave the platform 89.99); splitting the promotion's total keeps
        every funder's figure exact.
        """
        out: dict[Funder, int] = {}
        for index, total in self._promotion_totals.items():
            for funder, part in self._split(index, total).items():
                out[funder] = out.get(funder, 0) + part
        return out

    @cached_property
    def lines(self) -> tuple[QuoteLine, ...]:
        per_line: list[list[Adjustment]] = [[] for _ in self._lines]
        funding = self._adjustment_funding
        for position, (index, line_index, amount) in enumerate(self._adjustments):
            if amount and line_index >= 0:
                pid, _kind, lane, _, title = self._promotions[index]
                per_line[line_index].append(Adjustment(pid, lane, amount, funding[position], title))
        out = []
        for i, line in enumerate(self._lines):
            cost = line.unit_cost * line.quantity
            payable = self._amounts[i]
            out.append(
                QuoteLine(
                    line.sku,
                    line.quantity,
                    line.unit_price,
                    line.unit_cost,
                    line.unit_price * line.quantity,
                    tuple(per_line[i]),
                    payable,
                    cost,
                    margin_of(payable, cost),
                )
            )
        for _index, gift in self._gifts:
            cost = gift.unit_cost * gift.quantity
            out.append(
                QuoteLine(gift.sku, gift.quantity, 0, gift.unit_cost, 0, (), 0, cost, None, True)
            )
        return tuple(out)

    @cached_property
    def promotions(self) -> tuple[AppliedPromotion, ...]:
        """The promotions that gave the order a discount or gift lines, in the ruleset's
        order, with their titles: what a checkout page lists (no explained pass)."""
        units: dict[int, int] = {}
        for index, gift in self._gifts:
            units[index] = units.get(index, 0) + gift.quantity
        totals = self._promotion_totals
        out = []
        for index in sorted(set(totals) | set(units)):
            pid, kind, lane, _, title = self._promotions[index]
            out.append(
                AppliedPromotion(pid, title, kind, lane, totals.get(index, 0), units.get(index, 0))
            )
        return tuple(out)

    @cached_property
    def explanations(self) -> tuple[Explanation, ...]:
        out = []
        for index, (pid, kind, lane, _, title) in enumerate(self._promotions):
            record = self._record(index)
            if record is None:
                continue
            reason = record.reason
            out.append(
                Explanation(
                    pid,
                    kind,
                    lane,
                    record.status,
                    record.amount,
                    record.base,
                    reason.value if isinstance(reason, enum.Enum) else reason,
                    record.notes,
                    record.hint,
                    title,
                    self.currency,
                )
            )
        return tuple(out)

    @cached_property
    def codes(self) -> tuple[CodeFinding, ...]:
        """One finding per presented code, in the order presented (duplicates merged)."""
        out = []
        self._explained()
        for code, index, why in self._codes:
            pid, title = (
                (self._promotions[index][0], self._promotions[index][4])
                if index >= 0
                else (None, "")
            )
            record = self._record(index) if index >= 0 else None
            if why is not None or record is None:
                reason = why or Reason.OTHER
                notes: tuple[Note, ...] = ()
                if reason is Reason.CODE_MISTYPED and pid is not None:
                    notes = (Note("code-mistyped-like", {"promotion": pid}),)
                out.append(
                    CodeFinding(
                        code,
                        pid,
                        Status.NOT_APPLIED,
                        0,
                        reason.value,
                        notes,
                        title,
                        self.currency,
                    )
                )
                continue
            reason_ = record.reason
            out.append(
                CodeFinding(
                    code,
                    pid,
                    record.status,
                    record.amount,
                    reason_.value if isinstance(reason_, enum.Enum) else reason_,
                    record.notes,
                    title,
                    self.currency,
                    record.base,
                    record.hint,
                )
            )
        return tuple(out)

    def _explained(self) -> None:
        """Take the records and code findings from the explained pricing, once."""
        explain = self._explain
        if explain is not None:
            assert self.cart is not None and self.context is not None  # the engine gives both
            full = explain(self.cart, self.context)
            self._records, self._codes = full._records, full._codes
            self._explain = None

    def _record(self, index: int) -> Record | None:
        self._explained()
        record = self._records.get(index)
        if record is None and index < len(self._defaults):
            return self._defaults[index]
        return record

    def explanation(self, promotion: str) -> Explanation:
        for explanation in self.explanations:
            if explanation.promotion == promotion:
                return explanation
        raise KeyError(promotion)

    def money(self, minor: int, locale: str | None = None) -> str:
        """``minor`` units of the quote's currency as text: a plain decimal ("1234.50", as
        in :meth:`to_dict`), or with ``locale`` as that locale writes money ("¥1,234.50"
        in zh-CN, "CN¥1,234.50" in en)."""
        if locale is None:
            return format_amount(minor, self.currency)
        return catalogue(locale).money(minor, self.currency)

    def to_dict(self, explanations: bool = True, locale: str = "en") -> dict[str, Any]:
        """Everything in the quote as JSON-ready data (amounts as decimal strings).
        Without ``explanations``, the figures alone: no ``explanations`` or ``codes``
        (which price the cart again to be worked out). Messages are worded in ``locale``
        (``"en"``, ``"zh-CN"``); codes and parameters beside them do not change with it."""
        money = self.money
        words = catalogue(locale)

        def pct(rate: Fraction | None) -> str | None:
            return None if rate is None else format_percent(_round_rate(rate))

        return {
            "currency": self.currency,
            "lines": [
                {
                    "sku": ql.sku,
                    "quantity": ql.quantity,
                    "unit_price": money(ql.unit_price),
                    "list_amount": money(ql.list_amount),
                    "payable": money(ql.payable),
                    "cost": money(ql.cost),
                    "margin": pct(ql.margin),
                    "gift": ql.gift,
                    "adjustments": [
                        {
                            "promotion": a.promotion,
                            "title": a.title,
                            "lane": a.lane.value,
                            "amount": money(a.amount),
                            "funding": {f.value: money(v) for f, v in a.funding.items()},
                        }
                        for a in ql.adjustments
                    ],
                }
                for ql in self.lines
            ],
            "totals": {
                "list": money(self.list_total),
                "discount": money(self.discount_total),
                "shipping": money(self.shipping_payable),
                "payable": money(self.payable),
                "cost": money(self.cost_total),
                "margin": pct(self.margin),
                "by_promotion": {k: money(v) for k, v in self.discounts_by_promotion.items()},
                "by_funder": {k.value: money(v) for k, v in self.discounts_by_funder.items()},
            },
            "promotions": [
                {
                    "id": p.id,
                    "title": p.title,
                    "kind": p.kind,
                    "lane": p.lane.value,
                    "amount": money(p.amount),
                    "gifts": p.gifts,
                }
                for p in self.promotions
            ],
            "guardrail": {
                "status": self.guardrail.status.value,
                "floors": [
                    {
                        "name": f.name,
                        "minimum": pct(f.minimum),
                        "margin": pct(f.margin),
                        "held": f.held,
                        "trimmed": money(f.trimmed),
                    }
                    for f in self.guardrail.floors
                ],
                "trims": {k: money(v) for k, v in self.guardrail.trims.items()},
                "rejected": list(self.guardrail.rejected),
            },
            **(self._explanations_dict(words) if explanations else {}),
            "consumption": [[str(key), amount] for key, amount in self.consumption],
            "payments": [
                {
                    "label": p.label,
                    "text": words.payment(p.label),
                    "amount": money(p.amount),
                    "status": p.status.value,
                    "from": None if p.window is None else p.window.start.isoformat(),
                    "until": None if p.window is None else p.window.end.isoformat(),
                }
                for p in self.payments
            ],
            "due_now": money(self.due_now),
        }

    def _explanations_dict(self, words: Catalogue) -> dict[str, Any]:
        money, currency = self.money, self.currency

        def hint(found: Upsell | None) -> dict[str, Any] | None:
            if found is None:
                return None
            return {
                "shortfall": found.shortfall if found.by_quantity else money(found.shortfall),
                "by_quantity": found.by_quantity,
                "reward": found.reward.to_dict(currency),
                "message": _hint(words, currency, found),
            }

        return {
            "explanations": [
                {
                    "promotion": e.promotion,
                    "title": e.title,
                    "kind": e.kind,
                    "lane": e.lane.value,
                    "status": e.status.value,
                    "amount": money(e.amount),
                    "reason": e.reason,
                    "notes": [note.to_dict(currency) for note in e.notes],
                    "message": _worded(e, words),
                    "hint": hint(e.hint),
                }
                for e in self.explanations
            ],
            "codes": [
                {
                    "code": f.code,
                    "promotion": f.promotion,
                    "title": f.title,
                    "status": f.status.value,
                    "amount": money(f.amount),
                    "reason": f.reason,
                    "notes": [note.to_dict(currency) for note in f.notes],
                    "message": _worded(f, words),
                }
                for f in self.codes
            ],
        }


def _sentence(
    words: Catalogue,
    currency: str,
    status: Status,
    amount: int,
    base: int,
    reason: str | None,
    notes: tuple[Note, ...],
    hint: Upsell | None,
) -> str:
    """One explanation (or code finding) worded: its notes, or its reason alone, when it
    gave nothing; what it gave, on what base, with its notes, when it gave something; the
    upsell hint after."""
    details = words.notes_text(notes, currency) if notes else ""
    if status is Status.NOT_APPLIED:
        text = details or words.reason(reason or "other")
    else:
        if amount == 0 and details:  # gives no discount, only something else (a gift)
            text = details
            if base:
                text = words.sentence("measured-on", currency, text=text, base=Amount(base))
        else:
            money = Amount(amount)
            if base:
                text = words.sentence("applied", currency, amount=money, base=Amount(base))
            else:
                text = words.sentence("applied-no-base", currency, amount=money)
            if details:
                text = words.sentence("with-details", currency, text=text, details=details)
        if status is Status.TRIMMED and reason is not None:
            text = words.sentence("trimmed", currency, text=text, reason=words.reason(reason))
    if hint is not None:
        text = words.sentence("and-hint", currency, text=text, hint=_hint(words, currency, hint))
    return text


def _hint(words: Catalogue, currency: str, hint: Upsell) -> str:
    if hint.by_quantity:
        return words.sentence(
            "upsell-items", currency, shortfall=hint.shortfall, reward=hint.reward
        )
    return words.sentence("upsell", currency, shortfall=Amount(hint.shortfall), reward=hint.reward)


def _round_rate(rate: Fraction) -> Fraction:
    """A margin shown to 0.1%: exact enough to read, never mistaken for exact maths."""
    return Fraction(round(rate * 1000), 1000)


__all__ = [
    "Adjustment",
    "AppliedPromotion",
    "CodeFinding",
    "Explanation",
    "Floor",
    "GuardrailReport",
    "GuardrailStatus",
    "Payment",
    "PaymentStatus",
    "Quote",
    "QuoteLine",
    "Reason",
    "Status",
]
