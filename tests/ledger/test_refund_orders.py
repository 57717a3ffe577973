"""Returns end to end, on every backend and mode: an order is priced, reserved and paid;
part of it comes back; what ``promorules.refund`` works out is given back through
``Ledger.refund``, in two parts.

Properties (Hypothesis) over random orders and returns:

- a full return refunds exactly what was paid and restores every counter;
- no refund exceeds what was paid, and nothing is given back beyond what the order took
  (one unit more of any counter is refused);
- under claw-back (the give-back policy: the ledger as if the returned units had not
  been sold) budgets, stock and uses after the return equal what the remaining order,
  priced alone, takes;
- under keep, coupon uses and gift stock stay taken until the whole order comes back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promorules.cart import Cart
from promorules.counters import Consumption, CounterKey, CounterKind
from promorules.ledger import Ledger, RefundExceeded, open_ledger
from promorules.refund import ClawBack, ReturnPolicy, refund
from tests.helpers import ALL_KINDS, cart, ctx, engine, line, yuan
from tests.ledger.conftest import SERVER_ENV, in_mode, server_url, shards_of, with_namespace

RULES = engine(
    """
[[promotion]]
id = "spend-500"
kind = "tiered"
lane = "store"
tiers = [{ threshold = "500.00", off = "50.00" }]
budget = "1000.00"

[[promotion]]
id = "c20"
kind = "coupon"
lane = "platform"
code = "C20"
off = "20.00"
threshold = "100.00"
uses = 3
uses_per_customer = 1
budget = "500.00"

[[promotion]]
id = "flash"
kind = "flash_sale"
phases = ["explosion"]
prices = { "F" = "50.00" }
stock = 4
per_customer = 3

[[promotion]]
id = "gift"
kind = "gift"
threshold = "450.00"
gifts = [{ sku = "TOTE", unit_cost = "8.00", stock = 5 }]
""",
    plugins=ALL_KINDS,
)
PRICES = {"A": "400.00", "B": "100.00", "F": "80.00", "C": "30.00"}
WHOLE_ORDER = {CounterKind.COUPON_USES, CounterKind.COUPON_CUSTOMER_USES, CounterKind.GIFT_STOCK}


@contextmanager
def fresh_ledger(backend: str, mode: str, tmp_path: Path) -> Iterator[Ledger]:
    """An empty ledger of ``backend`` in ``mode`` that only one example uses."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path / (name + '.db')}",
    }.get(backend) or with_namespace(server_url(backend), name)
    ledger = in_mode(open_ledger(url, shards=shards_of(mode)), mode)
    try:
        ledger.provision(RULES.counters)
        yield ledger
    finally:
        if backend in SERVER_ENV:
            ledger.destroy()
        ledger.close()


@st.composite
def orders(draw: st.DrawFn) -> tuple[Cart, bool, dict[int, int], ClawBack, list[int]]:
    skus = draw(st.lists(st.sampled_from(sorted(PRICES)), min_size=1, max_size=4, unique=True))
    lines = [line(sku, draw(st.integers(1, 3)), PRICES[sku]) for sku in skus]
    returns = {i: draw(st.integers(0, ln.quantity)) for i, ln in enumerate(lines)}
    returns = {i: n for i, n in returns.items() if n}
    if not returns:
        returns = {0: lines[0].quantity}
    split = draw(st.lists(st.integers(0, 100), min_size=8, max_size=8))
    return cart(*lines), draw(st.booleans()), returns, draw(st.sampled_from(ClawBack)), split


