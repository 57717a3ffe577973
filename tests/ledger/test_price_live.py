"""``promorules price --ledger URL``: the quote a live ledger gives, not an unlimited one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promorules.cli import main
from promorules.counters import CounterKey, CounterKind
from promorules.ledger import open_ledger

ROOT = Path(__file__).parents[2]
RULESET = str(ROOT / "rulesets" / "examples" / "flash.toml")
CART = str(ROOT / "rulesets" / "examples" / "carts" / "flash-member.toml")
CATALOG = str(ROOT / "rulesets" / "catalog.csv")
MINE = CounterKey(CounterKind.FLASH_CUSTOMER_UNITS, "flash-lumi", ("c-5005", "LUMI-SERUM"))


@pytest.fixture
def url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    assert main(["ledger", "init", RULESET, "--ledger", url]) == 0
    capsys.readouterr()
    return url


def serum_offers(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, str]:
    code = main(["price", RULESET, CART, "--catalog", CATALOG, "--format", "json", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    serum = json.loads(out)[0]["lines"][0]
    assert serum["sku"] == "LUMI-SERUM"
    return {a["promotion"]: a["amount"] for a in serum["adjustments"]}


def test_a_full_ledger_prices_like_no_ledger(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert serum_offers(capsys, "--ledger", url) == serum_offers(capsys)


def test_what_the_customer_already_bought_counts(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_ledger(url) as ledger:
        ledger.commit(ledger.reserve(((MINE, 2),), "earlier-order", 600))
    assert "flash-lumi" in serum_offers(capsys)
    # the per-customer counter is read though no spec names it: the limit of 2 is used up
    assert serum_offers(capsys, "--ledger", url) == {"member-lumi": "90.00"}


def test_sold_out_and_paused_promotions_give_nothing(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_ledger(url) as ledger:
        ledger.adjust(CounterKey(CounterKind.FLASH_STOCK, "flash-lumi", "LUMI-SERUM"), -500)
    assert serum_offers(capsys, "--ledger", url) == {"member-lumi": "90.00"}
    with open_ledger(url) as ledger:
        ledger.pause("member-lumi")
    assert serum_offers(capsys, "--ledger", url) == {}


def test_a_bad_ledger_url_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["price", RULESET, CART, "--catalog", CATALOG]
    assert main([*argv, "--ledger", f"sqlite:///{tmp_path}/l.db?synchronus=normal"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'synchronous'" in err and "Traceback" not in err
    assert main([*argv, "--ledger", "ftp://nowhere"]) == 2
