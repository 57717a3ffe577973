"""The planners' page in a real browser: Chromium from the Debian packages, driven by
Playwright (its own browser download cannot be fetched here). Screenshots are kept in
``$PROMORULES_ARTIFACTS`` (default: ``test-artifacts/`` in the working directory)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from promorules.cart import Context
from promorules.cartfile import load_cart
from promorules.serve.app import Service
from tests.serve.conftest import RULESETS
from tests.serve.server import running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("PROMORULES_ARTIFACTS", "test-artifacts"))

if CHROMIUM is None:
    if os.environ.get("CI") == "true":  # CI installs it (.ci/run): its absence is a failure
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


@pytest.fixture
def page(served: Service) -> Iterator[tuple[Page, str]]:
    assert CHROMIUM is not None
    with running(served) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            found = browser.new_page(viewport={"width": 1200, "height": 1400})
            found.goto(base + "/")
            found.wait_for_selector("body[data-ready=true]")
            yield found, base
        finally:
            browser.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_cart_built_on_the_page_prices_as_the_command_line(
    page: tuple[Page, str], served: Service
) -> None:
    browser, _ = page
    # the midnight cart: 2 serums and 3 masks, both coupons, at 00:30 on 11.11
    browser.fill("#at", "2026-11-11T00:30:00")
    browser.fill("#coupons", "lumi30, D11-PLAT80")
    browser.fill("#search", "LUMI-SERUM")
    browser.click("#results button[data-sku='LUMI-SERUM']")
    browser.click("#results button[data-sku='LUMI-SERUM']")  # twice: quantity 2
    browser.fill("#search", "LUMI-MASK")
    for _ in range(3):
        browser.click("#results button[data-sku='LUMI-MASK']")
    browser.click("#price")
    browser.wait_for_selector("#quote:not([hidden])")
    browser.wait_for_function("document.getElementById('payable').textContent !== ''")
    shown = browser.text_content("#payable")
    shot(browser, "priced-midnight-cart")
    # what `promorules price` computes for rulesets/carts/d11-midnight.toml
    engine = served.holders["double11"].current.engine
    cart = load_cart(
        RULESETS / "carts" / "d11-midnight.toml", engine.currency, engine.ruleset.tz, served.catalog
    )
    assert cart.at is not None
    quote = engine.price(cart.cart, Context(cart.at, None, tuple(cart.coupons)))
    assert shown == quote.money(quote.payable) == "586.89"
    explanations = browser.text_content("#explanations")
    assert explanations is not None and "Lumi Beauty" in explanations  # titles shown


def test_bad_input_is_shown_not_thrown(page: tuple[Page, str]) -> None:
    browser, _ = page
    browser.click("#price")
    assert "add a line" in (browser.text_content("#error") or "")
    browser.fill("#search", "LUMI-MASK")
    browser.click("#results button[data-sku='LUMI-MASK']")
    browser.fill("#shipping", "lots")
    browser.click("#price")
    browser.wait_for_function("document.getElementById('error').textContent !== ''")
    assert "shipping" in (browser.text_content("#error") or "")
    shot(browser, "bad-shipping")


def test_a_counterexample_loads_in_one_click(page: tuple[Page, str], served: Service) -> None:
    browser, _ = page
    holder = served.holders["double11"]
    text = Path(holder.current.source).read_text(encoding="utf-8")
    # a planner's mistake: 90% off everything, above every other promotion
    holder.reload(
        text + '\n[[promotion]]\nid = "reckless"\nkind = "discount"\nlane = "platform"\n'
        'percent = "90%"\npriority = 100\n'
    )
    browser.click("#validate")
    button = browser.wait_for_selector("button.counterexample", timeout=120_000)
    assert button is not None
    shot(browser, "validation")
    button.click()
    browser.wait_for_function("document.getElementById('payable').textContent !== ''")
    shot(browser, "counterexample-priced")
    # the breach cart, priced: double11 clamps, so the quote shows the clamp at work on
    # the reckless discount the validator blamed
    assert browser.text_content("#guardrail-status") == "clamped"
    assert "reckless" in (browser.text_content("#lines") or "")
    assert browser.locator("#cart tbody tr").count() >= 1


def test_a_changed_ladder_compared_on_the_page(page: tuple[Page, str]) -> None:
    browser, _ = page
    browser.fill("#at", "2026-11-11T00:30:00")
    browser.fill("#coupons", "lumi30, D11-PLAT80")
    browser.fill("#search", "LUMI-SERUM")
    browser.click("#results button[data-sku='LUMI-SERUM']")
    browser.click("#results button[data-sku='LUMI-SERUM']")
    browser.fill("#search", "LUMI-MASK")
    for _ in range(3):
        browser.click("#results button[data-sku='LUMI-MASK']")
    browser.click("#edit")
    browser.wait_for_function("document.getElementById('changed').value.length > 0")
    text = browser.input_value("#changed")
    ladder = '{ threshold = "500.00", off = "60.00" }'
    browser.fill("#changed", text.replace(ladder, ladder.replace("60.00", "80.00")))
    browser.click("#diff")
    browser.wait_for_selector("#comparison:not([hidden])")
    shot(browser, "compared")
    assert "1 of 1 cart(s) change price" in (browser.text_content("#comparison-summary") or "")
    assert "tiers[1].off" in (browser.text_content("#keys") or "")
    assert "-20.00" in (browser.text_content("#moved") or "")


def test_a_simulation_is_charted(page: tuple[Page, str], served: Service, tmp_path: Path) -> None:
    browser, _ = page
    log = tmp_path / "orders.csv"
    log.write_text(
        "time,order,customer,segment,channel,lines,coupons,shipping\n"
        "2026-11-11T00:30:00,o-1,c-1,,app,LUMI-SERUM*2;LUMI-MASK*3,LUMI30,\n"
        "2026-11-12T10:00:00,o-2,c-2,,app,LUMI-MASK*1,,\n",
        encoding="utf-8",
    )
    served.orders = str(log)
    browser.click("#simulate")
    browser.wait_for_selector("#charts .chart")
    shot(browser, "simulation")
    assert "2 orders" in (browser.text_content("#simulation-summary") or "")
    charts = browser.text_content("#charts") or ""
    assert "2026-11-11 gmv" in charts and "2026-11-12 discount" in charts
