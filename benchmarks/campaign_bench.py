"""The campaign workload's part of the benchmark: agreement, timing, loading, profile.

``python -m benchmarks.bench`` runs it after the bundled workload; run alone::

    python -m benchmarks.campaign_bench              # check and time the campaign only
    python -m benchmarks.campaign_bench --quick      # fewer carts, 3 repeats
    python -m benchmarks.campaign_bench --profile    # where engine.price spends its time

It checks :mod:`benchmarks.campaign_reference` against ``engine.price`` on every cart
(:mod:`benchmarks.campaign_check`) first: any cart that differs is printed and the run
stops with exit status 1 before anything is timed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import attrs

from benchmarks.campaign import (
    CAMPAIGN_SEED,
    Campaign,
    CampaignCart,
    build_campaign,
    campaign_carts,
)
from benchmarks.campaign_check import CampaignCheck, check_campaign
from benchmarks.campaign_reference import CampaignQuote, make_campaign_pricer
from benchmarks.campaign_ruleset import CampaignCartMaker, campaign_toml
from benchmarks.timing import time_pass
from promorules.cart import Cart, Context
from promorules.engine import Engine

SIZES = (1, 10, 100)
FULL_COUNTS = {1: 1000, 10: 400, 100: 100}
QUICK_COUNTS = {1: 100, 10: 40, 100: 10}
SHOWN = 3
"""Disagreeing carts printed in full."""

Batch = list[tuple[CampaignCart, tuple[Cart, Context]]]


@attrs.define
class Loaded:
    """The campaign ready to price, and what loading it took."""

    campaign: Campaign
    engine: Engine
    reference: Callable[[CampaignCart], CampaignQuote]
    load_ms: list[float]
    """Per run: reading and checking the TOML file (plugins discovered before)."""
    compile_ms: list[float]
    """Per run: building the engine from the checked ruleset."""


def load(seed: int, runs: int) -> Loaded:
    """Build the campaign, write its TOML to a file and load it ``runs`` times, timed."""
    from promorules.plugins import PluginHost
    from promorules.ruleset import load_ruleset

    campaign = build_campaign(seed)
    kinds = PluginHost.default().kinds
    loads, compiles = [], []
    engine = None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "campaign.toml"
        path.write_text(campaign_toml(campaign), encoding="utf-8")
        for _ in range(runs):
            start = time.perf_counter_ns()
            ruleset = load_ruleset(path, kinds)
            middle = time.perf_counter_ns()
            engine = Engine(ruleset, kinds)
            loads.append((middle - start) / 1e6)
            compiles.append((time.perf_counter_ns() - middle) / 1e6)
    assert engine is not None
    return Loaded(campaign, engine, make_campaign_pricer(campaign), loads, compiles)


def batches(loaded: Loaded, counts: dict[int, int], seed: int) -> dict[int, Batch]:
    make = CampaignCartMaker(loaded.campaign)
    return {
        size: [(c, make(c)) for c in campaign_carts(loaded.campaign, size, counts[size], seed)]
        for size in SIZES
    }


def report_check(check: CampaignCheck) -> bool:
    """Print the check's outcome (the first differing carts in full); whether the run may
    go on to timing: only when every cart is identical."""
    print(check.summary())
    bad = check.disagreements
    for d in bad[:SHOWN]:
        print(d.describe())
    if bad:
        print(f"\n{len(bad):,} campaign carts disagree: engine and reference differ; no timing.")
        return False
    return True


class Timing(NamedTuple):
    """Engine and reference timed over interleaved repeats."""

    engine_us: float
    """Median over the repeats of the engine's mean microseconds per cart."""
    reference_us: float
    """The same for the reference."""
    ratios: list[float]
    """Engine over reference, per repeat (both timed in it, one after the other)."""

    @property
    def ratio(self) -> float:
        """The median of the per-repeat ratios: a noisy neighbour slows both sides alike."""
        return statistics.median(self.ratios)


def timed(loaded: Loaded, batch: Batch, repeats: int) -> Timing:
    """Engine and reference over ``repeats`` interleaved repeats (one warm-up pass each)."""
    engine, reference = loaded.engine, loaded.reference
    plain = [c for c, _ in batch]
    priced = [p for _, p in batch]

    def engine_price(p: tuple[Cart, Context]) -> object:
        return engine.price(p[0], p[1])

    for item in priced:
        engine_price(item)
    for cart in plain:
        reference(cart)
    runs_engine, runs_reference = [], []
    for _ in range(repeats):
        runs_engine.append(time_pass(engine_price, priced))
        runs_reference.append(time_pass(reference, plain))
    return Timing(
        statistics.median(runs_engine),
        statistics.median(runs_reference),
        [e / r for e, r in zip(runs_engine, runs_reference, strict=True)],
    )


def spread(ratios: Sequence[float]) -> str:
    """The per-repeat ratios' range, as printed beside their median."""
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def profile(loaded: Loaded, batch: Batch, top: int = 15) -> str:
    """cProfile of ``engine.price`` over ``batch`` (after a warm-up pass, gc off as when
    timed): the top functions by own time, and by cumulative time."""
    engine = loaded.engine
    for cart, context in (p for _, p in batch):
        engine.price(cart, context)
    profiler = cProfile.Profile()
    gc.disable()  # as when timed
    try:
        profiler.enable()
        for _, (cart, context) in batch:
            engine.price(cart, context)
        profiler.disable()
    finally:
        gc.enable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer carts, 3 repeats")
    parser.add_argument("--seed", type=int, default=CAMPAIGN_SEED)
    parser.add_argument("--repeats", type=int, help="timed passes per size (7; quick: 3)")
    parser.add_argument(
        "--profile", type=int, metavar="LINES", help="profile engine.price on carts of LINES"
    )
    args = parser.parse_args(argv)
    counts = QUICK_COUNTS if args.quick else FULL_COUNTS
    repeats = args.repeats or (3 if args.quick else 7)
    loaded = load(args.seed, 1 if args.quick else 3)
    print(
        f"campaign: {len(loaded.campaign.promotions)} promotions, "
        f"{len(loaded.campaign.catalogue):,} skus; load + check "
        f"{statistics.median(loaded.load_ms):.0f} ms, compile "
        f"{statistics.median(loaded.compile_ms):.0f} ms"
    )
    carts = batches(loaded, FULL_COUNTS if args.profile else counts, args.seed)
    if args.profile:
        print(profile(loaded, carts.get(args.profile) or carts[10]))
        return 0
    check = check_campaign(loaded.engine, loaded.campaign, loaded.reference, carts)
    if not report_check(check):
        return 1
    for size in SIZES:
        t = timed(loaded, carts[size], repeats)
        print(
            f"{size} lines: engine {t.engine_us:,.1f} us, reference {t.reference_us:,.1f} us, "
            f"{t.ratio:.2f}x (per repeat {spread(t.ratios)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
