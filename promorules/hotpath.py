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

A promotion whose kind gives a :class:`~promorules.kind.Source` (``Kind.source``) is
written in as its source: its figures computed and applied in place, without a call, an
:class:`~promorules.kind.Offer` or a second loop over it; the others' evaluators are
called as they are. ``tests/unit/test_sources.py`` holds every built-in source to its
evaluator. The function returns ``(adjustments, gifts, consumption, deposit schedule,
shipping fee left)``, what ``Engine._walk`` returns.
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Callable
from string import Template
from typing import TYPE_CHECKING, Any

from promorules.diagnostics import PromorulesError
from promorules.kind import Lane, Offer, Source
from promorules.pricelane import apply_prices
from promorules.stacking import resolve

if TYPE_CHECKING:
    from promorules.engine import Engine
    from promorules.plan import Compiled, Plan

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
    writer = _Writer(engine, plan, check_paused)
    return writer.write(), writer.names


class _Writer:
    """Writes one plan's hot-path function, lane by lane.

    A lane is written in one of three ways:

    - *lowest price* (a price lane whose promotions all give a ``unit_price`` source, with
      no groups, budgets or priority choice): each line's lowest price is kept in a dict
      as the promotions are looked at, then given;
    - *as it goes* (a lane of discounts without exclusive groups to resolve or budgets): each
      promotion's discounts are applied as soon as they are made, every promotion
      measuring on a copy of the lane-start amounts (the same as making every offer
      first: each reads only that copy, and offers apply in lane order). Sources run
      inline; called evaluators' offers are applied at once and kept for ``settle`` only
      if they leave gifts, counters or deposits;
    - *collected* (the rest): every offer is made, then groups resolved, offers applied
      (``apply_prices`` in the price lane), settled and budgets applied, as the walk does.
    """

    def __init__(self, engine: Engine, plan: Plan, check_paused: bool) -> None:
        self.engine = engine
        self.plan = plan
        self.check_paused = check_paused
        self.targeted = any(c.line_filter is not None for c in plan.slots)
        self.names: dict[str, Any] = {
            "Offer": Offer,
            "resolve": resolve,
            "apply_prices": apply_prices,
            "settle": engine._settle,
            "apply_budgets": engine._apply_budgets,
            "apply_funder_budgets": engine._apply_funder_budgets,
            "BY_PRIORITY": engine._by_priority,
        }
        self.out: list[str] = []

    def emit(self, depth: int, text: str) -> None:
        self.out.append("    " * depth + text)

    def write(self) -> str:
        emit = self.emit
        emit(0, f"def hot(state, scopes, unredeemed{', paused' if self.check_paused else ''}):")
        emit(1, "amounts = state.amounts")
        emit(1, "adjustments = []")
        emit(1, "append = adjustments.append")
        emit(1, "gifts = []")
        emit(1, "consumes = []")
        emit(1, "schedule = []")
        emit(1, "shipping = state.shipping")
        emit(1, "n = len(amounts)")
        if any(self.plan.everywhere):
            emit(1, "every_line = list(range(n))  # shared by the untargeted, never changed")
        if self.targeted:
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
        for position, lane in enumerate(self.plan.lanes):
            if lane:
                self._lane(position, lane)
        if self.engine._funder_budget_keys:
            emit(1, "if adjustments:")
            emit(
                2, "shipping += apply_funder_budgets(adjustments, amounts, state.availability, {})"
            )
        emit(1, "return adjustments, gifts, consumes, schedule, shipping")
        return "\n".join(self.out) + "\n"

    def _lane(self, position: int, lane: list[Compiled]) -> None:
        emit = self.emit
        everywhere = set(self.plan.everywhere[position])
        thresholds = {k: lane[k].kind.threshold(lane[k].promotion) for k in everywhere}
        groups = [c.group for c in lane if c.group is not None]
        resolves = len(set(groups)) < len(groups)  # two promotions of the lane in one group
        budgets = any(c.budget is not None for c in lane)
        if lane[0].lane is Lane.PRICE:
            fused = False
            prices = (
                not resolves
                and not budgets
                and not self.engine._by_priority
                and all(c.source is not None and c.source.unit_price for c in lane)
            )
        else:
            fused = not resolves and not budgets
            prices = False
        how = " (applied as it goes)" if fused else " (the lowest unit price)" if prices else ""
        emit(1, f"# lane {lane[0].lane.value}{how}")
        emit(1, "state.shipping = shipping")
        if not prices:  # a lowest-price lane makes no offers
            emit(1, "offers = []")
        if prices:
            emit(1, "list_unit = state.list_unit")
            emit(1, "best = {}  # line -> (the lowest unit price offered, its promotion)")
        if fused:
            emit(1, "base = amounts[:]  # the lane-start amounts, what every promotion reads")
            emit(1, "state.amounts = base")
        # what the promotions on every line measure (and their sources' $base)
        if any(thresholds.values()) or (fused and any(lane[k].source for k in everywhere)):
            emit(1, "total = sum(amounts)")
        for k, compiled in enumerate(lane):
            slot = self.plan.offsets[position] + k
            lines, depth = self._reach(compiled, slot, k in everywhere, thresholds.get(k, 0))
            source = compiled.source
            if prices:
                assert source is not None
                self._lowest_price(compiled, source, slot, lines, depth)
            elif fused and source is not None:
                self._inline(compiled, source, slot, lines, depth)
            else:
                self._call(compiled, slot, lines, depth, fused)
        if prices:  # as apply_prices settles such offers: lines in the order first named
            emit(1, "if best:")
            emit(2, "qty = state.qty")
            emit(2, "for i, (price, index) in best.items():")
            emit(3, "amount = (list_unit[i] - price) * qty[i]")
            self._give(3, "index")
        elif fused:
            emit(1, "state.amounts = amounts")
            emit(1, "if offers:")
            emit(2, "settle(offers, state, gifts, consumes, schedule, {})")
        else:
            emit(1, "if offers:")
            if resolves:
                emit(2, "if len(offers) > 1:")
                emit(3, "offers = resolve(offers, None)")
            if lane[0].lane is Lane.PRICE:
                emit(
                    2, "apply_prices(offers, state, adjustments, None, None, consumes, BY_PRIORITY)"
                )
            else:
                # each line capped at what is left of it, nothing moved to another line
                emit(2, "for compiled, offer in offers:")
                self._apply(3, "compiled.index", "offer.lines", "offer.amounts", "offer")
            emit(2, "settle(offers, state, gifts, consumes, schedule, {})")
            if budgets:
                budget = "apply_budgets(offers, adjustments, amounts, state.availability, {})"
                emit(2, f"shipping += {budget}")

    def _reach(
        self, compiled: Compiled, slot: int, everywhere: bool, threshold: int
    ) -> tuple[str, int]:
        """Look up the lines of ``compiled`` and open the test that it may give anything
        (it has lines, is redeemed, not paused, its lines reach its threshold); returns
        the name of its lines and the depth its code is written at."""
        emit = self.emit
        self.names[f"c{slot}"] = compiled
        self.names[f"e{slot}"] = compiled.evaluate
        self.names[f"p{slot}"] = compiled.promotion.id
        without_lines = compiled.kind.without_lines
        conditions = []
        if everywhere:
            lines = "every_line"
            if not without_lines:
                conditions.append("n")
            if threshold:
                conditions.append(f"total >= {threshold}")
        else:
            lines = f"s{slot}"
            emit(1, f"s{slot} = by_slot.get({slot})" if self.targeted else f"s{slot} = None")
            if without_lines:
                emit(1, f"if s{slot} is None:")
                emit(2, f"s{slot} = []")
            else:
                conditions.append(f"s{slot} is not None")
        if compiled.index in self.engine._coded:
            conditions.append(f"{compiled.index} not in unredeemed")
        if self.check_paused:
            conditions.append(f"not paused(p{slot})")
        emit(1, f"# {compiled.promotion.id!r} ({compiled.promotion.kind!r})")
        if not conditions:
            return lines, 1
        emit(1, f"if {' and '.join(conditions)}:")
        return lines, 2

    def _lowest_price(
        self, compiled: Compiled, source: Source, slot: int, lines: str, depth: int
    ) -> None:
        """Keep the price ``source`` offers each line when it is the lowest so far (ties
        to the earlier promotion)."""
        emit = self.emit
        emit(depth, f"for i in {lines}:")
        emit(depth + 1, f"price = {self._substitute(source, slot, lines)[0]}")
        emit(depth + 1, "if price is not None and price < list_unit[i]:")
        emit(depth + 2, "found = best.get(i)")
        emit(depth + 2, "if found is None or price < found[0]:")
        emit(depth + 3, f"best[i] = (price, {compiled.index})")

    def _inline(
        self, compiled: Compiled, source: Source, slot: int, lines: str, depth: int
    ) -> None:
        """``source``'s figures, applied as they are made."""
        emit = self.emit
        index = str(compiled.index)
        if source.each:
            emit(depth, f"for i in {lines}:")
            emit(depth + 1, f"amount = {self._substitute(source, slot, lines)[0]}")
            self._give(depth + 1, index)
            return
        if lines == "every_line":  # the lane's own copy and sum
            weights, base = "base", "total"
        else:
            weights, base = f"w{slot}", f"b{slot}"
            emit(depth, f"{weights} = [base[i] for i in {lines}]")
            emit(depth, f"{base} = sum({weights})")
        for text in self._substitute(source, slot, lines, weights, base):
            emit(depth, text)
        if _NAMES_OFF.search(source.code):
            emit(depth, "if off is not None:")
            self._apply(depth + 1, index, lines, "off")
        if source.shipping:
            self._shipping(depth, index, "shipping_off")
        if source.settles:
            emit(depth, "if extra is not None:")
            emit(depth + 1, f"offers.append((c{slot}, extra))")

    def _call(self, compiled: Compiled, slot: int, lines: str, depth: int, fused: bool) -> None:
        """Call the evaluator: its offer is collected, or (``fused``) applied at once and
        kept for ``settle`` only if it leaves more than discounts."""
        emit = self.emit
        emit(depth, f"r = e{slot}(state, {lines})")
        emit(depth, "if r.__class__ is Offer:")
        if not fused:
            emit(depth + 1, f"offers.append((c{slot}, r))")
            return
        self._apply(depth + 1, str(compiled.index), "r.lines", "r.amounts", "r")
        emit(depth + 1, "if r.gifts or r.consumes or r.deposits:")
        emit(depth + 2, f"offers.append((c{slot}, r))")

    def _apply(
        self, depth: int, index: str, lines: str, given: str, offer: str | None = None
    ) -> None:
        """Apply the discounts ``given`` (parallel to ``lines``) for promotion ``index``,
        each capped at what is left of its line, nothing moved to another line; and the
        shipping off of ``offer``, if named."""
        strict = ", strict=True" if offer is not None else ""  # a kind's offer is checked
        self.emit(depth, f"for i, amount in zip({lines}, {given}{strict}):")
        self._give(depth + 1, index)
        if offer is not None:
            self._shipping(depth, index, f"{offer}.shipping_off")

    def _shipping(self, depth: int, index: str, off: str) -> None:
        """Take ``off`` off the shipping fee for promotion ``index``, capped at what is left."""
        emit = self.emit
        emit(depth, f"off = {off}")
        emit(depth, "if off:")
        emit(depth + 1, "if off > shipping:")
        emit(depth + 2, "off = shipping")
        emit(depth + 1, "if off > 0:")
        emit(depth + 2, "shipping -= off")
        emit(depth + 2, f"append([{index}, -1, off])")

    def _give(self, depth: int, index: str) -> None:
        """Give ``amount`` off line ``i`` for promotion ``index``, capped at what is left."""
        emit = self.emit
        emit(depth, "left = amounts[i]")
        emit(depth, "if amount > left:")
        emit(depth + 1, "amount = left")
        emit(depth, "if amount > 0:")
        emit(depth + 1, "amounts[i] = left - amount")
        emit(depth + 1, f"append([{index}, i, amount])")

    def _substitute(
        self, source: Source, slot: int, lines: str, weights: str = "", base: str = ""
    ) -> list[str]:
        """The lines of ``source`` for the promotion in ``slot``, its names substituted
        (``weights`` and ``base``: what ``$weights`` and ``$base`` stand for, in a block)."""
        return substitute(source, slot, lines, self.names, weights, base)


