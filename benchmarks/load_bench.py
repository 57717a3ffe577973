"""How long a large ruleset takes to load, check and compile.

Generates a ruleset of ``--promotions`` promotions (1,000 by default) cycling over every
installed kind, each in a realistic shape, and prints the median of ``--rounds`` runs of
each stage:

- load: TOML text to a dict with key positions (:func:`promorules.ruleset.read_toml`);
- check: the dict structured and checked into a :class:`~promorules.ruleset.Ruleset`
  (:func:`promorules.ruleset.build_ruleset`);
- compile: an :class:`~promorules.engine.Engine` built from it.

The first check in a process also builds the loader's converter for the installed
kinds; it is timed apart. Figures and how they were taken: benchmarks/README.md.

Run ``python -m benchmarks.load_bench`` from the repository root.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping

from promorules.engine import Engine
from promorules.kind import Kind
from promorules.plugins import PluginHost
from promorules.ruleset import build_ruleset, read_toml

HEADER = """\
[campaign]
name = "Load benchmark"
grade = "S"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
presale = { start = 2026-10-31T20:00:00, end = 2026-11-10T23:59:59 }
explosion = { start = 2026-11-11T00:00:00, end = 2026-11-11T23:59:59 }

[guardrails]
min_order_margin = "5%"
min_line_margin = "0%"

[budgets]
platform = "5000000.00"
"""

# one promotion of each kind, in the shape the bundled rulesets use; {n} keeps ids,
# skus and codes distinct so that nothing is merged or refused as a duplicate
SHAPES: dict[str, str] = {
    "tiered": """\
kind = "tiered"
lane = "store"
phases = ["explosion"]
merchants = ["m{n}"]
tiers = [{{ threshold = "300.00", off = "30.00" }}, {{ threshold = "500.00", off = "60.00" }}]
""",
    "discount": """\
kind = "discount"
skus = ["SKU-{n}"]
percent = "10%"
""",
    "coupon": """\
kind = "coupon"
lane = "store"
code = "CODE{n}"
threshold = "300.00"
off = "30.00"
uses = 1000
uses_per_customer = 1
""",
    "flash_sale": """\
kind = "flash_sale"
window = {{ start = 2026-11-11T00:00:00, end = 2026-11-11T01:59:59 }}
prices = {{ "SKU-{n}" = "99.00" }}
stock = 300
per_customer = 1
""",
    "member_price": """\
kind = "member_price"
segments = ["member"]
prices = {{ "SKU-{n}" = "109.00" }}
""",
    "presale": """\
kind = "presale"
skus = ["SKU-{n}"]
deposit = "100.00"
worth = "150.00"
deposit_phase = "presale"
final_phase = "explosion"
""",
    "gift": """\
kind = "gift"
phases = ["explosion"]
threshold = "800.00"
gifts = [{{ sku = "GIFT-{n}", unit_cost = "12.00", stock = 500 }}]
""",
    "bxgy": """\
kind = "bxgy"
skus = ["SKU-{n}"]
buy = 2
get = 1
""",
    "bundle": """\
kind = "bundle"
skus = ["SKU-{n}"]
quantity = 3
price = "99.00"
""",
    "free_shipping": """\
kind = "free_shipping"
threshold = "99.00"
""",
}


def ruleset_text(count: int, kinds: Mapping[str, Kind]) -> str:
    """A ruleset of ``count`` promotions cycling over ``kinds`` (each must have a shape)."""
    names = sorted(kinds)
    missing = [name for name in names if name not in SHAPES]
    if missing:
        raise SystemExit(f"no benchmark shape for kind(s): {', '.join(missing)}")
    parts = [HEADER]
    for n in range(count):
        kind = names[n % len(names)]
        parts.append(f'\n[[promotion]]\nid = "{kind}-{n}"\n' + SHAPES[kind].format(n=n))
    return "".join(parts)


def _median_ms(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promotions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    kinds = PluginHost.default().kinds
    text = ruleset_text(args.promotions, kinds)
    data, positions = read_toml(text, "<bench>")
    start = time.perf_counter()
    # the process's first load also builds the converter for these kinds (once)
    ruleset = build_ruleset(data, kinds, source="<bench>", positions=positions)
    first = (time.perf_counter() - start) * 1000
    load = _median_ms(lambda: read_toml(text, "<bench>"), args.rounds)
    check = _median_ms(
        lambda: build_ruleset(data, kinds, source="<bench>", positions=positions), args.rounds
    )
    compile_ = _median_ms(lambda: Engine(ruleset, kinds), args.rounds)
    print(
        f"{args.promotions} promotions over {len(kinds)} kinds, median of {args.rounds}: "
        f"load {load:.1f} ms, check {check:.1f} ms, compile {compile_:.1f} ms, "
        f"total {load + check + compile_:.1f} ms (the first check in the process: "
        f"{first:.1f} ms)"
    )


if __name__ == "__main__":
    main()
