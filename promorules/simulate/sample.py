"""Synthetic order logs that look like a campaign's: for trying ``simulate`` out of the box.

Seeded and streaming (rows are written as they are drawn, an hour at a time). The
shape follows what planners see in a big promotion:

- orders spread over the campaign's phases, quiet at night, with an evening rush
  (20:00 to 22:00), several times busier on the explosion day, with a rush in its
  first hour;
- 1 to 5 lines an order, most orders small; mostly one unit a line;
- skus drawn from the catalogue, hero skus (tag ``hero``) more often;
- customers in lifecycle segments (new, active, dormant), some of them members
  (``member|active``), each keeping the same segments across orders;
- channels: app, mini-program, web, live stream, private domain;
- a shipping fee on orders below a free-shipping line;
- deposit pre-sales (promotions of kind ``presale``): in the deposit window some
  orders are deposits for a pre-sale sku; most are followed by their final payment,
  under the same order id, at a random moment of the final-payment window (the
  ``deposits`` column says what was paid); the rest forfeit the deposit;
- some customers present a coupon code, when the ruleset's promotions declare codes
  (any promotion config field named ``code`` or ``codes``).
"""

from __future__ import annotations

import csv
import heapq
import json
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TextIO, TypeVar

import attrs

from promorules.calendar import Stage, stage_of
from promorules.diagnostics import PromorulesError
from promorules.money import allocate, format_amount, parse_amount
from promorules.simulate.orders import COLUMNS

if TYPE_CHECKING:
    from promorules.cartfile import CatalogItem
    from promorules.ruleset import Ruleset, Window

LIFECYCLE = (("new", 20), ("active", 60), ("dormant", 20))
MEMBER_PERCENT = 40
"""Share of customers, in every lifecycle segment, who are members."""
CHANNELS = (("app", 55), ("mini-program", 15), ("web", 10), ("live", 12), ("private", 8))
LINES_PER_ORDER = ((1, 45), (2, 28), (3, 15), (4, 8), (5, 4))
QUANTITY = ((1, 82), (2, 14), (3, 4))
COUPON_SHARE = 0.3
SHIPPING_FEE = "10.00"
FREE_SHIPPING_FROM = "199.00"
"""Orders whose goods list at this or more ship free; others pay :data:`SHIPPING_FEE`."""
DEPOSIT_SHARE = 0.25
"""Share of the orders in a deposit window that are a pre-sale deposit."""
FINAL_SHARE = 0.9
"""Share of deposits followed by their final payment."""
HOUR = timedelta(hours=1)
T = TypeVar("T")


def coupon_codes(ruleset: Ruleset) -> list[str]:
    """Codes the ruleset's promotions declare, whatever their kind."""
    codes: list[str] = []
    for promotion in ruleset.promotions:
        config = promotion.config
        if config is None or not attrs.has(type(config)):
            continue
        for name in ("code", "codes"):
            value = getattr(config, name, None)
            values = (value,) if isinstance(value, str) else value
            if isinstance(values, tuple | list):
                codes.extend(v for v in values if isinstance(v, str) and v not in codes)
    return codes


@attrs.frozen
class Presale:
    """A deposit pre-sale as the sampler needs it: skus, deposit a unit, two windows."""

    skus: tuple[str, ...]
    deposit: int
    deposit_window: Window
    final_window: Window


def presales(ruleset: Ruleset, catalog: Mapping[str, CatalogItem]) -> list[Presale]:
    """The ruleset's ``presale`` promotions whose skus the catalogue prices."""
    out = []
    phases = ruleset.campaign.phases
    for promotion in ruleset.promotions:
        if promotion.kind != "presale":
            continue
        config = promotion.config
        deposit = getattr(config, "deposit", None)
        windows = []
        for stage in ("deposit", "final"):
            window = getattr(config, f"{stage}_window", None)
            if window is None:
                window = phases.get(getattr(config, f"{stage}_phase", None) or "")
            windows.append(window)
        skus = tuple(
            sku for sku in promotion.skus if (item := catalog.get(sku)) and item.price is not None
        )
        if isinstance(deposit, int) and skus and windows[0] and windows[1]:
            out.append(Presale(skus, deposit, windows[0], windows[1]))
    return out


