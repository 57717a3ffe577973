"""The pricing engine: a ruleset compiled once, then carts priced fast and purely.

:meth:`Engine.price` never mutates its inputs, keeps no per-call state on the engine
(the only shared structure is an activation-plan cache whose entries are immutable
once built, so concurrent threads at worst build the same plan twice) and gives the
same quote for the same cart, context and availability.

Stacking, in order:

1. Lanes apply in the ruleset's order (``price -> item -> store -> platform``). A lane
   measures on the line amounts left by the lanes before it; within a lane every
   promotion measures on that same base (parallel), not one after another.
2. In the price lane, offers are unit prices: each unit pays the lowest price offered
   for it (offers may be limited to a number of units; the rest pay the next price),
   or, with ``[stacking] price = "priority"``, the price of the highest-priority offer.
3. In the other lanes, an exclusive ``group`` keeps the member worth most to the
   customer where the group comes up in the lane, after the promotions before it (a
   ``not_with`` pair in one lane: the combination worth most; see
   :mod:`promorules.stacking`); the offers kept then apply in priority order (higher
   first, then declaration order), each line capped at what is left of it, so nothing
   goes below zero and excess is never moved to another line.
4. A ``not_with`` promotion applied in an earlier lane takes its lines out of scope.
5. Budgets trim or refuse (per promotion policy), then the guardrail checks margins
   and clamps, rejects or warns (see :mod:`promorules.guardrail`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from promorules.budgets import FunderBudgets
from promorules.cart import Cart, Context, Customer, Line
from promorules.counters import UNLIMITED, Consumed, CounterKey, CounterKind, CounterSpec
from promorules.coupon_codes import normalise
from promorules.diagnostics import PromorulesError
from promorules.guardrail import (
    BREACHED,
    CLAMP,
    CLAMPED,
    Breach,
    Floors,
    Work,
    breaches,
    clamp,
    gift_givers,
    held,
    report,
)
from promorules.hotpath import (
    HOT_PATH_LIMIT,
    HotPath,
    build_hot_path,
    hot_path_source,
)
from promorules.interpret import evaluator
from promorules.kind import (
    QUIET,
    Bound,
    CodeMatch,
    CodeMatcher,
    CompileEnv,
    Evaluator,
    Gift,
    Kind,
    Lane,
    NotApplied,
    Offer,
    PricingState,
    Reason,
)
from promorules.messages import Amount, Note
from promorules.model import bound
from promorules.plan import FOREVER, Compiled, Plan
from promorules.quote import (
    Cut,
    Floor,
    GuardrailReport,
    GuardrailStatus,
    Quote,
    Record,
    Status,
)
from promorules.ruleset import (
    BudgetPolicy,
    Funder,
    OnBreach,
    PriceChoice,
    Ruleset,
    build_ruleset,
    load_ruleset,
    parse_ruleset,
)
from promorules.settle import Settler
from promorules.walk import walk

if TYPE_CHECKING:
    from promorules.refund import Refund
    from promorules.ruleset import ReturnPolicy

_PLAN_CACHE_LIMIT = 4096
_CODE_CACHE_LIMIT = 4096


class Engine:
    """A compiled ruleset. Build it once (``Engine.from_toml``), price many carts."""

    def __init__(self, ruleset: Ruleset, kinds: Mapping[str, Kind]) -> None:
        self.ruleset = ruleset
        self.kinds = kinds
        campaign = ruleset.campaign
        self.currency = campaign.currency
        self.rounding = campaign.rounding
        self.lanes: tuple[Lane, ...] = ruleset.stacking.lanes
        self.floors = Floors.from_guardrails(ruleset.guardrails)
        self.on_breach = ruleset.guardrails.on_breach
        env = CompileEnv(ruleset, campaign.rounding, campaign.currency)
        lane_position = {lane: i for i, lane in enumerate(self.lanes)}
        self._compiled: list[Compiled] = []
        ids = {p.id: i for i, p in enumerate(ruleset.promotions)}
        for index, promotion in enumerate(ruleset.promotions):
            kind = kinds[promotion.kind]
            lane = promotion.effective_lane(kind)
            spans = [
                (int(w.start.timestamp()), int(w.end.timestamp()) + 1)
                for w in ruleset.windows(promotion)
            ] or [FOREVER]
            rule = kind.rule(promotion, env)
            unlock = frozenset(_normalise_codes(promotion.unlock_codes))
            if unlock and rule is not None:
                if rule.condition.codes:
                    raise PromorulesError(
                        f"promotion {promotion.id!r}: a {kind.name} is redeemed by its own "
                        "codes; unlock_codes gates promotions that have none"
                    )
                rule = attrs.evolve(rule, condition=attrs.evolve(rule.condition, codes=unlock))
            if rule is not None:
                evaluate = evaluator(rule, env)
            else:
                evaluate = kind.compile(promotion, env)
                if unlock:
                    evaluate = _unlocked_by(unlock, evaluate)
            compiled = Compiled(index, promotion, kind, lane, lane_position[lane], evaluate, spans)
            compiled.rule = rule
            compiled.threshold = kind.threshold(promotion) if rule is None else rule.threshold()
            self._compiled.append(compiled)
        self.hot_path_limit = HOT_PATH_LIMIT
        """A lane of more promotions is written as a dispatch on the promotions a cart
        reaches, each a step of its own (:func:`promorules.hotpath.write_step`); tests
        lower it to write small lanes so."""
        # who names each id in not_with, gathered once: asking every promotion about every
        # other was quadratic (70-110 ms of compiling 1,000 promotions)
        named_by: dict[str, set[int]] = {}
        for c in self._compiled:
            for other in c.promotion.not_with:
                named_by.setdefault(other, set()).add(c.index)
        for compiled in self._compiled:
            # symmetric: "A not_with B" keeps them apart whichever of them declares it
            partners = {ids[other] for other in compiled.promotion.not_with}
            partners |= named_by.get(compiled.promotion.id, set())
            compiled.not_with = frozenset(partners)
        self._explain = self.explained  # made once: what a quote prices again to explain
        self._meta = [
            (c.promotion.id, c.promotion.kind, c.lane, self._weights(c), c.promotion.title)
            for c in self._compiled
        ]
        # trim order: lowest priority first, then the lane applied last, then declared last
        self._trim_order = [
            c.index
            for c in sorted(self._compiled, key=lambda c: (c.priority, -c.lane_position, -c.index))
        ]
        self._trim_rank = {index: position for position, index in enumerate(self._trim_order)}
        self._apply_order = {c.index: (-c.priority, c.index) for c in self._compiled}
        self.price_by_priority = ruleset.stacking.price is PriceChoice.PRIORITY
        """The price lane gives each unit the highest-priority price (else the lowest)."""
        # which promotions each line carries matters only when some not_with is declared
        self.tracks_lines = any(c.not_with for c in self._compiled)
        """Which promotions each line carries is kept (some not_with is declared)."""
        breakpoints = sorted({edge for c in self._compiled for span in c.spans for edge in span})
        self._breakpoints = breakpoints
        self._slots: list[list[Compiled]] = []
        for slot in range(len(breakpoints) + 1):
            moment = breakpoints[slot - 1] if slot > 0 else FOREVER[0]
            self._slots.append(
                [c for c in self._compiled if any(a <= moment < b for a, b in c.spans)]
            )
        self._plans: dict[tuple[int, frozenset[str], str | None], Plan] = {}
        self._hot_paths: dict[tuple[tuple[tuple[int, ...], ...], bool], HotPath] = {}
        self.counters: tuple[CounterSpec, ...] = self._counter_specs()
        self.budget_keys = {c.index: c.budget_key for c in self._compiled if c.budget is not None}
        """The ledger counter of each promotion with a budget, by promotion index."""
        self._funder_budget_keys = {
            funder: CounterKey(CounterKind.FUNDER_BUDGET, funder.value)
            for funder in ruleset.budgets
        }
        self.funder_budgets = FunderBudgets(
            self._funder_budget_keys,
            ruleset.budgets,
            [meta[3] for meta in self._meta],
            self._trim_order,
            ruleset.stacking.funder_budget_policy is BudgetPolicy.REFUSE,
        )
        """Keeps each budgeted funder's share within its budget (the walk and the written
        function apply it after the lanes)."""
        self.settle = Settler([meta[0] for meta in self._meta])
        """Settles a lane's deposits, gifts and counters (the walk and the written
        function call it)."""
        self._matchers: list[tuple[int, CodeMatcher]] = []
        self._code_matches: dict[str, tuple[tuple[int, ...], int]] = {}
        for compiled in self._compiled:
            matcher = compiled.kind.code_matcher(compiled.promotion, env)
            if matcher is None and compiled.promotion.unlock_codes:
                matcher = _exact(frozenset(_normalise_codes(compiled.promotion.unlock_codes)))
            if matcher is not None:
                self._matchers.append((compiled.index, matcher))
        self.coded = frozenset(index for index, _ in self._matchers)
        """The promotions redeemed by codes: given nothing unless one is presented."""
        self._presented: dict[tuple[str, ...], tuple[tuple[str, ...], frozenset[int]]] = {}

    # -- construction ------------------------------------------------------------------
    @staticmethod
    def _kinds(plugins: Iterable[object] | None) -> Mapping[str, Kind]:
        from promorules.plugins import PluginHost

        host = PluginHost.default() if plugins is None else PluginHost(plugins)
        return host.kinds

    @classmethod
    def from_toml(cls, path: str | Path, *, plugins: Iterable[object] | None = None) -> Engine:
        """Load, check and compile the TOML ruleset at ``path``.

        ``plugins``: the plugin objects to use; by default every installed plugin of the
        ``promorules`` entry-point group.
        """
        kinds = cls._kinds(plugins)
        return cls(load_ruleset(path, kinds), kinds)

    @classmethod
    def from_string(
        cls, text: str, *, plugins: Iterable[object] | None = None, source: str = "<string>"
    ) -> Engine:
        kinds = cls._kinds(plugins)
        return cls(parse_ruleset(text, kinds, source=source), kinds)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        plugins: Iterable[object] | None = None,
        source: str = "<dict>",
    ) -> Engine:
        kinds = cls._kinds(plugins)
        return cls(build_ruleset(data, kinds, source=source), kinds)

    def _weights(self, compiled: Compiled) -> list[tuple[Funder, int]]:
        funding = compiled.promotion.funding(compiled.lane)
        denominator = 1
        for share in funding.values():
            denominator = math.lcm(denominator, share.denominator)
        return [(funder, int(share * denominator)) for funder, share in funding.items()]

    def _counter_specs(self) -> tuple[CounterSpec, ...]:
        specs: list[CounterSpec] = []
        for compiled in self._compiled:
            specs.extend(compiled.kind.counters(compiled.promotion))
            if compiled.budget is not None:
                specs.append(CounterSpec(compiled.budget_key, compiled.budget))
        for funder, amount in self.ruleset.budgets.items():
            specs.append(CounterSpec(CounterKey(CounterKind.FUNDER_BUDGET, funder.value), amount))
        return tuple(specs)

    def bound(self, index: int) -> Bound:
        """The most promotion ``index`` can take, for the validator: derived from its
        rule (:func:`promorules.model.bound`), else the kind's :meth:`Kind.bound`."""
        compiled = self._compiled[index]
        if compiled.rule is not None:
            return bound(compiled.rule)
        return compiled.kind.bound(compiled.promotion)

    # -- activation plans --------------------------------------------------------------
    def _plan(self, ts: int, segments: frozenset[str], channel: str | None) -> Plan:
        slot = bisect_right(self._breakpoints, ts)
        key = (slot, segments, channel)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        live = {c.index for c in self._slots[slot]}
        lanes: list[list[Compiled]] = [[] for _ in self.lanes]
        inactive: list[tuple[int, Reason]] = []
        for c in self._compiled:
            if c.index not in live:
                inactive.append((c.index, Reason.OUT_OF_WINDOW))
            elif (c.segments and c.segments.isdisjoint(segments)) or (
                c.exclude_segments and not c.exclude_segments.isdisjoint(segments)
            ):
                inactive.append((c.index, Reason.SEGMENT))
            elif c.channels and channel not in c.channels:
                inactive.append((c.index, Reason.CHANNEL))
            else:
                lanes[c.lane_position].append(c)
        for lane in lanes:
            lane.sort(key=lambda c: self._apply_order[c.index])
        plan = Plan(lanes, inactive, len(self._compiled))
        if len(self._plans) >= _PLAN_CACHE_LIMIT:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _hot_path(self, plan: Plan, check_paused: bool) -> HotPath:
        """The compiled pass of ``plan``: shared by every plan with the same promotions in
        the same lanes (customers of many segment sets often see the same ones), so a
        new plan seldom compiles anything. Entries are immutable once built."""
        key = (plan.shape, check_paused)
        hot = self._hot_paths.get(key)
        if hot is None:
            hot = build_hot_path(self, plan, check_paused)
            if len(self._hot_paths) >= _PLAN_CACHE_LIMIT:
                self._hot_paths.clear()
            self._hot_paths[key] = hot
        return hot

    def plan_source(
        self, at: datetime, segments: frozenset[str] = frozenset(), channel: str | None = None
    ) -> str:
        """The source of the function the engine writes for the activation plan of
        ``at``, ``segments`` and ``channel`` (what ``promorules debug plan`` prints)."""
        plan = self._plan(PricingState((), Customer(), at).ts, segments, channel)
        return hot_path_source(self, plan, False)[0]

    # -- pricing -----------------------------------------------------------------------
    def price(self, cart: Cart, context: Context) -> Quote:
        """Price ``cart`` in ``context``. Pure: same inputs, same quote; inputs untouched.

        The figures are worked out here; each promotion's explanation, and the account
        of presented codes, are worked out when the quote is first asked for them (by
        pricing the cart again with explanations on: the same figures, by purity).
        """
        if cart.currency != self.currency:
            raise PromorulesError(
                f"cart is in {cart.currency} but the ruleset prices in {self.currency}"
            )
        return self._quote(cart, context, False)

    def explained(self, cart: Cart, context: Context) -> Quote:
        """:meth:`price` with every explanation worked out at once (what ``price``'s
        quote does lazily, on first access). For tests and tools; checkout code wants
        :meth:`price`."""
        return self._quote(cart, context, True)

    def refund(
        self,
        quote: Quote,
        returns: Mapping[int, int],
        policy: ReturnPolicy | None = None,
        gifts_back: Mapping[str, int] | None = None,
    ) -> Refund:
        """What returning ``returns`` (line index -> units) of the order priced as
        ``quote`` gives back: money, shipping, and what goes back to the ledger
        (``Refund.consumption``), under ``policy`` (default: the ruleset's ``[returns]``).
        ``gifts_back``: gift units brought back too (sku -> units). See
        :func:`promorules.refund.refund` and docs/returns.md."""
        from promorules.refund import refund

        if quote.cart is None or quote.context is None or quote.currency != self.currency:
            raise PromorulesError("refund a quote this engine priced")
        return refund(self, quote.cart, quote.context, quote, returns, policy, gifts_back)

    def _quote(self, cart: Cart, context: Context, explain: bool) -> Quote:
        """The pricing flow, in its stages: activate the plan and run the lanes
        (:meth:`_pass`: evaluate, stack per lane, budgets), hold the floors
        (:meth:`_guard`), then build the quote, once."""
        priced = self._pass(cart, context, _NOTHING, explain)
        priced, guardrail = self._guard(cart, context, priced, explain)
        return Quote(  # positionally (a third of the cost of keywords), in Quote's order
            self.currency,
            cart.lines,
            priced.amounts,
            priced.adjustments,
            self._meta,  # promotions
            priced.records,
            priced.gifts,
            (cart.shipping, priced.shipping),
            guardrail,
            priced.consumes,
            self.budget_keys,
            self._funder_budget_keys,
            priced.schedule,
            priced.codes,
            priced.defaults,
            None if explain else self._explain,
            cart,
            context,
        )

    def _pass(
        self,
        cart: Cart,
        context: Context,
        excluded: frozenset[int],
        explain: bool,
        walked: bool = False,
    ) -> Pass:
        """One pass over the lanes. With ``explain`` off, nothing but the figures: no
        record per promotion, no code findings, and evaluators may skip their texts; the
        plan's hot-path function does the pass when it can (:mod:`promorules.hotpath`),
        unless ``walked``. ``excluded``: promotions the guardrail dropped (``reject``)."""
        lines = cart.lines
        customer = cart.customer
        channel = context.channel
        availability = context.availability
        # the codes normalised, and the promotions redeemed by codes that none of them
        # redeems: cached per tuple of codes presented (shared codes come back)
        presented = context.coupons
        if presented:
            found_codes = self._presented.get(presented)
            if found_codes is None:
                found_codes = self._present(presented)
            coupons, unredeemed = found_codes
        else:
            coupons, unredeemed = (), self.coded
        state = PricingState(
            lines,
            customer,
            context.at,
            channel,
            coupons,
            availability,
            self.rounding,
            cart.shipping,
            dict(context.choices) if context.choices else None,
            explain,
        )
        ts = state.ts
        segments = customer.segments
        plan = self._plans.get((bisect_right(self._breakpoints, ts), segments, channel))
        if plan is None:
            plan = self._plan(ts, segments, channel)
        # the plan's scope cache, read inline (Plan.scope fills it on a miss)
        cache = plan.scope_cache
        single = len(lines) == 1
        if single:  # the commonest cart, without the loop
            line = lines[0]
            found = cache.get((line.sku, line.category, line.brand, line.merchant, line.tags))
            scopes = [found if found is not None else plan.scope(line)]
        else:
            scopes = []
            for line in lines:
                found = cache.get((line.sku, line.category, line.brand, line.merchant, line.tags))
                scopes.append(found if found is not None else plan.scope(line))
        records: dict[int, Record] = {}
        codes: list[tuple[str, int, Reason | None]] | tuple[()] = ()
        figures: tuple[Any, ...] | None = None
        if not (explain or walked or excluded or state.deposited):
            if availability is UNLIMITED:
                hot = plan.hot
                if hot is None:
                    hot = plan.hot = self._hot_path(plan, False)
                figures = hot(state, scopes, unredeemed)
            else:
                hot = plan.hot_paused
                if hot is None:
                    hot = plan.hot_paused = self._hot_path(plan, True)
                figures = hot(state, scopes, unredeemed, availability.paused)
            if figures[3]:  # a deposit scheduled now: later lanes keep to the balances
                return self._pass(cart, context, excluded, explain, walked=True)
        if figures is None:
            redeemed: dict[int, tuple[str, ...]] = {}
            # promotions redeemed by codes give nothing unless one of their codes is
            # presented (the kind contract of code_matcher): without explanations they are
            # not looked at
            if explain:
                unredeemed = _NOTHING
            adjustments, gifts, consumes, schedule, shipping = walk(
                self, plan, state, scopes, excluded, unredeemed, records, redeemed
            )
            if explain and coupons:
                codes = self._code_findings(coupons, state.ts, redeemed, records, plan.defaults)
        else:
            adjustments, gifts, consumes, schedule, shipping = figures
        return Pass(
            state.amounts,
            adjustments,
            records,
            gifts,
            shipping,
            consumes,
            schedule,
            codes,
            plan.defaults,
        )

    def _code_findings(
        self,
        codes: Sequence[str],
        ts: int,
        redeemed: dict[int, tuple[str, ...]],
        records: dict[int, Record],
        defaults: Sequence[Record],
    ) -> list[tuple[str, int, Reason | None]]:
        """Account for every presented code: ``(code, promotion index or -1, reason)``.

        The reason is None when the promotion's own record tells the story (applied, or
        not applied and why); otherwise it says what the record cannot: the code is
        unknown or mistyped, its promotion is not live yet or any more, or the promotion
        applies with another code.
        """
        out: list[tuple[str, int, Reason | None]] = []
        for code in codes:
            exact, near = self._match_code(code)
            if not exact:
                out.append((code, near, Reason.CODE_MISTYPED if near >= 0 else Reason.CODE_UNKNOWN))
                continue
            used = next(
                (i for i in exact if i in redeemed and (not redeemed[i] or code in redeemed[i])),
                None,
            )
            if used is not None:
                out.append((code, used, None))
                continue
            index = exact[0]
            record = records.get(index) or defaults[index]
            why: Reason | None = None
            if record is not None and record.reason is Reason.OUT_OF_WINDOW:
                spans = self._compiled[index].spans
                later = any(start > ts for start, _ in spans)
                why = Reason.NOT_YET_VALID if later else Reason.EXPIRED
            elif index in redeemed:
                why = Reason.CODE_NOT_USED
            out.append((code, index, why))
        return out

    def _present(self, presented: tuple[str, ...]) -> tuple[tuple[str, ...], frozenset[int]]:
        """The codes ``presented`` normalised, and the code-redeemed promotions none of
        them redeems; cached per tuple presented, like :meth:`_match_code`'s answers
        (entries are immutable: a race at worst works one out twice)."""
        codes = _normalise_codes(presented)
        found = (codes, self.coded.difference(*(self._match_code(code)[0] for code in codes)))
        if len(self._presented) >= _CODE_CACHE_LIMIT:
            self._presented.clear()
        self._presented[presented] = found
        return found

    def _match_code(self, code: str) -> tuple[tuple[int, ...], int]:
        """The promotions whose code ``code`` is, and the first it resembles (-1: none).

        Matchers depend on the code alone, and shared codes come back on cart after cart
        (the near-miss search over a list of codes is what costs), so answers are cached
        like activation plans: entries are immutable, a race at worst computes one twice.
        """
        found = self._code_matches.get(code)
        if found is not None:
            return found
        exact: list[int] = []
        near = -1
        for index, matcher in self._matchers:
            match = matcher(code)
            if match is CodeMatch.EXACT:
                exact.append(index)
            elif match is CodeMatch.MISTYPED and near < 0:
                near = index
        found = (tuple(exact), near)
        if len(self._code_matches) >= _CODE_CACHE_LIMIT:
            self._code_matches.clear()
        self._code_matches[code] = found
        return found

    # -- guardrail ---------------------------------------------------------------------
    def _guard(
        self, cart: Cart, context: Context, priced: Pass, explain: bool
    ) -> tuple[Pass, GuardrailReport]:
        """Hold the floors on a pass (clamp, reject or warn, per ``on_breach``): the pass
        to build the quote from (under ``reject``, another pass without the promotions
        dropped) and the guardrail's report."""
        floors = self.floors
        if not floors.any:
            return priced, _NO_GUARDRAIL
        lines = cart.lines
        amounts = priced.amounts
        costs = (
            [lines[0].unit_cost * lines[0].quantity]
            if len(lines) == 1
            else [line.unit_cost * line.quantity for line in lines]
        )
        extra_cost = 0
        for _, gift in priced.gifts:
            extra_cost += gift.unit_cost * gift.quantity
        if not floors.categories and held(amounts, costs, extra_cost, floors):
            # every floor holds as priced: nothing for the guardrail to do, and the
            # floors' report is worked out only if it is read
            held_floors = partial(
                _floors_as_priced, amounts, costs, priced.adjustments, extra_cost, floors
            )
            return priced, GuardrailReport(_OK, held_floors, {}, ())
        work = self._work(lines, priced, costs, extra_cost)
        if self.on_breach is CLAMP:
            taken, per_floor = clamp(work, floors, self._trim_order, self._trim_rank)
            dropped = work.dropped
            if not per_floor and not dropped:  # every floor held as priced
                return priced, self._report(work, _OK, {}, {}, ())
            if explain:
                for index, amount in taken.items():
                    record = priced.records[index]
                    record.status, record.amount = Status.TRIMMED, record.amount - amount
                    record.reason = Reason.GUARDRAIL_CLAMPED
                    trimmed = Note("guardrail-trimmed", {"amount": Amount(amount)})
                    record.notes = (*record.notes, trimmed)
            if dropped:
                self._drop_gifts(priced, dropped, explain)
            meta = self._meta
            trims: dict[str, int] = {}  # per promotion id (a loop: a comprehension costs more)
            for index, amount in taken.items():
                if amount:
                    trims[meta[index][0]] = amount
            status = CLAMPED if work.settled else BREACHED
            return priced, self._report(work, status, trims, per_floor, ())
        found = breaches(work, floors)
        if not found:
            return priced, self._report(work, GuardrailStatus.OK, {}, {}, ())
        if self.on_breach is OnBreach.WARN:
            return priced, self._report(work, GuardrailStatus.BREACHED, {}, {}, ())
        return self._reject(cart, context, priced, work, found, explain)

    def _reject(
        self,
        cart: Cart,
        context: Context,
        priced: Pass,
        work: Work,
        found: list[Breach],
        explain: bool,
    ) -> tuple[Pass, GuardrailReport]:
        """``on_breach = reject``: drop the promotions behind a breach, lowest in trim
        order first, pricing again without them until every floor holds (or nothing is
        left to drop). Apart from :meth:`_guard`, whose every call would otherwise make
        the cells this one's generators close over."""
        floors = self.floors
        lines = cart.lines
        excluded: set[int] = set()
        while found:
            breached = {i for breach in found for i in breach.lines}
            culprits = {p for p, line, a in work.adjustments if line in breached and a > 0}
            culprit = next((i for i in self._trim_order if i in culprits), None)
            if culprit is None:
                # no discount left behind the breach: a gift's cost may be what breaks it
                givers = gift_givers(work, floors)
                culprit = next((i for i in self._trim_order if i in givers), None)
            if culprit is None:
                break
            excluded.add(culprit)
            priced = self._pass(cart, context, frozenset(excluded), explain)
            work = self._work(lines, priced)
            found = breaches(work, floors)
        status = GuardrailStatus.BREACHED if found else GuardrailStatus.REJECTED
        rejected = tuple(self._meta[i][0] for i in sorted(excluded))
        return priced, self._report(work, status, {}, {}, rejected)

    def _work(
        self,
        lines: Sequence[Line],
        priced: Pass,
        costs: list[int] | None = None,
        extra_cost: int | None = None,
    ) -> Work:
        """The guardrail's working figures of a pass (its amounts and adjustments, which
        a clamp trims in place)."""
        if costs is None:
            costs = [line.unit_cost * line.quantity for line in lines]
        gifts = priced.gifts
        if extra_cost is None:
            extra_cost = sum(gift.unit_cost * gift.quantity for _, gift in gifts)
        return Work(
            priced.amounts,
            costs,
            [line.category for line in lines] if self.floors.categories else (),
            priced.adjustments,
            extra_cost,
            [(index, g.unit_cost * g.quantity) for index, g in gifts] if gifts else (),
        )

    def _drop_gifts(self, priced: Pass, dropped: list[int], explain: bool) -> None:
        """Take the gifts the clamp dropped out of the pass, with their stock use, and
        (``explain``) say so in their promotions' explanations."""
        gifts = priced.gifts
        consumes = priced.consumes
        records = priced.records
        for position in sorted(dropped, reverse=True):
            index, gift = gifts.pop(position)
            if gift.counter is not None:
                entry = (index, gift.counter, gift.quantity, -1)
                if entry in consumes:
                    consumes.remove(entry)
            if not explain:
                continue
            record = records[index]
            note = Note("gift-dropped", {"sku": gift.sku})
            if record.amount == 0 and not any(i == index for i, _ in gifts):
                records[index] = Record(
                    Status.NOT_APPLIED,
                    0,
                    record.base,
                    Reason.GUARDRAIL_CLAMPED,
                    (note,),
                    record.hint,
                )
            else:
                record.status, record.reason = Status.TRIMMED, Reason.GUARDRAIL_CLAMPED
                record.notes = (*record.notes, note)

    def _report(
        self,
        work: Work,
        status: GuardrailStatus,
        trims: dict[str, int],
        per_floor: dict[str, int],
        rejected: tuple[str, ...],
    ) -> GuardrailReport:
        floors = partial(report, work, self.floors, per_floor)  # worked out if read
        return GuardrailReport(status, floors, trims, rejected)


