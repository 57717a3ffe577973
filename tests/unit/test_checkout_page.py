"""A checkout page written from the quote alone, in English and Simplified Chinese, for
every bundled example cart: lines with their adjustments under the promotions' titles,
the promotions applied, explanations, upsell hints, code findings, payments and what to
pay. Hand-picked facts of each page are checked in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from promorules.cart import Context
from promorules.cartfile import load_cart, load_catalog
from promorules.engine import Engine
from promorules.messages import catalogue
from promorules.quote import Quote, Status

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"
CARTS = RULESETS / "carts"

RULESET_OF = {
    "beauty-week.toml": "beauty-week.toml",
    "clamp.json": "breach_example.toml",
    "coupons.toml": "examples/coupons.toml",
    "cross-store.toml": "double11.toml",
    "d11-deposit.toml": "double11.toml",
    "d11-encore.toml": "double11.toml",
    "d11-final.toml": "double11.toml",
    "d11-midnight.toml": "double11.toml",
    "d11-warmup.toml": "double11.toml",
    "upsell.toml": "double11.toml",
}

LABELS = {
    "en": ("Your order", "Savings", "Why", "Coupons", "Pay", "To pay"),
    "zh-CN": ("您的订单", "优惠", "说明", "优惠券", "付款", "应付总额"),
}


def quote_of(cart: str) -> Quote:
    engine = Engine.from_toml(RULESETS / RULESET_OF[cart])
    catalog = load_catalog(RULESETS / "catalog.csv", engine.currency)
    found = load_cart(CARTS / cart, engine.currency, engine.ruleset.tz, catalog)
    assert found.at is not None
    context = Context(found.at, found.channel, found.coupons, choices=found.choices)
    return engine.explained(found.cart, context)


def page(quote: Quote, lang: str) -> str:
    """What a checkout shows, from nothing but ``quote``."""
    order, savings, why, coupons, pay, total = LABELS[lang]
    money = quote.money
    out = [f"== {order}"]
    for line in quote.lines:
        shown = "0" if line.gift else money(line.payable, lang)
        out.append(f"{line.sku} x{line.quantity}  {shown}")
        for adjustment in line.adjustments:
            name = adjustment.title or adjustment.promotion
            out.append(f"    {name}  -{money(adjustment.amount, lang)}")
    out.append(f"== {savings}")
    for promotion in quote.promotions:
        out.append(f"{promotion.title or promotion.id}  -{money(promotion.amount, lang)}")
    out.append(f"== {why}")
    for explanation in quote.explanations:
        if explanation.status is Status.NOT_APPLIED and explanation.hint is None:
            continue  # a page shows what applied, and what is within reach
        out.append(f"{explanation.title or explanation.promotion}: {explanation.render(lang)}")
        hint = explanation.upsell(lang)
        if hint is not None:
            out.append(f"    >> {hint}")
    if quote.codes:
        out.append(f"== {coupons}")
        out += [f"{finding.code}: {finding.render(lang)}" for finding in quote.codes]
    if quote.payments:
        out.append(f"== {pay}")
        out += [f"{p.render(lang)}  {money(p.amount, lang)}" for p in quote.payments]
    out.append(f"{total}  {money(quote.payable, lang)}")
    return "\n".join(out)


FACTS: dict[str, dict[str, list[str]]] = {
    "d11-midnight.toml": {
        "en": [
            "To pay  CN¥586.89",
            "    Lumi Beauty: spend 300 get 30 off, 500 get 60 off  -CN¥",
            "    >> spend CN¥23.11 more to get gift Lumi canvas tote",
            "LUMI-SERUM: 1 unit not at the flash price",
        ],
        "zh-CN": [
            "应付总额  ¥586.89",
            "    >> 再买¥23.11，可享赠Lumi canvas tote",
            "LUMI-SERUM：1件未享秒杀价",
            "满¥500.00：减¥60.00",
            "每满¥300.00减¥50.00，共2次",
        ],
    },
    "d11-deposit.toml": {
        "en": ["deposit  CN¥100.00", "balance  CN¥749.00", "To pay  CN¥849.00"],
        "zh-CN": ["定金  ¥100.00", "尾款  ¥749.00", "定金¥100.00抵¥150.00：每件减¥50.00"],
    },
    "d11-final.toml": {
        "en": ["deposit paid  CN¥100.00", "To pay  CN¥718.00"],
        "zh-CN": ["已付定金  ¥100.00", "应付总额  ¥718.00", "定金已付，现付尾款"],
    },
    "d11-warmup.toml": {
        "en": ["To pay  CN¥277.00", "Members: camellia oil at 109  -CN¥40.00"],
        "zh-CN": ["应付总额  ¥277.00", "免运费¥10.00"],
    },
    "d11-encore.toml": {
        "en": ["To pay  CN¥218.50", "Hearth Home: every 200 off 20  -CN¥20.00"],
        "zh-CN": ["应付总额  ¥218.50", "满3件：优惠10%"],
    },
    "cross-store.toml": {
        "en": ["    Lumi Beauty: spend 300 get 30 off, 500 get 60 off  -CN¥37.39"],
        "zh-CN": ["¥1,099.30立减¥150.00（每满¥300.00减¥50.00，共3次）"],
    },
    "upsell.toml": {
        "en": ["    >> spend CN¥42.00 more to get CN¥50.00 off", "To pay  CN¥258.00"],
        "zh-CN": ["    >> 再买¥42.00，可享减¥50.00", "应付总额  ¥258.00"],
    },
    "coupons.toml": {
        "en": ["WELC0ME8: this code has a typing error", "it resembles a code of welcome-8pct"],
        "zh-CN": ["WELC0ME8: 券码有误", "LUMI10: 已为您选用更优惠的活动（lumi-300-off-30）"],
    },
    "clamp.json": {
        "en": ["CN¥69.43 taken back to hold a margin floor", "trimmed: the margin guardrail"],
        "zh-CN": ["为守住毛利底线收回¥69.43", "已削减：为守住毛利底线"],
    },
    "beauty-week.toml": {
        "en": ["CN¥8.00 shipping waived above CN¥59.00", "10% off all beauty  -CN¥37.70"],
        "zh-CN": ["满¥59.00免运费¥8.00", "BEAUTY25: ¥339.30立减¥25.00"],
    },
}


def test_every_bundled_example_cart_has_a_page() -> None:
    bundled = {p.name for p in CARTS.iterdir() if p.suffix in (".toml", ".json")}
    assert bundled == set(RULESET_OF) == set(FACTS)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("cart", sorted(RULESET_OF))
def test_the_page_says_what_was_priced(cart: str, lang: str) -> None:
    quote = quote_of(cart)
    text = page(quote, lang)
    for fact in FACTS[cart][lang]:
        assert fact in text, f"{fact!r} not on the page:\n{text}"
    # every figure the page shows is the quote's, in the locale's money
    assert text.endswith(quote.money(quote.payable, lang))
    for promotion in quote.promotions:
        assert promotion.title and promotion.title in text
    if lang == "zh-CN":  # nothing of the English catalogue leaks into what is worded
        english = catalogue("en")
        worded = [e.render(lang) for e in quote.explanations]
        worded += [f.render(lang) for f in quote.codes]
        worded += [p.render(lang) for p in quote.payments]
        for text in worded:
            assert "CN¥" not in text and " off" not in text and "below" not in text, text
            assert not any(said in text for said in english.reasons.values()), text
