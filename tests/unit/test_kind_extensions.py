"""Optional parts of the kind contract: implicit groups and presented-code findings."""

from __future__ import annotations

import types

from promorules import hookimpl
from promorules.kind import Lane
from promorules.quote import Status
from promorules.ruleset import Promotion
from promorules_plugins.tiered import Tiered
from tests.helpers import cart, ctx, engine, line, yuan


class OnePerLane(Tiered):
    """Tiered, except that promotions without a group share one group per lane."""

    name = "one_per_lane"

    def implicit_group(self, promotion: Promotion, lane: Lane) -> str | None:
        return f"one_per_lane:{lane.value}"


@hookimpl
def promorules_register_kinds(register: object) -> None:
    assert callable(register)
    register(OnePerLane())


ONE_PER_LANE = types.SimpleNamespace(promorules_register_kinds=promorules_register_kinds)


def body(kind: str, extra: str = "") -> str:
    return (
        f'[[promotion]]\nid = "a"\nkind = "{kind}"\nthreshold = "100"\noff = "10"\n{extra}\n'
        f'[[promotion]]\nid = "b"\nkind = "{kind}"\nthreshold = "100"\noff = "30"\n{extra}\n'
    )


def test_implicit_group_keeps_the_best_of_a_kind() -> None:
    quote = engine(body("one_per_lane"), plugins=[ONE_PER_LANE]).price(
        cart(line("x", 1, "200")), ctx()
    )
    # 10 off and 30 off share the implicit group: only the 30 applies
    assert quote.discount_total == yuan("30")
    assert quote.explanation("a").status is Status.NOT_APPLIED
    assert quote.explanation("a").reason == "lost-to-exclusive-group"


def test_a_declared_group_overrides_the_implicit_one() -> None:
    text = (
        '[[promotion]]\nid = "a"\nkind = "one_per_lane"\nthreshold = "100"\noff = "10"\n'
        'group = "own-a"\n'
        '[[promotion]]\nid = "b"\nkind = "one_per_lane"\nthreshold = "100"\noff = "30"\n'
        'group = "own-b"\n'
    )
    quote = engine(text, plugins=[ONE_PER_LANE]).price(cart(line("x", 1, "200")), ctx())
    assert quote.discount_total == yuan("40")


def test_kinds_without_an_implicit_group_stack_as_before() -> None:
    quote = engine(body("tiered")).price(cart(line("x", 1, "200")), ctx())
    assert quote.discount_total == yuan("40")
