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
threshold it met; :class:`ReturnPolicy` states it:

- ``keep`` (the default): the remaining order keeps its discounts and gifts.
- ``claw-back``: the remaining order is priced again without the returned units, at the
  moment it was priced; what it would cost now beyond what is left paid for it is
  deducted from the refund (never below zero). A gift the remaining order no longer
  earns and the customer keeps is charged at its declared ``value`` (else its cost).

Shipping is refunded when every paid unit comes back (``shipping = "full-return"``, the
default), never (``"never"``), or with any return (``"always"``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

import attrs

from promorules.cart import Cart, Context
from promorules.diagnostics import PromorulesError
from promorules.engine import Engine
from promorules.money import allocate
from promorules.quote import Quote


class ClawBack(str, enum.Enum):
    KEEP = "keep"
    CLAW_BACK = "claw-back"


class Shipping(str, enum.Enum):
    FULL_RETURN = "full-return"
    NEVER = "never"
    ALWAYS = "always"


@attrs.frozen
class ReturnPolicy:
    remaining: ClawBack = ClawBack.KEEP
    shipping: Shipping = Shipping.FULL_RETURN


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
    policy: ReturnPolicy = ReturnPolicy(),
    gifts_back: Mapping[str, int] | None = None,
) -> Refund:
    """What returning ``returns`` (line index -> units) of ``cart``, priced as ``quote``
    under ``engine`` in ``context``, gives back (see the module's docstring).
    ``gifts_back``: gift units the customer brings back too (sku -> units), which are
    not charged."""
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
    return Refund(tuple(out), goods, clawed, charged, shipping, total, policy, remaining_quote)


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
