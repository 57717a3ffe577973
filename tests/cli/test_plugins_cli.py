"""``promorules plugins``: the installed kinds and where they come from."""

from __future__ import annotations

import json

import pytest

from promorules.cli import main


def test_plugins_table_lists_the_built_in_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    header, rule, *rows = out.splitlines()
    assert header.split() == ["kind", "lanes", "summary", "from"]
    assert set(rule) <= {"-", " "}
    (tiered,) = [row for row in rows if row.startswith("tiered ")]
    assert "store, platform, item" in tiered
    assert "promorules_plugins.tiered (promorules " in tiered


def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    (tiered,) = [row for row in rows if row["kind"] == "tiered"]
    assert tiered["lanes"] == "store, platform, item"
    assert tiered["source"].startswith("promorules_plugins.tiered (promorules ")
    assert tiered["summary"]


def test_a_broken_installed_plugin_exits_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from promorules import plugins

    class BrokenEntryPoint:
        name = "broken"
        value = "nowhere.module"
        dist = None

        def load(self) -> object:
            raise ImportError("No module named 'nowhere'")

    monkeypatch.setattr(plugins, "entry_points", lambda group: [BrokenEntryPoint()])
    assert main(["plugins"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "entry point 'broken' (nowhere.module) failed to load" in err
    assert "Traceback" not in err
