"""An order that holds the last coupon use prices again (a changed address): naming its
reservation in the Context, it still gets the coupon; without, it is told it is gone.
On every backend."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from promorules.cart import MAX_RESERVATION_LENGTH, Context
from promorules.cli import main
from promorules.counters import Availability
from promorules.ledger import Ledger, open_ledger
from promorules.live import read_live
from promorules.quote import Quote
from tests.helpers import ALL_KINDS, HEADER, cart, ctx, engine, line

COUPON = (
    '[[promotion]]\nid = "c20"\nkind = "coupon"\ncode = "C20"\noff = "20.00"\n'
    'threshold = "100.00"\nuses = 2\n'
)
LAST_USE = engine(COUPON, plugins=ALL_KINDS)
BASKET = cart(line("A", 1, "150.00"))


def priced_live(ledger: Ledger, context: Context) -> Quote:
    def price(availability: Availability) -> Quote:
        return LAST_USE.price(BASKET, attrs.evolve(context, availability=availability))

    return price(read_live(ledger, price, context.reservation))


def test_an_order_holding_the_last_use_keeps_its_coupon_when_it_prices_again(
    ledger: Ledger,
) -> None:
    ledger.provision(LAST_USE.counters)
    context = ctx(coupons=("C20",))
    ledger.commit(ledger.reserve(LAST_USE.price(BASKET, context), "earlier", 60))
    first = priced_live(ledger, context)
    assert first.discounts_by_promotion == {"c20": 2000}
    ledger.reserve(first, "mine", 900)  # the last use, held by this order
    # the address changes: priced again, the order's own hold reads as taken ...
    assert priced_live(ledger, context).discounts_by_promotion == {}
    # ... unless the context names it
    again = priced_live(ledger, attrs.evolve(context, reservation="mine"))
    assert again.discounts_by_promotion == {"c20": 2000}
    assert again.consumption == first.consumption
    # another order naming a reservation that is not its own gets no use it does not hold
    assert priced_live(ledger, attrs.evolve(context, reservation="other")).payable == 15_000


def test_the_cli_prices_again_with_the_order_s_reservation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset, basket = tmp_path / "rules.toml", tmp_path / "cart.toml"
    ruleset.write_text(HEADER + COUPON)
    basket.write_text(
        'at = 2026-11-11T10:00:00\ncoupons = ["C20"]\n[customer]\nid = "c1"\n'
        '[[lines]]\nsku = "A"\nquantity = 1\nunit_price = "150.00"\n'
    )
    url = f"sqlite:///{tmp_path / 'l.db'}"
    argv = ["price", str(ruleset), str(basket), "--ledger", url, "--format", "json"]
    assert main(["ledger", "init", str(ruleset), "--ledger", url]) == 0
    with open_ledger(url) as ledger:
        ledger.reserve(LAST_USE.price(BASKET, ctx(coupons=("C20",))), "other", 900)
        ledger.reserve(LAST_USE.price(BASKET, ctx(coupons=("C20",))), "mine", 900)
    capsys.readouterr()

    def paid(*extra: str) -> str:
        assert main([*argv, *extra]) == 0
        return str(json.loads(capsys.readouterr().out)[0]["totals"]["payable"])

    assert paid() == "150.00"
    assert paid("--reservation", "mine") == "130.00"


def test_the_reservation_named_is_checked_like_the_other_context_fields() -> None:
    at = ctx().at
    assert Context(at, reservation="order-1").reservation == "order-1"
    with pytest.raises(TypeError, match=r"Context\.reservation must be a str, not int"):
        Context(at, reservation=7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"at most {MAX_RESERVATION_LENGTH} characters"):
        Context(at, reservation="x" * (MAX_RESERVATION_LENGTH + 1))
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError, match="idempotency key of the order's reservation"):
            Context(at, reservation=bad)


def test_the_cli_wants_a_ledger_with_a_reservation(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).parents[2] / "rulesets" / "examples"
    argv = ["price", str(root / "coupons.toml"), str(root / "carts" / "basket.toml")]
    assert main([*argv, "--reservation", "mine"]) == 2
    err = capsys.readouterr().err
    assert "--reservation names a hold in a ledger" in err and "Traceback" not in err
