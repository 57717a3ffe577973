"""``promorules refund``: the 400 + 100 example, both policies, and bad returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promorules.cli import main
from promorules.counters import CounterKey, CounterKind
from promorules.ledger import open_ledger
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


def test_the_return_is_given_back_to_the_ledger_once(
    files: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset, basket = files
    Path(ruleset).write_text(
        RULESET.replace('lane = "store"\n', 'lane = "store"\nbudget = "1000.00"\n')
    )
    url = f"sqlite:///{tmp_path / 'l.db'}"
    assert main(["ledger", "init", ruleset, "--ledger", url]) == 0
    budget = CounterKey(CounterKind.BUDGET, "spend-500")
    with open_ledger(url) as ledger:
        ledger.commit(ledger.reserve(((budget, 5_000),), "order-1", 600))
    capsys.readouterr()
    argv = ["refund", ruleset, basket, "--return", "SCARF", "--ledger", url]
    mine = ["--reservation", "order-1", "--refund-id", "rma-1"]
    assert main([*argv, *mine]) == 0
    out = capsys.readouterr().out
    assert "budget:spend-500:" in out and "10.00" in out
    assert "given back to reservation order-1 as refund rma-1" in out
    # replayed: the same answer, nothing moves twice
    assert main([*argv, *mine, "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["gives_back"] == [["budget:spend-500:", 1000]]
    assert found["ledger"]["given_back"] == [["budget:spend-500:", 1000]]
    with open_ledger(url) as ledger:
        assert next(r for r in ledger.status() if r.key == budget).used == 4_000
    # the whole order now: the scarf's share was given back already
    both = ["--return", "BAG", "--reservation", "order-1", "--refund-id", "rma-2"]
    assert main([*argv, *both]) == 1
    err = capsys.readouterr().err
    assert "the ledger refused" in err and "asked 5000, left to give back 4000" in err
    assert main(["ledger", "log", "--ledger", url]) == 0
    assert "refund rma-1: budget:spend-500: +10.00" in capsys.readouterr().out


def test_giving_back_wants_a_reservation_and_a_refund_id(
    files: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    base = ["refund", *files, "--return", "SCARF"]
    for extra in (
        ["--ledger", url],
        ["--ledger", url, "--reservation", "o1"],
        ["--reservation", "o1", "--refund-id", "r1"],
    ):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert "--reservation" in err and "Traceback" not in err


def test_the_ruleset_s_returns_table_is_the_default_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset, cart = tmp_path / "r.toml", tmp_path / "cart.toml"
    ruleset.write_text(RULESET + '[returns]\nremaining = "claw-back"\n', encoding="utf-8")
    cart.write_text(CART, encoding="utf-8")
    args = ["refund", str(ruleset), str(cart), "--return", "SCARF", "--format", "json"]
    assert main(args) == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["total"], found["other_policy"]["total"]) == ("50.00", "90.00")
    assert main([*args, "--policy", "keep"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == "90.00"
