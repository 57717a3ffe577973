"""Customer choices on the pricing context and in cart files."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from promorules.cart import MAX_CHOICES, Context
from promorules.cartfile import build_cart
from promorules.diagnostics import RulesetError
from tests.helpers import D11


def test_choices_are_held_as_sorted_pairs_whatever_their_order() -> None:
    a = Context(D11, choices={"pick-b": "MUG", "pick-a": "BAG"})
    b = Context(D11, choices=[("pick-a", "BAG"), ("pick-b", "MUG")])
    assert a.choices == (("pick-a", "BAG"), ("pick-b", "MUG"))
    assert a == b
    assert hash(a) == hash(b)


@pytest.mark.parametrize(
    "bad",
    [
        {"p": 3},
        {"p": "x" * 65},
        [("p", "A"), ("p", "B")],
        {f"p{i}": "A" for i in range(MAX_CHOICES + 1)},
        "p=A",
    ],
)
def test_bad_choices_are_refused_with_a_message(bad: object) -> None:
    # a wrong type (a number, a bare string) is a TypeError, a bad value a ValueError
    with pytest.raises((TypeError, ValueError), match="choice"):
        Context(D11, choices=bad)


def test_cart_file_carries_choices() -> None:
    data = {
        "choices": {"gift-pick": "MUG"},
        "lines": [{"sku": "A", "quantity": 1, "unit_price": "1.00"}],
    }
    cart_file = build_cart(data, "CNY", ZoneInfo("UTC"))
    assert cart_file.choices == (("gift-pick", "MUG"),)


def test_cart_file_with_a_malformed_choice_is_located() -> None:
    data = {
        "choices": {"gift-pick": 7},
        "lines": [{"sku": "A", "quantity": 1, "unit_price": "1.00"}],
    }
    with pytest.raises(RulesetError) as err:
        build_cart(data, "CNY", ZoneInfo("UTC"))
    assert "choices.gift-pick" in str(err.value) or "gift-pick" in str(err.value)
