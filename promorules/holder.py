"""An engine in service, replaced while it prices: load off the pricing path, swap at once.

A checkout process (or ``promorules serve``) holds its engine in an
:class:`EngineHolder`. :meth:`EngineHolder.reload` reads, checks and compiles a new
ruleset, optionally has it judged (``promorules validate`` refuses a BREACHED one), and
only then swaps it in: one attribute assignment, so a caller pricing at that moment
finishes on the engine it started with and the next call gets the new one. Nothing
pricing ever waits on a lock; reloads are serialised among themselves.

Every :class:`Loaded` names its ruleset's version: the first 12 hex digits of the
SHA-256 of its text, so a quote can say which ruleset priced it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path as FilePath

import attrs

from promorules.cart import Cart, Context
from promorules.diagnostics import PromorulesError
from promorules.engine import Engine
from promorules.kind import Kind
from promorules.quote import Quote
from promorules.reading import read_text
from promorules.ruleset import MAX_RULESET_BYTES, parse_ruleset


def version_of(text: str) -> str:
    """A ruleset's version: the start of the SHA-256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@attrs.frozen
class Loaded:
    """One ruleset loaded, checked and compiled."""

    name: str
    engine: Engine = attrs.field(repr=False)
    version: str
    source: str
    """The file it was read from (relative paths inside it resolve against it)."""
    loaded_at: datetime
    text: str = attrs.field(repr=False)


def load_text(text: str, source: str, kinds: Mapping[str, Kind], name: str | None = None) -> Loaded:
    """``text`` as a :class:`Loaded`; a RulesetError locating every problem otherwise."""
    engine = Engine(parse_ruleset(text, kinds, source=source), kinds)
    return Loaded(
        name or FilePath(source).stem,
        engine,
        version_of(text),
        source,
        datetime.now(timezone.utc),
        text,
    )


def load_file(path: str | FilePath, kinds: Mapping[str, Kind]) -> Loaded:
    return load_text(read_text(path, "ruleset", MAX_RULESET_BYTES), str(path), kinds)


class Refused(PromorulesError):
    """A new ruleset judged unfit (a BREACHED floor, a lint error): not swapped in."""

    def __init__(self, message: str, details: object = None) -> None:
        super().__init__(message)
        self.details = details


Judge = Callable[[Loaded], None]
"""Raises :class:`Refused` for a ruleset that must not go live."""


class EngineHolder:
    """The engine in service (see the module's docstring)."""

    def __init__(self, loaded: Loaded, kinds: Mapping[str, Kind]) -> None:
        self._current = loaded
        self._kinds = kinds
        self._reloading = threading.Lock()

    @property
    def current(self) -> Loaded:
        """The ruleset in service now (read it once per request: it may be replaced)."""
        return self._current

    def price(self, cart: Cart, context: Context) -> tuple[Quote, Loaded]:
        """The quote, and the ruleset that priced it."""
        loaded = self._current
        return loaded.engine.price(cart, context), loaded

    def reload(self, text: str, *, judge: Judge | None = None, force: bool = False) -> Loaded:
        """Load ``text`` as the new ruleset of this holder (same name and source, so
        relative paths in it resolve as before), judge it unless ``force``, swap it in.
        Raises RulesetError (it does not load) or :class:`Refused`; the ruleset in
        service is untouched then."""
        with self._reloading:
            current = self._current
            if version_of(text) == current.version:
                return current
            loaded = load_text(text, current.source, self._kinds, current.name)
            if judge is not None and not force:
                judge(loaded)
            self._current = loaded
            return loaded

    def reload_file(self, *, judge: Judge | None = None, force: bool = False) -> Loaded:
        """:meth:`reload` with the text of the source file as it is now."""
        text = read_text(self._current.source, "ruleset", MAX_RULESET_BYTES)
        return self.reload(text, judge=judge, force=force)
