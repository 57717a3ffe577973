"""The runtime guardrail: clamp, reject and warn, with figures worked out by hand."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from promorules.guardrail import Floors, Work, breaches, clamp, held, minimum_revenue
from promorules.kind import Reason
from promorules.money import allocate
from promorules.quote import GuardrailStatus, Status
from tests.helpers import HEADER, cart, ctx, engine, line, yuan


def guarded(on_breach: str, order: str = "10%", line_floor: str = "0%") -> str:
    return HEADER + (
        f'[guardrails]\nmin_order_margin = "{order}"\nmin_line_margin = "{line_floor}"\n'
        f'on_breach = "{on_breach}"\n'
    )


def promo(pid: str, lane: str, threshold: str, off: str, extra: str = "") -> str:
    return (
        f'[[promotion]]\nid = "{pid}"\nkind = "tiered"\nlane = "{lane}"\n'
        f'threshold = "{threshold}"\noff = "{off}"\n{extra}\n'
    )


def test_minimum_revenue_rounds_up() -> None:
    # cost 90 at 10%: 90 / 0.9 = 100 exactly; cost 91: 101.11.. -> 102 (never held by rounding)
    assert minimum_revenue(90, Fraction(1, 10)) == 100
    assert minimum_revenue(91, Fraction(1, 10)) == 102
    assert minimum_revenue(50, Fraction(0)) == 50


BODY = promo("store", "store", "100", "20", "priority = 1") + promo(
    "platform", "platform", "50", "30"
)
# one line: price 100, cost 80. Discounts: store 20, platform 30 -> payable 50.
# Floors: line 0% -> >= 80; order 10% -> >= 80 / 0.9 = 88.89 -> 88.89 rounded up = 88.89


def test_clamp_takes_back_lowest_priority_first() -> None:
    quote = engine(BODY, header=guarded("clamp")).price(cart(line("a", 1, "100", "80")), ctx())
    # need 88.89 - 50 = 38.89: all 30 from platform (priority 0), 8.89 from store
    assert quote.payable == yuan("88.89")
    assert quote.guardrail.status is GuardrailStatus.CLAMPED
    assert quote.guardrail.trims == {"platform": yuan("30"), "store": yuan("8.89")}
    assert quote.discounts_by_promotion == {"store": yuan("11.11")}
    platform = quote.explanation("platform")
    assert platform.status is Status.TRIMMED and platform.reason == Reason.GUARDRAIL_CLAMPED.value
    assert all(f.held for f in quote.guardrail.floors)


def test_clamp_order_among_equal_priorities_is_later_lane_first() -> None:
    body = promo("store", "store", "100", "20") + promo("platform", "platform", "50", "30")
    quote = engine(body, header=guarded("clamp", order="0%")).price(
        cart(line("a", 1, "100", "60")), ctx()
    )
    # need 60 - 50 = 10, taken from the platform lane (applied last)
    assert quote.guardrail.trims == {"platform": yuan("10")}


def test_reject_drops_whole_promotions_until_floors_hold() -> None:
    quote = engine(BODY, header=guarded("reject")).price(cart(line("a", 1, "100", "80")), ctx())
    # without platform: 100 - 20 = 80 < 88.89 still; without both: 100
    assert quote.guardrail.status is GuardrailStatus.REJECTED
    assert quote.guardrail.rejected == ("store", "platform")
    assert quote.payable == yuan("100")
    assert quote.explanation("platform").reason == Reason.GUARDRAIL_REJECTED.value


def test_reject_keeps_promotions_that_do_not_breach() -> None:
    quote = engine(BODY, header=guarded("reject", order="0%")).price(
        cart(line("a", 1, "100", "60")), ctx()
    )
    # 50 < 60: dropping platform (lowest in trim order) leaves 80 >= 60
    assert quote.guardrail.rejected == ("platform",)
    assert quote.payable == yuan("80")


def test_warn_only_reports() -> None:
    quote = engine(BODY, header=guarded("warn")).price(cart(line("a", 1, "100", "80")), ctx())
    assert quote.guardrail.status is GuardrailStatus.BREACHED
    assert quote.payable == yuan("50")
    broken = [f for f in quote.guardrail.floors if not f.held]
    assert {f.name for f in broken} == {"order", "line[0]"}


def test_category_floor() -> None:
    header = HEADER + '[guardrails]\ncategories = { digital = "5%" }\non_breach = "clamp"\n'
    body = promo("p", "platform", "100", "100", 'mode = "every"')
    quote = engine(body, header=header).price(
        cart(
            line("phone", 1, "1000", "900", category="digital"),
            line("mask", 1, "100", "10", category="beauty"),
        ),
        ctx(),
    )
    # 1100 -> 11 x 100 off = 1100 off: everything. Digital needs 900 / 0.95 = 947.37
    digital = next(f for f in quote.guardrail.floors if f.name == "category:digital")
    assert digital.held and digital.margin is not None and digital.margin >= Fraction(5, 100)
    assert quote.lines[0].payable == yuan("947.37")
    assert quote.lines[1].payable == 0


def test_a_loss_leader_price_is_reported_not_hidden() -> None:
    # list price below cost: no discount to take back, the breach stays and says so
    quote = engine(promo("p", "store", "1000", "1"), header=guarded("clamp")).price(
        cart(line("a", 1, "50", "80")), ctx()
    )
    assert quote.guardrail.status is GuardrailStatus.BREACHED
    assert quote.payable == yuan("50")


def test_a_coupon_the_clamp_takes_back_entirely_consumes_no_use() -> None:
    from promorules.counters import CounterKey, CounterKind
    from promorules_plugins import coupon, tiered

    body = (
        '[[promotion]]\nid = "c"\nkind = "coupon"\ncode = "SAVE5"\noff = "5.00"\nuses = 100\n'
        "priority = -1\n" + promo("s", "store", "10", "1", "priority = 1")
    )
    e = engine(body, header=guarded("clamp", order="0%"), plugins=[tiered, coupon])
    # 100 with cost 99: the store's 1.00 fits, the coupon's 5.00 must all go back
    clamped = e.price(cart(line("a", 1, "100", "99")), ctx(coupons=("save5",)))
    assert clamped.guardrail.trims == {"c": yuan("5")}
    assert all(key.kind is not CounterKind.COUPON_USES for key, _ in clamped.consumption)
    # with room for it, the coupon applies and takes one use
    kept = e.price(cart(line("a", 1, "100", "50")), ctx(coupons=("save5",)))
    assert kept.discounts_by_promotion["c"] == yuan("5")
    assert kept.consumption == ((CounterKey(CounterKind.COUPON_USES, "c"), 1),)


def test_clamp_restores_each_line_by_rank_whatever_order_the_discounts_were_made_in() -> None:
    floors = Floors(Fraction(0), None, {})
    adjustments = [(1, 0, 20), (0, 0, 15), (2, 0, 10), (0, 2, 5), (2, 1, 7), (1, 2, 40)]
    adjustments += [(2, -1, 800), (0, 2, 0)]  # shipping, and a discount of nothing
    work = Work([50, 100, 30], [80, 90, 60], (), adjustments, 0)
    # trim order 2, 0, 1: line 0 misses 30 (10 from 2, 15 from 0, 5 from 1), line 1
    # holds, line 2 misses 30 (5 from 0, 25 from 1)
    taken, per_floor = clamp(work, floors, [2, 0, 1])
    assert list(taken.items()) == [(2, 10), (0, 20), (1, 30)]
    assert list(per_floor.items()) == [("line[0]", 30), ("line[2]", 30)]
    assert work.amounts == [80, 100, 60] and work.settled
    assert adjustments == [
        (1, 0, 15), (0, 0, 0), (2, 0, 0), (0, 2, 0), (2, 1, 7), (1, 2, 15), (2, -1, 800), (0, 2, 0)
    ]  # fmt: skip


def test_clamp_takes_a_promotions_discounts_on_one_line_in_proportion() -> None:
    floors = Floors(Fraction(0), None, {})
    adjustments = [(0, 0, 30), (1, 0, 10), (1, 0, 30), (0, 1, 3), (1, 1, 4)]
    work = Work([40, 10], [70, 15], (), adjustments, 0)
    # line 0 misses 30, all from promotion 1 (ranked first), 10 : 30 -> 8 : 22 (largest
    # remainder, the tie to the earlier); line 1 misses 5: 4 from promotion 1, 1 from 0
    taken, per_floor = clamp(work, floors, [1, 0])
    assert list(taken.items()) == [(1, 34), (0, 1)]
    assert per_floor == {"line[0]": 30, "line[1]": 5}
    assert adjustments == [(0, 0, 30), (1, 0, 2), (1, 0, 8), (0, 1, 2), (1, 1, 0)]


def test_clamp_takes_discounts_of_promotions_outside_the_trim_order_first() -> None:
    floors = Floors(Fraction(0), None, {})
    adjustments = [(2, 0, 5), (1, 0, 5), (0, 0, 5)]
    work = Work([0], [12], (), adjustments, 0)
    # 2 and 0 are not in the trim order: taken first, in the order made, then 1
    taken, per_floor = clamp(work, floors, [1])
    assert list(taken.items()) == [(2, 5), (0, 5), (1, 2)]
    assert per_floor == {"line[0]": 12}
    assert adjustments == [(2, 0, 0), (1, 0, 3), (0, 0, 0)]


def test_clamp_restores_a_one_line_order_after_its_line_floor() -> None:
    # order floor 1/6 on cost 60: at least 72; the line floor (0) needs 60 first
    floors = Floors(Fraction(0), Fraction(1, 6), {})
    adjustments = [(0, 0, 5), (1, 0, 30), (1, -1, 8)]
    work = Work([50], [60], (), adjustments, 0)
    taken, per_floor = clamp(work, floors, [0, 1])
    assert list(taken.items()) == [(0, 5), (1, 17)]
    assert list(per_floor.items()) == [("line[0]", 10), ("order", 12)]
    assert work.amounts == [72] and work.settled
    assert adjustments == [(0, 0, 0), (1, 0, 13), (1, -1, 8)]


def test_clamp_drops_a_gift_the_order_floor_cannot_hold_then_restores_it() -> None:
    # order floor 0: goods cost 100, gifts 30 (promotion 1) and 20 (promotion 0)
    floors = Floors(None, Fraction(0), {})
    work = Work([90, 20], [60, 40], (), [(0, 0, 10), (1, 1, 5)], 50, [(1, 30), (0, 20)])
    # at most 125 with every discount back: the lowest-ranked gift (promotion 1's) goes,
    # then 120 - 110 = 10 is taken back, 5 from promotion 1 and 5 from 0
    taken, per_floor = clamp(work, floors, [1, 0])
    assert work.dropped == [0] and work.extra_cost == 20
    assert list(taken.items()) == [(1, 5), (0, 5)]
    assert per_floor == {"order": 10} and work.settled


def test_clamp_keeps_a_gift_the_order_floor_can_hold_once_the_lines_are_restored() -> None:
    # what decides a gift is the revenue with every discount taken back, which restoring
    # a line floor leaves as it was: a clamp that read it off the revenue as priced, less
    # the discounts left after the line floors, would find too little and drop the gift
    floors = Floors(Fraction(0), Fraction(0), {})
    # one line: cost 60 + gift 15, at least 75; 50 paid, 30 off, so at most 80
    work = Work([50], [60], (), [(0, 0, 30)], 15, [(0, 15)])
    taken, per_floor = clamp(work, floors, [0])
    assert list(taken.items()) == [(0, 25)] and work.amounts == [75]
    assert list(per_floor.items()) == [("line[0]", 10), ("order", 15)]
    assert work.dropped == [] and work.extra_cost == 15 and work.settled
    # two lines: cost 110 + gift 75, at least 185; 150 paid, 40 off, so at most 190
    work = Work([50, 100], [60, 50], (), [(0, 0, 30), (1, 1, 10)], 75, [(1, 75)])
    taken, per_floor = clamp(work, floors, [1, 0])
    assert list(taken.items()) == [(0, 25), (1, 10)] and work.amounts == [75, 110]
    assert list(per_floor.items()) == [("line[0]", 10), ("order", 25)]
    assert work.dropped == [] and work.extra_cost == 75 and work.settled


FLOOR_RATES = (
    st.none()
    | st.just(Fraction(0))  # "no line below cost": the floor checked without a division
    | st.fractions(Fraction(-99, 100), Fraction(99, 100), max_denominator=200)
)


@given(
    figures=st.lists(
        st.tuples(st.integers(0, 10**7), st.integers(0, 10**7), st.sampled_from((-1, 0, 1, None))),
        max_size=8,
    ),
    extra_cost=st.integers(0, 10**6),
    line=FLOOR_RATES,
    order=FLOOR_RATES,
)
@example(figures=[(1000, 900, None)], extra_cost=0, line=Fraction(1, 10), order=None)
@example(figures=[(999, 900, None)], extra_cost=0, line=Fraction(1, 10), order=None)
@example(figures=[(900, 900, None)], extra_cost=0, line=Fraction(0), order=None)
@example(
    figures=[(500, 400, None), (500, 500, None)], extra_cost=0, line=None, order=Fraction(1, 10)
)
def test_held_says_exactly_whether_breaches_finds_none(
    figures: list[tuple[int, int, int | None]],
    extra_cost: int,
    line: Fraction | None,
    order: Fraction | None,
) -> None:
    # a line's amount is random, or (when its third field is set) placed at the line
    # floor's least revenue, one unit below or above: the edges a comparison can get wrong
    costs = [cost for _, cost, _ in figures]
    amounts = [
        amount if edge is None or line is None else minimum_revenue(cost, line) + edge
        for amount, cost, edge in figures
    ]
    floors = Floors(line, order, {})
    work = Work(list(amounts), costs, (), [], extra_cost)
    assert held(amounts, costs, extra_cost, floors) == (not breaches(work, floors))


def _model_clamp(
    work: Work, floors: Floors, trim_order: list[int]
) -> tuple[dict[int, int], dict[str, int]]:
    """The clamp as its docstrings state it, plainly: gifts dropped first, then each
    floor's need taken back by the generic rule (lowest-ranked promotion first, each
    promotion's share over its lines in proportion), line floors, categories, order."""
    rank = {index: position for position, index in enumerate(trim_order)}
    amounts, costs, adjustments = work.amounts, work.costs, work.adjustments
    count = len(amounts)
    order = floors.order
    if order is not None and work.gifts:
        goods, revenue = sum(costs), sum(amounts)
        most = revenue + sum(a for _, line, a in adjustments if line >= 0 and a > 0)
        least = minimum_revenue(goods + work.extra_cost, order)
        if revenue < least and most < least and minimum_revenue(goods, order) <= most:
            gifts = work.gifts
            for k in sorted(range(len(gifts)), key=lambda k: (rank.get(gifts[k][0], -1), -k)):
                if minimum_revenue(goods + work.extra_cost, order) <= most:
                    break
                work.extra_cost -= gifts[k][1]
                work.dropped.append(k)
    taken: dict[int, int] = {}
    per_floor: dict[str, int] = {}

    def take(lines: list[int], need: int) -> int:
        whole = len(lines) == count  # every line: promotions met in the order made
        groups: dict[int, list[int]] = {}  # positions of each promotion's cuts
        scan = [k for k, a in enumerate(adjustments) if a[1] >= 0] if whole else []
        for i in [] if whole else lines:  # some lines: met line by line
            scan += [k for k, a in enumerate(adjustments) if a[1] == i]
        for k in scan:
            if adjustments[k][2] > 0:
                groups.setdefault(adjustments[k][0], []).append(k)
        got = 0
        for index in sorted(groups, key=lambda p: rank.get(p, -1)):
            if got >= need:
                break
            group = groups[index]
            if whole:
                group = sorted(group, key=lambda k: adjustments[k][1])
            weights = [adjustments[k][2] for k in group]
            part_of = min(need - got, sum(weights))
            for k, part in zip(group, allocate(part_of, weights), strict=True):
                p, line, given = adjustments[k]
                adjustments[k] = (p, line, given - part)
                amounts[line] += part
            taken[index] = taken.get(index, 0) + part_of
            got += part_of
        return got

    settled = True
    if floors.line is not None:
        for i in range(count):
            need = minimum_revenue(costs[i], floors.line) - amounts[i]
            if need > 0:
                got = per_floor[f"line[{i}]"] = take([i], need)
                settled = settled and got == need
    for category, floor in floors.categories.items():
        lines = [i for i, c in enumerate(work.categories) if c == category]
        need = minimum_revenue(sum(costs[i] for i in lines), floor) - sum(amounts[i] for i in lines)
        if lines and need > 0:
            got = per_floor[f"category:{category}"] = take(lines, need)
            settled = settled and got == need
    if order is not None and amounts:
        need = minimum_revenue(sum(costs) + work.extra_cost, order) - sum(amounts)
        if need > 0:
            got = per_floor["order"] = take(list(range(count)), need)
            settled = settled and got == need
    work.settled = settled
    return taken, per_floor


