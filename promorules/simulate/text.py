"""The simulation report as text: the tables a planner reads, laid out from the data
:func:`promorules.simulate.report.build` makes (the same figures as the JSON)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


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
    if run.get("workers_chosen"):
        out.append(f"workers: {safe(run['workers_chosen'], 200)}")
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
                {
                    "figure": "pre-sale deposits (final payments)",
                    "value": f"{t['deposit_orders']} ({t['final_payments']})",
                },
                {"figure": "deposits forfeited", "value": t["deposits_forfeited"]},
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
                "gift_units",
                "gift_cost",
                "sold_out_at",
                "clamped_orders",
                "clamped",
                "rejected_orders",
                "budget_trimmed_orders",
                "budget_trimmed",
                "budget_refused_orders",
            ),
            (
                "promotion",
                "lane",
                "orders",
                "discount",
                "depth",
                "gifts",
                "gift cost",
                "sold out at",
                "clamped",
                "trimmed",
                "rejected",
                "budget-trimmed",
                "budget cut",
                "budget-refused",
            ),
        ),
    ]
    if data["promotion_burn"]:
        out += [
            "",
            "spend by day and promotion (every promotion that gave something)",
            _table(
                data["promotion_burn"],
                ("day", "promotion", "orders", "discount", "gift_cost"),
                ("day", "promotion", "orders", "discount", "gift cost"),
            ),
        ]
    if data["budget_cuts"]:
        out += [
            "",
            "budget cuts by day (discounts a promotion or funder budget trimmed or refused)",
            _table(
                data["budget_cuts"],
                ("day", "promotion", "trimmed_orders", "trimmed", "refused_orders"),
                ("day", "promotion", "orders trimmed", "cut", "orders refused"),
            ),
        ]
    out += ["", "by lane", _table(data["by_lane"], ("lane", "discount"))]
    out += ["", "by funder", _table(data["by_funder"], ("funder", "discount"))]
    for name, key in (
        ("category", "lines"),
        ("channel", "orders"),
        ("segment", "orders"),
        ("phase", "orders"),
        ("day", "orders"),
    ):
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
            # pricing never lets a budget go below zero: an overrun means a ledger refusal
            out.append("over their initial amount: " + safe(", ".join(overruns), 300))
    if data["goals"]:
        out += [
            "",
            "goals: the replay as a forecast (gap = forecast - goal)",
            _table(
                [{**g, "met": "yes" if g["met"] else "NO"} for g in data["goals"]],
                ("scope", "figure", "goal", "forecast", "gap", "attained", "met"),
            ),
        ]
    if data["pacing"]:
        out += [
            "",
            "budget pacing (planned: the budget along its curve)",
            _table(
                data["pacing"],
                ("counter", "curve", "initial", "used", "ends_at", "runs_out_at", "projected"),
                ("budget", "curve", "initial", "used", "promotions end", "runs out", "projected"),
            ),
            "",
            "budget pacing by day",
            _table(
                [{"counter": p["counter"], **d} for p in data["pacing"] for d in p["days"]],
                ("counter", "day", "planned", "spent", "planned_to_date", "spent_to_date"),
                ("budget", "day", "planned", "spent", "planned to date", "spent to date"),
            ),
        ]
    if data["warnings"]:
        out += ["", *(f"warning: {safe(w, 300)}" for w in data["warnings"])]
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