class Pass:
    """One pass over the lanes, before the guardrail: the figures a quote is built
    from. The guardrail may still trim them (``amounts`` and ``adjustments`` by a clamp,
    ``gifts`` and ``consumes`` by a dropped gift, ``records`` to say so); the quote is
    built from the pass once it has (:meth:`Engine._quote`)."""

    __slots__ = (
        "adjustments",
        "amounts",
        "codes",
        "consumes",
        "defaults",
        "gifts",
        "records",
        "schedule",
        "shipping",
    )

    def __init__(
        self,
        amounts: list[int],
        adjustments: list[Cut],
        records: dict[int, Record],
        gifts: list[tuple[int, Gift]],
        shipping: int,
        consumes: list[Consumed],
        schedule: list[tuple[list[tuple[int, int]], Any]],
        codes: list[tuple[str, int, Reason | None]] | tuple[()],
        defaults: Sequence[Record],
    ) -> None:
        self.amounts = amounts
        """What is left to pay of each line."""
        self.adjustments = adjustments
        """Each promotion's discount on each line (or the shipping fee), in the order
        applied (:data:`~promorules.quote.Cut`)."""
        self.records = records
        """Per promotion index looked at (explaining): what became of it."""
        self.gifts = gifts
        self.shipping = shipping
        """The shipping fee left to pay."""
        self.consumes = consumes
        self.schedule = schedule
        self.codes = codes
        self.defaults = defaults


