"""Benchmark of ``promorules simulate``: orders per second and peak memory per backend.

Generates a synthetic Double 11 order log (``promorules sample-orders``), then replays
it sequentially, with the local process pool and with Dask on this machine, each in a
fresh process so its peak memory is its own, checks that every backend gives the same
totals, and prints one line per run::

    python benchmarks/simulate_bench.py              # 1,000,000 orders
    python benchmarks/simulate_bench.py --quick      # 20,000 orders, for CI
    python benchmarks/simulate_bench.py --orders 200000 --workers 2 --no-dask
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULESET = ROOT / "rulesets" / "double11.toml"
CATALOG = ROOT / "rulesets" / "catalog.csv"


def child(log: str, workers: int, backend: str) -> None:
    """Replay once in this process and print figures, time and peak memory as JSON."""
    from promorules.cartfile import load_catalog
    from promorules.simulate import run
    from promorules.simulate.orders import detect_format
    from promorules.simulate.parallel import Job

    text = RULESET.read_text()
    probe = Job(text, str(RULESET), None, None, log, detect_format(log))
    engine = probe.engine()
    catalog = load_catalog(CATALOG, engine.currency)
    job = Job(text, str(RULESET), None, catalog, log, detect_format(log))
    started = time.perf_counter()
    outcome = run(engine, job, workers=workers, backend=backend)
    seconds = time.perf_counter() - started
    totals = outcome.totals
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "orders": totals.orders,
                "seconds": seconds,
                "repriced": outcome.repriced,
                "peak_mb": round(peak_kb / 1024),
                "worker_peak_mb": round(children_kb / 1024),
                "check": [
                    totals.gmv,
                    totals.discount,
                    totals.payable,
                    totals.cost,
                    sorted((k, v[1]) for k, v in totals.by_promotion.items()),
                ],
            }
        )
    )


def generate_log(path: str, count: int) -> bool:
    """Write ``count`` sample orders of the bundled ruleset to ``path`` (CSV), quietly."""
    import contextlib
    import io

    from promorules.cli import main as cli

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli(
            ["sample-orders", str(RULESET), "-n", str(count), "-o", path, "--catalog", str(CATALOG)]
        )
    return code == 0


def orders_per_second(count: int) -> float:
    """Generate ``count`` sample orders and replay them once in this process (one
    worker, the local backend); orders replayed per second of the replay alone."""
    from promorules.cartfile import load_catalog
    from promorules.engine import Engine
    from promorules.simulate import run
    from promorules.simulate.orders import detect_format
    from promorules.simulate.parallel import Job

    with tempfile.TemporaryDirectory() as folder:
        log = str(Path(folder) / "orders.csv")
        if not generate_log(log, count):
            raise RuntimeError("promorules sample-orders failed on the bundled ruleset")
        text = RULESET.read_text()
        engine = Engine.from_string(text, source=str(RULESET))
        catalog = load_catalog(CATALOG, engine.currency)
        job = Job(text, str(RULESET), None, catalog, log, detect_format(log))
        started = time.perf_counter()
        outcome = run(engine, job, workers=1, backend="local")
        return outcome.totals.orders / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 orders (CI)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--log", help="reuse this order log instead of generating one")
    parser.add_argument(
        "--child", nargs=3, metavar=("LOG", "WORKERS", "BACKEND"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return 0
    count = 20_000 if args.quick else args.orders
    with tempfile.TemporaryDirectory() as folder:
        log = args.log or str(Path(folder) / "orders.csv")
        if not args.log:
            started = time.perf_counter()
            from promorules.cli import main as cli

            if (
                cli(
                    [
                        "sample-orders",
                        str(RULESET),
                        "-n",
                        str(count),
                        "-o",
                        log,
                        "--catalog",
                        str(CATALOG),
                    ]
                )
                != 0
            ):
                return 2
            size = Path(log).stat().st_size / 1e6
            print(
                f"generated {count:,} orders ({size:.0f} MB) in "
                f"{time.perf_counter() - started:.1f}s"
            )
        runs = [(1, "local"), (args.workers, "local")]
        try:
            import dask.distributed  # noqa: F401

            if not args.no_dask:
                runs.append((args.workers, "dask"))
        except ImportError:
            print("dask[distributed] not installed: skipping the dask backend")
        reference = None
        for workers, backend in runs:
            done = subprocess.run(
                [sys.executable, __file__, "--child", log, str(workers), backend],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            rate = result["orders"] / result["seconds"]
            same = (
                "reference"
                if reference is None
                else ("same totals" if result["check"] == reference else "DIFFERENT TOTALS")
            )
            reference = reference or result["check"]
            print(
                f"{backend:>5} x{workers}: {result['orders']:,} orders in "
                f"{result['seconds']:.1f}s = {rate:,.0f} orders/s; peak memory "
                f"{result['peak_mb']} MB (workers {result['worker_peak_mb']} MB); "
                f"re-priced in order {result['repriced']:,}; {same}"
            )
            if same == "DIFFERENT TOTALS":
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
