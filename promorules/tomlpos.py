"""Where each key of a TOML document stands, so diagnostics can say ``file:line:col``.

The standard TOML parser gives values, not positions. This module walks the source a
second time (it is only ever called on text that parsed cleanly) and records, for
every key path such as ``("promotion", 2, "tiers", 1, "off")``, the line and column
of the key (or of the value, for array items). It understands tables, arrays of
tables, dotted keys, inline tables and (multi-line) arrays: enough to point a planner
at the right character.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from promorules.diagnostics import Path

Position = tuple[int, int]


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.col = 1
        self.positions: dict[Path, Position] = {}
        self.arrays: dict[Path, int] = {}
        self.table: Path = ()

    # -- characters -------------------------------------------------------------
    def peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.text[j] if j < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.i >= len(self.text):
                return
            if self.text[self.i] == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
            self.i += 1

    def skip_blank(self, newlines: bool) -> None:
        while self.i < len(self.text):
            ch = self.text[self.i]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#":
                while self.i < len(self.text) and self.text[self.i] != "\n":
                    self.advance()
            else:
                return

    # -- tokens -----------------------------------------------------------------
    def string(self) -> str:
        quote = self.peek()
        triple = self.text.startswith(quote * 3, self.i)
        delim = quote * 3 if triple else quote
        self.advance(len(delim))
        out = []
        while self.i < len(self.text) and not self.text.startswith(delim, self.i):
            if quote == '"' and self.peek() == "\\":
                out.append(self.peek(1))
                self.advance(2)
                continue
            out.append(self.peek())
            self.advance()
        self.advance(len(delim))
        return "".join(out)

    def key(self) -> tuple[list[str], list[Position]]:
        """A (dotted) key: its parts, and where each part starts."""
        parts: list[str] = []
        starts: list[Position] = []
        while True:
            self.skip_blank(False)
            starts.append((self.line, self.col))
            if self.peek() in ('"', "'"):
                parts.append(self.string())
            else:
                begin = self.i
                while self.i < len(self.text) and (self.peek().isalnum() or self.peek() in "_-"):
                    self.advance()
                parts.append(self.text[begin : self.i])
            self.skip_blank(False)
            if self.peek() == ".":
                self.advance()
                continue
            return parts, starts

    def resolve(self, raw: list[str]) -> Path:
        """Map a header's raw keys to a path, entering the last element of arrays."""
        path: Path = ()
        for part in raw:
            path = (*path, part)
            if path in self.arrays:
                path = (*path, self.arrays[path])
        return path

    def value(self, path: Path) -> None:
        self.skip_blank(False)
        ch = self.peek()
        if ch in ('"', "'"):
            self.string()
        elif ch == "[":
            self.advance()
            index = 0
            while True:
                self.skip_blank(True)
                if self.peek() in ("]", ""):
                    self.advance()
                    return
                self.positions.setdefault((*path, index), (self.line, self.col))
                self.value((*path, index))
                index += 1
                self.skip_blank(True)
                if self.peek() == ",":
                    self.advance()
        elif ch == "{":
            self.advance()
            while True:
                self.skip_blank(False)
                if self.peek() in ("}", ""):
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.assignment(path)
        else:
            while self.i < len(self.text) and self.peek() not in ",]}\n#":
                self.advance()

    def assignment(self, base: Path) -> None:
        raw, starts = self.key()
        path: Path = (*base, *raw)
        # each part of a dotted key at its own column: in "a.thresold = 1" a problem
        # with "thresold" points at it, not at "a"
        for end, start in zip(range(len(base) + 1, len(path) + 1), starts, strict=True):
            self.positions.setdefault(path[:end], start)
        self.skip_blank(False)
        if self.peek() == "=":
            self.advance()
        self.value(path)

    def document(self) -> dict[Path, Position]:
        while True:
            self.skip_blank(True)
            ch = self.peek()
            if not ch:
                return self.positions
            start = (self.line, self.col)
            if ch == "[":
                array = self.peek(1) == "["
                self.advance(2 if array else 1)
                raw, _ = self.key()
                self.advance(2 if array else 1)
                if array:
                    parent = self.resolve(raw[:-1])
                    bare = (*parent, raw[-1])
                    index = self.arrays.get(bare, -1) + 1
                    self.arrays[bare] = index
                    self.positions.setdefault(bare, start)
                    self.table = (*bare, index)
                else:
                    self.table = self.resolve(raw)
                self.positions.setdefault(self.table, start)
            else:
                self.assignment(self.table)
            # anything left on the line (a trailing comment) is skipped
            self.skip_blank(False)
            while self.peek() not in ("\n", ""):
                self.advance()


def key_positions(text: str) -> dict[Path, Position]:
    """Positions (1-based line, column) of every key path in a well-formed TOML text."""
    try:
        return _Scanner(text).document()
    except (IndexError, RecursionError):  # pragma: no cover - positions are best effort
        return {}


class LazyPositions(MutableMapping[Path, Position]):
    """:func:`key_positions` of a text, worked out when first read.

    Positions serve only to locate problems; a ruleset that loads clean (the usual case,
    and the one a checkout process pays for at start-up) never reads them, and scanning
    a 1,000-promotion ruleset for them takes about twice as long as parsing it. Two
    threads reading them first at once both scan, and keep equal tables.
    """

    __slots__ = ("_table", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._table: dict[Path, Position] | None = None

    def _positions(self) -> dict[Path, Position]:
        table = self._table
        if table is None:
            # the text is kept: clearing it here would hand a thread that saw no table
            # yet an empty text to scan
            table = self._table = key_positions(self._text)
        return table

    def __getitem__(self, key: Path) -> Position:
        return self._positions()[key]

    def __setitem__(self, key: Path, value: Position) -> None:
        self._positions()[key] = value

    def __delitem__(self, key: Path) -> None:
        del self._positions()[key]

    def __iter__(self) -> Iterator[Path]:
        return iter(self._positions())

    def __len__(self) -> int:
        return len(self._positions())
