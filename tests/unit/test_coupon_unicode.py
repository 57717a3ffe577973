"""A coupon code matches only what reads as the same code: no Unicode case folding.

``"\u017fave20".upper()`` (long s) is ``"SAVE20"`` in Python, so upper-casing before
keeping ASCII let the long s redeem SAVE20, in pricing and in the consumption the
ledger takes.
"""

from __future__ import annotations

import pytest

from promorules.quote import Status
from tests.helpers import ALL_KINDS, cart, ctx, engine, line, yuan

RULES = """
[[promotion]]
id = "save20"
kind = "coupon"
code = "SAVE20"
off = "20.00"
"""


def price(*codes: str) -> tuple[int, list[tuple[str, str | None]]]:
    quote = engine(RULES, plugins=ALL_KINDS).price(cart(line("A", 1, "100")), ctx(coupons=codes))
    return quote.payable, [(f.code, f.reason) for f in quote.codes]


@pytest.mark.parametrize("typed", ["SAVE20", "save20", " save-20 ", "SAVE\u200b20", "SA\u2013VE20"])
def test_the_code_as_customers_type_it_redeems(typed: str) -> None:
    payable, found = price(typed)
    assert payable == yuan("80")
    assert found == [("SAVE20", None)]


@pytest.mark.parametrize(
    "typed",
    [
        "\u017fave20",  # long s
        "\u017fAVE20",
        "\uff53\uff41\uff56\uff45\uff12\uff10",  # full-width
        "S\u0301AVE20",  # S with a combining acute accent
        "\u0405AVE20",  # Cyrillic DZE, drawn like S
    ],
)
def test_a_look_alike_code_never_redeems(typed: str) -> None:
    payable, found = price(typed)
    assert payable == yuan("100")
    [(code, reason)] = found
    assert code != "SAVE20"
    assert reason in ("code-unknown", "code-mistyped")


def test_a_look_alike_is_reported_but_not_applied() -> None:
    quote = engine(RULES, plugins=ALL_KINDS).price(
        cart(line("A", 1, "100")), ctx(coupons=("\u017fave20",))
    )
    [finding] = quote.codes
    assert finding.code == "\u017fAVE20"
    assert finding.status is not Status.APPLIED
    assert quote.consumption == ()
