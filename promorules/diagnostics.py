"""Diagnostics: problems found in a ruleset or cart, reported all at once.

Every problem is a :class:`Diagnostic` with a location (``file:line:col``), a stable
code, the key path it concerns and a sentence. A promotion is named in the path by its
id (``promotion "d11-ladder".tiers[1]``), the name planners know it by; only a promotion
without a usable id (missing, malformed, or shared with another) is named by its index
(``promotion[2].tiers[1]``). Loading
collects all of them and raises one :class:`RulesetError`; the CLI prints them in the
``ruff``/``mypy`` style and exits 2.

Codes (stable, documented in docs/diagnostics.md):

- ``PR001`` file cannot be read; ``PR002`` TOML/JSON syntax error
- ``PR101`` unknown key; ``PR102`` missing key; ``PR103`` wrong type or value
- ``PR104`` bad amount; ``PR105`` bad rate/percent; ``PR106`` bad date/time or time zone
- ``PR201`` unknown promotion kind; ``PR202`` duplicate promotion id;
  ``PR203`` kind-specific rule broken; ``PR204`` reference to an unknown phase,
  promotion or lane; ``PR205`` funding split does not add up to 100%
- ``PR301`` cart problem; ``PR302`` catalogue problem
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, MutableMapping, Sequence

import attrs

Path = tuple["str | int", ...]


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


def format_path(path: Path, names: Mapping[Path, str] | None = None) -> str:
    """``("promotion", 2, "tiers", 1)`` -> ``"promotion[2].tiers[1]"``.

    ``names`` renders a prefix of the path by name instead: with
    ``{("promotion", 2): 'promotion "d11-ladder"'}`` the same path reads
    ``promotion "d11-ladder".tiers[1]``.
    """
    out = ""
    for end, part in enumerate(path, 1):
        name = names.get(path[:end]) if names else None
        if name is not None:
            out = name
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@attrs.frozen
class Diagnostic:
    """One problem, located in its source file."""

    code: str
    message: str
    path: Path = ()
    file: str = "<ruleset>"
    line: int = 1
    column: int = 1
    severity: Severity = Severity.ERROR
    where: str | None = None
    """The key path as shown (promotions by id); None: :func:`format_path` of ``path``."""

    @property
    def shown_path(self) -> str:
        return self.where if self.where is not None else format_path(self.path)

    def __str__(self) -> str:
        where = self.shown_path
        prefix = f"{where}: " if where else ""
        return f"{self.file}:{self.line}:{self.column}: {self.code} {prefix}{self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity.value,
            "path": self.shown_path,
            "message": self.message,
        }


class PromorulesError(Exception):
    """Base of the errors promorules raises for bad input."""


class RulesetError(PromorulesError):
    """A ruleset (or cart, or catalogue) that cannot be used, with every problem found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = str(self.diagnostics[0]) if self.diagnostics else "invalid input"
        more = len(self.diagnostics) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))

    def render(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)

    def to_json(self) -> str:
        return json.dumps([d.to_dict() for d in self.diagnostics], indent=2)


@attrs.define
class Problem:
    """A problem before it is located: a path into the document, a code and a message."""

    code: str
    message: str
    path: Path = ()
    severity: Severity = Severity.ERROR


class Collector:
    """Gathers problems while a document is read, then locates them all at once."""

    def __init__(
        self,
        file: str,
        positions: MutableMapping[Path, tuple[int, int]] | None = None,
        names: Mapping[Path, str] | None = None,
    ) -> None:
        self.file = file
        # kept as given, not copied: a ruleset's positions are scanned only when read
        self.positions = positions if positions is not None else {}
        self.names: dict[Path, str] = dict(names or {})
        """How to show a path prefix (see :func:`format_path`): promotions by id."""
        self.problems: list[Problem] = []

    def add(self, code: str, message: str, path: Path = (), *, warning: bool = False) -> None:
        severity = Severity.WARNING if warning else Severity.ERROR
        self.problems.append(Problem(code, message, tuple(path), severity))

    def extend(self, problems: Iterable[Problem], prefix: Path = ()) -> None:
        for problem in problems:
            self.problems.append(
                Problem(problem.code, problem.message, prefix + problem.path, problem.severity)
            )

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)

    def diagnostics(self) -> list[Diagnostic]:
        """Every problem located, in file order (as compilers and linters report)."""
        located = [self.locate(p) for p in self.problems]
        return sorted(located, key=lambda d: (d.line, d.column))

    def locate(self, problem: Problem) -> Diagnostic:
        line, column = self.position(problem.path)
        return Diagnostic(
            problem.code,
            problem.message,
            problem.path,
            self.file,
            line,
            column,
            problem.severity,
            format_path(problem.path, self.names) if self.names else None,
        )

    def position(self, path: Path) -> tuple[int, int]:
        """The position of ``path`` or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise RulesetError(self.diagnostics())
