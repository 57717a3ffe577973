"""The bundled campaigns priced phase by phase; every figure worked out by hand.

The sample carts' comments show the working; the catalogue is rulesets/catalog.csv.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from promorules.cart import Context
from promorules.cartfile import load_cart, load_catalog
from promorules.engine import Engine
from promorules.quote import GuardrailStatus, Quote, Status
from tests.helpers import yuan

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"


def price(ruleset: str, cart: str) -> Quote:
    engine = Engine.from_toml(RULESETS / ruleset)
    catalog = load_catalog(RULESETS / "catalog.csv", engine.currency)
    cart_file = load_cart(RULESETS / "carts" / cart, engine.currency, engine.ruleset.tz, catalog)
    assert cart_file.at is not None
    return engine.price(cart_file.cart, Context(cart_file.at, None, cart_file.coupons))


def applied(quote: Quote) -> dict[str, int]:
    return {e.promotion: e.amount for e in quote.explanations if e.status is not Status.NOT_APPLIED}


def test_warm_up_member_price_and_free_shipping() -> None:
    quote = price("double11.toml", "d11-warmup.toml")
    assert applied(quote) == {"member-oil": yuan("40.00"), "free-shipping-99": yuan("10.00")}
    assert (quote.payable, quote.shipping_payable) == (yuan("277.00"), 0)
    assert quote.explanation("every-300-off-50").reason == "out-of-window"


def test_deposit_window_schedules_the_balance() -> None:
    quote = price("double11.toml", "d11-deposit.toml")
    assert applied(quote) == {"duvet-presale": yuan("50.00")}
    assert quote.payable == yuan("849.00")
    assert quote.due_now == yuan("100.00")
    assert [p.amount for p in quote.payments] == [yuan("100.00"), yuan("749.00")]


def test_final_payment_measures_thresholds_on_price_less_the_bonus() -> None:
    quote = price("double11.toml", "d11-final.toml")
    assert applied(quote) == {
        "duvet-presale": yuan("50.00"),
        "hearth-every-200": yuan("80.00"),
        "every-300-off-50": yuan("100.00"),
    }
    assert quote.explanation("hearth-every-200").base == yuan("898.00")
    assert quote.explanation("every-300-off-50").base == yuan("818.00")
    assert (quote.payable, quote.due_now) == (yuan("718.00"), yuan("618.00"))


def test_explosion_midnight_flash_coupons_and_a_gift_hint() -> None:
    quote = price("double11.toml", "d11-midnight.toml")
    assert applied(quote) == {
        "midnight-flash": yuan("60.00"),  # one serum at 269.00 instead of 329.00
        "mask-multibuy": yuan("88.11"),  # a third of 3 x 89.00, at 33%
        "lumi-ladder": yuan("60.00"),
        "lumi-coupon": yuan("30.00"),
        "every-300-off-50": yuan("100.00"),
    }
    assert quote.payable == yuan("586.89")
    gift = quote.explanation("lumi-gift")
    assert gift.hint is not None and gift.hint.shortfall == yuan("23.11")
    findings = {c.code: c.status for c in quote.codes}
    assert findings == {"LUMI30": Status.APPLIED, "D11PLAT80": Status.NOT_APPLIED}
    assert quote.guardrail.status is GuardrailStatus.OK


def test_encore_member_multibuy_and_store_reduction() -> None:
    quote = price("double11.toml", "d11-encore.toml")
    assert applied(quote) == {"home-multibuy": yuan("26.50"), "hearth-every-200": yuan("20.00")}
    assert quote.payable == yuan("218.50")


def test_the_breach_example_phone_is_clamped_to_the_margin_floors() -> None:
    # flash 3699.00, then every 300 off 50 (12 x 50.00) would leave 3099.00 against a cost of
    # 3580.00: the clamp takes the platform reduction back down to the 5% order floor
    # (3580.00 / 0.95 = 3768.43 needs more than the flash price allows: 3699.00 < 3768.43,
    # so the flash discount is trimmed too, platform lane first as its priority is lowest)
    quote = price("breach_example.toml", "clamp.json")
    assert quote.guardrail.status is GuardrailStatus.CLAMPED
    assert quote.payable == yuan("3768.43")
    assert quote.guardrail.trims["every-300-off-50"] == yuan("600.00")
    assert all(f.held for f in quote.guardrail.floors)


def test_the_flagship_phone_keeps_its_floors_without_the_clamp() -> None:
    # double11 flashes the phone at 3849.00 and keeps it out of the platform offers:
    # margin (3849.00 - 3580.00) / 3849.00 = 6.99%, above the 5% order floor unclamped
    quote = price("double11.toml", "clamp.json")
    assert applied(quote) == {"midnight-flash": yuan("150.00")}
    assert quote.payable == yuan("3849.00")
    assert quote.guardrail.status is GuardrailStatus.OK
    assert quote.explanation("every-300-off-50").reason == "no-eligible-lines"


def test_beauty_week_b_grade() -> None:
    quote = price("beauty-week.toml", "beauty-week.toml")
    assert applied(quote) == {
        "beauty-10pct": yuan("37.70"),
        "beauty-coupon": yuan("25.00"),
        "beauty-shipping": yuan("8.00"),
    }
    assert [line.payable for line in quote.lines] == [yuan("165.90"), yuan("148.40")]
    assert quote.payable == yuan("314.30")
    by_funder = {f.value: v for f, v in quote.discounts_by_funder.items()}
    assert by_funder == {"platform": yuan("51.85"), "merchant": yuan("18.85")}


@pytest.mark.parametrize("ruleset", sorted(p.name for p in RULESETS.glob("*.toml")))
def test_every_bundled_ruleset_loads_with_the_installed_plugins(ruleset: str) -> None:
    assert Engine.from_toml(RULESETS / ruleset).ruleset.promotions
