"""Check the zen-engine baseline against the reference pricer, then time both.

Run from the repository root::

    python -m benchmarks.zen_check            # full run: a few thousand carts, 7 repeats
    python -m benchmarks.zen_check --quick    # a few hundred carts, 3 repeats (CI)

For each cart size (1, 10 and 100 lines) it prices every cart with the hand-written reference
(:mod:`benchmarks.reference`) and with zen-engine three ways (:mod:`benchmarks.zen_baseline`:
``ZenEngine`` with a static loader, ``ZenDecision.evaluate``, and the static loader with
allocation and the guardrail moved into the graph),
reports any cart where the totals or per-line payables differ, then prints the median
microseconds per cart (over the repeats; each repeat prices all the carts once), carts per
second, and the ratio of each zen path to the reference. Without zen-engine installed it says
so and times the reference alone. Exit status 0: differences are reported, not failures.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.reference import make_reference_pricer
from benchmarks.workload import DEFAULT_SEED, Cart, build_workload, carts
from benchmarks.zen_baseline import ZEN_MISSING, build_zen_pricer, zen_available, zen_version

SIZES = (1, 10, 100)
FULL_COUNTS = {1: 2000, 10: 1000, 100: 200}
QUICK_COUNTS = {1: 200, 10: 100, 100: 20}
# (mode, allocate_in_graph, label): the fastest set-up, the common path, and everything in JDM.
ZEN_VARIANTS = (
    ("engine", False, "zen ZenEngine+static"),
    ("decision", False, "zen ZenDecision"),
    ("engine", True, "zen ZenEngine, all in JDM"),
)


def median_us_per_cart(price: Callable[[Cart], Any], batch: Sequence[Cart], repeats: int) -> float:
    """Median over ``repeats`` of the mean wall time per cart, in microseconds.

    One untimed warm-up pass first; the garbage collector is off while timing, as in timeit.
    """
    for cart in batch:
        price(cart)
    runs = []
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter_ns()
            for cart in batch:
                price(cart)
            runs.append((time.perf_counter_ns() - start) / len(batch) / 1000)
    finally:
        if gc_was_on:
            gc.enable()
    return statistics.median(runs)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    try:
        from tabulate import tabulate
    except ImportError:
        lines = ["  ".join(headers)]
        lines += ["  ".join(str(c) for c in row) for row in rows]
        return "\n".join(lines)
    return str(tabulate(rows, headers=headers, floatfmt=".1f"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few hundred carts (CI)")
    parser.add_argument("--repeats", type=int, help="timed passes per size (default 7, quick 3)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    counts = QUICK_COUNTS if args.quick else FULL_COUNTS
    repeats = args.repeats or (3 if args.quick else 7)

    workload = build_workload(args.seed)
    pricers: dict[str, Callable[[Cart], Any]] = {"reference": make_reference_pricer(workload)}
    if zen_available():
        for mode, in_graph, label in ZEN_VARIANTS:
            start = time.perf_counter_ns()
            pricers[label] = build_zen_pricer(workload, mode=mode, allocate_in_graph=in_graph)
            setup_ms = (time.perf_counter_ns() - start) / 1e6
            print(f"{label}: graph built and loaded in {setup_ms:.1f} ms")
        print(f"zen-engine {zen_version()}")
    else:
        print(ZEN_MISSING)
    print(f"seed {args.seed}, repeats {repeats}, carts per size {dict(counts)}")

    disagreements = 0
    rows: list[list[Any]] = []
    for size in SIZES:
        batch = list(carts(size, counts[size], seed=args.seed, workload=workload))
        reference = pricers["reference"]
        for label, price in pricers.items():
            if label == "reference":
                continue
            for cart in batch:
                want = reference(cart).amounts
                got = list(price(cart)[3][: len(cart.lines)])
                if want != got:
                    disagreements += 1
                    if disagreements <= 3:
                        print(
                            f"differs {label} {size} lines: {cart}\n  reference {want}\n  zen {got}"
                        )
        timings = {label: median_us_per_cart(p, batch, repeats) for label, p in pricers.items()}
        ref_us = timings["reference"]
        for label, us in timings.items():
            ratio = "" if label == "reference" else f"{us / ref_us:.1f}x"
            rows.append([size, label, us, round(1e6 / us), ratio])

    print()
    print(_table(["lines", "pricer", "median us/cart", "carts/s", "vs reference"], rows))
    checked = (
        "zen paths agree with the reference on every cart"
        if len(pricers) > 1
        else ("zen-engine not installed: nothing to cross-check")
    )
    print()
    print(f"{disagreements} carts differ (expected: see above)" if disagreements else checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