MARGINS = st.none() | st.just(Fraction(0)) | st.fractions(-1, Fraction(9, 10), max_denominator=12)


@st.composite
def clamp_cases(draw: st.DrawFn) -> tuple[Work, Floors, list[int], bool]:
    """A Work, its floors, a trim order (some promotions may be outside it) and whether
    the rank is passed in; small figures, so lines sharing promotions, a promotion with
    two discounts on a line, exact holds and gifts worth dropping all come up."""
    count = draw(st.integers(0, 4))
    figures = draw(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=count))
    figures = figures[:count]
    adjustments = draw(
        st.lists(
            st.tuples(st.integers(0, 4), st.integers(-1, count - 1), st.integers(0, 40)),
            max_size=10,
        )
    )
    gifts = draw(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 30)), max_size=3))
    categories = [draw(st.sampled_from("ab")) for _ in range(count)]
    floor_of_a = draw(MARGINS)
    floors = Floors(draw(MARGINS), draw(MARGINS), {} if floor_of_a is None else {"a": floor_of_a})
    trim_order = draw(st.permutations(range(5)))[: draw(st.integers(0, 5))]
    work = Work(
        [amount for amount, _ in figures],
        [cost for _, cost in figures],
        categories,
        list(adjustments),
        sum(cost for _, cost in gifts),
        gifts,
    )
    return work, floors, trim_order, draw(st.booleans())


@given(clamp_cases())
def test_clamp_is_the_plain_rule_whatever_shortcut_it_takes(
    case: tuple[Work, Floors, list[int], bool],
) -> None:
    work, floors, trim_order, ranked = case
    model = Work(
        list(work.amounts),
        work.costs,
        work.categories,
        list(work.adjustments),
        work.extra_cost,
        work.gifts,
    )
    rank = {index: position for position, index in enumerate(trim_order)} if ranked else None
    taken, per_floor = clamp(work, floors, trim_order, rank)
    want_taken, want_per_floor = _model_clamp(model, floors, trim_order)
    assert list(taken.items()) == list(want_taken.items())
    assert list(per_floor.items()) == list(want_per_floor.items())
    assert work.adjustments == model.adjustments and work.amounts == model.amounts
    assert (work.settled, work.dropped, work.extra_cost) == (
        model.settled,
        model.dropped,
        model.extra_cost,
    )
