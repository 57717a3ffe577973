"""Without a catalogue, a declared category stands for every cost its margin allows."""

from __future__ import annotations

from promorules.engine import Engine
from promorules.validate.bounds import Bounds, floors_of
from promorules.validate.space import build_space
from promorules_plugins import tiered

RULESET = {
    "campaign": {"name": "x", "currency": "CNY", "timezone": "Asia/Shanghai"},
    "guardrails": {"min_line_margin": "1%", "on_breach": "clamp"},
    "catalog": {
        "categories": {"beauty": {"margin": "0%", "min_price": "0.05", "max_price": "1.00"}}
    },
    "promotion": [
        {
            "id": "deep",
            "kind": "tiered",
            "lane": "item",
            "mode": "every",
            "threshold": "1.00",
            "off": "0.99",
        }
    ],
}


def test_a_low_declared_margin_does_not_hide_the_skus_that_hold_the_floor() -> None:
    # Declared margin 0% (cost up to the price) sits below the 1% line floor, so the
    # costliest sku is a loss leader the floor leaves out; but a sku costing 0.01 at 1.00
    # holds the floor at list and every 1.00 off 0.99 takes it to 0.01, below cost:
    # the line floor must not be PROVEN (found by the soundness property, CI profile).
    engine = Engine.from_dict(RULESET, plugins=[tiered])
    space = build_space(engine, None, max_lines=4, max_quantity=4)
    (claim,) = [Bounds(engine, space).claim(f) for f in floors_of(engine.ruleset)]
    assert not claim.proven
