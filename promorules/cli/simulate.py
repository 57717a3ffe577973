"""``promorules simulate``: replay an order log through a ruleset and report on it."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fractions import Fraction

    from promorules.engine import Engine
    from promorules.simulate.parallel import Job
    from promorules.simulate.replay import Outcome
    from promorules.simulate.workers import Choice


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="replay an order log through a ruleset: GMV, subsidy, margin, burn, ROI",
        description="Replay ORDERS (CSV or JSON Lines, in time order) through RULESET with "
        "counters that run out as they would have, and report GMV, discounts and payable "
        "by promotion, lane, funder, category, channel and segment; margins and guardrail "
        "clamps; budget and stock burn; ROI under a stated uplift assumption.",
    )
    parser.add_argument("ruleset", help="the ruleset (TOML)")
    parser.add_argument("orders", help="order log: .csv or .jsonl, one order a row")
    parser.add_argument("--catalog", metavar="FILE", help="catalogue (CSV or TOML) of sku facts")
    parser.add_argument(
        "--baseline",
        metavar="RULESET",
        help="compare with another ruleset, or 'none' for no promotions",
    )
    parser.add_argument(
        "--uplift",
        action="append",
        default=[],
        metavar="ID=PCT",
        help="uplift assumed for a promotion id or a grade (S, A, B), e.g. "
        "every-300-off-50=20%%; overrides the ruleset's [simulate] uplift",
    )
    parser.add_argument(
        "--workers",
        default="auto",
        metavar="N",
        help="processes to use, or auto (the default): more than one only when the "
        "machine has a core to spare for the coordinator and a probe of the log's first "
        "orders says it pays (docs/simulate.md)",
    )
    parser.add_argument(
        "--backend",
        choices=("local", "dask"),
        default="local",
        help="local processes, or a Dask cluster (pip install 'promorules[distributed]')",
    )
    parser.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler (default: a local cluster)",
    )
    parser.add_argument(
        "--price-history",
        metavar="FILE",
        help="CSV sku,date,price: check the ruleset's [price_rules]",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--plot", metavar="DIR", help="write PNG charts into DIR")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    parser.set_defaults(run=run)


def _workers(text: str, engine: Engine, job: Job, rows: int, backend: str) -> Choice:
    from promorules.diagnostics import PromorulesError
    from promorules.simulate.workers import Choice, auto_workers, cores

    if text == "auto":
        if backend == "dask":
            return Choice(cores(), "dask: one worker a core")
        return auto_workers(engine, job, rows)
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if not 1 <= workers <= 256:
        raise PromorulesError(f"--workers: a number from 1 to 256, or auto, not {text[:20]!r}")
    return Choice(workers, "--workers")


def _job(path: str, orders: str, catalog: Any, *, baseline: bool = False) -> Job:
    from promorules.reading import read_text
    from promorules.ruleset import MAX_RULESET_BYTES
    from promorules.simulate.orders import detect_format
    from promorules.simulate.parallel import Job

    text = read_text(path, "ruleset", MAX_RULESET_BYTES)
    return Job(text, path, None, catalog, orders, detect_format(orders), baseline=baseline)


def _check_uplift(overrides: dict[str, Fraction], engines: list[Engine]) -> None:
    from promorules.diagnostics import PromorulesError

    known = {"S", "A", "B"} | {p.id for e in engines for p in e.ruleset.promotions}
    for key in overrides:
        if key not in known:
            raise PromorulesError(
                f"--uplift names {key[:40]!r}, which is neither a grade "
                "(S, A, B) nor a promotion of the ruleset"
            )


def _replay(
    engine: Engine, job: Job, args: argparse.Namespace, workers: int, label: str, total: int
) -> tuple[Outcome, float]:
    from promorules.cli.progress import ProgressBar
    from promorules.simulate import run as run_replay

    show = args.progress if args.progress is not None else sys.stderr.isatty()
    bar = ProgressBar(total, label, sys.stderr, "orders") if show else None
    started = time.perf_counter()
    try:
        outcome = run_replay(
            engine,
            job,
            workers=workers,
            backend=args.backend,
            address=args.dask_scheduler,
            progress=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    return outcome, time.perf_counter() - started


def run(args: argparse.Namespace) -> int:
    import json

    from promorules.cartfile import load_catalog
    from promorules.cli.progress import count_rows
    from promorules.diagnostics import PromorulesError, Severity
    from promorules.money import MoneyError
    from promorules.simulate import report
    from promorules.simulate.orders import OrderError
    from promorules.simulate.roi import assumptions, parse_uplift_options

    try:
        overrides = parse_uplift_options(args.uplift)
    except MoneyError as exc:
        raise PromorulesError(str(exc)) from None
    probe = _job(args.ruleset, args.orders, None)
    engine = probe.engine()
    catalog = load_catalog(args.catalog, engine.currency) if args.catalog is not None else None
    job = _job(args.ruleset, args.orders, catalog)
    base_job = None
    base_engine = None
    if args.baseline is not None:
        if args.baseline.lower() == "none":
            base_job = _job(args.ruleset, args.orders, catalog, baseline=True)
        else:
            base_job = _job(args.baseline, args.orders, catalog)
        base_engine = base_job.engine()
    _check_uplift(overrides, [engine] + ([base_engine] if base_engine else []))
    findings = []
    if args.price_history is not None:
        from promorules.pricerules import check_price_rules, load_price_history

        if catalog is None:
            raise PromorulesError("--price-history needs --catalog (the skus to check)")
        history = load_price_history(args.price_history, engine.currency)
        findings = check_price_rules(engine, history, catalog)
    total = count_rows(args.orders)
    choice = _workers(args.workers, engine, job, total, args.backend)
    workers = choice.workers
    try:
        outcome, seconds = _replay(engine, job, args, workers, "replay", total)
        baseline = None
        if base_job is not None and base_engine is not None:
            base_outcome, _ = _replay(base_engine, base_job, args, workers, "baseline", total)
            name = "no promotions" if base_job.baseline else args.baseline
            baseline = (
                name,
                base_engine,
                base_outcome,
                assumptions(base_engine.ruleset, overrides),
            )
    except OrderError as exc:
        from promorules.cli.render import safe

        print(safe(exc, 2000), file=sys.stderr)
        return 2
    data = report.build(
        engine,
        outcome,
        assumptions(engine.ruleset, overrides),
        orders_file=args.orders,
        seconds=seconds,
        baseline=baseline,
        price_findings=findings,
    )
    data["run"]["workers_chosen"] = choice.reason
    if args.plot:
        from promorules.simulate.plots import write_all

        data["charts"] = [str(p) for p in write_all(data, args.plot)]
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        from promorules.cli.render import echo

        echo(report.render(data))
        if data.get("charts"):
            print("\ncharts: " + ", ".join(data["charts"]))
    return 1 if any(d.severity is Severity.ERROR for d in findings) else 0
