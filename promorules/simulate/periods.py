"""Days and phases of a campaign: which calendar day (in the campaign's zone) and which
phase an order falls in, for the report's per-day and per-phase tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promorules.ruleset import Ruleset, Window

# Every zone's offset from UTC is a whole number of quarter hours, so every moment of
# one quarter hour falls on the same local day: the day is looked up once a quarter.
_QUARTER = 900

NO_PHASE = "(no phase)"


class Periods:
    """Maps a POSIX time to its local day (``2026-11-11``) and its phase."""

    __slots__ = ("_cache", "_edges", "_phases", "_tz")

    def __init__(self, tz: tzinfo, phases: Mapping[str, Window]) -> None:
        self._tz = tz
        # windows are inclusive at one-second resolution: [start, end + 1)
        self._phases = tuple(
            (name, w.start.timestamp(), w.end.timestamp() + 1) for name, w in phases.items()
        )
        # quarters in which a phase starts or ends: their moments are not all alike
        self._edges = frozenset(
            int(t) // _QUARTER for _name, start, end in self._phases for t in (start, end)
        )
        self._cache: dict[int, tuple[str, str]] = {}

    @classmethod
    def of(cls, ruleset: Ruleset) -> Periods:
        return cls(ruleset.tz, ruleset.campaign.phases)

    def at(self, ts: float) -> tuple[str, str]:
        """``(day, phase)`` of ``ts``: looked up once a quarter hour, on the hot path."""
        quarter = int(ts) // _QUARTER
        found = self._cache.get(quarter)
        if found is None:
            found = (self.day(ts), self.phase(ts))
            if quarter not in self._edges:
                self._cache[quarter] = found
        return found

    def day(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self._tz).date().isoformat()

    def phase(self, ts: float) -> str:
        """The first declared phase that holds ``ts`` (phases may overlap: a deposit
        window inside a warm-up), else :data:`NO_PHASE`."""
        for name, start, end in self._phases:
            if start <= ts < end:
                return name
        return NO_PHASE
