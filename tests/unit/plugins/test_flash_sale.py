"""flash_sale: flash prices, stock, per-customer limits and what they consume."""

from __future__ import annotations

from fractions import Fraction

import pytest

from promorules.cart import Customer
from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec, Snapshot
from promorules.diagnostics import RulesetError
from promorules.messages import Note
from promorules.quote import Status
from promorules_plugins.flash_sale import FlashSale
from tests.unit.plugins.pricelane import BEFORE, HEADER, engine, line, price

FLASH = """
[[promotion]]
id = "flash"
kind = "flash_sale"
phases = ["explosion"]
prices = { "SERUM" = "199.00" }
stock = 500
per_customer = 5
"""

STOCK = CounterKey(CounterKind.FLASH_STOCK, "flash", "SERUM")
MINE = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash", ("c-1", "SERUM"))


def test_stock_of_two_left_with_three_in_the_cart() -> None:
    left = Snapshot({STOCK: 2})
    quote = price(engine(FLASH), [line("SERUM", 3, "329.00")], availability=left)
    # 2 x 199 + 1 x 329 (normal price) = 727
    assert quote.payable == 72700
    explanation = quote.explanation("flash")
    assert explanation.status is Status.APPLIED
    assert explanation.amount == 2 * 13000
    assert explanation.reason == "sold-out"
    assert "1 unit not at the flash price (flash stock left 2)" in explanation.message
    assert dict(quote.consumption) == {STOCK: 2, MINE: 2}


def test_per_customer_limit_without_a_ledger() -> None:
    body = FLASH.replace("per_customer = 5", "per_customer = 2")
    quote = price(engine(body), [line("SERUM", 3, "329.00")])
    assert quote.payable == 72700
    assert quote.explanation("flash").reason == "limit-reached"
    assert "2 left of the limit of 2 per customer" in quote.explanation("flash").message


def test_per_customer_units_already_bought_come_from_the_ledger() -> None:
    left = Snapshot({MINE: 1})
    quote = price(engine(FLASH), [line("SERUM", 2, "329.00")], availability=left)
    assert quote.payable == 19900 + 32900
    assert dict(quote.consumption) == {STOCK: 1, MINE: 1}


def test_template_counter_reads_for_a_fresh_customer() -> None:
    template = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash", ANY_SUBJECT)
    left = Snapshot({template: 1})
    quote = price(engine(FLASH), [line("SERUM", 2, "329.00")], availability=left)
    assert quote.payable == 19900 + 32900


def test_sold_out_is_not_applied() -> None:
    quote = price(engine(FLASH), [line("SERUM", 1, "329.00")], availability=Snapshot({STOCK: 0}))
    explanation = quote.explanation("flash")
    assert (explanation.status, explanation.reason) == (Status.NOT_APPLIED, "sold-out")
    assert "not at the flash price" in explanation.message
    assert quote.payable == 32900
    assert quote.consumption == ()


def test_two_lines_of_one_sku_share_the_stock() -> None:
    left = Snapshot({STOCK: 3})
    quote = price(
        engine(FLASH), [line("SERUM", 2, "329.00"), line("SERUM", 2, "329.00")], availability=left
    )
    # 3 flash units in all: 2 + 1; the 4th unit pays 329
    assert quote.payable == 3 * 19900 + 32900
    assert dict(quote.consumption)[STOCK] == 3


def test_total_stock_across_skus() -> None:
    body = """
[[promotion]]
id = "flash"
kind = "flash_sale"
phases = ["explosion"]
percent = "50%"
total_stock = 3
"""
    quote = price(engine(body), [line("A", 2, "100.00"), line("B", 2, "10.00")])
    # A: 2 x 50; B: 1 x 5 + 1 x 10
    assert quote.payable == 10000 + 500 + 1000
    total = CounterKey(CounterKind.FLASH_STOCK, "flash", "")
    assert dict(quote.consumption) == {total: 3}


def test_percent_rounds_the_discount_down() -> None:
    body = FLASH.replace('prices = { "SERUM" = "199.00" }', 'percent = "30%"')
    quote = price(engine(body), [line("MASK", 1, "99.99")])
    # 30% of 99.99 = 29.997 -> 29.99 off: flash price 70.00
    assert quote.payable == 7000


def test_flash_price_not_below_list() -> None:
    quote = price(engine(FLASH), [line("SERUM", 1, "150.00")])
    explanation = quote.explanation("flash")
    assert explanation.reason == "no-eligible-lines"
    assert "not below list" in explanation.message
    assert quote.payable == 15000


def test_out_of_window() -> None:
    quote = price(engine(FLASH), [line("SERUM", 1, "329.00")], BEFORE)
    assert quote.explanation("flash").reason == "out-of-window"


def test_lower_member_price_wins_and_flash_consumes_nothing() -> None:
    body = (
        FLASH
        + """
[[promotion]]
id = "member"
kind = "member_price"
segments = ["vip"]
prices = { "SERUM" = "150.00" }
"""
    )
    vip = Customer("c-1", frozenset({"vip"}))
    quote = price(engine(body), [line("SERUM", 2, "329.00")], customer=vip)
    assert quote.payable == 30000
    assert quote.explanation("flash").status is Status.NOT_APPLIED
    assert quote.consumption == ()


