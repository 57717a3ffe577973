"""A campaign's goals (``[goals]``): the figures planners aim for, to hold a forecast to.

``promorules simulate`` reads the replayed log as the forecast and reports each goal
with its gap (:mod:`promorules.simulate.goals`). Goals are GMV and orders to reach and
a subsidy ceiling, for the campaign and broken down by customer lifecycle segment,
channel and category, plus the curve budgets are meant to be spent along.

```toml
[goals]
gmv = "45000000.00"
orders = 20000
subsidy = "1200000.00"
pacing = { presale = "20%", explosion = "70%", encore = "10%" }

[goals.segment.new]
gmv = "9000000.00"
```
"""

from __future__ import annotations

from collections.abc import Collection

import attrs

from promorules.amounts import Amount, Rate
from promorules.diagnostics import Collector, Path


@attrs.frozen
class Target:
    """Figures to reach for one segment, channel or category."""

    gmv: Amount | None = None
    """GMV (the list value of the goods ordered) to reach."""
    orders: int | None = None
    """Orders to reach (segments and channels only: a category counts order lines)."""
    subsidy: Amount | None = None
    """The most to give in discounts (shipping taken off included)."""


@attrs.frozen
class Goals:
    """The campaign's goals; every figure is optional."""

    gmv: Amount | None = None
    """GMV (the list value of the goods ordered) to reach."""
    orders: int | None = None
    """Orders to reach."""
    subsidy: Amount | None = None
    """The most to spend: discounts (shipping taken off included) plus gift costs."""
    segment: dict[str, Target] = attrs.field(factory=dict)
    """Targets per customer lifecycle segment (``new``, ``active``, ``dormant``, ...)."""
    channel: dict[str, Target] = attrs.field(factory=dict)
    """Targets per sales channel."""
    category: dict[str, Target] = attrs.field(factory=dict)
    """Targets per category (GMV and subsidy)."""
    pacing: dict[str, Rate] = attrs.field(factory=dict)
    """How every budget is meant to be spent: campaign phase -> share (adding up to
    100%), spread evenly within the phase. Empty: evenly over the time each budget's
    promotions are live."""

    @property
    def empty(self) -> bool:
        return self == Goals()


def check_goals(goals: Goals, phases: Collection[str], out: Collector) -> None:
    """Report goals that cannot be met or read: non-positive figures, orders for a
    category, a pacing curve naming unknown phases or not adding up to 100%."""
    base: Path = ("goals",)
    _check_target(goals.gmv, goals.orders, goals.subsidy, base, out)
    for table, targets in (
        ("segment", goals.segment),
        ("channel", goals.channel),
        ("category", goals.category),
    ):
        for name, target in targets.items():
            path: Path = (*base, table, name)
            _check_target(target.gmv, target.orders, target.subsidy, path, out)
            if table == "category" and target.orders is not None:
                out.add(
                    "PR103",
                    "a category goal takes gmv and subsidy: orders are not counted per category",
                    (*path, "orders"),
                )
    for phase, share in goals.pacing.items():
        if phase not in phases:
            out.add(
                "PR204",
                f"pacing names {phase[:40]!r}, which is no campaign phase",
                (*base, "pacing", phase),
            )
        if not 0 <= share <= 1:
            out.add(
                "PR105", "a pacing share must lie between 0% and 100%", (*base, "pacing", phase)
            )
    if goals.pacing and sum(goals.pacing.values()) != 1:
        out.add("PR205", "the pacing shares must add up to 100%", (*base, "pacing"))


def _check_target(
    gmv: int | None, orders: int | None, subsidy: int | None, path: Path, out: Collector
) -> None:
    for name, value in (("gmv", gmv), ("subsidy", subsidy)):
        if value is not None and value <= 0:
            out.add("PR104", f"a {name} goal must be positive", (*path, name))
    if orders is not None and orders <= 0:
        out.add("PR103", "an orders goal must be a positive whole number", (*path, "orders"))