def _span(ruleset: Ruleset) -> tuple[datetime, datetime, list[tuple[datetime, datetime]]]:
    phases = ruleset.campaign.phases
    if not phases:
        raise PromorulesError(
            "the ruleset declares no campaign phases: sample-orders needs "
            "them to know when orders come (or give --start and --days)"
        )
    windows = [w for name, w in phases.items() if stage_of(name) is not Stage.PREPARATION]
    windows = windows or list(phases.values())
    start = min(w.start for w in windows)
    end = max(w.end for w in windows)
    peaks = [(w.start, w.end) for name, w in phases.items() if stage_of(name) is Stage.EXPLOSION]
    return start, end, peaks


def _hour_weight(at: datetime, peaks: Sequence[tuple[datetime, datetime]]) -> int:
    hour = at.hour
    if hour < 7:
        weight = 2  # night
    elif hour < 10:
        weight = 5
    elif hour < 20:
        weight = 9
    elif hour < 22:
        weight = 20  # the evening rush, after work
    else:
        weight = 12
    for start, end in peaks:
        if start <= at <= end:
            weight *= 6
            if at < start + HOUR:
                weight *= 4  # the midnight rush when the deepest prices open
    return weight


def _pick(rng: random.Random, table: Sequence[tuple[T, int]]) -> T:
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


def _cell(column: str, value: object) -> str:
    if isinstance(value, list):
        return (";" if column == "lines" else "|").join(value)
    return str(value)


class _Writer:
    """Rows out in time order: final payments wait in a heap until their moment comes."""

    def __init__(self, out: TextIO, fmt: str) -> None:
        self.out = out
        self.csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        if self.csv is not None:
            self.csv.writerow(COLUMNS)
        self.later: list[tuple[float, int, dict[str, object]]] = []
        self.queued = 0

    def row(self, row: dict[str, object]) -> None:
        if self.csv is not None:
            self.csv.writerow([_cell(c, row.get(c, "")) for c in COLUMNS])
        else:
            self.out.write(json.dumps({k: v for k, v in row.items() if v not in ("", [])}) + "\n")

    def until(self, ts: float) -> None:
        """Write every waiting row due at or before ``ts``."""
        while self.later and self.later[0][0] <= ts:
            self.row(heapq.heappop(self.later)[2])

    def wait(self, ts: float, row: dict[str, object]) -> None:
        self.queued += 1
        heapq.heappush(self.later, (ts, self.queued, row))


