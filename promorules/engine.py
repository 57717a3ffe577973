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
3. In the other lanes, an exclusive ``group`` (and a ``not_with`` pair in one lane)
   keeps the combination worth most to the customer; the offers kept then apply in
   priority order (higher first, then declaration order), each line capped at what is
   left of it, so nothing goes below zero and excess is never moved to another line.
4. A ``not_with`` promotion applied in an earlier lane takes its lines out of scope.
5. Budgets trim or refuse (per promotion policy), then the guardrail checks margins
   and clamps, rejects or warns (see :mod:`promorules.guardrail`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from promorules.cart import Cart, Context
from promorules.counters import UNLIMITED, Consumed, CounterKey, CounterKind, CounterSpec
from promorules.coupon_codes import normalise
from promorules.guardrail import (
    BREACHED,
    CLAMP,
    CLAMPED,
    Floors,
    Work,
    breaches,
    clamp,
    gift_givers,
    held,
    report,
)
from promorules.hotpath import HOT_PATH_LIMIT, HotPath, build_hot_path, check_source
from promorules.kind import (
    CodeMatch,
    CodeMatcher,
    CompileEnv,
    Gift,
    Kind,
    Lane,
    NotApplied,
    Offer,
    PricingState,
    Reason,
)
from promorules.money import allocate
from promorules.plan import FOREVER, Compiled, Plan
from promorules.pricelane import apply_prices
from promorules.quote import GuardrailReport, GuardrailStatus, Quote, Status
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
from promorules.stacking import resolve

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
            compiled = Compiled(
                index,
                promotion,
                kind,
                lane,
                lane_position[lane],
                kind.compile(promotion, env),
                spans,
            )
            compiled.source = kind.source(promotion, env)
            if compiled.source is not None:
                check_source(compiled.source, promotion.id, kind.name)
            self._compiled.append(compiled)
        for compiled in self._compiled:
            # symmetric: "A not_with B" keeps them apart whichever of them declares it
            partners = {ids[other] for other in compiled.promotion.not_with}
            partners |= {
                c.index for c in self._compiled if compiled.promotion.id in c.promotion.not_with
            }
            compiled.not_with = frozenset(partners)
        self._meta = [
            (c.promotion.id, c.promotion.kind, c.lane, self._weights(c)) for c in self._compiled
        ]
        # trim order: lowest priority first, then the lane applied last, then declared last
        self._trim_order = [
            c.index
            for c in sorted(self._compiled, key=lambda c: (c.priority, -c.lane_position, -c.index))
        ]
        self._trim_rank = {index: position for position, index in enumerate(self._trim_order)}
        self._apply_order = {c.index: (-c.priority, c.index) for c in self._compiled}
        self._by_priority = ruleset.stacking.price is PriceChoice.PRIORITY
        # which promotions each line carries matters only when some not_with is declared
        self._tracks_lines = any(c.not_with for c in self._compiled)
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
        self._budget_keys = {c.index: c.budget_key for c in self._compiled if c.budget is not None}
        self._funder_budget_keys = {
            funder: CounterKey(CounterKind.FUNDER_BUDGET, funder.value)
            for funder in ruleset.budgets
        }
        self._matchers: list[tuple[int, CodeMatcher]] = []
        self._code_matches: dict[str, tuple[tuple[int, ...], int]] = {}
        for compiled in self._compiled:
            matcher = compiled.kind.code_matcher(compiled.promotion, env)
            if matcher is not None:
                self._matchers.append((compiled.index, matcher))
        self._coded = frozenset(index for index, _ in self._matchers)
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

    # -- pricing -----------------------------------------------------------------------
    def price(self, cart: Cart, context: Context) -> Quote:
        """Price ``cart`` in ``context``. Pure: same inputs, same quote; inputs untouched.

        The figures are worked out here; each promotion's explanation, and the account
        of presented codes, are worked out when the quote is first asked for them (by
        pricing the cart again with explanations on: the same figures, by purity).
        """
        if cart.currency != self.currency:
            from promorules.diagnostics import PromorulesError

            raise PromorulesError(
                f"cart is in {cart.currency} but the ruleset prices in {self.currency}"
            )
        quote, work = self._price(cart, context, _NOTHING, False)
        if work is not None:
            quote = self._guard(cart, context, quote, work, False)
        quote._explain = lambda: self.explained(cart, context)
        return quote

    def explained(self, cart: Cart, context: Context) -> Quote:
        """:meth:`price` with every explanation worked out at once (what ``price``'s
        quote does lazily, on first access). For tests and tools; checkout code wants
        :meth:`price`."""
        quote, work = self._price(cart, context, _NOTHING, True)
        return quote if work is None else self._guard(cart, context, quote, work, True)

    def _price(
        self,
        cart: Cart,
        context: Context,
        excluded: frozenset[int],
        explain: bool,
        settle_held: bool = True,
    ) -> tuple[Quote, Work | None]:
        """One pass over the lanes. With ``explain`` off, nothing but the figures: no
        record per promotion, no code findings, and evaluators may skip their texts; the
        plan's hot-path function does the pass when it can (:mod:`promorules.hotpath`).

        Returns the quote and the guardrail's working figures, or None for them when
        there are no floors or (``settle_held``) every floor holds as priced: the quote's
        guardrail report is then final."""
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
            coupons, unredeemed = (), self._coded
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
        records: dict[int, Any] = {}
        codes: list[tuple[str, int, Reason | None]] | tuple[()] = ()
        if explain or excluded or self._tracks_lines or len(plan.slots) > HOT_PATH_LIMIT:
            redeemed: dict[int, tuple[str, ...]] = {}
            # promotions redeemed by codes give nothing unless one of their codes is
            # presented (the kind contract of code_matcher): without explanations they are
            # not looked at
            if explain:
                unredeemed = _NOTHING
            adjustments, gifts, consumes, schedule, shipping = self._walk(
                plan, state, scopes, excluded, unredeemed, records, redeemed
            )
            if explain and coupons:
                codes = self._code_findings(coupons, state.ts, redeemed, records, plan.defaults)
        else:
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
            adjustments, gifts, consumes, schedule, shipping = figures
        amounts = state.amounts
        work = None
        guardrail = _NO_GUARDRAIL
        floors = self.floors
        if floors.any:
            costs = (
                [line.unit_cost * line.quantity]
                if single
                else [line.unit_cost * line.quantity for line in lines]
            )
            extra_cost = 0
            for _, gift in gifts:
                extra_cost += gift.unit_cost * gift.quantity
            if settle_held and not floors.categories and held(amounts, costs, extra_cost, floors):
                # every floor holds as priced: nothing for the guardrail to do, and the
                # floors' report is worked out only if it is read
                guardrail = GuardrailReport(
                    _OK,
                    lambda: report(Work(amounts, costs, (), adjustments, extra_cost), floors, {}),
                    {},
                    (),
                )
            else:
                work = Work(
                    amounts,
                    costs,
                    [line.category for line in lines] if floors.categories else (),
                    adjustments,
                    extra_cost,
                    [(index, g.unit_cost * g.quantity) for index, g in gifts] if gifts else (),
                )
        quote = Quote(  # positionally (a third of the cost of keywords), in Quote's order
            self.currency,
            lines,
            amounts,
            adjustments,
            self._meta,  # promotions
            records,
            gifts,
            (cart.shipping, shipping),
            guardrail,
            consumes,
            self._budget_keys,
            self._funder_budget_keys,
            schedule,
            codes,
            plan.defaults,
        )
        return quote, work

    def _walk(
        self,
        plan: Plan,
        state: PricingState,
        scopes: list[tuple[int, ...]],
        excluded: frozenset[int],
        unredeemed: frozenset[int],
        records: dict[int, Any],
        redeemed: dict[int, tuple[str, ...]],
    ) -> tuple[
        list[list[Any]],
        list[tuple[int, Gift]],
        list[Consumed],
        list[tuple[list[tuple[int, int]], Any]],
        int,
    ]:
        """The lanes, one after the other, for any plan: the definition of a pass, which
        the hot path (:mod:`promorules.hotpath`) must agree with on every figure.

        ``unredeemed``: promotions not to look at (code-redeemed ones whose codes were
        not presented). Fills ``records`` (the promotions looked at; the others read the
        plan's defaults) and ``redeemed`` (the codes each offer redeems) when
        ``state.explain``; returns the adjustments, gifts, consumption, deposit schedule
        and the shipping fee left."""
        explain = state.explain
        lines = state.lines
        amounts = state.amounts
        availability = state.availability
        adjustments: list[list[Any]] = []
        touched: list[set[int]] | None = [set() for _ in lines] if self._tracks_lines else None
        gifts: list[tuple[int, Gift]] = []
        # (promotion index, counter, amount): the quote keeps those of promotions that
        # still give something once budgets and the guardrail are done
        consumes: list[Consumed] = []
        schedule: list[tuple[list[tuple[int, int]], Any]] = []
        shipping = state.shipping
        # explaining, every promotion is looked at when some may be dropped or paused (to
        # say so); otherwise only those with a line in scope and those that apply without
        look_at_all = explain and (bool(excluded) or availability is not UNLIMITED)
        check_paused = availability is not UNLIMITED
        every_line = list(range(len(lines)))  # shared, never changed
        # per lane, the lines in scope of each targeted promotion (by its position)
        by_lane: list[dict[int, list[int]]] = [{} for _ in plan.lanes]
        place = plan.places
        for i, scope in enumerate(scopes):
            for slot in scope:
                position, k = place[slot]
                found = by_lane[position].get(k)
                if found is None:
                    by_lane[position][k] = [i]
                else:
                    found.append(i)
        for position, lane_promotions in enumerate(plan.lanes):
            if not lane_promotions:
                continue
            scoped = by_lane[position]
            if every_line:
                for k in plan.everywhere[position]:
                    scoped[k] = every_line
            if look_at_all:
                candidates: Iterable[int] = range(len(lane_promotions))
            else:
                always = plan.always[position]
                if not scoped and not always:
                    continue
                candidates = sorted(always.union(scoped)) if always else sorted(scoped)
            state.shipping = shipping
            offers: list[tuple[Compiled, Offer]] = []
            for k in candidates:
                compiled = lane_promotions[k]
                index = compiled.index
                if index in unredeemed:
                    continue
                if excluded and index in excluded:
                    if explain:
                        records[index] = [
                            Status.NOT_APPLIED,
                            0,
                            0,
                            Reason.GUARDRAIL_REJECTED,
                            "dropped by the guardrail (on_breach = reject)",
                            None,
                        ]
                    continue
                if check_paused and availability.paused(compiled.promotion.id):
                    if explain:
                        records[index] = [
                            Status.NOT_APPLIED,
                            0,
                            0,
                            Reason.PAUSED,
                            "paused by the planners",
                            None,
                        ]
                    continue
                in_scope = scoped.get(k) or []
                if compiled.not_with and in_scope:
                    assert touched is not None
                    in_scope = [i for i in in_scope if compiled.not_with.isdisjoint(touched[i])]
                    if not in_scope:
                        if explain:
                            records[index] = [
                                Status.NOT_APPLIED,
                                0,
                                0,
                                Reason.EXCLUDED_BY,
                                "its lines already carry a promotion it does not stack with",
                                None,
                            ]
                        continue
                if not in_scope and not compiled.kind.without_lines:
                    continue  # the plan's default record says so
                result = compiled.evaluate(state, in_scope)
                if type(result) is Offer:
                    offers.append((compiled, result))
                elif explain:
                    assert isinstance(result, NotApplied)
                    records[index] = [
                        Status.NOT_APPLIED,
                        0,
                        0,
                        result.reason,
                        result.detail,
                        result.hint,
                    ]
            if not offers:
                continue
            offers = resolve(offers, records if explain else None)
            if lane_promotions[0].lane is Lane.PRICE:
                apply_prices(
                    offers,
                    state,
                    adjustments,
                    touched,
                    records if explain else None,
                    consumes,
                    self._by_priority,
                )
            else:
                append = adjustments.append
                for compiled, offer in offers:
                    applied = 0
                    index = compiled.index
                    for i, amount in zip(offer.lines, offer.amounts, strict=True):
                        left = amounts[i]
                        if amount > left:
                            amount = left
                        if amount > 0:
                            amounts[i] = left - amount
                            append([index, i, amount])
                            if touched is not None:
                                touched[i].add(index)
                            applied += amount
                    off = offer.shipping_off
                    if off:
                        off = min(off, shipping)
                        if off > 0:
                            shipping -= off
                            append([index, -1, off])
                            applied += off
                    if not explain:
                        continue
                    status = Status.APPLIED
                    why: Any = offer.reason
                    if applied == 0 and not offer.gifts:
                        status, why = Status.NOT_APPLIED, Reason.NOTHING_LEFT
                    records[index] = [
                        status,
                        applied,
                        offer.base,
                        why,
                        offer.detail
                        if applied or offer.gifts
                        else "earlier promotions left nothing to discount",
                        offer.hint,
                    ]
            self._settle(offers, state, gifts, consumes, schedule, records)
            if explain and state.coupons:
                for compiled, offer in offers:
                    redeemed[compiled.index] = offer.codes
            if self._budget_keys:  # some promotion has a budget
                shipping += self._apply_budgets(offers, adjustments, amounts, availability, records)
        if self._funder_budget_keys and adjustments:
            shipping += self._apply_funder_budgets(adjustments, amounts, availability, records)
        return adjustments, gifts, consumes, schedule, shipping

    def _code_findings(
        self,
        codes: Sequence[str],
        ts: int,
        redeemed: dict[int, tuple[str, ...]],
        records: dict[int, list[Any]],
        defaults: Sequence[tuple[Any, ...]],
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
            if record is not None and record[3] is Reason.OUT_OF_WINDOW:
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
        found = (codes, self._coded.difference(*(self._match_code(code)[0] for code in codes)))
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

    def _settle(
        self,
        offers: list[tuple[Compiled, Offer]],
        state: PricingState,
        gifts: list[tuple[int, Gift]],
        consumes: list[Consumed],
        schedule: list[tuple[list[tuple[int, int]], Any]],
        records: dict[int, list[Any]],
    ) -> None:
        """What a lane's offers leave beyond their discounts, once the lane is applied:
        deposit schedules (seen by later lanes), gifts, and the counters they consume."""
        for compiled, offer in offers:
            if offer.deposits:
                for i, deposit in offer.deposits:
                    state.deposits[i] = deposit
                    state.deferred[i] = True
                schedule.append((list(offer.deposits), offer.balance_window))
            if offer.gifts:
                self._add_gifts(compiled, offer.gifts, gifts, records, consumes)
            if offer.consumes:
                consumes.extend((compiled.index, key, n, -1) for key, n in offer.consumes)

    def _add_gifts(
        self,
        compiled: Compiled,
        offered: list[Gift],
        gifts: list[tuple[int, Gift]],
        records: dict[int, list[Any]],
        consumes: list[Consumed],
    ) -> None:
        """Add the gifts of an offer; a sku already given is refused unless both gifts are
        stackable. A gift's stock counter is consumed only for a gift actually added, and
        a promotion whose every gift was refused (and that gave nothing else) is not
        applied, with the promotion that gave the gift named."""
        refused: list[str] = []
        added = 0
        for gift in offered:
            holder = next(
                (
                    index
                    for index, g in gifts
                    if g.sku == gift.sku and not (g.stackable and gift.stackable)
                ),
                None,
            )
            if holder is not None:
                refused.append(f"{gift.sku} (given by {self._meta[holder][0]})")
                continue
            gifts.append((compiled.index, gift))
            added += 1
            if gift.counter is not None:
                consumes.append((compiled.index, gift.counter, gift.quantity, -1))
        record = records.get(compiled.index)
        if refused and not added and record is not None and record[1] == 0:
            records[compiled.index] = [
                Status.NOT_APPLIED,
                0,
                record[2],
                Reason.GIFT_DUPLICATE,
                "gift already in the order: " + ", ".join(refused),
                record[5],
            ]

    def _apply_budgets(
        self,
        offers: list[tuple[Compiled, Offer]],
        adjustments: list[list[Any]],
        amounts: list[int],
        availability: Any,
        records: dict[int, list[Any]],
    ) -> int:
        """Trim or refuse offers over their budget; returns the shipping fee given back
        (a trimmed shipping discount), which the caller adds to the fee left to pay."""
        shipping_back = 0
        for compiled, _offer in offers:
            if compiled.budget is None:
                continue
            left = availability.remaining(compiled.budget_key)
            if left is None:
                left = compiled.budget
            mine = [a for a in adjustments if a[0] == compiled.index and a[2] > 0]
            given = sum(a[2] for a in mine)
            if given <= left:
                continue
            keep = 0 if compiled.refuse_over_budget else max(left, 0)
            parts = allocate(keep, [a[2] for a in mine])
            for adjustment, part in zip(mine, parts, strict=True):
                back = adjustment[2] - part
                adjustment[2] = part
                if adjustment[1] >= 0:
                    amounts[adjustment[1]] += back
                else:
                    shipping_back += back
            record = records.get(compiled.index)
            if record is None:  # not explaining
                continue
            if keep == 0:
                records[compiled.index] = [
                    Status.NOT_APPLIED,
                    0,
                    record[2],
                    Reason.BUDGET_EXHAUSTED,
                    "its budget cannot cover this discount",
                    None,
                ]
            else:
                record[0], record[1], record[3] = Status.TRIMMED, keep, Reason.BUDGET_TRIMMED
        return shipping_back

    def _funder_share(self, index: int, total: int, funder: Funder) -> int:
        """The part of a promotion's ``total`` its funding split gives ``funder`` (the same
        split the quote reports)."""
        shares = self._meta[index][3]
        parts = allocate(total, [weight for _, weight in shares])
        return sum(part for (f, _), part in zip(shares, parts, strict=True) if f is funder)

    def _apply_funder_budgets(
        self,
        adjustments: list[list[Any]],
        amounts: list[int],
        availability: Any,
        records: dict[int, list[Any]],
    ) -> int:
        """Keep each budgeted funder's share of the quote within what is left of its budget.

        Over budget, discounts the funder pays part of are taken back in the guardrail's
        trim order (lowest priority first): by as little as makes the share fit (``trim``)
        or whole (``refuse``). Returns the shipping fee given back."""
        shipping_back = 0
        refuse = self.ruleset.stacking.funder_budget_policy is BudgetPolicy.REFUSE
        for funder, key in self._funder_budget_keys.items():
            left = availability.remaining(key)
            if left is None:
                left = self.ruleset.budgets[funder]
            left = max(left, 0)
            totals: dict[int, int] = {}
            for index, _line, amount in adjustments:
                totals[index] = totals.get(index, 0) + amount
            share = {i: self._funder_share(i, t, funder) for i, t in totals.items() if t}
            over = sum(share.values()) - left
            for index in self._trim_order:
                if over <= 0:
                    break
                if not share.get(index):
                    continue
                total = totals[index]
                keep = 0
                if not refuse:
                    # the largest total whose share fits what the others leave
                    room = share[index] - over
                    low, high = 0, total
                    while low < high:
                        middle = (low + high + 1) // 2
                        if self._funder_share(index, middle, funder) <= room:
                            low = middle
                        else:
                            high = middle - 1
                    keep = low
                shipping_back += _take_back(index, total - keep, adjustments, amounts)
                over -= share[index] - self._funder_share(index, keep, funder)
                record = records.get(index)
                if record is None:
                    continue
                if keep == 0:
                    records[index] = [
                        Status.NOT_APPLIED,
                        0,
                        record[2],
                        Reason.BUDGET_EXHAUSTED,
                        f"the {funder.value} budget cannot cover this discount",
                        None,
                    ]
                else:
                    record[0], record[1], record[3] = Status.TRIMMED, keep, Reason.BUDGET_TRIMMED
        return shipping_back

    # -- guardrail ---------------------------------------------------------------------
    def _guard(
        self, cart: Cart, context: Context, quote: Quote, work: Work, explain: bool
    ) -> Quote:
        if self.on_breach is CLAMP:
            taken, per_floor = clamp(work, self.floors, self._trim_order, self._trim_rank)
            dropped = work.dropped
            if not per_floor and not dropped:  # every floor held as priced
                return self._finish(quote, work, _OK, {}, {}, ())
            if explain:
                for index, amount in taken.items():
                    record = quote._records[index]
                    record[0], record[1] = Status.TRIMMED, record[1] - amount
                    record[3] = Reason.GUARDRAIL_CLAMPED
            if dropped:
                self._drop_gifts(quote, dropped, explain)
            meta = self._meta
            trims: dict[str, int] = {}  # per promotion id (a loop: a comprehension costs more)
            for index, amount in taken.items():
                if amount:
                    trims[meta[index][0]] = amount
            status = CLAMPED if work.settled else BREACHED
            return self._finish(quote, work, status, trims, per_floor, ())
        found = breaches(work, self.floors)
        if not found:
            return self._finish(quote, work, GuardrailStatus.OK, {}, {}, ())
        if self.on_breach is OnBreach.WARN:
            return self._finish(quote, work, GuardrailStatus.BREACHED, {}, {}, ())
        # reject: drop the promotions behind a breach, lowest in trim order first
        excluded: set[int] = set()
        while found:
            lines = {i for breach in found for i in breach.lines}
            culprits = {a[0] for a in work.adjustments if a[1] in lines and a[2] > 0}
            culprit = next((i for i in self._trim_order if i in culprits), None)
            if culprit is None:
                # no discount left behind the breach: a gift's cost may be what breaks it
                givers = gift_givers(work, self.floors)
                culprit = next((i for i in self._trim_order if i in givers), None)
            if culprit is None:
                break
            excluded.add(culprit)
            quote, maybe_work = self._price(
                cart, context, frozenset(excluded), explain, settle_held=False
            )
            assert maybe_work is not None
            work = maybe_work
            found = breaches(work, self.floors)
        status = GuardrailStatus.BREACHED if found else GuardrailStatus.REJECTED
        rejected = tuple(self._meta[i][0] for i in sorted(excluded))
        return self._finish(quote, work, status, {}, {}, rejected)

    def _drop_gifts(self, quote: Quote, dropped: list[int], explain: bool) -> None:
        """Take the gifts the clamp dropped out of the quote, with their stock use, and
        (``explain``) say so in their promotions' explanations."""
        consumption = list(quote.consumption)
        for position in sorted(dropped, reverse=True):
            index, gift = quote._gifts.pop(position)
            if gift.counter is not None and (gift.counter, gift.quantity) in consumption:
                consumption.remove((gift.counter, gift.quantity))
            if not explain:
                continue
            record = quote._records[index]
            note = f"gift {gift.sku} dropped: the order margin floor cannot hold its cost"
            if record[1] == 0 and not any(i == index for i, _ in quote._gifts):
                quote._records[index] = [
                    Status.NOT_APPLIED,
                    0,
                    record[2],
                    Reason.GUARDRAIL_CLAMPED,
                    note,
                    record[5],
                ]
            else:
                record[0], record[3] = Status.TRIMMED, Reason.GUARDRAIL_CLAMPED
                record[4] = f"{record[4]}; {note}" if record[4] else note
        quote.consumption = tuple(consumption)

    def _finish(
        self,
        quote: Quote,
        work: Work,
        status: GuardrailStatus,
        trims: dict[str, int],
        per_floor: dict[str, int],
        rejected: tuple[str, ...],
    ) -> Quote:
        floors = self.floors
        quote.guardrail = GuardrailReport(
            status, lambda: report(work, floors, per_floor), trims, rejected
        )
        return quote


_OK = GuardrailStatus.OK  # a module global: an enum member read off its class costs ~70 ns
_NO_GUARDRAIL = GuardrailReport(_OK, (), {}, ())
_NOTHING: frozenset[int] = frozenset()  # no promotion excluded


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


def _take_back(index: int, amount: int, adjustments: list[list[Any]], amounts: list[int]) -> int:
    """Take ``amount`` back from promotion ``index``'s adjustments, spread in proportion to
    them; returns the part that goes back to the shipping fee."""
    mine = [a for a in adjustments if a[0] == index and a[2] > 0]
    shipping_back = 0
    for adjustment, part in zip(mine, allocate(amount, [a[2] for a in mine]), strict=True):
        adjustment[2] -= part
        if adjustment[1] >= 0:
            amounts[adjustment[1]] += part
        else:
            shipping_back += part
    return shipping_back
