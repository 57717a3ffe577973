"""The simulation report: the replay's figures as JSON-ready data, and as tables.

:func:`build` turns an :class:`~promorules.simulate.replay.Outcome` (and optionally a
baseline's) into one dict with amounts as decimal strings and rates as percents;
:func:`render` lays that dict out as the tables a planner reads. Both outputs carry
the same figures, the uplift assumption included: it is never left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from promorules.money import format_amount
from promorules.simulate.roi import Assumption, Roi, overall, roi
from promorules.simulate.totals import (
    COST,
    DISCOUNT,
    GMV,
    ORDERS,
    P_DISCOUNT,
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
    }


def _dimension(table: Mapping[str, list[int]], money: Any, label: str) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(table, key=lambda k: -table[k][GMV]):
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
    by_lane: dict[str, int] = {}
    promotions = []
    for pid in sorted(totals.by_promotion, key=lambda k: -totals.by_promotion[k][P_DISCOUNT]):
        row = totals.by_promotion[pid]
        lane = lanes.get(pid, "")
        by_lane[lane] = by_lane.get(lane, 0) + row[P_DISCOUNT]
        clamp = totals.clamp_by_promotion.get(pid, [0, 0])
        promotions.append(
            {
                "promotion": pid,
                "lane": lane,
                "orders": row[P_ORDERS],
                "discount": money(row[P_DISCOUNT]),
                "depth": pct(row[P_DISCOUNT], row[P_GMV]),
                "clamped_orders": clamp[0],
                "clamped": money(clamp[1]),
                "rejected_orders": totals.rejected.get(pid, 0),
            }
        )
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


def _table(
    rows: Sequence[Mapping[str, Any]], keys: Sequence[str], headers: Sequence[str] | None = None
) -> str:
    from promorules.cli.render import safe, table

    return table(
        ([safe("-" if r.get(k) is None else r.get(k), 48) for k in keys] for r in rows),
        headers or keys,
    )


def render(data: Mapping[str, Any]) -> str:
    """The report as text tables."""
    from promorules.cli.render import safe

    out: list[str] = []
    run = data["run"]
    out.append(
        f"simulation of {safe(data['campaign'], 60)} ({data['grade']}-grade, "
        f"{safe(data['ruleset'], 80)}) over {safe(data['orders_file'], 80)}"
    )
    speed = f", {run['orders_per_second']} orders/s" if run["orders_per_second"] else ""
    out.append(
        f"{data['totals']['orders']} orders, {run['backend']} x{run['workers']}"
        f"{speed}; amounts in {data['currency']}"
    )
    t = data["totals"]
    out += [
        "",
        _table(
            [
                {"figure": "GMV (list value)", "value": t["gmv"]},
                {"figure": "discounts", "value": t["discount"]},
                {"figure": "payable", "value": t["payable"]},
                {"figure": "cost (gifts incl.)", "value": t["cost"]},
                {"figure": "gross profit", "value": t["gross_profit"]},
                {"figure": "margin before promotions", "value": t["margin_before"]},
                {"figure": "margin after promotions", "value": t["margin_after"]},
                {"figure": "discount depth", "value": t["discount_depth"]},
                {
                    "figure": "orders with a promotion",
                    "value": f"{t['promoted_orders']} of {t['orders']}",
                },
                {"figure": "average order value", "value": t["average_order_value"]},
            ],
            ("figure", "value"),
        ),
    ]
    out += [
        "",
        "by promotion",
        _table(
            data["by_promotion"],
            (
                "promotion",
                "lane",
                "orders",
                "discount",
                "depth",
                "clamped_orders",
                "clamped",
                "rejected_orders",
            ),
            ("promotion", "lane", "orders", "discount", "depth", "clamped", "trimmed", "rejected"),
        ),
    ]
    out += ["", "by lane", _table(data["by_lane"], ("lane", "discount"))]
    out += ["", "by funder", _table(data["by_funder"], ("funder", "discount"))]
    for name, key in (("category", "lines"), ("channel", "orders"), ("segment", "orders")):
        out += [
            "",
            f"by {name}",
            _table(
                data[f"by_{name}"],
                (name, key, "units", "gmv", "discount", "depth", "payable", "margin"),
            ),
        ]
    guard = data["guardrail"]
    statuses = ", ".join(f"{k} {v}" for k, v in guard["orders"].items())
    out += ["", f"guardrail: {statuses}"]
    if guard["by_floor"]:
        out.append(
            _table(
                guard["by_floor"],
                ("floor", "orders", "trimmed"),
                ("floor", "orders clamped", "trimmed"),
            )
        )
    if data["burn"]:
        out += [
            "",
            "budget and stock burn",
            _table(
                data["burn"],
                (
                    "counter",
                    "initial",
                    "used",
                    "remaining",
                    "exhausted_at",
                    "peak_hour",
                    "refusals",
                ),
                ("counter", "initial", "used", "left", "ran out at", "busiest hour", "refused"),
            ),
        ]
        overruns = [b["counter"] for b in data["burn"] if b["overrun"]]
        if overruns:
            out.append(
                "over budget (not enforced by pricing): " + ", ".join(safe(o, 80) for o in overruns)
            )
    r = data["roi"]
    out += [
        "",
        "ROI: uplift assumed (" + safe(r["assumption"], 200) + ")",
        _table(
            [*r["promotions"], r["total"]],
            (
                "promotion",
                "uplift",
                "uplift_from",
                "subsidy",
                "incremental_gmv",
                "incremental_gross_profit",
                "gmv_per_subsidy",
                "profit_per_subsidy",
            ),
            (
                "promotion",
                "uplift",
                "from",
                "subsidy",
                "incr. GMV",
                "incr. gross profit",
                "GMV/subsidy",
                "profit/subsidy",
            ),
        ),
    ]
    base = data.get("baseline")
    if base is not None:
        d = base["difference"]
        bt = base["totals"]
        out += [
            "",
            f"against baseline {safe(base['ruleset'], 80)}",
            _table(
                [
                    {
                        "figure": "GMV",
                        "this": t["gmv"],
                        "baseline": bt["gmv"],
                        "difference": d["gmv"],
                    },
                    {
                        "figure": "discounts",
                        "this": t["discount"],
                        "baseline": bt["discount"],
                        "difference": d["discount"],
                    },
                    {
                        "figure": "payable",
                        "this": t["payable"],
                        "baseline": bt["payable"],
                        "difference": d["payable"],
                    },
                    {
                        "figure": "gross profit",
                        "this": t["gross_profit"],
                        "baseline": bt["gross_profit"],
                        "difference": d["gross_profit"],
                    },
                    {
                        "figure": "margin after",
                        "this": t["margin_after"],
                        "baseline": bt["margin_after"],
                        "difference": "",
                    },
                    {
                        "figure": "incremental GMV (uplift)",
                        "this": r["total"]["incremental_gmv"],
                        "baseline": base["roi_total"]["incremental_gmv"],
                        "difference": d["incremental_gmv"],
                    },
                    {
                        "figure": "incremental gross profit (uplift)",
                        "this": r["total"]["incremental_gross_profit"],
                        "baseline": base["roi_total"]["incremental_gross_profit"],
                        "difference": d["incremental_gross_profit"],
                    },
                ],
                ("figure", "this", "baseline", "difference"),
            ),
        ]
        out.append(
            f"per unit of extra subsidy ({d['subsidy']}): GMV "
            f"{d['gmv_per_extra_subsidy'] or '-'}, gross profit "
            f"{d['profit_per_extra_subsidy'] or '-'}"
        )
    if data["price_rules"]:
        out += ["", "price rules"]
        out += [
            f"{p['file']}:{p['line']}:{p['column']}: {p['code']} {safe(p['message'], 200)}"
            for p in data["price_rules"]
        ]
    return "\n".join(out)
