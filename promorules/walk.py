"""The walk: one pass over an activation plan's lanes, promotion by promotion.

The definition of a pass, for any plan: :meth:`Engine.explained
<promorules.engine.Engine.explained>` walks (recording why each promotion applied or
not), and so does :meth:`Engine.price <promorules.engine.Engine.price>` for a cart with a
deposit; otherwise ``price`` runs the function the plan's writer made
(:mod:`promorules.hotpath`), which must agree with the walk on every figure (the
property suites hold them equal).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from promorules.budgets import apply_budgets
from promorules.counters import UNLIMITED, Consumed
from promorules.kind import Gift, Lane, NotApplied, Offer, PricingState, Reason
from promorules.messages import Note
from promorules.plan import Compiled, Plan
from promorules.pricelane import apply_prices
from promorules.quote import Cut, Record, Status
from promorules.stacking import resolve

if TYPE_CHECKING:
    from promorules.engine import Engine

_LEFT_NOTHING = (Note("earlier-left-nothing"),)


def walk(
    engine: Engine,
    plan: Plan,
    state: PricingState,
    scopes: list[tuple[int, ...]],
    excluded: frozenset[int],
    unredeemed: frozenset[int],
    records: dict[int, Record],
    redeemed: dict[int, tuple[str, ...]],
) -> tuple[
    list[Cut],
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
    adjustments: list[Cut] = []
    touched: list[set[int]] | None = [set() for _ in lines] if engine.tracks_lines else None
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
                    records[index] = Record(
                        Status.NOT_APPLIED,
                        0,
                        0,
                        Reason.GUARDRAIL_REJECTED,
                        (),
                        None,
                    )
                continue
            if check_paused and availability.paused(compiled.promotion.id):
                if explain:
                    records[index] = Record(
                        Status.NOT_APPLIED,
                        0,
                        0,
                        Reason.PAUSED,
                        (),
                        None,
                    )
                continue
            in_scope = scoped.get(k) or []
            if compiled.not_with and in_scope:
                assert touched is not None
                in_scope = [i for i in in_scope if compiled.not_with.isdisjoint(touched[i])]
                if not in_scope:
                    if explain:
                        records[index] = Record(
                            Status.NOT_APPLIED,
                            0,
                            0,
                            Reason.EXCLUDED_BY,
                            (),
                            None,
                        )
                    continue
            if not in_scope and not compiled.kind.without_lines:
                continue  # the plan's default record says so
            result = compiled.evaluate(state, in_scope)
            if type(result) is Offer:
                offers.append((compiled, result))
            elif explain:
                assert isinstance(result, NotApplied)
                records[index] = Record(
                    Status.NOT_APPLIED,
                    0,
                    0,
                    result.reason,
                    result.notes,
                    result.hint,
                )
        if not offers:
            continue
        price_lane = lane_promotions[0].lane is Lane.PRICE
        offers = resolve(
            offers, records if explain else None, None if price_lane else amounts, shipping
        )
        if lane_promotions[0].lane is Lane.PRICE:
            apply_prices(
                offers,
                state,
                adjustments,
                touched,
                records if explain else None,
                consumes,
                engine.price_by_priority,
            )
        else:
            append = adjustments.append
            # a line's amount never goes below its deposit (paid, or due now)
            deposits = state.deposits if state.deposited else None
            for compiled, offer in offers:
                applied = 0
                index = compiled.index
                for i, amount in zip(offer.lines, offer.amounts, strict=True):
                    left = amounts[i]
                    if deposits is not None and deposits[i]:
                        left = max(left - deposits[i], 0)
                    if amount > left:
                        amount = left
                    if amount > 0:
                        amounts[i] -= amount
                        append((index, i, amount))
                        if touched is not None:
                            touched[i].add(index)
                        applied += amount
                off = offer.shipping_off
                if off:
                    off = min(off, shipping)
                    if off > 0:
                        shipping -= off
                        append((index, -1, off))
                        applied += off
                if not explain:
                    continue
                status = Status.APPLIED
                why: Any = offer.reason
                if applied == 0 and not offer.gifts:
                    status, why = Status.NOT_APPLIED, Reason.NOTHING_LEFT
                records[index] = Record(
                    status,
                    applied,
                    offer.base,
                    why,
                    offer.notes if applied or offer.gifts else _LEFT_NOTHING,
                    offer.hint,
                )
        engine.settle(offers, state, gifts, consumes, schedule, records)
        if explain and state.coupons:
            for compiled, offer in offers:
                redeemed[compiled.index] = offer.codes
        if engine.budget_keys:  # some promotion has a budget
            shipping += apply_budgets(offers, adjustments, amounts, availability, records)
    if engine.funder_budgets.keys and adjustments:
        shipping += engine.funder_budgets.apply(adjustments, amounts, availability, records)
    return adjustments, gifts, consumes, schedule, shipping
