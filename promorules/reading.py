"""Reading input files: the one gate every file a user names passes through.

Rulesets, carts, catalogues, price histories and order logs come from people and
tools promorules does not control. Whatever their bytes, reading them ends in data or
in located ``PRxxx`` diagnostics (:class:`~promorules.diagnostics.RulesetError`), never
in a traceback, a hang or an exhausted memory:

- :func:`open_input` opens regular files only. A FIFO would block the reader for ever
  (and opening one blocks until a writer comes: it is opened non-blocking, then
  refused), a character device such as ``/dev/zero`` never ends, a directory is no
  document. Sizes are enforced on the bytes read, in bounded chunks, not on what
  ``stat`` claims: files under ``/proc`` report a size of 0 whatever they hold.
- :func:`parse_toml` / :func:`parse_json` turn every parser failure into a located
  ``PR002``: syntax errors, integer literals past Python's digit limit (a
  ``ValueError`` the parsers let through), nesting deep enough to exhaust the parser's
  stack, and nesting deeper than :data:`MAX_DEPTH`, which no input of promorules needs
  and which would otherwise reach every recursive walk of the data after parsing.
- :func:`csv_records` streams CSV with the csv module over the open file (so quoted
  fields may hold newlines), with a field-size bound of our own, every csv error
  located by line.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path as FilePath
from typing import Any, BinaryIO, NoReturn

from promorules.diagnostics import Collector, Path, RulesetError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_DEPTH = 32
"""Deepest nesting of tables and arrays in a TOML or JSON input (the deepest real
ruleset nests 5 levels: promotion -> tiers -> item -> ...)."""
MAX_CSV_FIELD = 1024 * 1024
"""Longest CSV field accepted (characters). The csv module's own default (131,072)
is a global that a library should not rely on; this bound is set on every read."""
MAX_INT_DIGITS = 4300
"""Longest integer literal a parser converts (Python's default ``int`` digit limit);
promorules' own bounds (amounts, quantities) are far shorter."""
_CHUNK = 64 * 1024
_LONG_DIGITS = re.compile(f"[0-9_]{{{MAX_INT_DIGITS + 1},}}")


def fail(source: str, code: str, message: str, where: tuple[int, int] = (1, 1)) -> NoReturn:
    """Raise one located diagnostic for ``source``."""
    collector = Collector(source, {(): where})
    collector.add(code, message)
    raise RulesetError(collector.diagnostics())


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_input(path: str | FilePath, what: str, code: str = "PR001") -> BinaryIO:
    """Open ``path`` for reading in binary; anything but a regular file is refused."""
    source = str(path)
    # O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one for ever;
    # it has no effect on the regular files that are kept
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        fail(source, code, f"cannot read {what}: {_reason(exc)}")
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            fail(source, code, f"cannot read {what}: {_kind_of(mode)}, not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def read_bytes(path: str | FilePath, what: str, limit: int, code: str = "PR001") -> bytes:
    """The whole of a regular file, refused past ``limit`` bytes (counted as read)."""
    source = str(path)
    with open_input(path, what, code) as handle:
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := handle.read(min(_CHUNK, limit + 1 - size)):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    fail(source, code, f"cannot read {what}: larger than {limit:,} bytes")
        except OSError as exc:
            fail(source, code, f"cannot read {what}: {_reason(exc)}")
    return b"".join(chunks)


def decode(data: bytes, source: str, what: str, encoding: str = "utf-8") -> str:
    """UTF-8 text (``utf-8-sig``: a leading BOM dropped); a bad byte located, PR001."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        fail(source, "PR001", f"cannot read {what}: not UTF-8 text", (line, column))


def read_text(
    path: str | FilePath, what: str, limit: int, encoding: str = "utf-8", code: str = "PR001"
) -> str:
    """A regular file of at most ``limit`` bytes, as UTF-8 text."""
    return decode(read_bytes(path, what, limit, code), str(path), what, encoding)


# --------------------------------------------------------------------------- documents


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _too_many_digits(text: str, source: str, syntax: str) -> NoReturn:
    found = _LONG_DIGITS.search(text)
    where = _position(text, found.start()) if found else (1, 1)
    length = len(found.group().replace("_", "")) if found else 0
    fail(
        source,
        "PR002",
        f"{syntax}: a number of {length:,} digits (at most {MAX_INT_DIGITS:,} are read)",
        where,
    )


def deepest(data: Any) -> Path | None:
    """The path of the first value nested deeper than :data:`MAX_DEPTH`, if any.

    Iterative: it must not itself run out of stack on the documents it guards against.
    """
    stack: list[tuple[Path, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            children: Any = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if len(path) >= MAX_DEPTH:
            return path
        stack.extend(((*path, key), child) for key, child in children)
    return None


def check_depth(data: Any, source: str, positions: MutableMapping[Path, tuple[int, int]]) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH`, located at the too-deep value."""
    path = deepest(data)
    if path is not None:
        collector = Collector(source, positions)
        collector.add("PR002", f"nested more than {MAX_DEPTH} levels deep", path)
        raise RulesetError(collector.diagnostics())


def parse_toml(
    text: str, source: str
) -> tuple[dict[str, Any], MutableMapping[Path, tuple[int, int]]]:
    """Parse TOML text; every failure is a located PR002 diagnostic. The key positions
    are worked out when first read (a clean load never reads them)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        where = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        fail(source, "PR002", f"TOML syntax error: {message}", where)
    except RecursionError:  # a = [[[[...: the parser's stack ran out before the text did
        fail(source, "PR002", "TOML nested too deeply (arrays or inline tables)")
    except ValueError:  # int() past the digit limit, raised from inside the parser
        _too_many_digits(text, source, "TOML")
    from promorules.tomlpos import LazyPositions

    positions = LazyPositions(text)
    check_depth(data, source, positions)
    return data, positions


def parse_json(text: str, source: str, what: str) -> tuple[Any, dict[Path, tuple[int, int]]]:
    """Parse JSON text; every failure is a located PR002 diagnostic."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(source, "PR002", f"JSON syntax error: {exc.msg}", (exc.lineno, exc.colno))
    except RecursionError:  # [[[[...: the parser's stack ran out before the text did
        fail(source, "PR002", f"JSON nested too deeply to be {what}")
    except ValueError:  # int() past the digit limit
        _too_many_digits(text, source, "JSON")
    from promorules.jsonpos import key_positions

    positions = key_positions(text)
    check_depth(data, source, positions)
    return data, positions


def load_document(
    path: str | FilePath, what: str, limit: int
) -> tuple[Any, MutableMapping[Path, tuple[int, int]], str]:
    """Read and parse a TOML or JSON file (by its extension): data, positions, source."""
    source = str(path)
    text = read_text(path, what, limit)
    positions: MutableMapping[Path, tuple[int, int]]
    if source.endswith(".json"):
        data, positions = parse_json(text, source, f"a {what}")
    else:
        data, positions = parse_toml(text, source)
    return data, positions, source


# --------------------------------------------------------------------------- CSV


def csv_records(
    path: str | FilePath, what: str, limit: int, code: str
) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` for every record of a CSV file, the header first.

    Streams the file (at most ``limit`` bytes are read, whatever its size claims) with
    the csv module, so quoted fields may span lines; ``line`` is where a record starts.
    A field past :data:`MAX_CSV_FIELD`, a NUL or bad UTF-8 is a located ``code``.
    """
    source = str(path)
    handle = open_input(path, what)
    counted = _Bounded(handle, limit, source, what)
    text = io.TextIOWrapper(io.BufferedReader(counted), encoding="utf-8-sig", newline="")
    # the limit is process-wide in the csv module: set to our bound on every read,
    # so what one caller accepts never depends on what another set before
    csv.field_size_limit(MAX_CSV_FIELD)
    reader = csv.reader(text)
    start = 1
    try:
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                message = str(exc)
                if "field larger than field limit" in message:
                    message = f"a field longer than {MAX_CSV_FIELD:,} characters"
                fail(source, code, f"{what}: {message}", (start, 1))
            except UnicodeDecodeError:
                # decoding runs a buffer ahead of the csv reader: find the line itself
                line = _first_bad_line(path, what, limit)
                fail(source, "PR001", f"cannot read {what}: not UTF-8 text", (line, 1))
            yield start, fields
            start = reader.line_num + 1
    finally:
        text.close()


def _first_bad_line(path: str | FilePath, what: str, limit: int) -> int:
    """The number of the first line of ``path`` that is not UTF-8 (read again, a line at
    a time, within ``limit`` bytes: only when a decoding error was met)."""
    source = str(path)
    with io.BufferedReader(_Bounded(open_input(path, what), limit, source, what)) as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def csv_fields(record: str) -> list[str]:
    """The fields of one CSV record (which may hold quoted newlines).

    Raises ValueError with a reason for a field past :data:`MAX_CSV_FIELD` or any
    other csv error, for the caller to locate.
    """
    csv.field_size_limit(MAX_CSV_FIELD)
    try:
        return next(csv.reader([record]), [])
    except csv.Error as exc:
        message = str(exc)
        if "field larger than field limit" in message:
            message = f"a field longer than {MAX_CSV_FIELD:,} characters"
        raise ValueError(message) from None


class _Bounded(io.RawIOBase):
    """A read-only stream over ``handle`` that refuses to go past ``limit`` bytes."""

    def __init__(self, handle: BinaryIO, limit: int, source: str, what: str) -> None:
        self.handle = handle
        self.left = limit
        self.limit = limit
        self.source = source
        self.what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        data = self.handle.read(min(len(view), self.left + 1))
        if len(data) > self.left:
            fail(self.source, "PR001", f"cannot read {self.what}: larger than {self.limit:,} bytes")
        self.left -= len(data)
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.handle.close()
        super().close()
