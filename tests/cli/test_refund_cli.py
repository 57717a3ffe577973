"""``promorules refund``: the 400 + 100 example, both policies, and bad returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promorules.cli import main
from tests.helpers import HEADER

RULESET = HEADER + (
    '[[promotion]]\nid = "spend-500"\nkind = "tiered"\nlane = "store"\n'
    'tiers = [{ threshold = "500.00", off = "50.00" }]\n'
)
CART = (
    'at = 2026-11-11T10:00:00\n[customer]\nid = "c-1"\n'
    '[[lines]]\nsku = "BAG"\nquantity = 1\nunit_price = "400.00"\n'
    '[[lines]]\nsku = "SCARF"\nquantity = 1\nunit_price = "100.00"\n'
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    ruleset, cart = tmp_path / "r.toml", tmp_path / "cart.toml"
    ruleset.write_text(RULESET, encoding="utf-8")
    cart.write_text(CART, encoding="utf-8")
    return str(ruleset), str(cart)


def test_the_400_plus_100_example(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["refund", *files, "--return", "SCARF"]) == 0
    out = capsys.readouterr().out
    assert "refund" in out and "90.00" in out and "under claw-back: 50.00" in out
    assert (
        main(["refund", *files, "--return", "SCARF=1", "--policy", "claw-back", "--format", "json"])
        == 0
    )
    found = json.loads(capsys.readouterr().out)
    assert (found["total"], found["clawed_back"]) == ("50.00", "40.00")
    assert found["other_policy"] == {"remaining": "keep", "total": "90.00"}
    assert found["lines"] == [{"sku": "SCARF", "quantity": 1, "refund": "90.00"}]


def test_bad_returns_are_usage_errors(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    for given in ("HAT", "SCARF=2", "SCARF=x", "SCARF=0"):
        assert main(["refund", *files, "--return", given]) == 2
        assert capsys.readouterr().err.strip()
