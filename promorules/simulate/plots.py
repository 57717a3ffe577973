"""PNG charts of a simulation report: what a planner would rather look at than read.

matplotlib is an optional extra (``pip install 'promorules[plot]'``), imported only
when a chart is drawn, with the non-interactive Agg backend. Charts are drawn from the
report's data (:func:`promorules.simulate.report.build`), so they show exactly the
figures of the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from promorules.diagnostics import PromorulesError


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, or a clear error when it is missing."""
    try:
        import matplotlib
    except ImportError:
        raise PromorulesError("charts need matplotlib: pip install 'promorules[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _number(text: str | None) -> float:
    return float(Decimal(text)) if text else 0.0


def budget_burn(data: Mapping[str, Any], path: Path) -> bool:
    """Remaining budget and stock over time, one line per counter; False if none."""
    counters = [b for b in data["burn"] if not b["per_subject"] and b["per_hour"]]
    if not counters:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 5))
    for counter in counters:
        left = _number(counter["initial"]) if counter["money"] else float(counter["initial"])
        times, values = [], []
        for hour, used in counter["per_hour"].items():
            times.append(datetime.fromisoformat(hour))
            values.append(left)
            left -= _number(used) if counter["money"] else float(used)
        times.append(times[-1] + timedelta(hours=1))  # the last hour's burn shows too
        values.append(left)
        initial = values[0] or 1.0
        ax.step(times, [100 * v / initial for v in values], where="post", label=counter["counter"])
        if counter["exhausted_at"]:
            ax.axvline(datetime.fromisoformat(counter["exhausted_at"]), linestyle=":", color="grey")
    ax.set_ylabel("left (% of initial)")
    ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
    ax.set_title(f"Budget and stock burn-down: {data['campaign']}")
    ax.legend(fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def discount_depth(data: Mapping[str, Any], path: Path) -> bool:
    rows = [r for r in data["by_category"] if r["depth"] is not None]
    if not rows:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = [r["category"] for r in rows]
    depths = [float(r["depth"].rstrip("%")) for r in rows]
    margins = [float(r["margin"].rstrip("%")) if r["margin"] else 0.0 for r in rows]
    positions = range(len(rows))
    ax.bar([p - 0.2 for p in positions], depths, width=0.4, label="discount depth")
    ax.bar([p + 0.2 for p in positions], margins, width=0.4, label="margin after")
    ax.set_xticks(list(positions), names)
    ax.set_ylabel("% of GMV / of payable")
    ax.set_title("Discount depth and margin by category")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def margin_distribution(data: Mapping[str, Any], path: Path) -> bool:
    dist = data["margin_distribution"]
    if not dist["after"]:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, key in (("before promotions", "before"), ("after promotions", "after")):
        buckets = {int(k): v for k, v in dist[key].items()}
        ax.bar(list(buckets), list(buckets.values()), width=1.0, alpha=0.55, label=label)
    ax.set_xlabel("order gross margin (%)")
    ax.set_ylabel("orders")
    ax.set_title("Order margin distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_all(data: Mapping[str, Any], directory: str | Path) -> list[Path]:
    """Draw every chart that has data into ``directory``; the files written."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PromorulesError(f"--plot: cannot create {directory}: {exc}") from None
    written = []
    for name, draw in (
        ("budget-burn.png", budget_burn),
        ("discount-depth.png", discount_depth),
        ("margin-distribution.png", margin_distribution),
    ):
        if draw(data, folder / name):
            written.append(folder / name)
    return written