def halves(consumption: Consumption, split: list[int]) -> tuple[Consumption, Consumption]:
    """``consumption`` in two parts, each counter split at a drawn percentage."""
    first = [(k, n * split[i % len(split)] // 100) for i, (k, n) in enumerate(consumption)]
    second = [(k, n - m) for (k, n), (_, m) in zip(consumption, first, strict=True)]
    return tuple(first), tuple(second)


def used(ledger: Ledger, keys: list[CounterKey]) -> dict[CounterKey, int]:
    snapshot = ledger.availability(keys)
    initial = {s.key: s.initial for s in RULES.counters}
    out = {}
    for key in keys:
        left = snapshot.remaining(key)
        assert left is not None
        out[key] = initial.get(key, initial.get(key.template(), 0)) - left
    return out


def test_returns_give_back_what_the_policy_says_and_never_more(
    backend: str, mode: str, tmp_path: Path
) -> None:
    local = backend in ("memory", "sqlite")

    @settings(
        max_examples=30 if local else 10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(order=orders())
    def check(order: tuple[Cart, bool, dict[int, int], ClawBack, list[int]]) -> None:
        basket, with_coupon, returns, remaining, split = order
        context = ctx(coupons=("C20",) if with_coupon else ())
        quote = RULES.price(basket, context)
        result = refund(RULES, basket, context, quote, returns, ReturnPolicy(remaining))
        everything = all(returns.get(i, 0) == ln.quantity for i, ln in enumerate(basket.lines))
        taken = dict(quote.consumption)
        keys = sorted(taken, key=str)
        with fresh_ledger(backend, mode, tmp_path) as ledger:
            ledger.commit(ledger.reserve(quote, "order", 60))
            first, second = halves(result.consumption, split)
            done = ledger.refund("order", first, "rma-1")
            ledger.refund("order", second, "rma-2")
            assert ledger.refund("order", first, "rma-1") == done  # a replay
            after = used(ledger, keys)
            for key in keys:  # never beyond what was taken: one more unit is refused
                with pytest.raises(RefundExceeded):
                    ledger.refund("order", ((key, after[key] + 1),), f"more-{key}")
            assert ledger.audit() == []

        # money: never more than was paid; a full return refunds it exactly
        assert 0 <= result.total <= quote.payable
        given_back = dict(result.consumption)
        assert all(0 < n <= taken[k] for k, n in given_back.items())
        assert after == {k: taken[k] - given_back.get(k, 0) for k in keys}
        if everything:
            assert result.total == quote.payable
            assert after == dict.fromkeys(keys, 0)
        elif remaining is ClawBack.CLAW_BACK:
            # as if the returned units had not been sold
            alone = RULES.price(remaining_cart(basket, returns), context)
            assert after == {k: dict(alone.consumption).get(k, 0) for k in keys}
        else:
            assert all(after[k] == taken[k] for k in keys if k.kind in WHOLE_ORDER)

    check()


def test_the_400_plus_100_example_in_the_ledger(backend: str, mode: str, tmp_path: Path) -> None:
    basket = cart(line("A", 1, "400.00"), line("B", 1, "100.00"))
    quote = RULES.price(basket, ctx())
    budget = CounterKey(CounterKind.BUDGET, "spend-500")
    gift = CounterKey(CounterKind.GIFT_STOCK, "gift", "TOTE")
    kept = refund(RULES, basket, ctx(), quote, {1: 1})
    claw_back = ReturnPolicy(ClawBack.CLAW_BACK)
    clawed = refund(RULES, basket, ctx(), quote, {1: 1}, claw_back, gifts_back={"TOTE": 1})
    assert (kept.total, clawed.total) == (yuan("90.00"), yuan("50.00"))
    # keep: the 400.00 item keeps its 40.00 and the gift; the 10.00 the scarf carried
    # goes back to the budget
    assert kept.consumption == ((budget, yuan("10.00")),)
    # claw-back: the 400.00 left earns neither the 50.00 off nor the gift
    assert dict(clawed.consumption) == {budget: yuan("50.00"), gift: 1}
    for result, left in ((kept, yuan("40.00")), (clawed, 0)):
        with fresh_ledger(backend, mode, tmp_path) as ledger:
            ledger.commit(ledger.reserve(quote, "order", 60))
            ledger.refund("order", result, "rma-1")
            assert used(ledger, [budget])[budget] == left


def remaining_cart(basket: Cart, returns: dict[int, int]) -> Cart:
    """What the customer keeps, as a cart of its own."""
    kept = [
        attrs.evolve(ln, quantity=ln.quantity - returns.get(i, 0))
        for i, ln in enumerate(basket.lines)
        if ln.quantity > returns.get(i, 0)
    ]
    return attrs.evolve(basket, lines=tuple(kept))
