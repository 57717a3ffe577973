"""The fuzz suite's set-up: what no case mutates is built once, not once a case."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from promorules.engine import Engine
from promorules.plugins import PluginHost
from tests.fuzz.mutations import RULESETS


@pytest.fixture(autouse=True, scope="module")
def built_once() -> Iterator[None]:
    """One plugin host, and one engine per bundled (unmutated) ruleset.

    Every command builds ``PluginHost.default()`` (a scan of the installed entry
    points) and compiles its ruleset; when a case mutates a cart, a catalogue or an
    order log, the ruleset beside it is a bundled file whose engine is the same every
    time (an engine is immutable and meant to be shared). Mutated rulesets are still
    loaded afresh, so every reading and checking path runs; the hunt just spends its
    time on the inputs it breaks.
    """
    host = PluginHost.default()
    from_toml = Engine.from_toml.__func__  # type: ignore[attr-defined]
    from_string = Engine.from_string.__func__  # type: ignore[attr-defined]
    engines: dict[tuple[str, str], Engine] = {}

    def bundled(path: str) -> bool:
        try:
            return Path(path).resolve().is_relative_to(RULESETS)
        except (OSError, ValueError):
            return False

    def toml(cls: type[Engine], path: Any, *, plugins: Iterable[object] | None = None) -> Engine:
        if plugins is not None or not bundled(str(path)):
            return from_toml(cls, path, plugins=plugins)  # type: ignore[no-any-return]
        key = ("toml", str(path))
        if key not in engines:
            engines[key] = from_toml(cls, path)
        return engines[key]

    def string(
        cls: type[Engine],
        text: str,
        *,
        plugins: Iterable[object] | None = None,
        source: str = "<string>",
    ) -> Engine:
        if plugins is not None or not bundled(source):
            return from_string(cls, text, plugins=plugins, source=source)  # type: ignore[no-any-return]
        key = (text, source)
        if key not in engines:
            engines[key] = from_string(cls, text, source=source)
        return engines[key]

    patch = pytest.MonkeyPatch()
    patch.setattr(PluginHost, "default", classmethod(lambda cls: host))
    patch.setattr(Engine, "from_toml", classmethod(toml))
    patch.setattr(Engine, "from_string", classmethod(string))
    yield
    patch.undo()
