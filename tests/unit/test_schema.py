"""The JSON Schema covers every table a ruleset may hold, and every bundled ruleset.

``promorules schema`` is what editors validate rulesets against while planners type: a
table the loader accepts but the schema lacks gets a bundled ruleset flagged as wrong.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

import promorules.ruleset
from promorules.plugins import PluginHost
from promorules.ruleset import load_ruleset
from promorules.schema import ruleset_schema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[2]
KINDS = PluginHost.default().kinds
SCHEMA = ruleset_schema(KINDS)


def _is_ruleset(path: Path) -> bool:
    """Rulesets are the TOML files with a [campaign] table (carts live beside them)."""
    return "campaign" in tomllib.loads(path.read_text(encoding="utf-8"))


BUNDLED = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "rulesets").rglob("*.toml") if _is_ruleset(p)
)


def _as_json(value: Any) -> Any:
    """TOML as a JSON Schema validator sees it from TOML tooling: date-times as text."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _errors(data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)
    ]


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_has_every_table_the_loader_accepts() -> None:
    # _TOP_KEYS is the loader's own list of what a ruleset may hold: a table added to it
    # (and to Ruleset) must reach the schema, or editors flag rulesets that load fine
    assert set(SCHEMA["properties"]) == set(promorules.ruleset._TOP_KEYS)


def test_there_are_bundled_rulesets_of_every_table() -> None:
    assert len(BUNDLED) >= 9
    tables: set[str] = set()
    for name in BUNDLED:
        tables |= set(tomllib.loads((ROOT / name).read_text(encoding="utf-8")))
    assert {"simulate", "price_rules", "budgets"} <= tables


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_ruleset_loads_and_validates_against_the_schema(name: str) -> None:
    load_ruleset(ROOT / name, KINDS)  # a ruleset indeed, one the loader accepts
    data = _as_json(tomllib.loads((ROOT / name).read_text(encoding="utf-8")))
    assert _errors(data) == []


def test_the_schema_flags_typos_in_the_simulate_and_price_rules_tables() -> None:
    data = _as_json(tomllib.loads((ROOT / "rulesets/calendar/beauty-week.toml").read_text()))
    assert "price_rules" in data
    data["simulate"] = {"uplfit": {}}
    data["price_rules"]["reference"] = "lowest-8-days"
    errors = _errors(data)
    assert len(errors) == 2, errors
    assert any(e.startswith("simulate: ") and "'uplfit'" in e for e in errors)
    assert any(e.startswith("price_rules/reference: ") for e in errors)
