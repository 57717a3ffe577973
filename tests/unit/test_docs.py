"""The docs cannot drift from the code: generated field tables, documented file formats.

docs/rulesets.md holds a field table for every top-level table and every promotion kind,
generated (``python -m promorules.fieldtables``) from the same classes and docstrings as
the JSON Schema; these tests fail while the file is out of date, or when a kind, a
table or a field has nothing to say for itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from promorules import cartfile, fieldtables
from promorules.plugins import PluginHost
from promorules.records import CATALOG_KEYS, LINE_KEYS
from promorules.ruleset import Promotion, Ruleset, parse_ruleset, resolve_types
from promorules.schema import field_docs
from tests.markdown import fenced, table_keys

ROOT = Path(__file__).resolve().parents[2]
RULESETS_MD = ROOT / "docs" / "rulesets.md"
KINDS = PluginHost.default().kinds


def _tables() -> dict[str, type[Any]]:
    """Every top-level table made of fields (``[budgets]`` is a plain map), by its key."""
    resolve_types(Ruleset)
    found = {
        f.name: f.type
        for f in attrs.fields(Ruleset)
        if isinstance(f.type, type) and attrs.has(f.type)
    }
    return {**found, "promotion": Promotion}


def _classes(cls: type[Any]) -> list[type[Any]]:
    """``cls`` and the table classes its fields hold, as the field tables render them."""
    resolve_types(cls)
    out = [cls]
    for field in attrs.fields(cls):
        for inner in fieldtables._nested(field.type):
            out += _classes(inner)
    return out


def test_the_field_tables_of_docs_rulesets_md_are_up_to_date() -> None:
    text = RULESETS_MD.read_text(encoding="utf-8")
    assert fieldtables.render(text, KINDS) == text, "run: python -m promorules.fieldtables"


def test_every_kind_and_every_table_has_a_field_table() -> None:
    found = fieldtables.documented(RULESETS_MD.read_text(encoding="utf-8"))
    assert found["kind"] == set(KINDS)
    assert found["table"] == set(_tables())


def _all_classes() -> list[type[Any]]:
    found: set[type[Any]] = set()
    for kind in KINDS.values():
        found.update(_classes(kind.config_type))
    for table in _tables().values():
        found.update(_classes(table))
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


@pytest.mark.parametrize("cls", _all_classes(), ids=lambda c: str(getattr(c, "__qualname__", c)))
def test_every_field_says_what_it_is_for(cls: type[Any]) -> None:
    docs = field_docs(cls)
    skip = {"config"} if cls is Promotion else set()
    missing = [f.name for f in attrs.fields(cls) if f.name not in skip and not docs.get(f.name)]
    assert missing == [], f"{cls.__qualname__}: give these fields a docstring"


def test_the_check_fails_on_a_stale_file_and_names_an_unknown_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "rulesets.md"
    text = RULESETS_MD.read_text(encoding="utf-8")
    stale.write_text(text.replace("| `cap` | amount |", "| `cap` | integer |"), encoding="utf-8")
    assert fieldtables.main([str(stale), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert fieldtables.main([str(stale)]) == 0  # rewritten
    assert stale.read_text(encoding="utf-8") == text
    stale.write_text("<!-- fields: kind no_such_kind -->\n<!-- /fields -->\n", encoding="utf-8")
    assert fieldtables.main([str(stale), "--check"]) == 2
    assert "no installed promotion kind 'no_such_kind'" in capsys.readouterr().err


CARTS_MD = ROOT / "docs" / "carts.md"


def test_carts_md_lists_exactly_the_keys_the_readers_accept() -> None:
    text = CARTS_MD.read_text(encoding="utf-8")
    assert table_keys(text, "### Top-level keys") == list(cartfile.CART_KEYS)
    assert table_keys(text, "### `[customer]`") == list(cartfile._CUSTOMER_KEYS)
    assert table_keys(text, "### `[[lines]]`") == list(LINE_KEYS)
    assert sorted(table_keys(text, "## Catalogues (CSV or TOML)")) == sorted(CATALOG_KEYS)


def test_the_examples_of_carts_md_load_and_agree(tmp_path: Path) -> None:
    text = CARTS_MD.read_text(encoding="utf-8")
    ((_, csv_text),) = fenced(text, "csv")
    (_, cart_toml), (_, catalog_toml) = fenced(text, "toml")
    ((_, cart_json),) = fenced(text, "json")
    files = {
        "catalog.csv": csv_text,
        "catalog.toml": catalog_toml,
        "cart.toml": cart_toml,
        "cart.json": cart_json,
    }
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    from_csv = cartfile.load_catalog(tmp_path / "catalog.csv", "CNY")
    from_toml = cartfile.load_catalog(tmp_path / "catalog.toml", "CNY")
    assert from_toml["LUMI-SERUM"] == from_csv["LUMI-SERUM"]
    zone = ZoneInfo("Asia/Shanghai")
    as_toml = cartfile.load_cart(tmp_path / "cart.toml", "CNY", zone, from_csv)
    as_json = cartfile.load_cart(tmp_path / "cart.json", "CNY", zone, from_csv)
    assert attrs.evolve(as_toml, source="") == attrs.evolve(as_json, source="")
    serum, box = as_toml.cart.lines
    assert (serum.unit_price, serum.unit_cost, serum.merchant) == (32900, 9800, "lumi-beauty")
    assert (box.unit_price, box.category, as_toml.cart.shipping) == (5900, "gifts", 1000)


def test_the_toml_examples_of_rulesets_md_load() -> None:
    blocks = fenced(RULESETS_MD.read_text(encoding="utf-8"), "toml")
    assert len(blocks) >= 3
    campaign = '[campaign]\nname = "x"\ncurrency = "CNY"\ntimezone = "Asia/Shanghai"\n'
    # the promotion an example's uplift names
    ladder = '[[promotion]]\nid = "d11-ladder"\nkind = "tiered"\nthreshold = "300"\noff = "30"\n'
    for line, block in blocks:
        text = campaign + block + "\n" + ladder
        ruleset = parse_ruleset(text, KINDS, source=f"docs/rulesets.md:{line}")
        assert ruleset != parse_ruleset(campaign + ladder, KINDS), block  # it said something
