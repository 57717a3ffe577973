"""The two kinds docs/plugins.md shows run as written and price as they say."""

from __future__ import annotations

import re
import sys
import types
from fractions import Fraction
from pathlib import Path

from promorules.engine import Engine
from tests.helpers import HEADER, cart, ctx, line, yuan

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def example(marker: str) -> types.ModuleType:
    """The python block of docs/plugins.md holding ``marker``, run as a plugin module."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    (source,) = [b for b in blocks if marker in b]
    assert len(source.splitlines()) < 60  # a kind in under 60 lines, as the docs promise
    name = "docs_plugin_" + re.sub(r"\W", "", marker)
    module = types.ModuleType(name)
    sys.modules[name] = module  # where attrs and cattrs look its annotations up
    exec(compile(source, str(DOC), "exec"), module.__dict__)
    return module


def test_the_kind_written_against_the_model() -> None:
    plugin = example("class StoreDeal(")
    rules = Engine.from_string(
        HEADER + '[[promotion]]\nid = "deal"\nkind = "store_deal"\n'
        'threshold = "100"\npercent = "10%"\ncap = "15"\n',
        plugins=[plugin],
    )
    basket = cart(
        line("a", 1, "120.00", merchant="m1"),  # m1: 120.00 -> 12.00
        line("b", 1, "200.00", merchant="m2"),  # m2: 20.00 capped at 15.00
        line("c", 1, "50.00", merchant="m3"),  # m3: below 100.00
    )
    for quote in (rules.price(basket, ctx()), rules.explained(basket, ctx())):
        assert [ql.discount for ql in quote.lines] == [yuan("12"), yuan("15"), 0]
    assert rules.bound(0).line_rate == Fraction(1, 10)


def test_the_kind_with_its_own_evaluator_and_bound() -> None:
    plugin = example("class Cashback(")
    rules = Engine.from_string(
        HEADER + '[[promotion]]\nid = "cb"\nkind = "cashback"\noff = "10"\n', plugins=[plugin]
    )
    quote = rules.price(cart(line("a", 1, "30.00"), line("b", 1, "10.00")), ctx())
    assert [ql.discount for ql in quote.lines] == [yuan("7.50"), yuan("2.50")]
    assert rules.bound(0).cap == yuan("10")
