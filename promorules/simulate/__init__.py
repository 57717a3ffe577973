"""Simulation: replay an order log through a ruleset and judge it by input and output.

- :mod:`~promorules.simulate.orders`: reading order logs (CSV, JSON Lines), streaming;
- :mod:`~promorules.simulate.state`: the counters a replay runs down (ledger stand-in);
- :mod:`~promorules.simulate.replay`: the sequential, reference replay;
- :mod:`~promorules.simulate.parallel`: the same on several processes or on Dask;
- :mod:`~promorules.simulate.totals` and :mod:`~promorules.simulate.burn`: running sums;
- :mod:`~promorules.simulate.cuts`: budget trims and refusals; :mod:`~promorules.simulate.periods`:
  days and phases; :mod:`~promorules.simulate.goals`: goals and budget pacing;
- :mod:`~promorules.simulate.roi`, :mod:`~promorules.simulate.report`,
  :mod:`~promorules.simulate.text`,
  :mod:`~promorules.simulate.plots`: what the planner reads;
- :mod:`~promorules.simulate.sample`: synthetic order logs; :mod:`~promorules.simulate.workers`:
  how many processes a replay should use.

:func:`run` picks the sequential or the parallel replay for a log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promorules.engine import Engine
    from promorules.simulate.parallel import Job
    from promorules.simulate.replay import Outcome, Progress


def run(
    engine: Engine,
    job: Job,
    *,
    workers: int = 1,
    backend: str = "local",
    block_bytes: int | None = None,
    address: str | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Replay the log of ``job`` under ``engine``: in this process when ``workers`` is 1
    and the backend local, else over processes or Dask. The totals are the same."""
    from promorules.simulate.parallel import DEFAULT_BLOCK_BYTES, replay_blocks
    from promorules.simulate.replay import replay

    if backend == "local" and workers <= 1:
        reader = job.reader(engine)
        return replay(engine, reader.read(job.path), source=job.path, progress=progress)
    return replay_blocks(
        engine,
        job,
        workers=workers,
        backend=backend,
        block_bytes=block_bytes or DEFAULT_BLOCK_BYTES,
        address=address,
        progress=progress,
    )
