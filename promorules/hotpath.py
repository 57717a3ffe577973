"""The hot path: one activation plan's lanes written out as one Python function.

:meth:`Engine.price <promorules.engine.Engine.price>` wants the figures alone (each
promotion's explanation is worked out later, only if the quote is asked for it). For
that pass the engine writes, once per activation plan, the walk over the plan's lanes as
straight-line Python source and compiles it: every promotion of the plan becomes a few
lines that know its slot, whether it is targeted or covers every line, whether it is
redeemed by codes (``Kind.code_matcher``), what its lines must come to before it can give
anything (``Kind.threshold``, checked for promotions covering every line), whether its
lane has exclusive groups or budgets. What the generic walk (``Engine._walk``) decides
per cart, promotion by promotion, is decided here when the plan is first used.

The generic walk stays the definition of a pass: it prices every cart asked to explain,
and every cart this module does not cover (a guardrail ``reject`` re-pricing without the
rejected promotions, a ruleset with ``not_with`` pairs, a plan of more than
:data:`HOT_PATH_LIMIT` promotions). The property suites check that
both give the same figures, to the minor unit, on random rulesets of every kind.

Evaluators are called as they are (the kind contract does not change); the function
returns ``(adjustments, gifts, consumption, deposit schedule, shipping fee left)``, what
``Engine._walk`` returns.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from string import Template
from typing import TYPE_CHECKING, Any

from promorules.kind import Lane, Offer, Source
from promorules.pricelane import apply_prices
from promorules.stacking import resolve

if TYPE_CHECKING:
    from promorules.engine import Engine
    from promorules.plan import Plan

HotPath = Callable[..., tuple[Any, ...]]

HOT_PATH_LIMIT = 128
"""Plans of more promotions are priced by the generic walk. The compiled function looks
at each of the plan's promotions on every cart, the walk only at those the cart reaches:
with 10-line carts reaching 10 of them, the two cost the same near 200 promotions (31 us),
and compiling a plan of 500 takes 22 ms."""


def hot_path_source(engine: Engine, plan: Plan, check_paused: bool) -> tuple[str, dict[str, Any]]:
    """The source of ``plan``'s hot-path function and the names it reads. With
    ``check_paused`` it asks ``paused(promotion id)`` before each promotion (carts priced
    against a ledger snapshot); without, it takes no ``paused`` argument."""
    names: dict[str, Any] = {
        "Offer": Offer,
        "resolve": resolve,
        "apply_prices": apply_prices,
        "settle": engine._settle,
        "apply_budgets": engine._apply_budgets,
        "apply_funder_budgets": engine._apply_funder_budgets,
        "BY_PRIORITY": engine._by_priority,
    }
    out: list[str] = []

    def emit(depth: int, text: str) -> None:
        out.append("    " * depth + text)

    targeted = any(c.line_filter is not None for c in plan.slots)
    emit(0, f"def hot(state, scopes, unredeemed{', paused' if check_paused else ''}):")
    emit(1, "amounts = state.amounts")
    emit(1, "adjustments = []")
    emit(1, "append = adjustments.append")
    emit(1, "gifts = []")
    emit(1, "consumes = []")
    emit(1, "schedule = []")
    emit(1, "shipping = state.shipping")
    emit(1, "n = len(amounts)")
    if any(plan.everywhere):
        emit(1, "every_line = list(range(n))  # shared by the untargeted, never changed")
    if targeted:
        emit(1, "# the lines in scope of each targeted promotion, by slot")
        emit(1, "if n == 1:")
        emit(2, "by_slot = dict.fromkeys(scopes[0], [0])")
        emit(1, "else:")
        emit(2, "by_slot = {}")
        emit(2, "for i, scope in enumerate(scopes):")
        emit(3, "for slot in scope:")
        emit(4, "found = by_slot.get(slot)")
        emit(4, "if found is None:")
        emit(5, "by_slot[slot] = [i]")
        emit(4, "else:")
        emit(5, "found.append(i)")
    for position, lane in enumerate(plan.lanes):
        if not lane:
            continue
        everywhere = set(plan.everywhere[position])
        thresholds = {k: lane[k].kind.threshold(lane[k].promotion) for k in everywhere}
        # exclusive groups to resolve: two promotions of the lane in one group
        groups = [c.group for c in lane if c.group is not None]
        resolves = len(set(groups)) < len(groups)
        budgets = any(c.budget is not None for c in lane)
        # a lane whose offers need not be seen together (no exclusive groups to resolve,
        # no budgets) applies each promotion's as soon as it is made, every promotion
        # measuring on a copy of the lane-start amounts; the kinds' sources run inline
        fused = (
            lane[0].lane is not Lane.PRICE
            and not resolves
            and not budgets
            and any(c.source is not None for c in lane)
        )
        # a price lane of unit prices on whole lines alone, the lowest winning (no
        # priorities, groups or budgets): each line's best price is found inline
        prices = (
            lane[0].lane is Lane.PRICE
            and not resolves
            and not budgets
            and not engine._by_priority
            and all(c.source is not None and c.source.unit_price for c in lane)
        )
        how = " (applied as it goes)" if fused else " (the lowest unit price)" if prices else ""
        emit(1, f"# lane {lane[0].lane.value}{how}")
        emit(1, "state.shipping = shipping")
        emit(1, "offers = []")
        if prices:
            emit(1, "list_unit = state.list_unit")
            emit(1, "best = {}  # line -> (the lowest unit price offered, its promotion)")
        if fused:
            emit(1, "base = amounts[:]  # the lane-start amounts, what every promotion reads")
            emit(1, "state.amounts = base")
        # what the promotions on every line measure (and their sources' $base)
        if any(thresholds.values()) or (
            fused and any(lane[k].source is not None for k in everywhere)
        ):
            emit(1, "total = sum(amounts)")
        for k, compiled in enumerate(lane):
            slot = plan.offsets[position] + k
            names[f"c{slot}"] = compiled
            names[f"e{slot}"] = compiled.evaluate
            names[f"p{slot}"] = compiled.promotion.id
            without_lines = compiled.kind.without_lines
            conditions = []
            if k in everywhere:
                lines = "every_line"
                if not without_lines:
                    conditions.append("n")
                if thresholds[k]:
                    conditions.append(f"total >= {thresholds[k]}")
            else:
                lines = f"s{slot}"
                emit(1, f"s{slot} = by_slot.get({slot})" if targeted else f"s{slot} = None")
                if without_lines:
                    emit(1, f"if s{slot} is None:")
                    emit(2, f"s{slot} = []")
                else:
                    conditions.append(f"s{slot} is not None")
            if compiled.index in engine._coded:
                conditions.append(f"{compiled.index} not in unredeemed")
            if check_paused:
                conditions.append(f"not paused(p{slot})")
            emit(1, f"# {compiled.promotion.id!r} ({compiled.promotion.kind!r})")
            depth = 1
            if conditions:
                emit(1, f"if {' and '.join(conditions)}:")
                depth = 2
            source = compiled.source
            if prices:  # every unit of each line at the lowest price, ties to the earlier
                assert source is not None
                emit(depth, f"for i in {lines}:")
                emit(depth + 1, f"price = {_inline(source, slot, lines, names)[0]}")
                emit(depth + 1, "if price is not None and price < list_unit[i]:")
                emit(depth + 2, "found = best.get(i)")
                emit(depth + 2, "if found is None or price < found[0]:")
                emit(depth + 3, f"best[i] = (price, {compiled.index})")
                continue
            if fused and source is not None:
                if source.each:
                    emit(depth, f"for i in {lines}:")
                    emit(depth + 1, f"amount = {_inline(source, slot, lines, names)[0]}")
                    _emit_give(emit, depth + 1, str(compiled.index))
                    continue
                if lines == "every_line":  # the lane's own copy and sum
                    weights, base = "base", "total"
                else:
                    weights, base = f"w{slot}", f"b{slot}"
                    emit(depth, f"{weights} = [base[i] for i in {lines}]")
                    emit(depth, f"{base} = sum({weights})")
                for text in _inline(source, slot, lines, names, weights, base):
                    emit(depth, text)
                if _names_off.search(source.code):
                    emit(depth, "if off is not None:")
                    _emit_apply(emit, depth + 1, str(compiled.index), lines, "off")
                if source.shipping:
                    _emit_shipping(emit, depth, str(compiled.index), "shipping_off")
                if source.settles:
                    emit(depth, "if extra is not None:")
                    emit(depth + 1, f"offers.append((c{slot}, extra))")
                continue
            emit(depth, f"r = e{slot}(state, {lines})")
            emit(depth, "if r.__class__ is Offer:")
            if fused:
                _emit_apply(emit, depth + 1, str(compiled.index), "r.lines", "r.amounts", "r")
                # settled with the lane (in lane order) only if it leaves more than discounts
                emit(depth + 1, "if r.gifts or r.consumes or r.deposits:")
                emit(depth + 2, f"offers.append((c{slot}, r))")
            else:
                emit(depth + 1, f"offers.append((c{slot}, r))")
        if prices:  # as apply_prices settles such offers: lines in the order first named
            emit(1, "if best:")
            emit(2, "qty = state.qty")
            emit(2, "for i, (price, index) in best.items():")
            emit(3, "amount = (list_unit[i] - price) * qty[i]")
            _emit_give(emit, 3, "index")
            continue
        if fused:
            emit(1, "state.amounts = amounts")
            emit(1, "if offers:")
            emit(2, "settle(offers, state, gifts, consumes, schedule, {})")
            continue
        emit(1, "if offers:")
        if resolves:
            emit(2, "if len(offers) > 1:")
            emit(3, "offers = resolve(offers, None)")
        if lane[0].lane is Lane.PRICE:
            emit(2, "apply_prices(offers, state, adjustments, None, None, consumes, BY_PRIORITY)")
        else:
            # each line capped at what is left of it, nothing moved to another line
            emit(2, "for compiled, offer in offers:")
            _emit_apply(emit, 3, "compiled.index", "offer.lines", "offer.amounts", "offer")
        emit(2, "settle(offers, state, gifts, consumes, schedule, {})")
        if budgets:
            emit(
                2, "shipping += apply_budgets(offers, adjustments, amounts, state.availability, {})"
            )
    if engine._funder_budget_keys:
        emit(1, "if adjustments:")
        emit(2, "shipping += apply_funder_budgets(adjustments, amounts, state.availability, {})")
    emit(1, "return adjustments, gifts, consumes, schedule, shipping")
    return "\n".join(out) + "\n", names


def _emit_apply(
    emit: Callable[[int, str], None],
    depth: int,
    index: str,
    lines: str,
    given: str,
    offer: str | None = None,
) -> None:
    """Apply the discounts ``given`` (parallel to ``lines``) for promotion ``index``, each
    capped at what is left of its line, nothing moved to another line; and the shipping
    off of ``offer``, if named."""
    strict = ", strict=True" if offer is not None else ""  # a kind's offer is checked
    emit(depth, f"for i, amount in zip({lines}, {given}{strict}):")
    _emit_give(emit, depth + 1, index)
    if offer is None:
        return
    _emit_shipping(emit, depth, index, f"{offer}.shipping_off")


def _emit_shipping(emit: Callable[[int, str], None], depth: int, index: str, off: str) -> None:
    """Take ``off`` off the shipping fee for promotion ``index``, capped at what is left."""
    emit(depth, f"off = {off}")
    emit(depth, "if off:")
    emit(depth + 1, "if off > shipping:")
    emit(depth + 2, "off = shipping")
    emit(depth + 1, "if off > 0:")
    emit(depth + 2, "shipping -= off")
    emit(depth + 2, f"append([{index}, -1, off])")


def _emit_give(emit: Callable[[int, str], None], depth: int, index: str) -> None:
    """Give ``amount`` off line ``i`` for promotion ``index``, capped at what is left."""
    emit(depth, "left = amounts[i]")
    emit(depth, "if amount > left:")
    emit(depth + 1, "amount = left")
    emit(depth, "if amount > 0:")
    emit(depth + 1, "amounts[i] = left - amount")
    emit(depth + 1, f"append([{index}, i, amount])")


_names_off = re.compile(r"\$(off|\{off\})(?!\w)")
"""Whether a source block names ``$off`` (a block that never does gives no discount)."""


class _Names(dict[str, str]):
    """A source block's substitutions: the engine's own, the kind's names (made globals
    of the hot path), and any other name as a local of the block's own."""

    def __init__(self, slot: int, fixed: dict[str, str]) -> None:
        super().__init__(fixed)
        self.slot = slot

    def __missing__(self, key: str) -> str:
        return f"_{key}_{self.slot}"


def _inline(
    source: Source,
    slot: int,
    lines: str,
    names: dict[str, Any],
    weights: str = "",
    base: str = "",
) -> list[str]:
    """The lines of ``source``'s block for the promotion in ``slot``, ready to emit;
    ``weights`` and ``base`` name what ``$weights`` and ``$base`` stand for."""
    fixed = {
        "weights": weights,
        "base": base,
        "lines": lines,
        "amounts": "base",
        "state": "state",
        "off": "off",
        "shipping_off": "shipping_off",
        "settle": "extra",
        "i": "i",
    }
    for key, value in source.names.items():
        names[f"k{slot}_{key}"] = value
        fixed[key] = f"k{slot}_{key}"
    text = source.code or source.each or source.unit_price
    code = Template(textwrap.dedent(text)).substitute(_Names(slot, fixed))
    return [text for text in code.splitlines() if text.strip()]


def build_hot_path(engine: Engine, plan: Plan, check_paused: bool) -> HotPath:
    """Compile ``plan``'s hot-path function (see :func:`hot_path_source`)."""
    source, names = hot_path_source(engine, plan, check_paused)
    exec(compile(source, "<promorules hot path>", "exec"), names)  # our own source only
    hot: HotPath = names["hot"]
    return hot
