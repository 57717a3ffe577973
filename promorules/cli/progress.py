"""Progress on long work: a one-line bar on a terminal (``simulate``, ``diff``)."""

from __future__ import annotations

import time
from typing import IO


class ProgressBar:
    """A one-line progress bar on a terminal stream, redrawn at most 5 times a second."""

    def __init__(self, total: int, label: str, stream: IO[str], unit: str) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream
        self.unit = unit
        self.started = time.monotonic()
        self.shown = 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.shown < 0.2 and done < self.total:
            return
        self.shown = now
        share = min(done / self.total, 1.0)
        filled = int(share * 30)
        rate = done / max(now - self.started, 1e-9)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
            f"{share * 100:5.1f}% {done:,} {self.unit} {rate:,.0f}/s "
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def count_rows(path: str) -> int:
    """The rows of an order log, counted fast (newlines) for a bar's total."""
    from promorules.simulate.orders import open_log

    count = 0
    with open_log(path) as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return count
