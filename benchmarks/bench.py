"""The promorules benchmark: is the engine fast enough for the checkout's hot path?

Run from the repository root::

    python -m benchmarks.bench            # full: thousands of carts, 7 timed repeats
    python -m benchmarks.bench --quick    # a few hundred carts, 3 repeats (CI: it only
                                          # proves the benchmark runs and still agrees)

First it checks that ``engine.price`` and the hand-written reference
(:mod:`benchmarks.reference`) give identical quotes -- line payables, shipping, gift,
discount per promotion, guardrail trims per promotion -- on every generated cart, and stops
with exit status 1 and the differences if any cart disagrees. It also prices a batch from
two threads at once and checks the quotes match. Only then does it time, for carts of 1, 10
and 100 lines, the median microseconds per cart and carts per second of ``engine.price`` on
the compiled ruleset, of the reference, and of GoRules zen-engine (when installed; see
:mod:`benchmarks.zen_baseline`), and the ratios measured in the same run (each repeat times
every pricer once, interleaved; the ratio shown is the median of the per-repeat ratios).
Then the campaign workload (:mod:`benchmarks.campaign`, about 1,000 promotions): its
hand-written reference (:mod:`benchmarks.campaign_reference`) checked against
``engine.price`` cart by cart before anything is timed (any cart that differs stops the
run with exit status 1, as for the bundled workload), engine and reference timed the same
way at 1, 10 and 100 lines, and its load + check + compile time.
Then: load-and-compile time, the wall time of ``promorules price`` as a fresh process,
peak memory per 10,000 quotes held, throughput with 2 worker processes, and the figures of
modules other branches are building (validation, simulation) when they exist.

Nothing here asserts anything about time: the figures are for people to read.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks import campaign_bench
from benchmarks.campaign_check import check_campaign
from benchmarks.reference import RefQuote, make_reference_pricer
from benchmarks.ruleset import CartMaker, ruleset_toml, write_cli_files
from benchmarks.timing import time_pass
from benchmarks.workload import DEFAULT_SEED, Cart, Workload, build_workload, carts
from benchmarks.zen_baseline import ZEN_MISSING, build_zen_pricer, zen_available, zen_version
from promorules.cart import Cart as EngineCart
from promorules.cart import Context
from promorules.engine import Engine
from promorules.quote import Quote

SIZES = (1, 10, 100)
FULL_COUNTS = {1: 2000, 10: 1000, 100: 200}
QUICK_COUNTS = {1: 200, 10: 100, 100: 20}
ZEN_NOT_EXPRESSED = (
    "member price, bundle, free shipping, the clamp's trim order (zen's glue withdraws "
    "in proportion), pooled buy-2-get-1 (zen counts it per line), lane-start allocation "
    "weights (zen's glue allocates on current amounts)"
)

Priced = tuple[EngineCart, Context]


# -- agreement -------------------------------------------------------------------------
def engine_view(quote: Quote) -> tuple[Any, ...]:
    """What the comparison reads from a quote (through its public views)."""
    lines = quote.lines
    return (
        [line.payable for line in lines if not line.gift],
        quote.shipping_payable,
        any(line.gift for line in lines),
        dict(quote.guardrail.trims),
        dict(quote.discounts_by_promotion),
    )


def reference_view(ref: RefQuote, ids: Sequence[str]) -> tuple[Any, ...]:
    given = {ids[p]: sum(amounts) for p, (_, amounts) in ref.given.items() if sum(amounts)}
    if ref.shipping_off:
        given[ids[-1]] = ref.shipping_off
    trims = {ids[p]: v for p, v in ref.trims.items() if v}
    return (ref.amounts, ref.shipping, ref.gift, trims, given)


FIELDS = ("line payables", "shipping payable", "gift", "guardrail trims", "discounts")


def check_agreement(
    engine: Engine,
    reference: Callable[[Cart], RefQuote],
    batches: dict[int, list[tuple[Cart, Priced]]],
    ids: Sequence[str],
) -> int:
    """Every cart priced both ways; prints the first differences; returns how many differ."""
    bad = 0
    for size, batch in batches.items():
        for cart, (engine_cart, context) in batch:
            got = engine_view(engine.price(engine_cart, context))
            want = reference_view(reference(cart), ids)
            if got == want:
                continue
            bad += 1
            if bad <= 3:
                print(f"DISAGREE ({size} lines): {cart}")
                for name, g, w in zip(FIELDS, got, want, strict=True):
                    if g != w:
                        print(f"  {name}:\n    engine    {g}\n    reference {w}")
    return bad


def check_threads(engine: Engine, batch: list[tuple[Cart, Priced]]) -> bool:
    """Price ``batch`` from two threads at once; both must match a sequential pass."""
    want = [engine_view(engine.price(c, x)) for _, (c, x) in batch]
    results: list[list[tuple[Any, ...]]] = [[], []]

    def work(slot: int) -> None:
        results[slot] = [engine_view(engine.price(c, x)) for _, (c, x) in batch]

    threads = [threading.Thread(target=work, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results[0] == want and results[1] == want


# -- timing ----------------------------------------------------------------------------
def interleaved(
    pricers: dict[str, tuple[Callable[[Any], Any], Sequence[Any]]], repeats: int
) -> dict[str, list[float]]:
    """Each repeat times every pricer once, in turn, so ratios compare like with like."""
    for price, items in pricers.values():  # warm-up
        for item in items:
            price(item)
    runs: dict[str, list[float]] = {name: [] for name in pricers}
    for _ in range(repeats):
        for name, (price, items) in pricers.items():
            runs[name].append(time_pass(price, items))
    return runs


def repeat_ratios(a: list[float], b: list[float]) -> list[float]:
    """``a`` over ``b``, repeat by repeat."""
    return [x / y for x, y in zip(a, b, strict=True)]


def median_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(repeat_ratios(a, b))


# -- the other figures -----------------------------------------------------------------
def explained_us(engine: Engine, batch: Sequence[Priced], repeats: int) -> tuple[float, float]:
    """Median microseconds per cart of ``engine.explained`` (every promotion's explanation
    and every code finding worked out: what a cart page showing them pays) and of
    ``engine.price`` in the same repeats."""
    runs = interleaved(
        {
            "explained": (lambda p: engine.explained(p[0], p[1]), batch),
            "price": (lambda p: engine.price(p[0], p[1]), batch),
        },
        repeats,
    )
    return statistics.median(runs["explained"]), statistics.median(runs["price"])


def load_time_ms(path: Path, repeats: int) -> float:
    """Median time to load, check and compile the ruleset file (plugins discovered once)."""
    from promorules.plugins import PluginHost

    kinds = PluginHost.default().kinds
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        from promorules.ruleset import load_ruleset

        Engine(load_ruleset(path, kinds), kinds)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(times)


def cli_wall_s(workload: Workload, cart: Cart, runs: int) -> tuple[float, str]:
    """Median wall time of ``promorules price`` on a sample cart, as a fresh process.

    promorules' own bytecode is written first, as an installed package (or any start
    after the first) has it: with an editable install and PYTHONDONTWRITEBYTECODE=1 every
    start would compile its sources again (about 50 ms here)."""
    import compileall

    import promorules
    import promorules_plugins

    for package in (promorules, promorules_plugins):
        for directory in package.__path__:
            compileall.compile_dir(directory, quiet=1)
    script = Path(sys.executable).parent / "promorules"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "promorules.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        ruleset, catalogue, cart_file = write_cli_files(workload, cart, Path(tmp))
        args = [*command, "price", str(ruleset), str(cart_file), "--catalog", str(catalogue)]
        for code in cart.codes:
            args += ["--coupon", code]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(args, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode not in (0, 1):
                raise SystemExit(f"promorules price failed ({done.returncode}): {done.stderr}")
    return statistics.median(times), " ".join(Path(a).name for a in args[:2])


def peak_memory_mb(engine: Engine, batch: Sequence[Priced], quotes: int) -> float:
    """Peak traced memory while ``quotes`` quotes are priced and held, per 10,000 quotes."""
    held: list[Quote] = []
    gc.collect()
    tracemalloc.start()
    try:
        for k in range(quotes):
            cart, context = batch[k % len(batch)]
            held.append(engine.price(cart, context))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6 * 10_000 / quotes


_WORKER: dict[str, Any] = {}


def _worker_init(seed: int, size: int, count: int) -> None:
    workload = build_workload(seed)
    engine = Engine.from_string(ruleset_toml(workload))
    make = CartMaker(workload)
    _WORKER["engine"] = engine
    _WORKER["batch"] = [make(c) for c in carts(size, count, seed=seed, workload=workload)]


def _worker_run(share: tuple[int, int, int]) -> int:
    first, last, passes = share
    engine: Engine = _WORKER["engine"]
    batch = _WORKER["batch"][first:last]
    for _ in range(passes):
        for cart, context in batch:
            engine.price(cart, context)
    return len(batch) * passes


def two_process_rate(seed: int, size: int, count: int, passes: int) -> float:
    """Carts per second with 2 worker processes, each pricing half the batch."""
    context = multiprocessing.get_context("spawn" if sys.platform == "win32" else "fork")
    with context.Pool(2, initializer=_worker_init, initargs=(seed, size, count)) as pool:
        pool.map(_worker_run, [(0, 2, 1), (2, 4, 1)])  # both workers up and warm
        half = count // 2
        start = time.perf_counter()
        done = sum(pool.map(_worker_run, [(0, half, passes), (half, count, passes)], 1))
        return done / (time.perf_counter() - start)


# Figures of modules built on other branches: (label, module, measure). A measure takes
# the workload and whether the run is quick, and returns the figure as text; add one line
# here when a module lands.
VALIDATE_SKUS = 1_000
SIMULATE_ORDERS = {True: 2_000, False: 20_000}
"""Sample orders replayed for the simulation figure (quick run: True)."""


def validation_time(_: Workload, quick: bool) -> str:
    """`promorules validate rulesets/double11.toml` against the 1,000-sku catalogue of
    :mod:`benchmarks.validate_bench` at the default effort: median wall time of 1 run
    (quick) or 3, interpreter start excluded."""
    from benchmarks.validate_bench import DEFAULT_SEED as VALIDATE_SEED
    from benchmarks.validate_bench import measure

    runs = [measure(VALIDATE_SKUS, VALIDATE_SEED) for _ in range(1 if quick else 3)]
    seconds = statistics.median(elapsed for elapsed, _ in runs)
    report = runs[-1][1]
    searched = sum(v.tried for v in report.verdicts)
    verdicts = ", ".join(f"{v.floor.label} {v.status.value}" for v in report.verdicts)
    return f"{seconds:.2f} s ({VALIDATE_SKUS:,} skus; {verdicts}; {searched} search examples)"


def simulated_orders(_: Workload, quick: bool) -> str:
    """Sample orders of the bundled ruleset replayed in one process
    (:mod:`benchmarks.simulate_bench`, workers 1, local backend)."""
    from benchmarks.simulate_bench import orders_per_second

    count = SIMULATE_ORDERS[quick]
    return f"{orders_per_second(count):,.0f} orders/s (1 process, {count:,} sample orders)"


OPTIONAL_FIGURES: tuple[tuple[str, str, Callable[[Workload, bool], str]], ...] = (
    ("validation time, bundled S-grade ruleset", "promorules.validate", validation_time),
    ("simulated orders per second", "promorules.simulate", simulated_orders),
)


def optional_figures(workload: Workload, quick: bool) -> list[list[str]]:
    rows = []
    for label, module, measure in OPTIONAL_FIGURES:
        if importlib.util.find_spec(module) is None:
            rows.append([label, f"not available ({module} does not exist yet)"])
        else:
            rows.append([label, measure(workload, quick)])
    return rows


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    from tabulate import tabulate

    return str(tabulate(rows, headers=headers, floatfmt=",.1f", intfmt=","))


# -- main ------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few hundred carts (CI)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeats", type=int, help="timed passes per size (7; quick: 3)")
    args = parser.parse_args(argv)
    quick = args.quick
    counts = QUICK_COUNTS if quick else FULL_COUNTS
    repeats = args.repeats or (3 if quick else 7)
    seed = args.seed

    print(
        f"promorules benchmark, {date.today().isoformat()}, seed {seed}, "
        f"{'quick' if quick else 'full'} run, {repeats} repeats"
    )
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform(terse=True)}"
    )
    workload = build_workload(seed)
    text = ruleset_toml(workload)
    engine = Engine.from_string(text)
    reference = make_reference_pricer(workload)
    make = CartMaker(workload)
    ids = [p.id for p in engine.ruleset.promotions]
    print(f"ruleset: {len(ids)} promotions, {len(workload.catalogue):,} skus")

    batches = {
        size: [(c, make(c)) for c in carts(size, counts[size], seed=seed, workload=workload)]
        for size in SIZES
    }
    bad = check_agreement(engine, reference, batches, ids)
    total = sum(len(b) for b in batches.values())
    if bad:
        print(f"\n{bad} of {total:,} carts disagree: engine and reference differ; no timing.")
        return 1
    print(f"agreement: engine and reference give identical quotes on all {total:,} carts")
    if not check_threads(engine, batches[10]):
        print("\nquotes priced from two threads differ from a sequential pass")
        return 1
    print("thread safety: 2 threads pricing the same carts at once give the same quotes")

    # the campaign workload: about 1,000 promotions, checked before anything is timed
    campaign = campaign_bench.load(seed, 1 if quick else 3)
    campaign_counts = campaign_bench.QUICK_COUNTS if quick else campaign_bench.FULL_COUNTS
    campaign_batches = campaign_bench.batches(campaign, campaign_counts, seed)
    print(
        f"campaign ruleset: {len(campaign.campaign.promotions)} promotions, "
        f"{len(campaign.campaign.catalogue):,} skus"
    )
    check = check_campaign(campaign.engine, campaign.campaign, campaign.reference, campaign_batches)
    if not campaign_bench.report_check(check):
        return 1

    zen_pricers: dict[str, Callable[[Cart], Any]] = {}
    if zen_available():
        zen_pricers["zen static"] = build_zen_pricer(workload, mode="engine")
        zen_pricers["zen decision"] = build_zen_pricer(workload, mode="decision")
        print(f"zen-engine {zen_version()}: not expressed in its graph: {ZEN_NOT_EXPRESSED}")
    else:
        print(ZEN_MISSING)

    rows = []
    ratios: dict[int, dict[str, float]] = {}
    rates: dict[int, float] = {}
    zen_agree: dict[int, int] = {}
    for size in SIZES:
        batch = batches[size]
        plain = [c for c, _ in batch]
        priced = [p for _, p in batch]
        pricers: dict[str, tuple[Callable[[Any], Any], Sequence[Any]]] = {
            "engine": (lambda p: engine.price(p[0], p[1]), priced),
            "reference": (reference, plain),
        }
        for name, zen_price in zen_pricers.items():
            pricers[name] = (zen_price, plain)
        if zen_pricers:
            zen_price = zen_pricers["zen static"]
            zen_agree[size] = sum(
                1 for c in plain if list(zen_price(c)[3][: len(c.lines)]) == reference(c).amounts
            )
        runs = interleaved(pricers, repeats)
        med = {name: statistics.median(r) for name, r in runs.items()}
        ratio = {"1/2": median_ratio(runs["engine"], runs["reference"])}
        for name in zen_pricers:
            ratio[f"{name}/1"] = median_ratio(runs[name], runs["engine"])
        ratios[size] = ratio
        rates[size] = 1e6 / med["engine"]
        row: list[Any] = [
            size,
            med["engine"],
            round(1e6 / med["engine"]),
            med["reference"],
            round(1e6 / med["reference"]),
            f"{ratio['1/2']:.2f}x",
            campaign_bench.spread(repeat_ratios(runs["engine"], runs["reference"])),
        ]
        for name in ("zen static", "zen decision"):
            if name in zen_pricers:
                row += [med[name], f"{ratio[f'{name}/1']:.2f}x"]
            else:
                row += ["not installed", ""]
        rows.append(row)
    print()
    print(
        _table(
            [
                "lines",
                "1 engine us",
                "engine carts/s",
                "2 reference us",
                "ref carts/s",
                "1/2",
                "1/2 per repeat",
                "3 zen static us",
                "3/1",
                "zen decision us",
                "decision/1",
            ],
            rows,
        )
    )
    campaign_rows = []
    campaign_ratios: dict[int, float] = {}
    for size in SIZES:
        t = campaign_bench.timed(campaign, campaign_batches[size], repeats)
        campaign_ratios[size] = t.ratio
        campaign_rows.append(
            [size, t.engine_us, t.reference_us, f"{t.ratio:.2f}x", campaign_bench.spread(t.ratios)]
        )
    print()
    print("campaign workload (benchmarks/campaign.py):")
    print(
        _table(["lines", "1 engine us", "2 reference us", "1/2", "1/2 per repeat"], campaign_rows)
    )
    if zen_agree:
        agree = ", ".join(f"{zen_agree[s]}/{len(batches[s])} at {s}" for s in SIZES)
        print(f"zen static payables equal the engine's on {agree} lines (the rest: see above)")

    # the other figures
    sample = batches[10][0][0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(text, encoding="utf-8")
        load_ms = load_time_ms(path, 3 if quick else 7)
    cli_s, _ = cli_wall_s(workload, sample, 3 if quick else 7)
    quotes = 1_000 if quick else 10_000
    memory = peak_memory_mb(engine, [p for _, p in batches[10]], quotes)
    explained, figures_only = explained_us(engine, [p for _, p in batches[10]], repeats)
    one = rates[10]
    passes = 25 if quick else 5  # about 1,250 and 2,500 carts per worker
    two = two_process_rate(seed, 10, counts[10], passes)
    extra = [
        ["load + check + compile the ruleset (TOML file)", f"{load_ms:.1f} ms"],
        [
            f"load + check + compile the campaign ruleset ({len(campaign.campaign.promotions)} "
            "promotions; median of 3 runs, quick: 1)",
            f"{statistics.median(campaign.load_ms) + statistics.median(campaign.compile_ms):,.0f}"
            f" ms (load + check {statistics.median(campaign.load_ms):,.0f} ms, compile "
            f"{statistics.median(campaign.compile_ms):,.0f} ms)",
        ],
        [
            "`promorules price` on a 10-line cart, fresh process (median; bytecode written)",
            f"{cli_s:.3f} s",
        ],
        [
            f"peak memory per 10,000 quotes held (10 lines; measured on {quotes:,})",
            f"{memory:.1f} MB",
        ],
        [
            "engine.explained on a 10-line cart (explanations and code findings included)",
            f"{explained:.1f} us ({explained / figures_only:.2f}x engine.price's "
            f"{figures_only:.1f} us; read on access after engine.price, they cost it again)",
        ],
        ["10-line carts/s, 1 process (the table above)", f"{one:,.0f}"],
        [f"10-line carts/s, 2 worker processes ({os.cpu_count()} cores)", f"{two:,.0f}"],
        *optional_figures(workload, quick),
    ]
    print()
    print(_table(["figure", "value"], extra))

    # the targets, read off this run
    targets = [
        ["engine within 2x of the reference at 1 line", ratios[1]["1/2"] <= 2.0],
        ["engine within 1.5x of the reference at 10 lines", ratios[10]["1/2"] <= 1.5],
        ["engine within 1.5x of the reference at 100 lines", ratios[100]["1/2"] <= 1.5],
        ["promorules price as a fresh process under 0.3 s", cli_s < 0.3],
        *(
            [f"campaign: engine within 1.5x of the reference at {size} lines (aim 1.2x)", r <= 1.5]
            for size, r in campaign_ratios.items()
        ),
        [
            "campaign: load + check + compile under 150 ms",
            statistics.median(campaign.load_ms) + statistics.median(campaign.compile_ms) < 150,
        ],
    ]
    if zen_pricers:
        targets.append(
            [
                "engine at least 10x ahead of zen static at 10 lines",
                ratios[10]["zen static/1"] >= 10,
            ]
        )
    print()
    print(_table(["target", "met"], [[t, "yes" if ok else "no"] for t, ok in targets]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
