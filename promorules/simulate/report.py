"""The simulation report: the replay's figures as JSON-ready data, and as tables.

:func:`build` turns an :class:`~promorules.simulate.replay.Outcome` (and optionally a
baseline's) into one dict with amounts as decimal strings and rates as percents;
:func:`~promorules.simulate.text.render` (re-exported here) lays that dict out as the
tables a planner reads. Both outputs carry the same figures, the uplift assumption
included: it is never left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from promorules.counters import CounterKind
from promorules.money import format_amount
from promorules.simulate.cuts import REFUSED_ORDERS, TRIMMED, TRIMMED_ORDERS
from promorules.simulate.goals import goal_rows, pacing
from promorules.simulate.periods import Periods
from promorules.simulate.roi import Assumption, Roi, overall, roi
from promorules.simulate.text import render as render
from promorules.simulate.totals import (
    COST,
    DISCOUNT,
    GMV,
    ORDERS,
    P_DISCOUNT,
    P_GIFT_COST,
    P_GIFT_UNITS,
    P_GMV,
    P_ORDERS,
    PAYABLE,
    UNITS,
    Totals,
)

if TYPE_CHECKING:
    from promorules.diagnostics import Diagnostic
    from promorules.engine import Engine
    from promorules.simulate.replay import Outcome


def pct(part: int | Fraction, whole: int | Fraction) -> str | None:
    """``part / whole`` as a percent to 0.1 (None when ``whole`` is 0)."""
    if not whole:
        return None
    return f"{float(Fraction(part) / Fraction(whole)) * 100:.1f}%"


def ratio(value: Fraction | None) -> str | None:
    return None if value is None else f"{float(value):.2f}"


def _when(ts: float | None, tz: tzinfo) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz).isoformat()


def _summary(totals: Totals, money: Any) -> dict[str, Any]:
    profit = totals.goods_payable - totals.cost
    return {
        "orders": totals.orders,
        "promoted_orders": totals.promoted,
        "units": totals.units,
        "gmv": money(totals.gmv),
        "discount": money(totals.discount),
        "payable": money(totals.payable),
        "cost": money(totals.cost),
        "gift_cost": money(totals.cost_gifts),
        "gross_profit": money(profit),
        "margin_before": pct(totals.gmv - totals.cost_goods, totals.gmv),
        "margin_after": pct(profit, totals.goods_payable),
        "discount_depth": pct(totals.discount, totals.gmv),
        "average_order_value": money(totals.payable // totals.orders) if totals.orders else None,
        "deposit_orders": totals.deposit_orders,
        "deposits_taken": money(totals.deposits_taken),
        "final_payments": totals.final_payments,
        "deposits_forfeited": money(max(totals.deposits_taken - totals.deposits_credited, 0)),
    }


STOCK_KINDS = (CounterKind.GIFT_STOCK, CounterKind.FLASH_STOCK)


def _dimension(
    table: Mapping[str, list[int]], money: Any, label: str, *, by_key: bool = False
) -> list[dict[str, Any]]:
    rows = []
    order = sorted(table) if by_key else sorted(table, key=lambda k: -table[k][GMV])
    for key in order:
        row = table[key]
        rows.append(
            {
                label: key or "(none)",
                "orders" if label != "category" else "lines": row[ORDERS],
                "units": row[UNITS],
                "gmv": money(row[GMV]),
                "discount": money(row[DISCOUNT]),
                "depth": pct(row[DISCOUNT], row[GMV]),
                "payable": money(row[PAYABLE]),
                "margin": pct(row[PAYABLE] - row[COST], row[PAYABLE]),
            }
        )
    return rows


def _roi_rows(rows: Sequence[Roi], money: Any) -> list[dict[str, Any]]:
    return [
        {
            "promotion": r.promotion,
            "uplift": pct(r.uplift, 1) if r.source else None,
            "uplift_from": r.source or None,
            "subsidy": money(r.subsidy),
            "incremental_gmv": money(r.incremental_gmv),
            "incremental_gross_profit": money(r.incremental_profit),
            "gmv_per_subsidy": ratio(r.gmv_per_subsidy),
            "profit_per_subsidy": ratio(r.profit_per_subsidy),
        }
        for r in rows
    ]


def _goals_and_pacing(
    engine: Engine, outcome: Outcome, money: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The goals table, the pacing of every money budget, and the warnings they raise."""
    ruleset = engine.ruleset
    tz = ruleset.tz
    totals = outcome.totals
    goals = []
    for row in goal_rows(ruleset.goals, totals):
        show = str if row.figure == "orders" else money
        goals.append(
            {
                "scope": row.scope,
                "figure": row.figure,
                "goal": show(row.goal),
                "forecast": show(row.forecast),
                "gap": show(row.gap),
                "attained": pct(row.forecast, row.goal),
                "met": row.met,
            }
        )
    periods = Periods.of(ruleset)
    paces = []
    warnings = []
    for pace in pacing(ruleset, outcome.burn.counters.values(), periods, totals.last):
        planned_sum = spent_sum = 0
        days = []
        for day in pace.days:
            planned_sum += day.planned
            spent_sum += day.spent
            days.append(
                {
                    "day": day.day,
                    "planned": money(day.planned),
                    "spent": money(day.spent),
                    "planned_to_date": money(planned_sum),
                    "spent_to_date": money(spent_sum),
                }
            )
        runs_out = _when(pace.runs_out_at, tz)
        ends = _when(pace.ends_at - 1, tz)
        if pace.runs_out_at is not None:
            hours = (pace.ends_at - pace.runs_out_at) / 3600
            verb = "is projected to run out" if pace.projected else "ran out"
            warnings.append(
                f"{pace.counter} {verb} at {runs_out}, {hours:.1f} hours before its "
                f"promotions end ({ends})"
            )
        paces.append(
            {
                "counter": pace.counter,
                "curve": pace.curve,
                "initial": money(pace.initial),
                "used": money(pace.used),
                "ends_at": ends,
                "runs_out_at": runs_out,
                "projected": pace.projected,
                "days": days,
            }
        )
    return goals, paces, warnings


