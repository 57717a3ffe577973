"""The interpreter: a :class:`~promorules.model.Rule` priced on a cart, with its account.

:func:`evaluator` turns one rule into the :data:`~promorules.kind.Evaluator` the engine
calls: the explained pass calls it for every promotion it looks at, and the compiled
pass for the rules it does not write inline (pools per store or per line, uses counted
by the ledger). It is the plain reading of the model, kept apart from the writer in
:mod:`promorules.hotpath` on purpose: ``tests/property/test_model.py`` prices random
rules both ways and holds them equal to the minor unit, so a slip in either fails.

Figures first: every benefit comes to a discount per line (or off the shipping fee, or
unit prices), a pooled one split over its pool's lines by :func:`split`. The account
(what was reached, the upsell towards the next step) is noted, as
:class:`~promorules.messages.Note` data, only when the state asks for explanations.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from promorules.counters import CounterKey
from promorules.kind import (
    QUIET,
    CompileEnv,
    Evaluator,
    Gift,
    NotApplied,
    Offer,
    PricingState,
    Reason,
    Upsell,
)
from promorules.messages import Amount, Note
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
    Step,
    Tiers,
    UnitPrice,
    Uses,
)
from promorules.money import Rounding, allocate, apply_rate
from promorules.units import runs, take


def split(total: int, weights: Sequence[int], leftover: Leftover) -> list[int]:
    """``total`` split over ``weights`` in proportion, exactly; the minor units left over
    go by ``leftover``: to the largest remainders (:func:`~promorules.money.allocate`),
    or to the first (last) lines that have room, one line filled before the next. With
    ``0 <= total <= sum(weights)`` no part exceeds its weight."""
    if leftover is Leftover.LARGEST_REMAINDER:
        return allocate(total, weights)
    weight_sum = sum(weights)
    if weight_sum == 0:
        return allocate(total, weights)
    parts = [total * weight // weight_sum for weight in weights]
    left = total - sum(parts)
    order = range(len(parts)) if leftover is Leftover.FIRST_LINE else range(len(parts) - 1, -1, -1)
    for k in order:
        if left <= 0:
            break
        room = weights[k] - parts[k]
        if room > 0:
            give = room if room < left else left
            parts[k] += give
            left -= give
    if left:  # only when total exceeds the weights: the rest on the first (last) line
        parts[order[0]] += left
    return parts


def unit_price(benefit: UnitPrice, sku: str, list_unit: int, rounding: Rounding) -> int | None:
    """The unit price ``benefit`` offers a unit of ``sku`` listed at ``list_unit`` (None:
    none). The rate rounds the discount, never the price, so a percent price never gives
    more than declared. May be at or above list (then it offers nothing)."""
    fixed = benefit.prices.get(sku)
    if fixed is not None:
        return fixed
    rate = benefit.percent
    if rate is not None:
        return list_unit - apply_rate(list_unit, rate.numerator, rate.denominator, rounding)
    return None


def pool_off(rule: Rule, measure: int, base: int, rounding: Rounding) -> tuple[int, int | None]:
    """What a pooled benefit comes to on a pool that reached the rule's condition:
    ``(discount before the cap and the base, the step reached or None)``."""
    benefit = rule.benefit
    if isinstance(benefit, PercentOff):
        rate = benefit.rate
        return apply_rate(base, rate.numerator, rate.denominator, rounding), None
    if isinstance(benefit, AmountOff):
        return benefit.amount, None
    if isinstance(benefit, Every):
        return measure // benefit.step * benefit.off, None
    assert isinstance(benefit, Tiers)
    for position in range(len(benefit.steps) - 1, -1, -1):
        step = benefit.steps[position]
        if measure >= step.at:
            reward = step.reward
            if isinstance(reward, AmountOff):
                return reward.amount, position
            rate = reward.rate
            return apply_rate(base, rate.numerator, rate.denominator, rounding), position
    return 0, None


def line_offs(
    rule: Rule, amounts: Sequence[int], qty: Sequence[int], pool: Sequence[int], rounding: Rounding
) -> list[int]:
    """What a per-line benefit gives each line of ``pool`` (before the pool's cap)."""
    benefit = rule.benefit
    if isinstance(benefit, Cheapest):
        return _cheapest(benefit, amounts, qty, pool, rounding)
    if isinstance(benefit, PercentOff):
        num, den = benefit.rate.numerator, benefit.rate.denominator
        return [apply_rate(amounts[i], num, den, rounding) for i in pool]
    assert isinstance(benefit, AmountOff)
    amount = benefit.amount
    if benefit.per is Per.LINE:
        return [min(amount, amounts[i]) for i in pool]
    limit = rule.units_per_line
    if limit is None:
        return [min(amount * qty[i], amounts[i]) for i in pool]
    return [min(amount * min(qty[i], limit), amounts[i]) for i in pool]


def _cheapest(
    benefit: Cheapest,
    amounts: Sequence[int],
    qty: Sequence[int],
    pool: Sequence[int],
    rounding: Rounding,
) -> list[int]:
    """What the cheapest (dearest) units give each line of ``pool``: a percent rounded
    once on each line's picked units, or an amount off each picked unit."""
    picked: dict[int, int] = {}
    reward = benefit.reward
    for line, value, count in take(runs(amounts, qty, pool), benefit.count, benefit.dearest):
        unit = min(reward.amount, value) if isinstance(reward, AmountOff) else value
        picked[line] = picked.get(line, 0) + unit * count
    if isinstance(reward, PercentOff):
        num, den = reward.rate.numerator, reward.rate.denominator
        return [apply_rate(picked.get(i, 0), num, den, rounding) for i in pool]
    return [picked.get(i, 0) for i in pool]


def measures(rule: Rule, state: PricingState, pool: Sequence[int]) -> tuple[list[int], int, int]:
    """``pool``'s line amounts at the start of the lane, their sum, and its number of
    units (0 when the rule counts none)."""
    amounts = state.amounts
    weights = [amounts[i] for i in pool]
    if rule.condition.min_quantity or rule.by_quantity:
        qty = state.qty
        return weights, sum(weights), sum([qty[i] for i in pool])
    return weights, sum(weights), 0


def figures(
    rule: Rule,
    state: PricingState,
    pool: Sequence[int],
    weights: list[int],
    base: int,
    quantity: int,
) -> tuple[list[int], int | None]:
    """The discount per line of ``pool`` (which reached the condition; ``weights``,
    ``base`` and ``quantity`` its :func:`measures`), with the pool's cap and base
    applied, and the tier reached (None: not a ladder). A pooled rule's discount is
    split over ``weights`` (the lines', and the shipping fee's last for a rule that
    measures with shipping)."""
    amounts = state.amounts
    if not rule.pooled:
        given = line_offs(rule, amounts, state.qty, pool, state.rounding)
        cap = rule.cap
        if cap is not None and sum(given) > cap:
            given = split(cap, given, rule.leftover)
        return given, None
    measure = quantity if rule.by_quantity else base
    off, step = pool_off(rule, measure, base, state.rounding)
    if rule.cap is not None and off > rule.cap:
        off = rule.cap
    if off > base:
        off = base
    if off <= 0:
        return [0] * len(weights), step
    return split(off, weights, rule.leftover), step


def reached(rule: Rule, base: int, quantity: int) -> int:
    """How far a pool of ``base`` (its amount) and ``quantity`` (its units, as
    :func:`measures` counts them) is from the rule's condition: 0 when reached, else the
    shortfall (in units for a rule counting them, else minor units); -1 when above its
    maximum."""
    condition = rule.condition
    if condition.max_amount is not None and base > condition.max_amount:
        return -1
    if rule.by_quantity:
        short_units = rule.first - quantity
        if short_units > 0:
            return short_units
        return max(condition.min_amount - base, 0)
    if condition.min_quantity and quantity < condition.min_quantity:
        return condition.min_quantity - quantity
    return max(rule.first - base, 0)


def pools(rule: Rule, state: PricingState, lines: Sequence[int]) -> list[Sequence[int]]:
    """``lines`` cut into the rule's pools (in order of their first line)."""
    if rule.pool is Pool.ORDER:
        return [lines]
    if rule.pool is Pool.LINE:
        return [[i] for i in lines]
    by_store: dict[str, list[int]] = {}
    cart = state.lines
    for i in lines:
        by_store.setdefault(cart[i].merchant, []).append(i)
    return list(by_store.values())


class _Words:
    """A rule's notes, worked out once per promotion, not on every cart."""

    def __init__(self, rule: Rule, env: CompileEnv) -> None:
        self.rule = rule
        self.env = env
        ladder = isinstance(rule.benefit, (Tiers, Every))
        if rule.by_quantity:
            code = "below-first-tier-items" if ladder else "below-threshold-items"
            self.below = Note(code, {"items": rule.first})
        else:
            code = "below-first-tier" if ladder else "below-threshold"
            self.below = Note(code, {"threshold": Amount(rule.first)})
        self._benefit: Note | None = None

    def short(self, base: int, quantity: int) -> tuple[Note, Upsell | None]:
        """Why a pool of ``base`` and ``quantity`` short of the condition gives nothing,
        and the hint towards it: in items when the units it must hold are what it lacks."""
        rule = self.rule
        need = rule.condition.min_quantity
        if need and not rule.by_quantity and quantity < need:
            hint = self.env.upsell(need - quantity, need, self.benefit, True)
            return Note("below-threshold-items", {"items": need}), hint
        return self.below, self.hint(rule, quantity if rule.by_quantity else base, None)

    def reward(self, reward: PercentOff | AmountOff) -> Note:
        if isinstance(reward, PercentOff):
            return Note("percent-off", {"percent": reward.rate})
        return Note("amount-off", {"amount": Amount(reward.amount)})

    def benefit(self) -> Note:
        """The reward the rule gives, as an upsell hint names it (built once)."""
        found = self._benefit
        if found is None:
            found = self._benefit = self._name_benefit()
        return found

    def _name_benefit(self) -> Note:
        rule, benefit = self.rule, self.rule.benefit
        if isinstance(benefit, ShippingOff):
            if benefit.amount is not None:
                return Note("shipping-amount-off", {"amount": Amount(benefit.amount)})
            if benefit.percent is not None:
                return Note("shipping-percent-off", {"percent": benefit.percent})
            if benefit.price is not None:
                return Note("shipping-at", {"price": Amount(benefit.price)})
            return Note("free-shipping")
        if isinstance(benefit, Tiers):
            return self.reward(benefit.steps[0].reward)
        if isinstance(benefit, Every):
            return Note("amount-off", {"amount": Amount(benefit.off)})
        if isinstance(benefit, GiveGifts):
            return Note("gifts", {"gifts": gift_items(benefit.gifts)})
        if isinstance(benefit, AmountOff):
            amount = Amount(benefit.amount)
            if benefit.per is Per.UNIT:
                note = Note("amount-off-each-unit", {"amount": amount})
            elif benefit.per is Per.LINE:
                note = Note("amount-off-each-line", {"amount": amount})
            else:
                note = Note("amount-off", {"amount": amount})
        elif isinstance(benefit, PercentOff):
            code = "percent-off-each-line" if benefit.per_line else "percent-off"
            note = Note(code, {"percent": benefit.rate})
        else:
            return Note("a-unit-price")
        if rule.cap is not None:
            return Note("at-most", {"reward": note, "cap": Amount(rule.cap)})
        return note

    def applied(self, measure: int, step: int | None) -> Note:
        """What one pool reached and got."""
        rule, benefit = self.rule, self.rule.benefit
        if isinstance(benefit, Tiers) and step is not None:
            tier = benefit.steps[step]
            reward = self.reward(tier.reward)
            if rule.by_quantity:
                return Note("tier-reached-items", {"items": tier.at, "reward": reward})
            return Note("tier-reached", {"threshold": Amount(tier.at), "reward": reward})
        if isinstance(benefit, Every):
            times, off = measure // benefit.step, Amount(benefit.off)
            if rule.by_quantity:
                return Note(
                    "every-reached-items", {"times": times, "off": off, "items": benefit.step}
                )
            return Note("every-reached", {"times": times, "off": off, "step": Amount(benefit.step)})
        if rule.condition.min_amount:
            threshold = Amount(rule.condition.min_amount)
            return Note("reward-given-above", {"reward": self.benefit(), "threshold": threshold})
        return Note("reward-given", {"reward": self.benefit()})

    def hint(self, rule: Rule, measure: int, step: int | None) -> Upsell | None:
        """The upsell from a pool at ``measure`` (amount, or units) to its next reward."""
        benefit = rule.benefit
        upsell = self.env.upsell
        by_quantity = rule.by_quantity
        if isinstance(benefit, Every):
            times = measure // benefit.step
            if times == 0:
                return upsell(rule.first - measure, rule.first, self.benefit, by_quantity)
            target = (times + 1) * benefit.step
            reward = Note("amount-off", {"amount": Amount((times + 1) * benefit.off)})
            return upsell(target - measure, benefit.step, reward, by_quantity)
        if isinstance(benefit, Tiers):
            following = 0 if step is None else step + 1
            if following >= len(benefit.steps):
                return None
            nxt = benefit.steps[following]
            at = max(nxt.at, rule.first)
            return upsell(at - measure, at, self.reward(nxt.reward), by_quantity)
        return upsell(rule.first - measure, rule.first, self.benefit, by_quantity)


def gift_items(gifts: Sequence[Gift]) -> tuple[Note, ...]:
    """The notes naming ``gifts`` (title, else sku; the quantity when more than one)."""
    return tuple(
        Note("gift-item", {"name": g.title or g.sku})
        if g.quantity == 1
        else Note("gift-items", {"name": g.title or g.sku, "quantity": g.quantity})
        for g in gifts
    )


def evaluator(rule: Rule, env: CompileEnv) -> Evaluator:
    """The evaluator of ``rule`` (see the module's docstring)."""
    benefit = rule.benefit
    words = _Words(rule, env)
    codes = rule.condition.codes
    uses = rule.uses
    above = (
        (Note("above-maximum", {"maximum": Amount(rule.condition.max_amount)}),)
        if rule.condition.max_amount is not None
        else ()
    )

    def gate(state: PricingState) -> NotApplied | tuple[list[tuple[CounterKey, int]], str]:
        """The uses a quote would take and the code it redeems, or why it gives nothing."""
        mine = [c for c in state.coupons if c in codes]
        if not mine:
            if not state.explain:
                return QUIET
            return NotApplied(Reason.NOT_PRESENTED)
        if uses.any:
            return claim(uses, state, mine)
        return [], mine[0]

    # fixed gifts: the same offer on every cart that reaches them (nobody changes it)
    gifts_offer = Offer(gifts=list(benefit.gifts)) if isinstance(benefit, GiveGifts) else None

    def evaluate(state: PricingState, lines: Sequence[int]) -> Offer | NotApplied:
        explain = state.explain
        gated = gate(state) if codes else None
        if isinstance(gated, NotApplied):
            return gated
        consumes, code = gated if gated is not None else ([], None)
        redeemed = (code,) if (explain and code is not None) else ()
        if isinstance(benefit, UnitPrice):
            return _unit_prices(benefit, state, lines, words)
        if isinstance(benefit, GiveGifts):
            _, goods, units = measures(rule, state, lines)
            short = reached(rule, goods, units)
            if short:
                return _short(state.explain, short, goods, units, words, above)
            if not explain:
                assert gifts_offer is not None
                return gifts_offer
            adds = Note("adds-gifts", {"gifts": gift_items(benefit.gifts)})
            return Offer(base=goods, notes=(adds,), gifts=list(benefit.gifts))
        if isinstance(benefit, ShippingOff):
            _, goods, units = measures(rule, state, lines)
            short = reached(rule, goods, units)
            if short:
                return _short(state.explain, short, goods, units, words, above)
            fee = state.shipping
            if fee <= 0:
                return NotApplied(Reason.NOTHING_LEFT, (_NO_FEE,))
            off = shipping_off(benefit, fee, state.rounding)
            if off <= 0:
                return NotApplied(Reason.NOTHING_LEFT, (_FEE_LOW,))
            if not explain:
                return Offer(shipping_off=off, consumes=consumes or None)
            what = "shipping-waived" if off == fee else "shipping-off"
            if rule.first and not rule.by_quantity:
                threshold = Amount(rule.first)
                told = Note(f"{what}-above", {"amount": Amount(off), "threshold": threshold})
            else:
                told = Note(what, {"amount": Amount(off)})
            return Offer(
                base=goods,
                notes=(told,),
                shipping_off=off,
                consumes=consumes,
                codes=redeemed,
            )
        balances = rule.final_payment and state.deposited
        if balances:
            deferred = state.deferred
            lines = [i for i in lines if not deferred[i]]
            if not lines:
                if not explain:
                    return QUIET
                return NotApplied(Reason.OTHER, (_FINAL_PAYMENT,))
        out_lines: list[int] = []
        out_amounts: list[int] = []
        total_base = 0
        notes: list[Note] = []
        best: Upsell | None = None
        met = above_seen = False
        below: Note | None = None  # why the first pool short of the condition gives nothing
        by_quantity = rule.by_quantity
        with_shipping = rule.with_shipping
        shipping = 0
        for pool in pools(rule, state, lines) if rule.pool is not Pool.ORDER else (lines,):
            weights, base, quantity = measures(rule, state, pool)
            if with_shipping:  # the fee is one more part of the pool (one pool: the order's)
                weights.append(state.shipping)
                base += state.shipping
            short = reached(rule, base, quantity)
            if short:
                if explain:
                    above_seen = above_seen or short < 0
                    if short > 0:
                        why, hint = words.short(base, quantity)
                        below = below or why
                        best = _better(best, hint)
                continue
            met = True
            given, step = figures(rule, state, pool, weights, base, quantity)
            if with_shipping:
                shipping = given.pop()
            if balances and sum(given) > _balance(state, pool):
                if explain:
                    notes.append(_BALANCE_BELOW)
                continue
            if explain:
                total_base += base
                measure = quantity if by_quantity else base
                capped = _capped(rule, state, pool, measure, base)
                if not capped:
                    best = _better(best, words.hint(rule, measure, step))
            if not any(given) and not shipping:
                continue
            if explain:
                notes.append(words.applied(measure, step))
                if capped:
                    notes.append(_CAPPED)
                if (
                    rule.pooled
                    and sum(given) + shipping == base
                    and _earned(rule, state, measure, base) > base
                ):
                    notes.append(_LIMITED)
            out_lines.extend(pool)
            out_amounts.extend(given)
        if not out_lines and not shipping:
            if not explain:
                return QUIET
            if met and notes:  # each pool's balance was below what it would give
                return NotApplied(Reason.OTHER, tuple(notes), best)
            if met:
                return NotApplied(Reason.NOTHING_LEFT, (), best)
            if below is not None:
                return NotApplied(Reason.BELOW_THRESHOLD, (below,), best)
            if above_seen:
                return NotApplied(Reason.ABOVE_MAXIMUM, above)
            return NotApplied(Reason.NO_ELIGIBLE_LINES)
        if not explain:
            if consumes or shipping:
                return Offer(
                    out_lines, out_amounts, shipping_off=shipping, consumes=consumes or None
                )
            return Offer(out_lines, out_amounts)
        return Offer(
            out_lines,
            out_amounts,
            shipping_off=shipping,
            base=total_base,
            notes=tuple(notes),
            hint=best,
            consumes=consumes,
            codes=redeemed,
        )

    return evaluate


def shipping_off(benefit: ShippingOff, fee: int, rounding: Rounding) -> int:
    """What ``benefit`` takes off a shipping fee of ``fee`` (never more than it)."""
    if benefit.amount is not None:
        return min(benefit.amount, fee)
    if benefit.percent is not None:
        rate = benefit.percent
        return min(apply_rate(fee, rate.numerator, rate.denominator, rounding), fee)
    if benefit.price is not None:
        return max(fee - benefit.price, 0)
    return fee


def claim(
    uses: Uses, state: PricingState, mine: list[str]
) -> tuple[list[tuple[CounterKey, int]], str] | NotApplied:
    """The uses a quote would take (one of each limit) and the code it redeems (of the
    presented ``mine``, which is not empty); a NotApplied when a limit is reached."""
    availability = state.availability
    consumes: list[tuple[CounterKey, int]] = []
    if uses.per_customer is not None:
        customer = state.customer.id
        if not customer:
            return NotApplied(Reason.CUSTOMER_REQUIRED)
        key = CounterKey(uses.per_customer.kind, uses.per_customer.promotion, customer)
        left = availability.remaining(key)
        if left is not None and left <= 0:
            return NotApplied(Reason.CUSTOMER_LIMIT)
        consumes.append((key, 1))
    if uses.total is not None:
        left = availability.remaining(uses.total)
        if left is not None and left <= 0:
            return NotApplied(Reason.EXHAUSTED)
        consumes.append((uses.total, 1))
    if uses.per_code is not None:
        template = uses.per_code
        fresh = [
            code
            for code in mine
            if _left(availability.remaining(CounterKey(template.kind, template.promotion, code)))
        ]
        if not fresh:
            return NotApplied(Reason.CODE_USED)
        mine = fresh
        consumes.append((CounterKey(template.kind, template.promotion, mine[0]), 1))
    return consumes, mine[0]


def _balance(state: PricingState, pool: Sequence[int]) -> int:
    """What is left to pay on ``pool`` at the final payment: amounts less deposits."""
    amounts, deposits = state.amounts, state.deposits
    return sum([max(amounts[i] - deposits[i], 0) for i in pool])


def _better(best: Upsell | None, hint: Upsell | None) -> Upsell | None:
    """The nearer of two upsell hints (the first on a tie)."""
    if hint is None or (best is not None and best.shortfall <= hint.shortfall):
        return best
    return hint


def _left(remaining: int | None) -> bool:
    return remaining is None or remaining > 0


def _earned(rule: Rule, state: PricingState, measure: int, base: int) -> int:
    """A pooled benefit's figure on a pool, after its cap but before its base."""
    off = pool_off(rule, measure, base, state.rounding)[0]
    return off if rule.cap is None or off <= rule.cap else rule.cap


def _capped(rule: Rule, state: PricingState, pool: Sequence[int], measure: int, base: int) -> bool:
    if rule.cap is None:
        return False
    if rule.pooled:
        return pool_off(rule, measure, base, state.rounding)[0] > rule.cap
    return sum(line_offs(rule, state.amounts, state.qty, pool, state.rounding)) > rule.cap


def _short(
    explain: bool, short: int, base: int, quantity: int, words: _Words, above: tuple[Note, ...]
) -> NotApplied:
    """Why a pool of ``base`` and ``quantity``, ``short`` of the rule's condition
    (:func:`reached`), gives nothing."""
    if not explain:
        return QUIET
    if short < 0:
        return NotApplied(Reason.ABOVE_MAXIMUM, above)
    why, hint = words.short(base, quantity)
    return NotApplied(Reason.BELOW_THRESHOLD, (why,), hint)


def _unit_prices(
    benefit: UnitPrice, state: PricingState, lines: Sequence[int], words: _Words
) -> Offer | NotApplied:
    cart, list_unit, qty = state.lines, state.list_unit, state.qty
    rounding = state.rounding
    offered: list[tuple[int, int, int]] = []
    notes: list[Note] = []
    base = 0
    for i in lines:
        unit = list_unit[i]
        price = unit_price(benefit, cart[i].sku, unit, rounding)
        if price is None or price >= unit:
            continue
        offered.append((i, price, qty[i]))
        if state.explain:
            base += state.amounts[i]
            notes.append(Note("unit-price", {"sku": cart[i].sku, "price": Amount(price)}))
    if not offered:
        if not state.explain:
            return QUIET
        return NotApplied(Reason.NO_ELIGIBLE_LINES, (_NO_PRICE_BELOW_LIST,))
    if not state.explain:
        return Offer(unit_prices=offered)
    return Offer(base=base, unit_prices=offered, notes=tuple(notes))


_NO_FEE = Note("no-shipping-fee")
_FEE_LOW = Note("shipping-already-low")
_FINAL_PAYMENT = Note("final-payment-only")
_BALANCE_BELOW = Note("balance-below-discount")
_CAPPED = Note("capped")
_LIMITED = Note("limited-to-base")
_NO_PRICE_BELOW_LIST = Note("no-price-below-list")


def steps_rate(step: Step, floor: int, by_quantity: bool) -> Fraction:
    """The most one step gives as a share of the pool it measures on (``floor``: the
    least pool amount that reaches it, 0 when it counts units)."""
    reward = step.reward
    if isinstance(reward, PercentOff):
        return reward.rate
    if by_quantity or floor <= 0:
        return Fraction(1)
    return min(Fraction(reward.amount, floor), Fraction(1))
