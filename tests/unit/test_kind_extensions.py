"""Optional parts of the kind contract: implicit groups and presented-code findings."""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import ClassVar

import attrs

from promorules import hookimpl
from promorules.interpret import evaluator
from promorules.kind import (
    CodeMatch,
    CodeMatcher,
    CompileEnv,
    Evaluator,
    Kind,
    Lane,
    NotApplied,
    Offer,
    PricingState,
    Reason,
)
from promorules.money import allocate
from promorules.quote import Quote, Status
from promorules.ruleset import Amount, Promotion
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


# -- presented codes ---------------------------------------------------------------------


@attrs.frozen
class CodedConfig:
    code: str
    off: Amount


class Coded(Kind):
    """Fixed amount off the lines in scope when the customer presents ``code``."""

    name = "coded"
    config_type = CodedConfig
    lanes = (Lane.PLATFORM,)

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        config: CodedConfig = promotion.config

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            if config.code not in state.coupons:
                return NotApplied(Reason.NOT_PRESENTED)
            weights = [state.amounts[i] for i in lines]
            off = min(config.off, sum(weights))
            return Offer(list(lines), allocate(off, weights), codes=(config.code,))

        return evaluate

    def code_matcher(self, promotion: Promotion, env: CompileEnv) -> CodeMatcher | None:
        code: str = promotion.config.code

        def match(presented: str) -> CodeMatch | None:
            if presented == code:
                return CodeMatch.EXACT
            same_length = len(presented) == len(code)
            if same_length and sum(a != b for a, b in zip(presented, code, strict=True)) == 1:
                return CodeMatch.MISTYPED
            return None

        return match


@hookimpl(specname="promorules_register_kinds")
def register_coded(register: object) -> None:
    assert callable(register)
    register(Coded())


CODED = types.SimpleNamespace(promorules_register_kinds=register_coded)

CODED_RULES = """
[[promotion]]
id = "save10"
kind = "coded"
code = "SAVE10"
off = "10"

[[promotion]]
id = "old"
kind = "coded"
code = "OLD5"
off = "5"
window = { start = 2026-10-01T00:00:00, end = 2026-10-31T23:59:59 }

[[promotion]]
id = "later"
kind = "coded"
code = "LATER5"
off = "5"
window = { start = 2026-12-01T00:00:00, end = 2026-12-31T23:59:59 }
"""


def coded_quote(*codes: str) -> Quote:
    return engine(CODED_RULES, plugins=[CODED]).price(cart(line("x", 1, "100")), ctx(coupons=codes))


def test_every_presented_code_is_accounted_for() -> None:
    quote = coded_quote(" save-10 ", "SAVE1O", "NOPE", "old5", "LATER5")
    found = {f.code: f for f in quote.codes}
    assert [f.code for f in quote.codes] == ["SAVE10", "SAVE1O", "NOPE", "OLD5", "LATER5"]
    assert found["SAVE10"].status is Status.APPLIED
    assert found["SAVE10"].amount == yuan("10")
    assert found["SAVE10"].promotion == "save10"
    assert found["SAVE1O"].reason == "code-mistyped"
    assert found["SAVE1O"].promotion == "save10"
    assert found["NOPE"].reason == "code-unknown"
    assert found["NOPE"].promotion is None
    assert found["OLD5"].reason == "expired"
    assert found["LATER5"].reason == "not-yet-valid"
    assert quote.payable == yuan("90")


def test_codes_are_in_the_quote_dict_and_never_raw() -> None:
    quote = coded_quote("\x1b[31msave10\n")
    data = quote.to_dict()["codes"]
    assert data == [
        {
            "code": "31MSAVE10",
            "promotion": None,
            "title": "",
            "status": "not-applied",
            "amount": "0.00",
            "reason": "code-unknown",
            "notes": [],
            "message": "no promotion has this code",
        }
    ]


def test_no_codes_no_findings() -> None:
    assert coded_quote().codes == ()


class Watched(Tiered):
    """Tiered, noting whether the engine asked for explanations on each call."""

    name = "watched"
    seen: ClassVar[list[bool]] = []

    def rule(self, promotion: Promotion, env: CompileEnv) -> None:  # type: ignore[override]
        return None  # priced through compile, so the calls can be watched

    def compile(self, promotion: Promotion, env: CompileEnv) -> Evaluator:
        inner = evaluator(Tiered().rule(promotion, env), env)

        def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
            Watched.seen.append(state.explain)
            return inner(state, lines)

        return evaluate


@hookimpl(specname="promorules_register_kinds")
def register_watched(register: object) -> None:
    assert callable(register)
    register(Watched())


WATCHED = types.SimpleNamespace(promorules_register_kinds=register_watched)


def test_explanations_are_worked_out_once_and_only_when_read() -> None:
    Watched.seen.clear()
    eng = engine(body("watched"), plugins=[WATCHED])
    quote = eng.price(cart(line("x", 1, "150")), ctx(coupons=("NOPE",)))
    assert Watched.seen == [False, False]  # the figures alone
    assert quote.payable == yuan("110")
    assert Watched.seen == [False, False]
    assert (
        quote.explanation("b").message
        == eng.explained(cart(line("x", 1, "150")), ctx(coupons=("NOPE",))).explanation("b").message
    )
    assert Watched.seen == [False, False, True, True, True, True]  # once for the quote
    assert quote.codes[0].reason == "code-unknown"
    assert len(quote.explanations) == 2
    assert Watched.seen == [False, False, True, True, True, True]