def build(
    engine: Engine,
    outcome: Outcome,
    assumed: Mapping[str, Assumption],
    *,
    orders_file: str = "",
    seconds: float | None = None,
    baseline: tuple[str, Engine, Outcome, Mapping[str, Assumption]] | None = None,
    price_findings: Sequence[Diagnostic] = (),
) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    currency = engine.currency
    tz = engine.ruleset.tz

    def money(minor: int) -> str:
        return format_amount(minor, currency)

    totals = outcome.totals
    lanes = {p.id: p.effective_lane(engine.kinds[p.kind]).value for p in engine.ruleset.promotions}
    sold_out: dict[str, float] = {}
    for key, counter in outcome.burn.counters.items():
        at = counter.exhausted_at
        if key.kind in STOCK_KINDS and at is not None:
            sold_out[key.promotion] = min(at, sold_out.get(key.promotion, at))
    cuts = outcome.cuts.by_promotion()
    by_lane: dict[str, int] = {}
    promotions = []
    empty = [0] * 7
    # every promotion of the ruleset, those that gave nothing last: a gift that ran out
    # or a budget that refused everything must show
    ranked = sorted(
        lanes,
        key=lambda k: (
            -(
                totals.by_promotion.get(k, empty)[P_DISCOUNT]
                + totals.by_promotion.get(k, empty)[P_GIFT_COST]
            )
        ),
    )
    for pid in ranked:
        row = totals.by_promotion.get(pid, empty)
        lane = lanes[pid]
        by_lane[lane] = by_lane.get(lane, 0) + row[P_DISCOUNT]
        clamp = totals.clamp_by_promotion.get(pid, [0, 0])
        cut = cuts.get(pid, [0, 0, 0])
        promotions.append(
            {
                "promotion": pid,
                "lane": lane,
                "orders": row[P_ORDERS],
                "discount": money(row[P_DISCOUNT]),
                "depth": pct(row[P_DISCOUNT], row[P_GMV]),
                "gift_units": row[P_GIFT_UNITS],
                "gift_cost": money(row[P_GIFT_COST]),
                "sold_out_at": _when(sold_out.get(pid), tz),
                "clamped_orders": clamp[0],
                "clamped": money(clamp[1]),
                "rejected_orders": totals.rejected.get(pid, 0),
                "budget_trimmed_orders": cut[TRIMMED_ORDERS],
                "budget_trimmed": money(cut[TRIMMED]),
                "budget_refused_orders": cut[REFUSED_ORDERS],
            }
        )
    budget_cuts = [
        {
            "day": day,
            "promotion": pid,
            "trimmed_orders": row[TRIMMED_ORDERS],
            "trimmed": money(row[TRIMMED]),
            "refused_orders": row[REFUSED_ORDERS],
        }
        for (day, pid), row in sorted(outcome.cuts.rows.items())
    ]
    burn: list[dict[str, Any]] = []
    for key, counter in outcome.burn.counters.items():
        peak = max(counter.per_hour.items(), key=lambda kv: kv[1], default=None)
        burn.append(
            {
                "counter": str(key).rstrip(":"),
                "kind": key.kind.value,
                "promotion": key.promotion,
                "per_subject": counter.template,
                "initial": counter.initial,
                "used": counter.used,
                "remaining": None if counter.template else counter.remaining,
                "money": key.kind.value in ("budget", "funder_budget"),
                "exhausted_at": _when(counter.exhausted_at, tz),
                "overrun": (not counter.template and counter.used > counter.initial),
                "refusals": counter.refusals,
                "peak_hour": _when(peak[0], tz) if peak else None,
                "per_hour": {_when(h, tz): v for h, v in sorted(counter.per_hour.items())},
            }
        )
    for entry in burn:
        if entry["money"]:
            for name in ("initial", "used", "remaining"):
                if entry[name] is not None:
                    entry[name] = money(entry[name])
            entry["per_hour"] = {k: money(v) for k, v in entry["per_hour"].items()}
    rows = roi(totals, assumed)
    goals, paces, warnings = _goals_and_pacing(engine, outcome, money)
    data: dict[str, Any] = {
        "ruleset": engine.ruleset.source,
        "campaign": engine.ruleset.campaign.name,
        "grade": engine.ruleset.campaign.grade.value,
        "currency": currency,
        "orders_file": orders_file,
        "run": {
            "backend": outcome.backend,
            "workers": outcome.workers,
            "seconds": None if seconds is None else round(seconds, 2),
            "orders_per_second": None if not seconds else round(totals.orders / seconds),
            "repriced_in_order": outcome.repriced,
            "repriced_for_budget_cuts": outcome.cuts.repriced,
            "ledger_refusals": outcome.refused,
        },
        "totals": _summary(totals, money),
        "by_promotion": promotions,
        "by_lane": [{"lane": k, "discount": money(v)} for k, v in sorted(by_lane.items())],
        "by_funder": [
            {"funder": k, "discount": money(v)} for k, v in sorted(totals.by_funder.items())
        ],
        "by_category": _dimension(totals.by_category, money, "category"),
        "by_channel": _dimension(totals.by_channel, money, "channel"),
        "by_segment": _dimension(totals.by_segment, money, "segment"),
        "by_phase": _dimension(totals.by_phase, money, "phase"),
        "by_day": _dimension(totals.by_day, money, "day", by_key=True),
        "budget_cuts": budget_cuts,
        "promotion_burn": [
            {
                "day": day,
                "promotion": pid,
                "orders": spend[0],
                "discount": money(spend[1]),
                "gift_cost": money(spend[2]),
            }
            for (day, pid), spend in sorted(totals.promotion_days.items())
        ],
        "goals": goals,
        "pacing": paces,
        "warnings": warnings,
        "guardrail": {
            "orders": dict(sorted(totals.guardrail.items())),
            "by_floor": [
                {"floor": k, "orders": v[0], "trimmed": money(v[1])}
                for k, v in sorted(totals.clamp_by_floor.items())
            ],
        },
        "margin_distribution": {
            "before": {str(k): v for k, v in sorted(totals.margin_before.items())},
            "after": {str(k): v for k, v in sorted(totals.margin_after.items())},
        },
        "burn": burn,
        "roi": {
            "assumption": "a promotion's uplift u means the sales it touched are (1 + u) "
            "times what they would have been without it",
            "uplift": {
                pid: {"uplift": pct(a.uplift, 1), "from": a.source} for pid, a in assumed.items()
            },
            "promotions": _roi_rows(rows, money),
            "total": _roi_rows([overall(rows)], money)[0],
        },
        "price_rules": [d.to_dict() for d in price_findings],
    }
    if baseline is not None:
        name, _base_engine, base_outcome, base_assumed = baseline
        base_rows = roi(base_outcome.totals, base_assumed)
        mine, theirs = overall(rows), overall(base_rows)
        a, b = totals, base_outcome.totals
        delta_subsidy = mine.subsidy - theirs.subsidy
        delta_profit = mine.incremental_profit - theirs.incremental_profit
        delta_gmv = mine.incremental_gmv - theirs.incremental_gmv
        data["baseline"] = {
            "ruleset": name,
            "totals": _summary(b, money),
            "roi_total": _roi_rows([theirs], money)[0],
            "difference": {
                "gmv": money(a.gmv - b.gmv),
                "discount": money(a.discount - b.discount),
                "payable": money(a.payable - b.payable),
                "gross_profit": money((a.goods_payable - a.cost) - (b.goods_payable - b.cost)),
                "subsidy": money(delta_subsidy),
                "incremental_gmv": money(delta_gmv),
                "incremental_gross_profit": money(delta_profit),
                "gmv_per_extra_subsidy": ratio(Fraction(delta_gmv, delta_subsidy))
                if delta_subsidy
                else None,
                "profit_per_extra_subsidy": ratio(Fraction(delta_profit, delta_subsidy))
                if delta_subsidy
                else None,
            },
        }
    return data
