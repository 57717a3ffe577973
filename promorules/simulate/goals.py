"""Goals and pacing: the replay read as a forecast and held against the ruleset's
``[goals]``, and each budget's spend per day held against the curve it was meant to
follow.

- :func:`goal_rows`: for each goal (campaign, segment, channel, category; GMV, orders,
  subsidy) the forecast, the gap (forecast - goal) and whether it is met (GMV and
  orders at least the goal, subsidy at most).
- :func:`pacing`: for each money budget (a promotion's ``budget``, a funder's
  ``[budgets]``), the planned and actual spend per day and a warning when the budget
  ran out, or is projected to run out, before its promotions end. The plan spreads the
  budget evenly over the time its promotions are live (a funder's budget: the campaign
  after its preparation), or along ``[goals] pacing`` (phase -> share, even within a
  phase) restricted to that time. When the log stops before that time does, the
  projection continues the pace so far: spend to date over plan to date, times the
  plan for the days left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta, tzinfo
from fractions import Fraction
from typing import TYPE_CHECKING

import attrs

from promorules.calendar import Stage, stage_of
from promorules.counters import CounterKind
from promorules.simulate.totals import DISCOUNT, GMV, ORDERS

if TYPE_CHECKING:
    from promorules.goals import Goals, Target
    from promorules.ruleset import Ruleset, Window
    from promorules.simulate.burn import CounterBurn
    from promorules.simulate.periods import Periods
    from promorules.simulate.totals import Totals

AT_LEAST = ("gmv", "orders")
"""Figures a goal is met by reaching; the subsidy is a ceiling."""


@attrs.frozen
class GoalRow:
    scope: str
    """``campaign``, ``segment new``, ``channel app``, ``category digital``."""
    figure: str
    """``gmv``, ``orders`` or ``subsidy``."""
    goal: int
    forecast: int

    @property
    def gap(self) -> int:
        return self.forecast - self.goal

    @property
    def met(self) -> bool:
        return self.forecast >= self.goal if self.figure in AT_LEAST else self.forecast <= self.goal


def _wanted(target: Goals | Target) -> Iterable[tuple[str, int]]:
    for figure in ("gmv", "orders", "subsidy"):
        value = getattr(target, figure)
        if value is not None:
            yield figure, value


def _segment_row(table: Mapping[str, list[int]], name: str) -> list[int]:
    """The sums of every order whose segments (``member|new``) include ``name``."""
    out = [0] * 6
    for key, row in table.items():
        if name in key.split("|"):
            out = [a + b for a, b in zip(out, row, strict=True)]
    return out


def goal_rows(goals: Goals, totals: Totals) -> list[GoalRow]:
    """Every goal of ``goals`` against the replay's figures, in the order declared."""
    rows = []
    campaign = {
        "gmv": totals.gmv,
        "orders": totals.orders,
        "subsidy": totals.discount + totals.cost_gifts,
    }
    for figure, goal in _wanted(goals):
        rows.append(GoalRow("campaign", figure, goal, campaign[figure]))
    for table, targets, sums in (
        ("segment", goals.segment, totals.by_segment),
        ("channel", goals.channel, totals.by_channel),
        ("category", goals.category, totals.by_category),
    ):
        for name, target in targets.items():
            row = _segment_row(sums, name) if table == "segment" else sums.get(name, [0] * 6)
            found = {"gmv": row[GMV], "orders": row[ORDERS], "subsidy": row[DISCOUNT]}
            for figure, goal in _wanted(target):
                rows.append(GoalRow(f"{table} {name}", figure, goal, found[figure]))
    return rows


# --------------------------------------------------------------------------- pacing


@attrs.frozen
class PacingDay:
    day: str
    planned: int
    spent: int


@attrs.frozen
class Pacing:
    counter: str
    initial: int
    used: int
    curve: str
    """``even`` or ``declared``."""
    ends_at: float
    """When the budget's promotions stop (POSIX seconds)."""
    days: tuple[PacingDay, ...]
    runs_out_at: float | None
    """When the budget ran out (or is projected to), if before :attr:`ends_at`."""
    projected: bool
    """True when :attr:`runs_out_at` is a projection past the end of the log."""


Span = tuple[float, float]
"""[start, end) in POSIX seconds."""


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _span(window: Window) -> Span:
    return window.start.timestamp(), window.end.timestamp() + 1  # inclusive end


def campaign_spans(ruleset: Ruleset) -> list[Span]:
    """The campaign's time after its preparation (every phase when that is all)."""
    phases = ruleset.campaign.phases
    live = [w for name, w in phases.items() if stage_of(name) is not Stage.PREPARATION]
    return _merge(_span(w) for w in (live or phases.values()))


