"""The fuzz suite's set-up: plugin discovery done once, not once a case."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from promorules.plugins import PluginHost


@pytest.fixture(autouse=True, scope="module")
def one_plugin_host() -> Iterator[None]:
    # Every command builds PluginHost.default(), which scans the installed entry points
    # (a third of a small ruleset's run). Discovery reads no input the suite mutates, so
    # one host serves every case and the hunt covers more inputs in the same time.
    host = PluginHost.default()
    patch = pytest.MonkeyPatch()
    patch.setattr(PluginHost, "default", classmethod(lambda cls: host))
    yield
    patch.undo()
