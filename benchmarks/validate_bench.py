"""Time ``promorules validate`` on the bundled S-grade ruleset against a 1,000-sku catalogue.

The catalogue is generated from a seed with the standard library (the categories and
merchants the bundled ruleset targets, plus others), written to a temporary CSV, and
validated with the default search effort, exactly as
``promorules validate rulesets/double11.toml --catalog FILE`` would. Run::

    python -m benchmarks.validate_bench            # default effort, 1,000 skus
    python -m benchmarks.validate_bench --skus 5000 --examples 3000

Measured on the project's 2-core machine (default effort, seed 20261111): see
docs/validate.md, "How fast".
"""

from __future__ import annotations

import argparse
import csv
import math
import random
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--examples", type=int, default=None, help="default: the CLI's")
    args = parser.parse_args()

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