def _density(
    spans: Sequence[Span], ruleset: Ruleset, pacing: Mapping[str, Fraction]
) -> list[tuple[Span, Fraction]]:
    """Pieces of ``spans`` with the share of the budget per second each is planned at
    (a declared curve restricted to ``spans``, else even), adding up to 1 over them."""
    pieces: list[tuple[Span, Fraction]] = []
    if pacing:
        for phase, share in pacing.items():
            window = ruleset.campaign.phases.get(phase)
            if window is None or not share:
                continue
            p_start, p_end = _span(window)
            per_second = Fraction(share) / Fraction(p_end - p_start)
            for start, end in spans:
                low, high = max(start, p_start), min(end, p_end)
                if low < high:
                    pieces.append(((low, high), per_second))
    if not pieces:  # no curve, or none of it while these promotions are live: even
        pieces = [(span, Fraction(1)) for span in spans]
    total = sum(weight * Fraction(end - start) for (start, end), weight in pieces)
    return [(span, weight / total) for span, weight in pieces] if total else []


def _midnight_after(ts: float, tz: tzinfo) -> float:
    day = datetime.fromtimestamp(ts, tz).date() + timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=tz).timestamp()


def _plan(
    pieces: Sequence[tuple[Span, Fraction]], tz: tzinfo, periods: Periods, until: float | None
) -> dict[str, Fraction]:
    """The share of the budget planned per local day (before ``until`` when given)."""
    out: dict[str, Fraction] = {}
    for (start, end), weight in pieces:
        if until is not None:
            end = min(end, until)
        moment = start
        while moment < end:
            stop = min(end, _midnight_after(moment, tz))
            day = periods.day(moment)
            out[day] = out.get(day, Fraction(0)) + weight * Fraction(stop - moment)
            moment = stop
    return out


def pacing(
    ruleset: Ruleset,
    counters: Iterable[CounterBurn],
    periods: Periods,
    last_order: float | None,
) -> list[Pacing]:
    """Pacing of every money budget among ``counters`` (see the module docstring)."""
    tz = ruleset.tz
    curve = ruleset.goals.pacing
    whole = campaign_spans(ruleset)
    out = []
    for counter in counters:
        key = counter.key
        if counter.template or key.kind not in (CounterKind.BUDGET, CounterKind.FUNDER_BUDGET):
            continue
        spans = whole
        if key.kind is CounterKind.BUDGET:
            windows = ruleset.windows(ruleset.promotion(key.promotion))
            if windows:
                spans = _merge(_span(w) for w in windows)
        pieces = _density(spans, ruleset, curve)
        if not pieces:
            continue  # no phases and no window: no time to pace against
        ends_at = max(end for (_start, end), _weight in pieces)
        planned = _plan(pieces, tz, periods, None)
        spent: dict[str, int] = {}
        for hour, amount in counter.per_hour.items():
            day = periods.day(hour)
            spent[day] = spent.get(day, 0) + amount
        initial = counter.initial
        days = []
        share = Fraction(0)
        for day in sorted(set(planned) | set(spent)):
            # rounded cumulatively, so the days add up to the budget exactly
            before = round(share * initial)
            share += planned.get(day, 0)
            days.append(PacingDay(day, round(share * initial) - before, spent.get(day, 0)))
        runs_out_at: float | None = None
        projected = False
        if counter.exhausted_at is not None:
            if counter.exhausted_at < ends_at:
                runs_out_at = counter.exhausted_at
        elif last_order is not None and last_order < ends_at and counter.used:
            runs_out_at = _projection(counter, pieces, tz, periods, last_order, ends_at)
            projected = runs_out_at is not None
        out.append(
            Pacing(
                str(key).rstrip(":"),
                initial,
                counter.used,
                "declared" if curve else "even",
                ends_at,
                tuple(days),
                runs_out_at,
                projected,
            )
        )
    return out


def _projection(
    counter: CounterBurn,
    pieces: Sequence[tuple[Span, Fraction]],
    tz: tzinfo,
    periods: Periods,
    last_order: float,
    ends_at: float,
) -> float | None:
    """When the budget runs out if spending goes on at its pace so far, or None when it
    lasts until ``ends_at``. The pace is spend to date over plan to date."""
    so_far = sum(_plan(pieces, tz, periods, last_order).values(), Fraction(0))
    if not so_far:
        return None
    pace = Fraction(counter.used) / (so_far * counter.initial)
    left = Fraction(counter.initial - counter.used)
    # walk the plan after the log, piece by piece, day by day
    for (start, end), weight in pieces:
        moment = max(start, last_order)
        while moment < end:
            stop = min(end, _midnight_after(moment, tz))
            rate = pace * weight * counter.initial  # money per second
            need = left / rate if rate else None
            if need is not None and moment + need <= stop:
                return min(float(moment + need), ends_at)
            left -= rate * Fraction(stop - moment)
            moment = stop
    return None