def substitute(
    source: Source,
    slot: int,
    lines: str,
    names: dict[str, Any],
    weights: str = "",
    base: str = "",
) -> list[str]:
    """The lines of ``source`` for the promotion in ``slot``, ready to emit: the engine's
    names substituted, the kind's names made globals (added to ``names``), the block's
    own names made its locals. A name an expression does not know is a ValueError."""
    fixed = {
        "lines": lines,
        "amounts": "base",
        "state": "state",
        "i": "i",
    }
    if source.code:
        fixed.update(
            weights=weights, base=base, off="off", shipping_off="shipping_off", settle="extra"
        )
    for key, value in source.names.items():
        names[f"k{slot}_{key}"] = value
        fixed[key] = f"k{slot}_{key}"
    text = source.code or source.each or source.unit_price
    try:
        code = Template(textwrap.dedent(text)).substitute(_Names(slot, fixed, bool(source.code)))
    except (KeyError, ValueError) as error:
        raise ValueError(f"a source names what it may not: {error} in {text!r}") from None
    return [line for line in code.splitlines() if line.strip()]


def check_source(source: Source, promotion: str, kind: str) -> None:
    """Compile ``source`` on its own, as the hot path would write it, so that a kind's
    source which does not compile is refused when the engine is built, naming the
    promotion, rather than when a cart first reaches its plan."""
    names: dict[str, Any] = {}
    try:
        if source.code:
            body = substitute(source, 0, "lines", names, "weights", "total")
        else:
            body = ["value = " + substitute(source, 0, "lines", names)[0]]
        text = "def check(state, lines, base, weights, total, i):\n"
        _compile_check(text + "".join(f"    {line}\n" for line in body))
    except (SyntaxError, ValueError) as error:
        raise PromorulesError(
            f"promotion {promotion!r}: kind {kind!r} gives a source that does not compile: {error}"
        ) from None


