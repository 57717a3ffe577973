"""Return on subsidy: incremental GMV and gross profit per unit of discount, under a
stated uplift assumption.

A promotion's uplift ``u`` is the assumption that the sales it touched are ``1 + u``
times what they would have been without it. For the orders a promotion applied to
(its share of each order, in proportion to what each promotion gave it, so an order
carrying two promotions is counted once):

- incremental GMV = GMV x u / (1 + u): the sales that would not have happened;
- incremental gross profit = (payable - cost - gift cost) - (GMV - cost) / (1 + u):
  the profit made with the promotion, less the profit the orders that would have
  happened anyway would have made at full price (cost: of the goods). With no uplift
  it is minus the subsidy.

ROI is each figure divided by the subsidy (the promotion's discount plus the cost of
the gifts it gave, whoever funds it). Every promotion of the ruleset has a row, those
that gave nothing too (their ratios are blank). The uplift comes from the command line
(``--uplift ID=20%`` or ``--uplift S=30%``), else from the ruleset's
``[simulate] uplift``, else it is 0%, and the report always says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import attrs

from promorules.money import MoneyError, parse_percent
from promorules.simulate.totals import P_COST, P_DISCOUNT, P_GIFT_COST, P_GMV, P_PAYABLE

if TYPE_CHECKING:
    from promorules.ruleset import Ruleset
    from promorules.simulate.totals import Totals


@attrs.frozen
class Assumption:
    uplift: Fraction
    source: str
    """Where the figure comes from: "command line (S)", "ruleset (promo-id)", "none given"."""


def parse_uplift_options(options: Sequence[str]) -> dict[str, Fraction]:
    """``["every-300-off-50=20%", "S=30%"]`` -> ``{"every-300-off-50": 1/5, "S": 3/10}``."""
    out: dict[str, Fraction] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise MoneyError(
                f"--uplift takes PROMOTION=PERCENT or GRADE=PERCENT, not {option[:40]!r}"
            )
        rate = parse_percent(value)
        if not -1 < rate <= 100:
            raise MoneyError(f"--uplift {key.strip()[:40]}: must lie above -100%")
        out[key.strip()] = rate
    return out


def assumptions(ruleset: Ruleset, overrides: Mapping[str, Fraction]) -> dict[str, Assumption]:
    """The uplift assumed for every promotion of ``ruleset``, and where it comes from."""
    grade = ruleset.campaign.grade.value
    declared = ruleset.simulate.uplift
    out: dict[str, Assumption] = {}
    for promotion in ruleset.promotions:
        pid = promotion.id
        if pid in overrides:
            out[pid] = Assumption(overrides[pid], f"command line ({pid})")
        elif grade in overrides:
            out[pid] = Assumption(overrides[grade], f"command line (grade {grade})")
        elif pid in declared:
            out[pid] = Assumption(declared[pid], f"ruleset ({pid})")
        elif grade in declared:
            out[pid] = Assumption(declared[grade], f"ruleset (grade {grade})")
        else:
            out[pid] = Assumption(Fraction(0), "none given: 0%")
    return out


@attrs.frozen
class Roi:
    promotion: str
    uplift: Fraction
    source: str
    subsidy: int
    incremental_gmv: int
    incremental_profit: int

    @property
    def gmv_per_subsidy(self) -> Fraction | None:
        return Fraction(self.incremental_gmv, self.subsidy) if self.subsidy else None

    @property
    def profit_per_subsidy(self) -> Fraction | None:
        return Fraction(self.incremental_profit, self.subsidy) if self.subsidy else None


def _round(value: Fraction) -> int:
    return round(value)


def roi(totals: Totals, assumed: Mapping[str, Assumption]) -> list[Roi]:
    """ROI of every promotion of ``assumed``, in its order (one that gave nothing too)."""
    out = []
    for pid, assumption in assumed.items():
        row = totals.by_promotion.get(pid)
        grow = 1 + assumption.uplift
        gmv, payable, cost, gifts, discount = (
            (row[P_GMV], row[P_PAYABLE], row[P_COST], row[P_GIFT_COST], row[P_DISCOUNT])
            if row is not None
            else (0, 0, 0, 0, 0)
        )
        incremental_gmv = _round(gmv * assumption.uplift / grow)
        incremental_profit = _round((payable - cost - gifts) - Fraction(gmv - cost) / grow)
        out.append(
            Roi(
                pid,
                assumption.uplift,
                assumption.source,
                discount + gifts,
                incremental_gmv,
                incremental_profit,
            )
        )
    return out


def overall(rows: Sequence[Roi]) -> Roi:
    """The sum over promotions (its uplift and source are left blank)."""
    return Roi(
        "(all)",
        Fraction(0),
        "",
        sum(r.subsidy for r in rows),
        sum(r.incremental_gmv for r in rows),
        sum(r.incremental_profit for r in rows),
    )
