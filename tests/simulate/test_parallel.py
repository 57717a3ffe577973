"""The parallel and Dask replays give exactly the sequential replay's figures."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from promorules.cartfile import load_catalog
from promorules.engine import Engine
from promorules.simulate.orders import OrderError
from promorules.simulate.parallel import replay_blocks
from promorules.simulate.replay import Outcome, replay
from promorules.simulate.sample import write_sample
from tests.simulate.simdata import CATALOG, PLUGINS, RULESET, reader, setup

# the test ruleset plus a stock-limited cut on B: budget and stock both run out
LIMITED = (
    RULESET
    + """
[[promotion]]
id = "b-cut"
kind = "unitcut"
skus = ["B"]
phases = ["sales"]
off = "3.00"
stock = 150
"""
)


def _log(tmp_path: Path, count: int) -> str:
    (tmp_path / "cat.csv").write_text(CATALOG)
    engine = Engine.from_string(LIMITED, plugins=PLUGINS)
    out = io.StringIO()
    write_sample(
        engine.ruleset, load_catalog(tmp_path / "cat.csv", "CNY"), out, count=count, seed=7
    )
    return out.getvalue()


def _figures(outcome: Outcome) -> tuple[object, ...]:
    burn = {
        str(k): (b.used, b.exhausted_at, dict(b.per_hour), b.refusals)
        for k, b in outcome.burn.counters.items()
    }
    return outcome.totals.figures(), burn, outcome.refused, outcome.cuts.rows


def test_two_workers_match_the_sequential_replay(tmp_path: Path) -> None:
    engine, job = setup(tmp_path, _log(tmp_path, 1500), LIMITED)
    sequential = replay(engine, reader(engine, job).read(job.path))
    parallel = replay_blocks(engine, job, workers=2, block_bytes=4096)
    assert sequential.totals.orders == 1500
    # the limits did bind: otherwise this test would prove nothing
    assert all(b.exhausted_at is not None for b in sequential.burn.counters.values())
    assert parallel.repriced > 0
    assert sequential.cuts.rows  # the budget refused orders: both replays must see it
    assert _figures(parallel) == _figures(sequential)


def test_out_of_order_rows_are_located_in_parallel_too(tmp_path: Path) -> None:
    log = (
        "time,lines\n2026-03-02T10:00:00,A\n"
        + "2026-03-02T11:00:00,A\n" * 50
        + "2026-03-02T09:00:00,A\n"
    )
    engine, job = setup(tmp_path, log)
    with pytest.raises(OrderError) as raised:
        replay_blocks(engine, job, workers=2, block_bytes=256)
    assert raised.value.diagnostic.line == 53
    assert raised.value.diagnostic.code == "PR304"


def test_dask_matches_the_sequential_replay(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    engine, job = setup(tmp_path, _log(tmp_path, 600), LIMITED)
    sequential = replay(engine, reader(engine, job).read(job.path))
    distributed = replay_blocks(engine, job, workers=2, block_bytes=4096, backend="dask")
    assert _figures(distributed) == _figures(sequential)
