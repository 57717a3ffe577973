"""The hot path: one activation plan's lanes written out as one Python function.

:meth:`Engine.price <promorules.engine.Engine.price>` wants the figures alone (each
promotion's explanation is worked out later, only if the quote is asked for it). For
that pass the engine writes, once per activation plan, the walk over the plan's lanes as
straight-line Python source and compiles it: every promotion of the plan becomes a few
lines that know its slot, whether it is targeted or covers every line, whether it is
redeemed by codes (``Kind.code_matcher``), what its lines must come to before it can give
anything (``Kind.threshold``, checked for promotions covering every line), whether its
lane has exclusive groups or budgets. What the generic walk (:func:`promorules.walk.walk`) decides
per cart, promotion by promotion, is decided here when the plan is first used.

A lane of more than :data:`HOT_PATH_LIMIT` promotions is written as a dispatch: each of
its promotions becomes a function of its own (a *step*, :func:`write_step`, the same code
the lane would hold inline), written when a cart first reaches it, and the plan's
function calls the steps of the promotions the cart reaches, in lane order. So a plan's
function costs what the cart reaches, not what the plan holds, and its size does not
grow with promotions no cart has reached.

The generic walk stays the definition of a pass: it prices every cart asked to explain,
and every cart this module does not cover (a guardrail ``reject`` re-pricing without the
rejected promotions, a cart carrying a deposit or a pass that schedules one).
``not_with`` pairs are written in: the lines a partner gave on are noted, and a
promotion leaves them out of its scope. The property suites check that both give the
same figures, to the minor unit, on random rulesets of every kind (and with every lane
dispatched).

A promotion whose kind states its rule in the model (:meth:`Kind.rule
<promorules.kind.Kind.rule>`) is written in from that rule: its figures computed and
applied in place, without a call, an :class:`~promorules.kind.Offer` or a second loop
over it; the others' evaluators (and the interpreter, for rules pooled per store or per
line, or counting uses) are called as they are. The writer is the one place rules become
code, and nothing from a ruleset reaches the source but integers (:func:`_int`) and,
in comments, promotion ids as ``repr`` (ids are checked when the ruleset loads): names
are the writer's own, and every other value (codes, price tables) is bound as a global
of the function. ``tests/property/test_model.py`` holds the written figures to the
interpreter's on random rules. The function returns ``(adjustments, gifts, consumption,
deposit schedule, shipping fee left)``, what :func:`promorules.walk.walk` returns; its source is
registered with :mod:`linecache`, so tracebacks and debuggers show it
(``promorules debug plan`` prints it).
"""

from __future__ import annotations

import itertools
import linecache
from bisect import bisect_left
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from promorules.budgets import apply_budgets
from promorules.interpret import split, unit_price
from promorules.kind import Lane, Offer
from promorules.model import (
    AmountOff,
    Cheapest,
    Every,
    GiveGifts,
    Leftover,
    Per,
    PercentOff,
    Pool,
    Rule,
    ShippingOff,
    Tiers,
    UnitPrice,
)
from promorules.money import Rounding, allocate, apply_rate
from promorules.pricelane import apply_prices
from promorules.stacking import Discounts, Pooled, resolve

if TYPE_CHECKING:
    from promorules.engine import Engine
    from promorules.plan import Compiled, Plan

HotPath = Callable[..., tuple[Any, ...]]
Step = Callable[..., Any]

HOT_PATH_LIMIT = 128
"""A lane of more promotions is written as a dispatch on the promotions a cart reaches
(each a step of its own); a smaller one inline, where each promotion costs a lookup on
every cart but no call."""


def hot_path_source(engine: Engine, plan: Plan, check_paused: bool) -> tuple[str, dict[str, Any]]:
    """The source of ``plan``'s hot-path function and the names it reads. With
    ``check_paused`` it asks ``paused(promotion id)`` before each promotion (carts priced
    against a ledger snapshot); without, it takes no ``paused`` argument."""
    writer = _Writer(engine, plan, check_paused)
    return writer.write(), writer.names


