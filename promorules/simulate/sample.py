"""Synthetic order logs that look like a campaign's: for trying ``simulate`` out of the box.

Seeded and streaming (rows are written as they are drawn, an hour at a time). The
shape follows what planners see in a big promotion:

- orders spread over the campaign's phases, busier in the evening, several times
  busier on the explosion day, with a rush in its first hour;
- 1 to 5 lines an order, most orders small; mostly one unit a line;
- skus drawn from the catalogue, hero skus (tag ``hero``) more often;
- a customer mix of members, new, regular and churned-and-recalled customers, each
  customer keeping the same segment across orders;
- channels: app, mini-program, web, live stream, private domain;
- some customers present a coupon code, when the ruleset's promotions declare codes
  (any promotion config field named ``code`` or ``codes``).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TextIO

import attrs

from promorules.calendar import Stage, stage_of
from promorules.diagnostics import PromorulesError
from promorules.money import allocate

if TYPE_CHECKING:
    from promorules.cartfile import CatalogItem
    from promorules.ruleset import Ruleset

SEGMENTS = (("member", 40), ("new", 25), ("regular", 25), ("churned", 10))
CHANNELS = (("app", 55), ("mini-program", 15), ("web", 10), ("live", 12), ("private", 8))
LINES_PER_ORDER = ((1, 45), (2, 28), (3, 15), (4, 8), (5, 4))
QUANTITY = ((1, 82), (2, 14), (3, 4))
COUPON_SHARE = 0.3
HOUR = timedelta(hours=1)


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
    weight = 3 if hour < 8 else 10 if hour < 20 else 16
    for start, end in peaks:
        if start <= at <= end:
            weight *= 6
            if at < start + HOUR:
                weight *= 4  # the midnight rush when the deepest prices open
    return weight


def _pick(rng: random.Random, table: Sequence[tuple[object, int]]) -> object:
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


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
    """Write ``count`` orders to ``out`` in time order; returns the number written."""
    items = [item for item in catalog.values() if item.price is not None]
    if not items:
        raise PromorulesError("the catalogue has no sku with a price to sample from")
    if start is not None:
        end = start + timedelta(days=days or 7) - timedelta(seconds=1)
        peaks: list[tuple[datetime, datetime]] = []
    else:
        start, end, peaks = _span(ruleset)
    tz = ruleset.tz
    start = start.astimezone(tz)
    hours: list[datetime] = []
    moment = start.replace(minute=0, second=0, microsecond=0)
    while moment <= end:
        hours.append(moment)
        moment += HOUR
    per_hour = allocate(count, [_hour_weight(h, peaks) for h in hours])
    rng = random.Random(seed)
    skus = [item.sku for item in items]
    popularity = [3 if "hero" in item.tags else 1 for item in items]
    codes = coupon_codes(ruleset)
    customers = max(50, count // 4)
    segment_names = [name for name, _ in SEGMENTS]
    segment_cuts = []
    total = 0
    for _, weight in SEGMENTS:
        total += weight
        segment_cuts.append(total)
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(("time", "order", "customer", "segment", "channel", "lines", "coupons"))
    number = 0
    low, high = start.timestamp(), end.timestamp()
    for hour, orders in zip(hours, per_hour, strict=True):
        base = hour.timestamp()
        seconds = sorted(rng.randrange(3600) for _ in range(orders))
        for second in seconds:
            ts = min(max(base + second, low), high)
            at = datetime.fromtimestamp(ts, tz)
            number += 1
            who = rng.randrange(customers)
            # a customer's segment is a function of the customer: stable across orders
            mark = (who * 2654435761 + seed) % total
            segment = next(
                n for n, cut in zip(segment_names, segment_cuts, strict=True) if mark < cut
            )
            channel = _pick(rng, CHANNELS)
            size = min(int(_pick(rng, LINES_PER_ORDER)), len(skus))  # type: ignore[call-overload]
            chosen: list[str] = []
            while len(chosen) < size:
                sku = rng.choices(skus, popularity)[0]
                if sku not in chosen:
                    chosen.append(sku)
            lines = []
            for sku in chosen:
                quantity = _pick(rng, QUANTITY)
                lines.append(sku if quantity == 1 else f"{sku}*{quantity}")
            coupons = [rng.choice(codes)] if codes and rng.random() < COUPON_SHARE else []
            row = (
                at.isoformat(),
                f"o-{number:08d}",
                f"c-{who:07d}",
                segment,
                channel,
                ";".join(lines),
                "|".join(coupons),
            )
            if writer is not None:
                writer.writerow(row)
            else:
                out.write(
                    json.dumps(
                        {
                            "time": row[0],
                            "order": row[1],
                            "customer": row[2],
                            "segment": row[3],
                            "channel": row[4],
                            "lines": lines,
                            "coupons": coupons,
                        }
                    )
                    + "\n"
                )
    return number
