"""A small ruleset, catalogue and helpers whose figures the tests compute by hand."""

from __future__ import annotations

from pathlib import Path

from promorules.cartfile import CatalogItem, load_catalog
from promorules.engine import Engine
from promorules.simulate.orders import OrderReader, detect_format
from promorules.simulate.parallel import Job
from promorules_plugins import tiered
from tests.simulate import simkinds

PLUGINS = (tiered, simkinds)
PLUGIN_NAMES = ("promorules_plugins.tiered", "tests.simulate.simkinds")

RULESET = """
[campaign]
name = "Test sale"
grade = "A"
currency = "CNY"
timezone = "Asia/Shanghai"

[campaign.phases]
warmup = { start = 2026-03-01T00:00:00, end = 2026-03-01T23:59:59 }
sales = { start = 2026-03-02T00:00:00, end = 2026-03-03T23:59:59 }

[[promotion]]
id = "store-100-off-10"
kind = "tiered"
lane = "store"
phases = ["sales"]
merchants = ["m1"]
mode = "every"
threshold = "100.00"
off = "10.00"

[[promotion]]
id = "plat-200-off-30"
kind = "tiered"
lane = "platform"
phases = ["sales"]
threshold = "200.00"
off = "30.00"
budget = "60.00"
"""

CATALOG = """sku,price,cost,category,merchant
A,100.00,50.00,c1,m1
B,150.00,60.00,c2,m2
C,40.00,30.00,c3,m2
"""


def setup(
    tmp_path: Path, orders: str, ruleset: str = RULESET, name: str = "orders.csv"
) -> tuple[Engine, Job]:
    """Write the ruleset, catalogue and log; the engine and a job over the log."""
    (tmp_path / "catalog.csv").write_text(CATALOG)
    log = tmp_path / name
    log.write_text(orders)
    engine = Engine.from_string(ruleset, plugins=PLUGINS)
    catalog: dict[str, CatalogItem] = load_catalog(tmp_path / "catalog.csv", "CNY")
    job = Job(ruleset, "<test>", PLUGIN_NAMES, catalog, str(log), detect_format(log))
    return engine, job


def reader(engine: Engine, job: Job) -> OrderReader:
    return job.reader(engine)
