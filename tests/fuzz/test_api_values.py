"""Hostile values at the embedding API: refused cleanly, or priced in integers.

Every draw builds a cart and a context from mostly sound and sometimes hostile values
(tests/fuzz/api_values.py) and prices it under one of the bundled rulesets. Each
constructor either refuses a value with a TypeError or ValueError that names the
field, or the value is sound and pricing gives a quote whose every money figure is an
``int`` (never a bool, float, Decimal or NaN) and whose ``to_dict`` is strict JSON.

The default run uses the short "ci"/"dev" profile of tests/conftest.py; a long hunt:
``HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest tests/fuzz``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from promorules.cart import Cart, Context, Customer, Line
from promorules.cartfile import load_catalog
from promorules.counters import Snapshot
from promorules.engine import Engine
from promorules.quote import Quote
from tests.fuzz.api_values import (
    SnapshotFields,
    cart_fields,
    context_fields,
    customer_fields,
    line_fields,
)
from tests.helpers import ALL_KINDS

ROOT = Path(__file__).resolve().parents[2]
RULESETS = (
    "rulesets/double11.toml",
    "rulesets/beauty-week.toml",
    "rulesets/examples/coupons.toml",
    "rulesets/examples/basket.toml",
    "rulesets/examples/flash.toml",
    "rulesets/examples/presale.toml",
)


@functools.cache
def setup(path: str) -> tuple[Engine, dict[str, Any]]:
    """The engine for ``path`` and what the strategies draw sound values from."""
    engine = Engine.from_toml(ROOT / path, plugins=ALL_KINDS)
    ruleset = engine.ruleset
    moments: list[datetime] = []
    for window in ruleset.campaign.phases.values():
        moments += [window.start, window.end, window.start + (window.end - window.start) / 2]
    codes = tuple(
        code
        for p in ruleset.promotions
        for code in (getattr(p.config, "code", None), *getattr(p.config, "codes", ()))
        if isinstance(code, str)
    )
    catalog = load_catalog(ROOT / "rulesets/catalog.csv", engine.currency)
    items = [
        {
            "sku": item.sku,
            "price": item.price or 0,
            "cost": item.cost or 0,
            "category": item.category,
            "brand": item.brand,
            "merchant": item.merchant,
            "tags": item.tags,
            "title": item.title,
        }
        for item in catalog.values()
    ]
    segments = tuple(sorted({s for p in ruleset.promotions for s in p.segments}))
    facts = {
        "moments": moments,
        "codes": codes,
        "promotions": tuple(p.id for p in ruleset.promotions),
        "keys": [spec.key for spec in engine.counters],
        "items": items,
        "segments": segments,
    }
    return engine, facts


FIELDS = {
    Line: "Line.",
    Customer: "Customer.",
    Cart: "Cart",
    Context: "Context.",
    Snapshot: "Snapshot.",
}


def build(cls: type, fields: dict[str, Any]) -> Any:
    """``cls(**fields)``, or None when it refuses them as it should: a TypeError or
    ValueError whose message names the class and field. Anything else propagates."""
    try:
        return cls(**fields)
    except (TypeError, ValueError) as exc:
        if currently_in_test_context():  # statistics of a long run: who refused what
            event(f"refused by {FIELDS[cls].rstrip('.')}")
        message = str(exc)
        assert message.startswith(FIELDS[cls]) or f" {FIELDS[cls]}" in message, message
        assert len(message) < 400, message[:400]
        return None


def money_figures(quote: Quote) -> Iterable[tuple[str, object]]:
    """Every money figure a quote holds, named."""
    yield from (
        ("payable", quote.payable),
        ("list_total", quote.list_total),
        ("goods_payable", quote.goods_payable),
        ("shipping_fee", quote.shipping_fee),
        ("shipping_payable", quote.shipping_payable),
        ("discount_total", quote.discount_total),
        ("cost_total", quote.cost_total),
        ("due_now", quote.due_now),
    )
    yield from ((f"by_promotion[{k}]", v) for k, v in quote.discounts_by_promotion.items())
    yield from ((f"by_funder[{k}]", v) for k, v in quote.discounts_by_funder.items())
    yield from ((f"consumption[{k}]", v) for k, v in quote.consumption)
    for i, ql in enumerate(quote.lines):
        for name in ("quantity", "unit_price", "unit_cost", "list_amount", "payable", "cost"):
            yield f"lines[{i}].{name}", getattr(ql, name)
        for a in ql.adjustments:
            yield f"lines[{i}].adjustment", a.amount
            yield from ((f"lines[{i}].funding", v) for v in a.funding.values())
    for e in quote.explanations:
        yield f"explanation[{e.promotion}].amount", e.amount
        yield f"explanation[{e.promotion}].base", e.base
    for c in quote.codes:
        yield f"code[{c.code}].amount", c.amount
    for f in quote.guardrail.floors:
        yield f"floor[{f.name}].trimmed", f.trimmed
    yield from ((f"trims[{k}]", v) for k, v in quote.guardrail.trims.items())
    for p in quote.payments:
        yield f"payment[{p.label}]", p.amount


def check(quote: Quote) -> None:
    for name, value in money_figures(quote):
        assert type(value) is int, f"{name} is {type(value).__name__} {value!r}"
    assert quote.payable >= 0
    assert quote.payable + quote.discount_total >= 0
    # strict JSON: no NaN or infinity, nothing json cannot write
    json.dumps(quote.to_dict(), allow_nan=False)


@given(st.data())
def test_hostile_api_values_are_refused_or_priced_in_integers(data: st.DataObject) -> None:
    engine, facts = setup(data.draw(st.sampled_from(RULESETS)))
    hostile = data.draw(st.booleans())
    count = data.draw(st.integers(1, 4))
    lines = [build(Line, data.draw(line_fields(facts["items"], hostile))) for _ in range(count)]
    customer = build(Customer, data.draw(customer_fields(facts["segments"], hostile)))
    fields = data.draw(
        context_fields(
            facts["moments"], facts["codes"], facts["promotions"], facts["keys"], hostile
        )
    )
    if isinstance(fields["availability"], SnapshotFields):
        fields["availability"] = build(Snapshot, fields["availability"]._asdict())
        if fields["availability"] is None:
            return
    context = build(Context, fields)
    if None in lines or customer is None:
        return
    cart = build(
        Cart, {"lines": lines, "customer": customer, **data.draw(cart_fields("CNY", hostile))}
    )
    if cart is None or context is None or cart.currency != engine.currency:
        return
    check(engine.price(cart, context))
    event("priced")


def test_the_issues_examples_are_refused() -> None:
    """The values the issue names, pinned (each gave wrong money or a late error)."""
    for fields in (
        {"sku": "A", "quantity": 1, "unit_price": 99.99},
        {"sku": "A", "quantity": 1, "unit_price": float("inf")},
        {"sku": "A", "quantity": True, "unit_price": 100},
        {"sku": "A", "quantity": 1.0, "unit_price": 100},
        {"sku": "A", "quantity": 1, "unit_price": 100, "tags": "abc"},
    ):
        assert build(Line, fields) is None
    assert build(Customer, {"id": "c", "segments": "member"}) is None
    at = datetime(2026, 11, 11, 10) + timedelta(0)
    assert build(Context, {"at": at.isoformat() + "+08:00"}) is None
    assert build(Context, {"at": at, "coupons": "SAVE20"}) is None