def test_priority_choice_lets_the_flash_price_win() -> None:
    body = (
        '\n[stacking]\nprice = "priority"\n'
        + FLASH
        + "priority = 10\n"
        + """
[[promotion]]
id = "member"
kind = "member_price"
segments = ["vip"]
prices = { "SERUM" = "150.00" }
"""
    )
    vip = Customer("c-1", frozenset({"vip"}))
    left = Snapshot({STOCK: 1})
    quote = price(engine(body), [line("SERUM", 2, "329.00")], customer=vip, availability=left)
    # flash (priority 10) takes the unit it has stock for; the other unit falls to member
    assert quote.payable == 19900 + 15000
    assert quote.discounts_by_promotion == {"flash": 13000, "member": 17900}
    # the unit beyond the flash stock got the member price: the text must not say it
    # paid the normal price
    flash = quote.explanation("flash").message
    assert "not at the flash price" in flash and "normal price" not in flash
    said = quote.explanation("flash")
    assert said.notes[0] == Note("flash-sold-out", {"sku": "SERUM", "units": 1, "left": 1})
    assert "SERUM：1件未享秒杀价（秒杀库存剩1件）" in said.render("zh-CN")
    assert "原价" not in said.render("zh-CN")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('phases = ["explosion"]\nprices = { "A" = "0" }', "a price must be above zero"),
        ('prices = { "A" = "1.00" }', "needs a window or phases"),
        ('phases = ["explosion"]\nprices = { "A" = "1.00" }\nstock = 0', "stock must be at least"),
        ('phases = ["explosion"]', "give prices (per sku) and/or percent"),
        ('phases = ["explosion"]\npercent = "100%"', "percent must lie in"),
    ],
)
def test_check(body: str, message: str) -> None:
    with pytest.raises(RulesetError) as info:
        engine(f'\n[[promotion]]\nid = "flash"\nkind = "flash_sale"\n{body}\n')
    assert message in str(info.value)
    assert 'promotion "flash"' in str(info.value)


def test_counters_declared() -> None:
    eng = engine(FLASH.replace("stock = 500", "stock = 500\ntotal_stock = 800"))
    assert set(eng.counters) == {
        CounterSpec(STOCK, 500),
        CounterSpec(CounterKey(CounterKind.FLASH_STOCK, "flash", ""), 800),
        CounterSpec(CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash", ANY_SUBJECT), 5),
    }


def test_bound() -> None:
    fixed = FlashSale().bound(engine(FLASH).ruleset.promotions[0])
    assert fixed.rate == 1  # depends on the list price
    assert fixed.unit_prices == {"SERUM": 19900}
    assert fixed.unit_depth("SERUM", 39800) == Fraction(1, 2)
    assert fixed.unit_depth("OTHER", 39800) == 0
    body = FLASH.replace("stock = 500", 'percent = "30%"')
    both = FlashSale().bound(engine(body).ruleset.promotions[0])
    assert both.unit_depth("OTHER", 10000) == Fraction(3, 10)
    only = FlashSale().bound(
        engine(
            FLASH.replace('prices = { "SERUM" = "199.00" }', 'percent = "30%"')
        ).ruleset.promotions[0]
    )
    assert (only.rate, only.refined) == (Fraction(3, 10), False)


def test_equal_prices_go_to_the_promotion_declared_first() -> None:
    body = (
        FLASH
        + """
[[promotion]]
id = "member"
kind = "member_price"
segments = ["vip"]
prices = { "SERUM" = "199.00" }
"""
    )
    vip = Customer("c-1", frozenset({"vip"}))
    quote = price(engine(body), [line("SERUM", 1, "329.00")], customer=vip)
    assert quote.payable == 19900
    assert quote.explanation("flash").status is Status.APPLIED
    assert dict(quote.consumption) == {STOCK: 1, MINE: 1}


def test_units_whose_flash_discount_the_clamp_takes_back_whole_take_no_stock() -> None:
    # no line below cost: SERUM costs its list price, so the clamp takes its whole flash
    # discount back (the customer pays 329.00) and its units consumed no flash stock;
    # TONER keeps its flash price and takes its stock as usual
    guarded = HEADER + '[guardrails]\nmin_line_margin = "0%"\non_breach = "clamp"\n'
    body = FLASH.replace('{ "SERUM" = "199.00" }', '{ "SERUM" = "199.00", "TONER" = "59.00" }')
    eng = engine(body, header=guarded)
    cart = [line("SERUM", 2, "329.00", "329.00"), line("TONER", 1, "99.00", "20.00")]
    for quote in (price(eng, cart), price(eng, cart, explain=True)):
        assert [ql.payable for ql in quote.lines] == [2 * 32900, 5900]
        assert quote.guardrail.trims == {"flash": 2 * 13000}
        toner = CounterKey(CounterKind.FLASH_STOCK, "flash", "TONER")
        toner_mine = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash", ("c-1", "TONER"))
        assert dict(quote.consumption) == {toner: 1, toner_mine: 1}