class _Writer:
    """Writes one plan's hot-path function, lane by lane.

    A lane is written in one of three ways:

    - *lowest price* (a price lane whose promotions are all rules of unit prices, with
      no groups, budgets or priority choice): each line's lowest price is kept in a dict
      as the promotions are looked at, then given;
    - *as it goes* (a lane of discounts without exclusive groups to resolve or budgets): each
      promotion's discounts are applied as soon as they are made, every promotion
      measuring on a copy of the lane-start amounts (the same as making every offer
      first: each reads only that copy, and offers apply in lane order). Rules are
      written inline; called evaluators' offers are applied at once and kept for ``settle`` only
      if they leave gifts, counters or deposits;
    - *collected* (the rest): every offer is made, then groups resolved, offers applied
      (``apply_prices`` in the price lane), settled and budgets applied, as the walk does.
    """

    def __init__(self, engine: Engine, plan: Plan | None, check_paused: bool) -> None:
        """``plan`` None: a writer of one promotion's step alone (:func:`write_step`)."""
        self.engine = engine
        self.plan = plan
        self.check_paused = check_paused
        slots = plan.slots if plan is not None else []
        limit = engine.hot_path_limit
        self.dispatched = [len(lane) > limit for lane in plan.lanes] if plan is not None else []
        """Per lane: whether it is written as a dispatch on the slots a cart reaches."""
        self.targeted = any(c.line_filter is not None for c in slots)
        # promotions some live promotion does not stack with: the lines they give on are
        # noted (``touched``), and a promotion with not_with partners leaves those out
        self.partners = frozenset(p for c in slots for p in c.not_with)
        self.names: dict[str, Any] = {
            "Offer": Offer,
            "Pooled": Pooled,
            "Discounts": Discounts,
            "resolve": resolve,
            "apply_prices": apply_prices,
            "settle": engine.settle,
            "apply_budgets": apply_budgets,
            "apply_funder_budgets": engine.funder_budgets.apply,
            "BY_PRIORITY": engine.price_by_priority,
            "allocate": allocate,
            "split": split,
            "rate": apply_rate,
            "unit_price": unit_price,
            "ROUNDING": engine.rounding,
            "PARTNERS": self.partners,
        }
        self.down = engine.rounding is Rounding.DOWN
        self.out: list[str] = []

    @property
    def whole(self) -> Plan:
        """The plan written (a rule's writer writes none)."""
        assert self.plan is not None, "a writer of one rule's figures writes no plan"
        return self.plan

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
        everywhere = any(self.whole.everywhere)
        by_slot = self.targeted or any(self.dispatched)
        if not self.partners and any(self.dispatched):
            emit(1, "touched = None  # no live promotion is kept apart from another")
        # the commonest cart, one line, without the loops: its lines (every_line, never
        # changed) shared by every promotion it reaches
        emit(1, "if n == 1:")
        emit(2, "every_line = [0]")
        if self.partners:
            emit(2, "touched = [set()]  # per line, the partners given on it")
        if by_slot:
            emit(2, "by_slot = dict.fromkeys(scopes[0], every_line)")
        emit(1, "else:")
        if everywhere or not (self.partners or by_slot):
            emit(2, "every_line = list(range(n))  # shared by the untargeted, never changed")
        if self.partners:
            emit(2, "touched = [set() for _ in amounts]")
        if by_slot:
            emit(2, "# the lines in scope of each targeted promotion, by slot")
            emit(2, "by_slot = {}")
            emit(2, "for i, scope in enumerate(scopes):")
            emit(3, "for slot in scope:")
            emit(4, "found = by_slot.get(slot)")
            emit(4, "if found is None:")
            emit(5, "by_slot[slot] = [i]")
            emit(4, "else:")
            emit(5, "found.append(i)")
        if any(self.dispatched):
            self._reached()
        for position, lane in enumerate(self.whole.lanes):
            if lane:
                self._lane(position, lane)
        if self.engine.funder_budgets.keys:
            emit(1, "if adjustments:")
            emit(
                2, "shipping += apply_funder_budgets(adjustments, amounts, state.availability, {})"
            )
        emit(1, "return adjustments, gifts, consumes, schedule, shipping")
        return "\n".join(self.out) + "\n"

    def _reached(self) -> None:
        """The slots of the dispatched lanes a cart reaches, ascending (``order``): those
        its lines fall under, those on every line and those looked at without lines."""
        emit = self.emit
        plan = self.whole
        everywhere: list[int] = []
        always: list[int] = []
        for position, offset in enumerate(plan.offsets):
            if self.dispatched[position]:
                everywhere.extend(offset + k for k in plan.everywhere[position])
                always.extend(offset + k for k in sorted(plan.always[position]))
        if everywhere:
            self.names["EVERYWHERE"] = tuple(everywhere)
            emit(1, "if n:")
            emit(2, "for slot in EVERYWHERE:")
            emit(3, "by_slot[slot] = every_line")
        if always:
            self.names["ALWAYS"] = tuple(always)
            emit(1, "for slot in ALWAYS:")
            emit(2, "by_slot.setdefault(slot, [])")
        emit(1, "order = sorted(by_slot)")

    def _lane(self, position: int, lane: list[Compiled]) -> None:
        emit = self.emit
        dispatched = self.dispatched[position]
        # a dispatched lane's promotions on every line are given every line as reached
        everywhere = set() if dispatched else set(self.whole.everywhere[position])
        thresholds = {k: lane[k].threshold for k in everywhere}
        groups = [c.group for c in lane if c.group is not None]
        resolves = len(set(groups)) < len(groups)  # two promotions of the lane in one group
        here = {c.index for c in lane}
        resolves = resolves or any(not c.not_with.isdisjoint(here) for c in lane)
        budgets = any(c.budget is not None for c in lane)
        if lane[0].lane is Lane.PRICE:
            fused = False
            prices = (
                not resolves
                and not budgets
                and not self.engine.price_by_priority
                and all(c.rule is not None and isinstance(c.rule.benefit, UnitPrice) for c in lane)
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
        collected = not fused and not prices
        if fused:
            emit(1, "base = amounts[:]  # the lane-start amounts, what every promotion reads")
            emit(1, "state.amounts = base")
        elif collected and (dispatched or any(_inline(c.rule) for c in lane)):
            emit(1, "base = amounts  # nothing is applied before every offer is made")
        # what the promotions on every line measure (and their rules' pool)
        if any(thresholds.values()) or (
            not prices and any(_inline(lane[k].rule) for k in everywhere)
        ):
            emit(1, "total = sum(amounts)")
        mode = _PRICES if prices else _FUSED if fused else _COLLECTED
        if dispatched:  # every promotion of the lane is a step of its own
            self._dispatch(position, lane, mode)
        for k, compiled in enumerate([] if dispatched else lane):
            slot = self.whole.offsets[position] + k
            lines, depth = self._reach(compiled, slot, k in everywhere, thresholds.get(k, 0))
            rule = compiled.rule
            if prices:
                assert rule is not None and isinstance(rule.benefit, UnitPrice)
                self._lowest_price(compiled, rule.benefit, slot, lines, depth)
            elif rule is not None and _inline(rule):
                self._inline(compiled, rule, slot, lines, depth, offer=collected)
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
                if lane[0].lane is Lane.PRICE:
                    emit(3, "offers = resolve(offers, None)")
                else:
                    emit(3, "offers = resolve(offers, None, amounts, shipping)")
            if lane[0].lane is Lane.PRICE:
                touched = "touched" if self.partners else "None"
                emit(
                    2,
                    f"apply_prices(offers, state, adjustments, {touched}, None, consumes, "
                    "BY_PRIORITY)",
                )
            else:
                # each line capped at what is left of it, nothing moved to another line
                emit(2, "for compiled, offer in offers:")
                self._apply(3, "compiled.index", "offer.lines", "offer.amounts", "offer")
            emit(2, "settle(offers, state, gifts, consumes, schedule, {})")
            if budgets:
                budget = "apply_budgets(offers, adjustments, amounts, state.availability, {})"
                emit(2, f"shipping += {budget}")

    def _dispatch(self, position: int, lane: list[Compiled], mode: str) -> None:
        """Write lane ``position`` as a call of each reached promotion's step (written when
        first called, :func:`write_step`), in lane order: the lane costs what the cart
        reaches, however many promotions it holds."""
        low = self.whole.offsets[position]
        high = low + len(lane)
        table = f"STEPS{position}"
        self.names[table] = steps_table(self.engine, lane, mode, self.check_paused)
        self.names["bisect_left"] = bisect_left
        paused = ", paused" if self.check_paused else ""
        self.emit(1, f"for slot in order[bisect_left(order, {low}) : bisect_left(order, {high})]:")
        if mode == _PRICES:
            args = f"state, by_slot[slot], list_unit, best, touched, unredeemed{paused}"
            self.emit(2, f"{table}[slot - {low}]({args})")
        else:
            self.emit(
                2,
                f"shipping = {table}[slot - {low}](state, by_slot[slot], amounts, base, append, "
                f"offers, touched, shipping, unredeemed{paused})",
            )

    def _reach(
        self, compiled: Compiled, slot: int, everywhere: bool, threshold: int, given: bool = False
    ) -> tuple[str, int]:
        """Look up the lines of ``compiled`` and open the test that it may give anything
        (it has lines, is redeemed, not paused, its lines reach its threshold); returns
        the name of its lines and the depth its code is written at. ``given``: its lines
        are an argument (a step, called only when reached), not looked up."""
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
            if given:
                pass
            elif not self.targeted:
                emit(1, f"s{slot} = None")
            else:
                emit(1, f"s{slot} = by_slot.get({slot})")
            if given:
                pass
            elif without_lines:
                emit(1, f"if s{slot} is None:")
                emit(2, f"s{slot} = []")
            else:
                conditions.append(f"s{slot} is not None")
        if compiled.not_with:
            # lines an earlier-lane partner gave on are out of its scope
            self.names[f"nw{slot}"] = compiled.not_with
            if lines == "every_line":
                emit(1, f"s{slot} = every_line")
                lines = f"s{slot}"
            test = f"s{slot}" if without_lines or given else f"s{slot} is not None"
            emit(1, f"if {test}:")
            emit(2, f"s{slot} = [i for i in s{slot} if nw{slot}.isdisjoint(touched[i])]")
            if not without_lines:
                if f"s{slot} is not None" in conditions:
                    conditions.remove(f"s{slot} is not None")
                if "n" in conditions:
                    conditions.remove("n")
                conditions.insert(0, f"s{slot}")
        if compiled.index in self.engine.coded:
            conditions.append(f"{compiled.index} not in unredeemed")
        if self.check_paused:
            conditions.append(f"not paused(p{slot})")
        emit(1, f"# {compiled.promotion.id!r} ({compiled.promotion.kind!r})")
        if not conditions:
            return lines, 1
        emit(1, f"if {' and '.join(conditions)}:")
        return lines, 2

    def _lowest_price(
        self, compiled: Compiled, benefit: UnitPrice, slot: int, lines: str, depth: int
    ) -> None:
        """Keep the price ``benefit`` offers each line when it is the lowest so far (ties
        to the earlier promotion)."""
        emit = self.emit
        emit(depth, f"for i in {lines}:")
        if benefit.percent is None:
            self.names[f"prices{slot}"] = benefit.prices
            emit(depth + 1, f"price = prices{slot}.get(state.lines[i].sku)")
        elif not benefit.prices and self.down:
            num, den = _int(benefit.percent.numerator), _int(benefit.percent.denominator)
            emit(depth + 1, f"price = list_unit[i] - list_unit[i] * {num} // {den}")
        else:
            self.names[f"benefit{slot}"] = benefit
            emit(
                depth + 1,
                f"price = unit_price(benefit{slot}, state.lines[i].sku, list_unit[i], ROUNDING)",
            )
        emit(depth + 1, "if price is not None and price < list_unit[i]:")
        emit(depth + 2, "found = best.get(i)")
        emit(depth + 2, "if found is None or price < found[0]:")
        emit(depth + 3, f"best[i] = (price, {_int(compiled.index)})")

    def _inline(
        self, compiled: Compiled, rule: Rule, slot: int, lines: str, depth: int, offer: bool
    ) -> None:
        """``rule``'s figures for one pool of every line in scope, the interpreter's
        :func:`~promorules.interpret.figures` written out: applied as they are made, or
        (``offer``, a lane that resolves groups or budgets first) made into an offer."""
        emit = self.emit
        index = str(_int(compiled.index))
        condition = rule.condition
        if condition.codes:
            self.names[f"codes{slot}"] = condition.codes
            emit(depth, f"if not codes{slot}.isdisjoint(state.coupons):")
            depth += 1
        if lines == "every_line":  # the lane's own copy and sum
            weights, base = "base", "total"
        else:
            weights, base = f"w{slot}", f"b{slot}"
        quantity = f"q{slot}"
        measure = quantity if rule.by_quantity else base
        tests = []
        first = rule.first
        if first:
            tests.append(f"{measure} >= {_int(first)}")
        if rule.by_quantity and condition.min_amount:
            tests.append(f"{base} >= {_int(condition.min_amount)}")
        if condition.min_quantity and not rule.by_quantity:
            tests.append(f"{quantity} >= {_int(condition.min_quantity)}")
        if condition.max_amount is not None:
            tests.append(f"{base} <= {_int(condition.max_amount)}")
        # the pool's amounts and sum, when a test or the benefit reads them (a benefit
        # per line reads each line's own)
        if weights != "base" and (rule.pooled or any(base in test for test in tests)):
            emit(depth, f"{weights} = [base[i] for i in {lines}]")
            emit(depth, f"{base} = sum({weights})")
        if condition.min_quantity or rule.by_quantity:
            emit(depth, f"{quantity} = sum([state.qty[i] for i in {lines}])")
        if tests:
            emit(depth, f"if {' and '.join(tests)}:")
            depth += 1
        benefit = rule.benefit
        if isinstance(benefit, GiveGifts):  # settled with the lane, like a kind's offer
            self.names[f"gifts{slot}"] = Offer(gifts=list(benefit.gifts))
            emit(depth, f"offers.append((c{slot}, gifts{slot}))")
            return
        if isinstance(benefit, ShippingOff):
            emit(depth, f"off = {self._shipping_figure(benefit)}")
            if offer:
                emit(depth, "if off > 0:")
                emit(depth + 1, f"offers.append((c{slot}, Discounts(shipping_off=off)))")
            else:
                self._shipping(depth, index, "off")
            return
        if not rule.pooled:
            self._per_line(rule, slot, lines, depth, index, offer)
            return
        given = f"g{slot}"
        self._pool_off(rule, given, measure, base, depth)
        if rule.cap is not None:
            emit(depth, f"if {given} > {_int(rule.cap)}:")
            emit(depth + 1, f"{given} = {_int(rule.cap)}")
        emit(depth, f"if {given} > {base}:")
        emit(depth + 1, f"{given} = {base}")
        emit(depth, f"if {given} > 0:")
        if offer and compiled.group is not None and rule.leftover is Leftover.LARGEST_REMAINDER:
            # a group member: split only if it wins (the lane's own copy is applied to
            # before it is read, so a copy of it is kept)
            kept = "base[:]" if weights == "base" else weights
            emit(depth + 1, f"offers.append((c{slot}, Pooled({lines}, {given}, {kept})))")
        elif offer:
            parts = self._split(rule, given, weights)
            emit(depth + 1, f"offers.append((c{slot}, Discounts({lines}, {parts})))")
        else:
            self._apply(depth + 1, index, lines, self._split(rule, given, weights))

    def _pool_off(self, rule: Rule, given: str, measure: str, base: str, depth: int) -> None:
        """Assign ``given`` what a pooled benefit comes to (before its cap and base)."""
        emit = self.emit
        benefit = rule.benefit
        if isinstance(benefit, PercentOff):
            emit(
                depth,
                f"{given} = {self._rate(base, benefit.rate.numerator, benefit.rate.denominator)}",
            )
        elif isinstance(benefit, AmountOff):
            emit(depth, f"{given} = {_int(benefit.amount)}")
        elif isinstance(benefit, Every):
            emit(depth, f"{given} = {measure} // {_int(benefit.step)} * {_int(benefit.off)}")
        else:
            assert isinstance(benefit, Tiers)
            for position, step in enumerate(reversed(benefit.steps)):
                test = "if" if position == 0 else "elif"
                emit(depth, f"{test} {measure} >= {_int(step.at)}:")
                reward = step.reward
                if isinstance(reward, AmountOff):
                    emit(depth + 1, f"{given} = {_int(reward.amount)}")
                else:
                    rate = reward.rate
                    emit(
                        depth + 1, f"{given} = {self._rate(base, rate.numerator, rate.denominator)}"
                    )
            emit(depth, "else:")
            emit(depth + 1, f"{given} = 0")

    def _per_line(
        self, rule: Rule, slot: int, lines: str, depth: int, index: str, offer: bool
    ) -> None:
        """A per-line benefit: each line's own figure (then the pool's cap, if any)."""
        emit = self.emit
        benefit = rule.benefit
        if isinstance(benefit, PercentOff):
            figure = self._rate("base[i]", benefit.rate.numerator, benefit.rate.denominator)
        else:
            assert isinstance(benefit, AmountOff)
            amount = _int(benefit.amount)
            if benefit.per is Per.LINE:
                figure = f"min({amount}, base[i])"
            elif rule.units_per_line is None:
                figure = f"min({amount} * state.qty[i], base[i])"
            else:
                limit = _int(rule.units_per_line)
                figure = f"min({amount} * min(state.qty[i], {limit}), base[i])"
        if rule.cap is None and not offer:
            emit(depth, f"for i in {lines}:")
            emit(depth + 1, f"amount = {figure}")
            self._give(depth + 1, index)
            return
        given = f"g{slot}"
        emit(depth, f"{given} = [{figure} for i in {lines}]")
        if rule.cap is not None:
            emit(depth, f"if sum({given}) > {_int(rule.cap)}:")
            emit(depth + 1, f"{given} = {self._split(rule, str(_int(rule.cap)), given)}")
        if offer:
            emit(depth, f"if any({given}):")
            emit(depth + 1, f"offers.append((c{slot}, Discounts({lines}, {given})))")
        else:
            self._apply(depth, index, lines, given)

    def _split(self, rule: Rule, total: str, weights: str) -> str:
        if rule.leftover is Leftover.LARGEST_REMAINDER:
            return f"allocate({total}, {weights})"
        self.names[f"LEFTOVER_{rule.leftover.name}"] = rule.leftover
        return f"split({total}, {weights}, LEFTOVER_{rule.leftover.name})"

    def _rate(self, amount: str, numerator: int, denominator: int) -> str:
        """``amount`` times a rate, rounded as the ruleset rounds (inline when down)."""
        if self.down:
            return f"{amount} * {_int(numerator)} // {_int(denominator)}"
        return f"rate({amount}, {_int(numerator)}, {_int(denominator)}, ROUNDING)"

    def _shipping_figure(self, benefit: ShippingOff) -> str:
        """What ``benefit`` takes off the lane-start shipping fee, as an expression."""
        if benefit.amount is not None:
            return f"min({_int(benefit.amount)}, state.shipping)"
        if benefit.percent is not None:
            rate = benefit.percent
            figure = self._rate("state.shipping", rate.numerator, rate.denominator)
            return f"min({figure}, state.shipping)"
        if benefit.price is not None:
            return f"max(state.shipping - {_int(benefit.price)}, 0)"
        return "state.shipping"

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
        emit(depth + 2, f"append(({index}, -1, off))")

    def _give(self, depth: int, index: str) -> None:
        """Give ``amount`` off line ``i`` for promotion ``index``, capped at what is left."""
        emit = self.emit
        emit(depth, "left = amounts[i]")
        emit(depth, "if amount > left:")
        emit(depth + 1, "amount = left")
        emit(depth, "if amount > 0:")
        emit(depth + 1, "amounts[i] = left - amount")
        emit(depth + 1, f"append(({index}, i, amount))")
        if not self.partners:
            return
        if index.isdigit():
            if int(index) in self.partners:
                emit(depth + 1, f"touched[i].add({index})")
        else:
            emit(depth + 1, f"if {index} in PARTNERS:")
            emit(depth + 2, f"touched[i].add({index})")


def _inline(rule: Rule | None) -> bool:
    """Whether the writer writes ``rule`` inline: one pool of all its lines, without the
    shipping fee, and nothing the ledger counts (the interpreter works out the others,
    called like an evaluator)."""
    return (
        rule is not None
        and rule.pool is Pool.ORDER
        and not rule.uses.any
        and not rule.with_shipping
        and not isinstance(rule.benefit, (UnitPrice, Cheapest))
    )


def _int(value: object) -> int:
    """The only values a rule writes into source: plain ints (never text from a ruleset)."""
    if type(value) is not int:
        raise TypeError(f"the hot path writes integers only, not {value!r}")
    return value


_SERIAL = itertools.count(1)


def build_hot_path(engine: Engine, plan: Plan, check_paused: bool) -> HotPath:
    """Compile ``plan``'s hot-path function (see :func:`hot_path_source`)."""
    source, names = hot_path_source(engine, plan, check_paused)
    # a file name of its own, registered with linecache (as attrs does for the methods
    # it writes), so a traceback or a debugger stepping into the plan shows its lines
    filename = f"<promorules plan {next(_SERIAL)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), names)  # the writer's own source only
    hot: HotPath = names["hot"]
    return hot


_PRICES, _FUSED, _COLLECTED = "prices", "fused", "collected"
"""How a lane is written (see :class:`_Writer`); a step is written for one of them."""


def write_step(engine: Engine, compiled: Compiled, mode: str, check_paused: bool) -> Step:
    """``compiled``'s part of a dispatched lane written as a function of its own, called
    with the lines in its scope once a cart reaches it: what the plan's function writes
    inline for a promotion of a smaller lane (the same writer, the same code), returning
    the shipping fee left (nothing in a lowest-price lane). A step names no slot, so a
    promotion's step serves every plan it is live in."""
    writer = _Writer(engine, None, check_paused)
    # a promotion kept apart from another notes the lines it gives on (``touched``)
    writer.partners = frozenset({compiled.index}) if compiled.not_with else frozenset()
    emit = writer.emit
    paused = ", paused" if check_paused else ""
    if mode == _PRICES:
        emit(0, f"def step(state, s0, list_unit, best, touched, unredeemed{paused}):")
    else:
        emit(
            0,
            "def step(state, s0, amounts, base, append, offers, touched, shipping, "
            f"unredeemed{paused}):",
        )
    lines, depth = writer._reach(compiled, 0, False, 0, given=True)
    rule = compiled.rule
    if mode == _PRICES:
        assert rule is not None and isinstance(rule.benefit, UnitPrice)
        writer._lowest_price(compiled, rule.benefit, 0, lines, depth)
    elif rule is not None and _inline(rule):
        writer._inline(compiled, rule, 0, lines, depth, offer=mode == _COLLECTED)
    else:
        writer._call(compiled, 0, lines, depth, mode == _FUSED)
    if mode != _PRICES:
        emit(1, "return shipping")
    source = "\n".join(writer.out) + "\n"
    name = f"<promorules step {compiled.promotion.id!r} {next(_SERIAL)}>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    exec(compile(source, name, "exec"), writer.names)  # the writer's own source only
    step: Step = writer.names["step"]
    return step


def steps_table(engine: Engine, lane: list[Compiled], mode: str, check_paused: bool) -> list[Step]:
    """The steps of a dispatched lane, by position: each written when first called (then
    kept on its promotion, for every plan and lane position it turns up in)."""
    table: list[Step] = []
    key = (mode, check_paused)
    for k, compiled in enumerate(lane):
        step = compiled.steps.get(key)
        table.append(step if step is not None else _first_call(engine, compiled, key, table, k))
    return table


def _first_call(
    engine: Engine, compiled: Compiled, key: tuple[str, bool], table: list[Step], k: int
) -> Step:
    """What ``table[k]`` holds until the step of ``compiled`` is first called: writes it
    (a race writes it twice, alike), keeps it, and calls it."""

    def first(*args: Any) -> Any:
        step = compiled.steps.get(key)
        if step is None:
            step = compiled.steps[key] = write_step(engine, compiled, *key)
        table[k] = step
        return step(*args)

    return first