def write_sample(
    ruleset: Ruleset,
    catalog: Mapping[str, CatalogItem],
    out: TextIO,
    *,
    count: int,
    seed: int = 0,
    fmt: str = "csv",
    start: datetime | None = None,
    days: int | None = None,
) -> int:
    """Write ``count`` orders to ``out`` in time order; returns the number of rows
    written (a pre-sale order paid in full takes two: its deposit and final payment)."""
    items = [item for item in catalog.values() if item.price is not None]
    if not items:
        raise PromorulesError("the catalogue has no sku with a price to sample from")
    if start is not None:
        end = start + timedelta(days=days or 7) - timedelta(seconds=1)
        peaks: list[tuple[datetime, datetime]] = []
    else:
        start, end, peaks = _span(ruleset)
    tz = ruleset.tz
    currency = ruleset.campaign.currency
    start = start.astimezone(tz)
    hours: list[datetime] = []
    moment = start.replace(minute=0, second=0, microsecond=0)
    while moment <= end:
        hours.append(moment)
        moment += HOUR
    per_hour = allocate(count, [_hour_weight(h, peaks) for h in hours])
    rng = random.Random(seed)
    skus = [item.sku for item in items]
    price = {item.sku: item.price or 0 for item in items}
    popularity = [3 if "hero" in item.tags else 1 for item in items]
    codes = coupon_codes(ruleset)
    pre = presales(ruleset, catalog)
    fee = parse_amount(SHIPPING_FEE, currency)
    free_from = parse_amount(FREE_SHIPPING_FROM, currency)
    customers = max(50, count // 4)
    names = [name for name, _ in LIFECYCLE]
    cuts = []
    total = 0
    for _, weight in LIFECYCLE:
        total += weight
        cuts.append(total)
    writer = _Writer(out, fmt)
    rows = 0
    number = 0
    low, high = start.timestamp(), end.timestamp()

    def draw_lines(size: int, without: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
        chosen: list[tuple[str, int]] = []
        while len(chosen) < min(size, len(skus) - len(without)):
            sku = rng.choices(skus, popularity)[0]
            if sku not in without and all(sku != c for c, _ in chosen):
                chosen.append((sku, _pick(rng, QUANTITY)))
        return chosen

    def shipping(lines: Sequence[tuple[str, int]]) -> str:
        goods = sum(price[sku] * quantity for sku, quantity in lines)
        return format_amount(fee, currency) if goods < free_from else ""

    def text(lines: Sequence[tuple[str, int]]) -> list[str]:
        return [sku if quantity == 1 else f"{sku}*{quantity}" for sku, quantity in lines]

    for hour, orders in zip(hours, per_hour, strict=True):
        base = hour.timestamp()
        seconds = sorted(rng.randrange(3600) for _ in range(orders))
        for second in seconds:
            ts = min(max(base + second, low), high)
            writer.until(ts)
            at = datetime.fromtimestamp(ts, tz)
            number += 1
            who = rng.randrange(customers)
            # a customer's segments are a function of the customer: stable across orders
            mark = (who * 2654435761 + seed) % total
            lifecycle = next(n for n, cut in zip(names, cuts, strict=True) if mark < cut)
            member = (who * 40503 + seed) % 100 < MEMBER_PERCENT
            row: dict[str, object] = {
                "time": at.isoformat(),
                "order": f"o-{number:08d}",
                "customer": f"c-{who:07d}",
                "segment": f"member|{lifecycle}" if member else lifecycle,
                "channel": _pick(rng, CHANNELS),
            }
            live = [p for p in pre if p.deposit_window.contains(at)]
            if live and rng.random() < DEPOSIT_SHARE:
                presale = rng.choice(live)
                lines = [(rng.choice(presale.skus), _pick(rng, QUANTITY))]
                writer.row({**row, "lines": text(lines), "shipping": shipping(lines)})
                rows += 1
                if rng.random() < FINAL_SHARE:
                    window = presale.final_window
                    when = float(
                        rng.randrange(int(window.start.timestamp()), int(window.end.timestamp()))
                    )
                    sku, quantity = lines[0]
                    final = lines + [
                        line
                        for line in draw_lines(_pick(rng, LINES_PER_ORDER) - 1)
                        if line[0] != sku
                    ]
                    writer.wait(
                        when,
                        {
                            **row,
                            "time": datetime.fromtimestamp(when, tz).isoformat(),
                            "lines": text(final),
                            "coupons": [rng.choice(codes)]
                            if codes and rng.random() < COUPON_SHARE
                            else [],
                            "shipping": shipping(final),
                            "deposits": [
                                f"{sku}={format_amount(presale.deposit * quantity, currency)}"
                            ],
                        },
                    )
                    rows += 1
                continue
            # in a deposit window a pre-sale sku is only sold by deposit (the row above)
            lines = draw_lines(
                _pick(rng, LINES_PER_ORDER), frozenset(s for p in live for s in p.skus)
            )
            row["lines"] = text(lines)
            row["coupons"] = [rng.choice(codes)] if codes and rng.random() < COUPON_SHARE else []
            row["shipping"] = shipping(lines)
            writer.row(row)
            rows += 1
    writer.until(float("inf"))
    return rows
