"""Two trees timed in alternating processes: engine / reference on both workloads.

    python -m benchmarks.ab /path/to/other/tree            # 3 rounds, full counts
    python -m benchmarks.ab /path/to/other/tree --rounds 5 --quick

Each round runs, one after the other, a fresh process in the other tree and one in this
tree (``--one``: the bundled workload and the campaign, engine and reference interleaved
in each of 7 repeats, gc off, as :mod:`benchmarks.bench` and
:mod:`benchmarks.campaign_bench` time them), so a neighbour's load falls on both trees
alike. It prints each process's figures as they come, then per tree the median over the
rounds of each figure (microseconds a cart, and engine / reference). Agreement is not
checked here: run ``benchmarks.bench`` in each tree for that.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SIZES = (1, 10, 100)
HERE = Path(__file__).resolve().parents[1]


def one(quick: bool) -> dict[str, Any]:
    """This tree's figures: per workload and size, engine us, reference us, ratio."""
    from benchmarks import bench, campaign_bench
    from benchmarks.reference import make_reference_pricer
    from benchmarks.ruleset import CartMaker, ruleset_toml
    from benchmarks.workload import DEFAULT_SEED, build_workload, carts
    from promorules.engine import Engine

    repeats = 3 if quick else 7
    out: dict[str, Any] = {"load": round(os.getloadavg()[0], 2)}
    workload = build_workload(DEFAULT_SEED)
    engine = Engine.from_string(ruleset_toml(workload))
    reference = make_reference_pricer(workload)
    make = CartMaker(workload)
    counts = bench.QUICK_COUNTS if quick else bench.FULL_COUNTS

    def price(p: tuple[Any, Any]) -> object:
        return engine.price(p[0], p[1])

    for size in SIZES:
        batch = [
            (c, make(c)) for c in carts(size, counts[size], seed=DEFAULT_SEED, workload=workload)
        ]
        runs = bench.interleaved(
            {
                "engine": (price, [p for _, p in batch]),
                "reference": (reference, [c for c, _ in batch]),
            },
            repeats,
        )
        out[f"bundled {size}"] = [
            statistics.median(runs["engine"]),
            statistics.median(runs["reference"]),
            bench.median_ratio(runs["engine"], runs["reference"]),
        ]
    loaded = campaign_bench.load(DEFAULT_SEED, 1)
    batches = campaign_bench.batches(
        loaded, campaign_bench.QUICK_COUNTS if quick else campaign_bench.FULL_COUNTS, DEFAULT_SEED
    )
    for size in SIZES:
        t = campaign_bench.timed(loaded, batches[size], repeats)
        out[f"campaign {size}"] = [t.engine_us, t.reference_us, t.ratio]
    out["load after"] = round(os.getloadavg()[0], 2)
    return out


def run_in(tree: Path, quick: bool) -> dict[str, Any]:
    """``--one`` in a fresh process importing ``tree`` (and its plugins) first: this
    file is run by its path, so the other tree need not hold it."""
    env = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{tree / 'plugins'}")
    argv = [sys.executable, __file__, "--one"] + (["--quick"] if quick else [])
    done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("other", nargs="?", type=Path, help="the tree to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer carts, 3 repeats")
    parser.add_argument("--one", action="store_true", help="this tree's figures, as JSON")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.quick)))
        return 0
    if args.other is None:
        parser.error("name the other tree (or --one)")
    trees = {"other": args.other.resolve(), "this": HERE}
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for number in range(1, args.rounds + 1):
        for name, tree in trees.items():
            figures = run_in(tree, args.quick)
            rounds[name].append(figures)
            print(f"round {number}, {name} ({tree}): {json.dumps(figures)}", flush=True)
    print(f"\nmedians over {args.rounds} rounds (engine us, reference us, engine / reference):")
    for workload in ("bundled", "campaign"):
        for size in SIZES:
            key = f"{workload} {size}"
            cells = []
            for name in trees:
                columns = list(zip(*(r[key] for r in rounds[name]), strict=True))
                engine_us, reference_us, ratio = (statistics.median(c) for c in columns)
                cells.append(f"{name} {engine_us:,.1f} / {reference_us:,.1f} us {ratio:.2f}x")
            print(f"  {key:>12} lines: " + "; ".join(cells))
    loads = [r["load"] for name in trees for r in rounds[name]]
    print(f"load average (one minute) at the processes' starts: {min(loads)}-{max(loads)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
