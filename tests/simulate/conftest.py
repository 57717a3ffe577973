"""The simulation tests import their helpers (simdata, simkinds) from this folder,
in this process and in worker processes alike."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
# spawned workers (a Dask local cluster) find them through the environment
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH", "")) if p)