@functools.lru_cache(maxsize=1024)
def _compile_check(text: str) -> None:
    """Compile once per distinct text: the promotions of one kind and shape give the
    same text (their figures are names, not literals), and compiling it again for each
    of 1,000 promotions took half of building their engine. Errors are not cached."""
    compile(text, "<source>", "exec")


_NAMES_OFF = re.compile(r"\$(off|\{off\})(?!\w)")
"""Whether a source block names ``$off`` (a block that never does gives no discount)."""


class _Names(dict[str, str]):
    """A source's substitutions: the engine's own and the kind's names, and (in a block)
    any other name as a local of the block's own, suffixed with its slot."""

    def __init__(self, slot: int, fixed: dict[str, str], block: bool) -> None:
        super().__init__(fixed)
        self.slot = slot
        self.block = block

    def __missing__(self, key: str) -> str:
        if not self.block:
            raise KeyError(key)
        return f"_{key}_{self.slot}"


def build_hot_path(engine: Engine, plan: Plan, check_paused: bool) -> HotPath:
    """Compile ``plan``'s hot-path function (see :func:`hot_path_source`)."""
    source, names = hot_path_source(engine, plan, check_paused)
    exec(compile(source, "<promorules hot path>", "exec"), names)  # our own source only
    hot: HotPath = names["hot"]
    return hot
