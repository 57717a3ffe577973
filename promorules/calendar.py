"""The campaign calendar: a year of campaigns laid out, and the planners' rhythm checked.

Each ruleset's ``[campaign]`` gives a name, a grade and phases. Phase names map to the
stages of a campaign (:class:`Stage`): preparation -> warm-up -> sales -> explosion ->
return; common synonyms are understood (``warmup``, ``preheat``, ``presale``,
``peak``, ``encore``...). :func:`check_rhythm` compares the year with what practice
expects and returns *warnings*, never errors:

- S grade: 3 to 5 a year, at least a month of preparation, 10 to 30 days online;
  two S-grade campaigns must not overlap;
- A grade: 6 to 12 a year, under a month of preparation, about a week online (5-10 days);
- B grade: about 2 a month (20 to 30 a year), under two weeks of preparation,
  3 to 5 days online;
- phases in the order preparation -> warm-up -> sales -> explosion -> return.

Counts are checked for the grades that appear in the year: a calendar of only S-grade
campaigns says nothing about the B-grade rhythm. "Online" runs from the first phase
after preparation to the end of the last phase.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any

import attrs

from promorules.diagnostics import Diagnostic, Severity
from promorules.ruleset import Grade, Ruleset

if TYPE_CHECKING:
    from promorules.kind import Kind


class Stage(enum.IntEnum):
    """The stages of a campaign, in the order they should come."""

    PREPARATION = 0
    WARM_UP = 1
    SALES = 2
    EXPLOSION = 3
    RETURN = 4


_STAGE_NAMES: dict[str, Stage] = {
    **dict.fromkeys(("preparation", "prep", "planning"), Stage.PREPARATION),
    **dict.fromkeys(
        (
            "warmup",
            "warm-up",
            "warm_up",
            "preheat",
            "pre-heat",
            "storage",
            "water-storage",
            "teaser",
        ),
        Stage.WARM_UP,
    ),
    **dict.fromkeys(
        ("sales", "sale", "opening", "presale", "pre-sale", "deposit", "launch"), Stage.SALES
    ),
    **dict.fromkeys(("explosion", "peak", "burst", "climax", "festival-day"), Stage.EXPLOSION),
    **dict.fromkeys(("return", "encore", "returns", "tail", "aftersale"), Stage.RETURN),
}
SYMBOLS = {
    Stage.PREPARATION: "-",
    Stage.WARM_UP: "w",
    Stage.SALES: "s",
    Stage.EXPLOSION: "X",
    Stage.RETURN: "r",
    None: "?",
}


def stage_of(phase: str) -> Stage | None:
    """The stage a phase name stands for, or None when the name is not recognised."""
    return _STAGE_NAMES.get(phase.strip().lower().replace(" ", "-"))


@attrs.frozen
class Rhythm:
    """What practice expects of campaigns of one grade (days; counts per year)."""

    per_year: tuple[int, int]
    online_days: tuple[int, int]
    min_preparation_days: int | None = None
    max_preparation_days: int | None = None


RHYTHM: dict[Grade, Rhythm] = {
    Grade.S: Rhythm((3, 5), (10, 30), min_preparation_days=30),
    Grade.A: Rhythm((6, 12), (5, 10), max_preparation_days=31),
    Grade.B: Rhythm((20, 30), (3, 5), max_preparation_days=14),
}


@attrs.frozen
class Phase:
    name: str
    stage: Stage | None
    start: datetime
    end: datetime


@attrs.frozen
class Entry:
    """One campaign on the calendar."""

    name: str
    grade: Grade
    phases: tuple[Phase, ...]
    source: str
    positions: Mapping[tuple[str | int, ...], tuple[int, int]] = attrs.field(
        factory=dict, eq=False, repr=False
    )

    @classmethod
    def from_ruleset(cls, ruleset: Ruleset) -> Entry:
        phases = sorted(
            (
                Phase(name, stage_of(name), w.start, w.end)
                for name, w in ruleset.campaign.phases.items()
            ),
            key=lambda p: (p.start, p.end),
        )
        return cls(
            ruleset.campaign.name,
            ruleset.campaign.grade,
            tuple(phases),
            ruleset.source,
            dict(ruleset.positions),
        )

    @property
    def online(self) -> tuple[datetime, datetime] | None:
        live = [p for p in self.phases if p.stage is not Stage.PREPARATION]
        if not live:
            return None
        return min(p.start for p in live), max(p.end for p in live)

    @property
    def online_days(self) -> float | None:
        span = self.online
        return None if span is None else _days(span[0], span[1])

    @property
    def preparation_days(self) -> float | None:
        prep = [p for p in self.phases if p.stage is Stage.PREPARATION]
        if not prep:
            return None
        return _days(min(p.start for p in prep), max(p.end for p in prep))

    @property
    def year(self) -> int | None:
        span = self.online
        return None if span is None else span[0].year


def _days(start: datetime, end: datetime) -> float:
    # windows are inclusive to the second: 00:00:00 to 23:59:59 is one whole day
    return round(((end - start).total_seconds() + 1) / 86400, 1)


def load_entries(paths: Iterable[str | FilePath], kinds: Mapping[str, Kind]) -> list[Entry]:
    """Read each ruleset (fully checked) and keep its campaign."""
    from promorules.ruleset import load_ruleset

    return [Entry.from_ruleset(load_ruleset(path, kinds)) for path in paths]


def pick_year(entries: Sequence[Entry]) -> int:
    """The year most campaigns go online in (the latest on a tie); this year if none."""
    years: dict[int, int] = {}
    for entry in entries:
        if entry.year is not None:
            years[entry.year] = years.get(entry.year, 0) + 1
    if not years:
        return date.today().year
    return max(years, key=lambda y: (years[y], y))


def _warn(
    entry: Entry | None, code: str, message: str, path: tuple[str | int, ...] = ("campaign",)
) -> Diagnostic:
    if entry is None:
        return Diagnostic(code, message, (), "<calendar>", 1, 1, Severity.WARNING)
    line, column = 1, 1
    for end in range(len(path), -1, -1):
        found = entry.positions.get(path[:end])
        if found is not None:
            line, column = found
            break
    return Diagnostic(code, message, path, entry.source, line, column, Severity.WARNING)


def check_rhythm(entries: Sequence[Entry], year: int | None = None) -> list[Diagnostic]:
    """Warnings where the year's campaigns depart from the planners' rhythm.

    Codes: ``PR701`` number of campaigns of a grade in the year; ``PR702`` preparation
    time; ``PR703`` days online; ``PR704`` two S-grade campaigns overlap; ``PR705``
    phases out of order; ``PR706`` a phase name that maps to no stage.
    """
    year = year if year is not None else pick_year(entries)
    chosen = [e for e in entries if e.year == year]
    out: list[Diagnostic] = []
    for grade, rhythm in RHYTHM.items():
        count = sum(1 for e in chosen if e.grade is grade)
        low, high = rhythm.per_year
        if count and not low <= count <= high:
            out.append(
                _warn(
                    None,
                    "PR701",
                    f"{count} {grade.value}-grade campaign"
                    f"{'s' if count != 1 else ''} in {year}; practice is {low} to "
                    f"{high} a year",
                )
            )
    for entry in chosen:
        rhythm = RHYTHM[entry.grade]
        label = f"{entry.name} ({entry.grade.value})"
        prep = entry.preparation_days
        if rhythm.min_preparation_days is not None:
            if prep is None:
                out.append(
                    _warn(
                        entry,
                        "PR702",
                        f"{label}: no preparation phase; "
                        f"{entry.grade.value}-grade campaigns take at least "
                        f"{rhythm.min_preparation_days} days of preparation",
                        ("campaign", "phases"),
                    )
                )
            elif prep < rhythm.min_preparation_days:
                out.append(
                    _warn(
                        entry,
                        "PR702",
                        f"{label}: {prep:g} days of preparation; "
                        f"at least {rhythm.min_preparation_days} expected",
                        ("campaign", "phases"),
                    )
                )
        if (
            rhythm.max_preparation_days is not None
            and prep is not None
            and prep > rhythm.max_preparation_days
        ):
            out.append(
                _warn(
                    entry,
                    "PR702",
                    f"{label}: {prep:g} days of preparation; "
                    f"{entry.grade.value}-grade campaigns take under "
                    f"{rhythm.max_preparation_days}",
                    ("campaign", "phases"),
                )
            )
        online = entry.online_days
        low, high = rhythm.online_days
        if online is not None and not low <= online <= high:
            out.append(
                _warn(
                    entry,
                    "PR703",
                    f"{label}: {online:g} days online; "
                    f"{entry.grade.value}-grade campaigns run {low} to {high}",
                    ("campaign", "phases"),
                )
            )
        for phase in entry.phases:
            if phase.stage is None:
                out.append(
                    _warn(
                        entry,
                        "PR706",
                        f"{label}: phase {phase.name!r} is not a "
                        "known stage (preparation, warm-up, sales, explosion, "
                        "return); its order is not checked",
                        ("campaign", "phases", phase.name),
                    )
                )
        known = [p for p in entry.phases if p.stage is not None]
        for before, after in itertools.pairwise(known):
            assert before.stage is not None and after.stage is not None
            if after.stage < before.stage:
                out.append(
                    _warn(
                        entry,
                        "PR705",
                        f"{label}: phase {after.name!r} "
                        f"({after.stage.name.lower().replace('_', '-')}) comes after "
                        f"{before.name!r} ({before.stage.name.lower().replace('_', '-')}"
                        "); expected preparation -> warm-up -> sales -> explosion -> "
                        "return",
                        ("campaign", "phases", after.name),
                    )
                )
    s_grade = [e for e in chosen if e.grade is Grade.S and e.online is not None]
    for i, first in enumerate(s_grade):
        for second in s_grade[i + 1 :]:
            a, b = first.online, second.online
            assert a is not None and b is not None
            if a[0] <= b[1] and b[0] <= a[1]:
                out.append(
                    _warn(
                        second,
                        "PR704",
                        f"S-grade campaigns {first.name} and {second.name} overlap online",
                        ("campaign", "phases"),
                    )
                )
    return out


COLUMNS_PER_MONTH = 6
# where phases share a cell, show the one planners look for first: the explosion
_PRIORITY: dict[Stage | str | None, int] = {
    Stage.EXPLOSION: 5,
    Stage.SALES: 4,
    Stage.RETURN: 3,
    Stage.WARM_UP: 2,
    None: 1,
    Stage.PREPARATION: 0,
}


def render(entries: Sequence[Entry], year: int, width: int = 28) -> str:
    """A month-by-month strip per campaign (one character for about five days)."""
    from promorules.cli.render import safe

    columns = 12 * COLUMNS_PER_MONTH
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    header = " " * (width + 4) + "".join(
        date(year, m, 1).strftime("%b").ljust(COLUMNS_PER_MONTH) for m in range(1, 13)
    )
    lines = [f"{year}", header]
    for entry in sorted(
        entries, key=lambda e: (e.online or (datetime.max,))[0].replace(tzinfo=None)
    ):
        cells: list[Stage | str | None] = ["."] * columns
        for phase in entry.phases:
            start = max((phase.start.date() - first).days, 0)
            end = min((phase.end.date() - first).days, days - 1)
            for day in range(start, end + 1):
                cell = day * columns // days
                if _PRIORITY[phase.stage] > _PRIORITY.get(cells[cell], -1):
                    cells[cell] = phase.stage
        strip = "".join(c if isinstance(c, str) else SYMBOLS[c] for c in cells)
        name = safe(entry.name, width).ljust(width)
        lines.append(f"{name} {entry.grade.value:>2} |{strip}|")
    lines.append("")
    lines.append("  - preparation  w warm-up  s sales  X explosion  r return  ? other")
    return "\n".join(lines)


COLOURS = {
    Stage.PREPARATION: "#c8c8c8",
    Stage.WARM_UP: "#f4c542",
    Stage.SALES: "#f08a24",
    Stage.EXPLOSION: "#d62728",
    Stage.RETURN: "#8c6bb1",
    None: "#7f7f7f",
}


def plot(entries: Sequence[Entry], year: int, path: str | FilePath) -> None:
    """The calendar as a PNG: one bar per campaign, coloured by stage."""
    import importlib

    from promorules.simulate.plots import pyplot

    plt = pyplot()
    # matplotlib ships no complete type information: held as Any
    mdates: Any = importlib.import_module("matplotlib.dates")
    patch: Any = importlib.import_module("matplotlib.patches").Patch

    rows = sorted(entries, key=lambda e: (e.online or (datetime.max,))[0].replace(tzinfo=None))
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.5 * len(rows)))
    for index, entry in enumerate(rows):
        for phase in entry.phases:
            start = mdates.date2num(phase.start.replace(tzinfo=None))
            length = (phase.end - phase.start).total_seconds() / 86400 + 1 / 86400
            ax.broken_barh(
                [(start, max(length, 0.5))], (index - 0.35, 0.7), facecolors=COLOURS[phase.stage]
            )
    ax.set_yticks(range(len(rows)), [f"{e.name} ({e.grade.value})" for e in rows])
    ax.invert_yaxis()
    ax.set_xlim(mdates.date2num(datetime(year, 1, 1)), mdates.date2num(datetime(year + 1, 1, 1)))
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b"))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"Campaign calendar {year}")
    ax.legend(
        handles=[patch(color=COLOURS[s], label=s.name.lower().replace("_", "-")) for s in Stage],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=5,
        frameon=False,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
