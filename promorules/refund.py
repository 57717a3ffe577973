"""Returns: what each returned unit gives back, under a declared policy.

An order's discounts were spread over its lines when it was priced (each line's
``payable`` in the quote is what it really cost the customer), so a returned unit gives
back its share of its line's payable, not its list price: a 400.00 and a 100.00 item
bought under "spend 500 get 50 off" carry 40.00 and 10.00 of it, and returning the
100.00 item refunds 90.00. A line's payable is split over its units exactly (the units
differ by a minor unit at most), and the units returned are the ones carrying the least,
so returning every unit of every line gives back exactly what was paid, and any part
never more.

Platforms differ on what happens to the rest of the order, now perhaps below a
threshold it met; the ruleset's ``[returns]`` table (:class:`ReturnPolicy`) states it:

- ``keep`` (the default): the remaining order keeps its discounts and gifts.
- ``claw-back``: the remaining order is priced again without the returned units, at the
  moment it was priced; what it would cost now beyond what is left paid for it is
  deducted from the refund (never below zero). A gift the remaining order no longer
  earns and the customer keeps is charged at its declared ``value`` (else its cost).

Shipping is refunded when every paid unit comes back (``shipping = "full-return"``, the
default), never (``"never"``), or with any return (``"always"``).

What the return gives back to the ledger (``Refund.consumption``, for
``Ledger.refund``) follows the same policy, counter by counter of the order's
consumption:

- a full return gives back everything the order took;
- ``claw-back``: what the remaining order, priced again, no longer takes: the ledger is
  left as if the returned units had not been sold;
- ``keep``: the remaining order keeps its discounts and what they took. Coupon uses
  and gift stock stay taken; a budget (and a funder's) gets back the returned units'
  share of the discount it paid for; flash stock and per-customer flash units get
  back what the remaining order, priced again, no longer takes (the units came back).

The remaining order is priced again at the moment the order was, against what the
order itself took (and nothing of any other counter): it cannot switch to a promotion
the order did not get, and a give-back never exceeds what was taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from promorules.cart import Cart, Context
from promorules.counters import Availability, Consumption, CounterKey, CounterKind
from promorules.diagnostics import PromorulesError
from promorules.engine import Engine
from promorules.money import allocate
from promorules.quote import Quote
from promorules.ruleset import ClawBack as ClawBack
from promorules.ruleset import ReturnPolicy as ReturnPolicy
from promorules.ruleset import ReturnShipping

Shipping = ReturnShipping
"""When a return refunds the shipping fee (``[returns] shipping``)."""


@attrs.frozen
class LineRefund:
    line: int
    """The returned line's index in the cart."""
    sku: str
    quantity: int
    amount: int
    """Its units' share of the line's payable (minor units)."""


@attrs.frozen
class Refund:
    lines: tuple[LineRefund, ...]
    goods: int
    """What the returned units carried of the order's payable."""
    clawed_back: int
    """Deducted for discounts the remaining order no longer earns (``claw-back``)."""
    gifts_charged: int
    """Deducted for gifts the remaining order no longer earns and the customer keeps."""
    shipping: int
    total: int
    """What goes back to the customer: goods - clawed back - gifts charged + shipping,
    never below zero."""
    policy: ReturnPolicy
    remaining: Quote | None = None
    """The remaining order priced again (``claw-back`` on a partial return)."""
    consumption: Consumption = ()
    """What the return gives back to the ledger, counter by counter (see the module's
    docstring): ``Ledger.refund(reservation, refund, refund_id)`` takes it."""


def unit_shares(payable: int, quantity: int) -> list[int]:
    """A line's payable split over its units exactly, smallest first (the order a
    partial return takes them in)."""
    return sorted(allocate(payable, [1] * quantity))


def refund(
    engine: Engine,
    cart: Cart,
    context: Context,
    quote: Quote,
    returns: Mapping[int, int],
    policy: ReturnPolicy | None = None,
    gifts_back: Mapping[str, int] | None = None,
) -> Refund:
    """What returning ``returns`` (line index -> units) of ``cart``, priced as ``quote``
    under ``engine`` in ``context``, gives back (see the module's docstring), under
    ``policy`` (default: the ruleset's ``[returns]``).
    ``gifts_back``: gift units the customer brings back too (sku -> units), which are
    not charged."""
    if policy is None:
        policy = engine.ruleset.returns
    lines = quote.lines
    paid = [ql for ql in lines if not ql.gift]
    if len(paid) != len(cart.lines):
        raise PromorulesError("the quote is not of this cart")
    out: list[LineRefund] = []
    for index, units in sorted(returns.items()):
        if not 0 <= index < len(cart.lines):
            raise PromorulesError(f"no line {index} in the cart (it has {len(cart.lines)})")
        line = paid[index]
        if type(units) is not int or not 0 < units <= line.quantity:
            raise PromorulesError(
                f"line {index} ({line.sku}): return 1 to {line.quantity} units, not {units!r}"
            )
        amount = sum(unit_shares(line.payable, line.quantity)[:units])
        out.append(LineRefund(index, line.sku, units, amount))
    goods = sum(r.amount for r in out)
    everything = all(returns.get(i, 0) == ql.quantity for i, ql in enumerate(paid))
    clawed = charged = 0
    remaining_quote = None
    if policy.remaining is ClawBack.CLAW_BACK and not everything:
        left = _remaining(cart, returns)
        remaining_quote = engine.price(left, context)
        kept_paid = quote.goods_payable - goods
        clawed = max(remaining_quote.goods_payable - kept_paid, 0)
        charged = _gifts_lost(quote, remaining_quote, gifts_back or {})
    shipping = 0
    if policy.shipping is Shipping.ALWAYS or (
        policy.shipping is Shipping.FULL_RETURN and everything
    ):
        shipping = quote.shipping_payable
    total = max(goods - clawed - charged, 0) + shipping
    back = (
        quote.consumption
        if everything
        else _given_back(engine, cart, context, quote, returns, policy)
    )
    return Refund(
        tuple(out), goods, clawed, charged, shipping, total, policy, remaining_quote, back
    )


