"""Time ``promorules validate`` on the bundled S-grade ruleset against generated catalogues.

The catalogue is generated from a seed with the standard library (the categories and
merchants the bundled ruleset targets, plus others), written to a temporary CSV, and
validated with the default search effort, exactly as
``promorules validate rulesets/double11.toml --catalog FILE`` would. Run::

    python -m benchmarks.validate_bench            # default effort, 1,000 skus, once
    python -m benchmarks.validate_bench --skus 5000 --examples 3000
    python -m benchmarks.validate_bench --sizes 1000,10000,100000,1000000 --repeats 3 \
        --baseline ../main --baseline-max 100000

``--sizes`` times each catalogue size ``--repeats`` times, each run in a fresh process
(interpreter start and catalogue writing excluded), and prints the median CPU and wall
seconds per size; with ``--baseline DIR`` (another checkout of promorules) the same
catalogues are validated by that checkout too, runs interleaved with this one's, and
the ratios of the medians are printed (up to ``--baseline-max`` skus). The verdicts of
both are printed, so a faster run that decides differently shows.

Measured on the project's 2-core machine: benchmarks/README.md, "Validation on large
catalogues".
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20261111
RULESET = Path(__file__).resolve().parent.parent / "rulesets" / "double11.toml"
CATEGORIES = {
    # category: (merchants, lowest margin, highest margin)
    "beauty": (("lumi-beauty", "m-beauty-2"), 0.35, 0.75),
    "digital": (("nova-digital", "m-digital-2"), 0.04, 0.30),
    "home": (("hearth-home", "m-home-2"), 0.20, 0.60),
    "grocery": (("greenfield-grocery",), 0.08, 0.30),
    "apparel": (("m-apparel-1", "m-apparel-2"), 0.30, 0.70),
    "baby": (("m-baby",), 0.15, 0.45),
}


def write_catalogue(path: Path, skus: int, seed: int) -> None:
    rng = random.Random(seed)
    names = sorted(CATEGORIES)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "price", "cost", "category", "brand", "merchant", "tags"])
        for n in range(1, skus + 1):
            category = rng.choice(names)
            merchants, low, high = CATEGORIES[category]
            yuan = int(math.exp(rng.uniform(math.log(10), math.log(4000))))
            price = yuan * 100 - 10
            cost = price - int(price * rng.uniform(low, high))
            tags = "hero" if rng.random() < 0.05 else ""
            writer.writerow(
                [
                    f"SKU-{n:05d}",
                    f"{category} item {n}",
                    f"{price // 100}.{price % 100:02d}",
                    f"{cost // 100}.{cost % 100:02d}",
                    category,
                    f"brand-{rng.randint(1, 30)}",
                    rng.choice(merchants),
                    tags,
                ]
            )


def measure(skus: int, seed: int, examples: int | None = None) -> tuple[float, Any]:
    """Validate the bundled ruleset against a generated catalogue of ``skus`` skus with
    ``examples`` search examples per floor (``None``: the CLI's default); the wall time
    in seconds (load + lint + bounds + search, catalogue writing excluded) and the
    report."""
    from promorules.cartfile import load_catalog
    from promorules.engine import Engine
    from promorules.validate import Options, validate

    with tempfile.TemporaryDirectory() as tmp:
        catalogue = Path(tmp) / "catalog.csv"
        write_catalogue(catalogue, skus, seed)
        started = time.perf_counter()
        engine = Engine.from_toml(RULESET)
        items = load_catalog(catalogue, engine.currency)
        defaults = Options()
        options = Options(
            examples=examples or defaults.examples,
            out_dir=Path(tmp) / "breaches",
            ruleset_path=str(RULESET),
            catalog_path=str(catalogue),
        )
        report = validate(engine, items, options)
        return time.perf_counter() - started, report


def run_once(catalogue: Path, examples: int | None) -> dict[str, Any]:
    """Validate the bundled ruleset against ``catalogue`` in this process: CPU and wall
    seconds (load, catalogue, lint, bounds and search) and the verdicts."""
    from promorules.cartfile import load_catalog
    from promorules.engine import Engine
    from promorules.validate import Options, validate

    with tempfile.TemporaryDirectory() as tmp:
        cpu, wall = time.process_time(), time.perf_counter()
        engine = Engine.from_toml(RULESET)
        items = load_catalog(catalogue, engine.currency)
        defaults = Options()
        options = Options(
            examples=examples or defaults.examples,
            out_dir=Path(tmp) / "breaches",
            ruleset_path=str(RULESET),
            catalog_path=str(catalogue),
        )
        report = validate(engine, items, options)
        return {
            "cpu": time.process_time() - cpu,
            "wall": time.perf_counter() - wall,
            "verdicts": [[v.floor.name, v.status.value, v.tried] for v in report.verdicts],
        }


def _child(root: Path, catalogue: Path, examples: int | None) -> dict[str, Any]:
    """:func:`run_once` in a fresh interpreter importing promorules from ``root``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join((str(root), str(root / "plugins"))))
    command = [sys.executable, __file__, "--child", str(catalogue)]
    if examples is not None:
        command += ["--examples", str(examples)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found


def compare(
    sizes: list[int],
    repeats: int,
    seed: int,
    examples: int | None,
    baseline: Path | None,
    baseline_max: int,
) -> None:
    """Median CPU and wall seconds per catalogue size, against ``baseline`` when given."""
    here = Path(__file__).resolve().parent.parent
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows = []
    for skus in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            catalogue = Path(tmp) / "catalog.csv"
            write_catalogue(catalogue, skus, seed)
            ours: list[dict[str, Any]] = []
            theirs: list[dict[str, Any]] = []
            for _ in range(repeats):
                ours.append(_child(here, catalogue, examples))
                if baseline is not None and skus <= baseline_max:
                    theirs.append(_child(baseline, catalogue, examples))
        cpu = statistics.median(r["cpu"] for r in ours)
        wall = statistics.median(r["wall"] for r in ours)
        row = f"{skus:>9,} skus: {cpu:7.2f} s CPU, {wall:7.2f} s wall (median of {repeats})"
        if theirs:
            base_cpu = statistics.median(r["cpu"] for r in theirs)
            base_wall = statistics.median(r["wall"] for r in theirs)
            row += (
                f"; baseline {base_cpu:7.2f} s CPU, {base_wall:7.2f} s wall; "
                f"CPU {base_cpu / cpu:.1f}x faster"
            )
            same = all(r["verdicts"] == theirs[0]["verdicts"] for r in ours + theirs)
            row += "; same verdicts" if same else "; VERDICTS DIFFER"
        rows.append(row)
        print(row, flush=True)
        print(f"           verdicts: {ours[0]['verdicts']}", flush=True)
    print(f"load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--examples", type=int, default=None, help="default: the CLI's")
    parser.add_argument("--sizes", default=None, help="comma-separated catalogue sizes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout")
    parser.add_argument("--baseline-max", type=int, default=100_000)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        print(json.dumps(run_once(args.child, args.examples)))
        return
    if args.sizes is not None:
        sizes = [int(size) for size in args.sizes.split(",")]
        compare(sizes, args.repeats, args.seed, args.examples, args.baseline, args.baseline_max)
        return

    from promorules.validate.report import render_text

    elapsed, report = measure(args.skus, args.seed, args.examples)
    print(render_text(report))
    print()
    searched = sum(v.tried for v in report.verdicts)
    print(
        f"validate {RULESET.name} against {args.skus} skus: {elapsed:.2f} s wall "
        f"(load + lint + bounds + {searched} search examples), exit {report.exit_code}"
    )


if __name__ == "__main__":
    main()
