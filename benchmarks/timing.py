"""Timing shared by the benchmarks: one pass over carts, gc off, as timeit does."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any


def time_pass(price: Callable[[Any], Any], items: Sequence[Any]) -> float:
    """Mean microseconds per item of one pass (gc off, as timeit does)."""
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for item in items:
            price(item)
        return (time.perf_counter_ns() - start) / len(items) / 1000
    finally:
        if gc_was_on:
            gc.enable()