# What a partial return gives back of each kind of counter, under ``keep``: nothing of
# what the order takes as a whole, the returned units' share of a budget, and of stock
# what the remaining order no longer takes. Under ``claw-back`` every kind is the last.
_WHOLE_ORDER = frozenset(
    {
        CounterKind.COUPON_USES,
        CounterKind.COUPON_CUSTOMER_USES,
        CounterKind.COUPON_CODE_USES,
        CounterKind.GIFT_STOCK,
    }
)
_MONEY = frozenset({CounterKind.BUDGET, CounterKind.FUNDER_BUDGET})


def _given_back(
    engine: Engine,
    cart: Cart,
    context: Context,
    quote: Quote,
    returns: Mapping[int, int],
    policy: ReturnPolicy,
) -> Consumption:
    """What a partial return gives back to the ledger (the module's docstring)."""
    taken = dict(quote.consumption)
    keep = policy.remaining is ClawBack.KEEP
    repriced = [k for k in taken if not (keep and (k.kind in _WHOLE_ORDER or k.kind in _MONEY))]
    still: dict[CounterKey, int] = {}
    if repriced:
        capped = attrs.evolve(context, availability=_AtMost(taken, context.availability))
        still = dict(engine.price(_remaining(cart, returns), capped).consumption)
    shares = _budget_shares(quote, returns) if keep else {}
    back = []
    for key, amount in quote.consumption:
        if key in repriced:
            part = amount - min(still.get(key, 0), amount)
        elif key.kind in _MONEY:
            part = min(shares.get(key, 0), amount)
        else:
            part = 0
        if part > 0:
            back.append((key, part))
    return tuple(back)


def _budget_shares(quote: Quote, returns: Mapping[int, int]) -> dict[CounterKey, int]:
    """The returned units' share of each promotion's and funder's discount: per line,
    each discount split over its units exactly, the smallest parts first."""
    paid = [ql for ql in quote.lines if not ql.gift]
    out: dict[CounterKey, int] = {}
    for index, units in returns.items():
        line = paid[index]
        for adjustment in line.adjustments:
            parts = [(CounterKey(CounterKind.BUDGET, adjustment.promotion), adjustment.amount)]
            parts += [
                (CounterKey(CounterKind.FUNDER_BUDGET, funder.value), amount)
                for funder, amount in adjustment.funding.items()
            ]
            for key, amount in parts:
                share = sum(unit_shares(amount, line.quantity)[:units])
                out[key] = out.get(key, 0) + share
    return out


class _AtMost:
    """An availability that leaves of each counter what the order took, of no other
    counter anything (paused as ``base`` says)."""

    __slots__ = ("_base", "_taken")

    def __init__(self, taken: Mapping[CounterKey, int], base: Availability) -> None:
        self._taken = taken
        self._base = base

    def remaining(self, key: CounterKey) -> int | None:
        return self._taken.get(key, 0)

    def paused(self, promotion: str) -> bool:
        return self._base.paused(promotion)


def _remaining(cart: Cart, returns: Mapping[int, int]) -> Cart:
    kept = []
    for index, line in enumerate(cart.lines):
        left = line.quantity - returns.get(index, 0)
        if left > 0:
            kept.append(line if left == line.quantity else attrs.evolve(line, quantity=left))
    return attrs.evolve(cart, lines=tuple(kept))


def _gifts_lost(before: Quote, after: Quote, back: Mapping[str, int]) -> int:
    """The worth of the gifts ``before`` gave that ``after`` no longer gives and that
    are not brought ``back`` (by sku)."""
    still: dict[str, int] = dict(back)
    for _, gift in after.gifts:
        still[gift.sku] = still.get(gift.sku, 0) + gift.quantity
    lost = 0
    for _, gift in before.gifts:
        keep = min(still.get(gift.sku, 0), gift.quantity)
        still[gift.sku] = still.get(gift.sku, 0) - keep
        unit = gift.unit_cost if gift.value is None else gift.value
        lost += unit * (gift.quantity - keep)
    return lost


def parse_returns(texts: Sequence[str], cart: Cart) -> dict[int, int]:
    """``SKU=QTY`` (or ``SKU`` for one unit) as line index -> units; the first line of
    that sku takes it."""
    out: dict[int, int] = {}
    for text in texts:
        sku, _, count = text.partition("=")
        sku = sku.strip()
        try:
            units = int(count) if count else 1
        except ValueError:
            raise PromorulesError(f"--return {text[:60]!r}: SKU=QTY, QTY a whole number") from None
        index = next((i for i, line in enumerate(cart.lines) if line.sku == sku), None)
        if index is None:
            raise PromorulesError(f"--return {sku[:60]!r}: no line of that sku in the cart")
        out[index] = out.get(index, 0) + units
    return out