_OK = GuardrailStatus.OK  # a module global: an enum member read off its class costs ~70 ns
_NO_GUARDRAIL = GuardrailReport(_OK, (), {}, ())
_NOTHING: frozenset[int] = frozenset()  # no promotion excluded


def _floors_as_priced(
    amounts: list[int], costs: list[int], cuts: list[Cut], extra_cost: int, floors: Floors
) -> tuple[Floor, ...]:
    """The floors' report of a pass that held them all as priced (worked out if read)."""
    return report(Work(amounts, costs, (), cuts, extra_cost), floors, {})


def _normalise_codes(codes: Sequence[str]) -> tuple[str, ...]:
    """Codes compare case-insensitively, ignoring spaces and dashes typed around them."""
    if not codes:
        return ()
    out = []
    for code in codes:
        if code.isascii() and code.isalnum():  # the usual case: nothing to strip
            text = code.upper()
            if text not in out:
                out.append(text)
            continue
        text = normalise(code)  # one rule for codes, with no Unicode case folding
        if text and text not in out:
            out.append(text)
    return tuple(out)


def _exact(codes: frozenset[str]) -> CodeMatcher:
    """The code matcher of a promotion unlocked by ``codes``: exact matches only."""

    def match(code: str) -> CodeMatch | None:
        return CodeMatch.EXACT if code in codes else None

    return match


def _unlocked_by(codes: frozenset[str], inner: Evaluator) -> Evaluator:
    """A kind's own evaluator, given nothing unless one of ``codes`` is presented (the
    model states the same gate as a rule's condition)."""

    def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
        if codes.isdisjoint(state.coupons):
            if not state.explain:
                return QUIET
            return NotApplied(Reason.NOT_PRESENTED)
        return inner(state, lines)

    return evaluate
