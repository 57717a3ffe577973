"""``promorules ledger``: output, exit codes, and no traceback for user errors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from promorules.cli import main
from promorules.counters import ANY_SUBJECT, CounterKey, CounterKind, CounterSpec
from promorules.ledger import open_ledger

FLASH = CounterKey(CounterKind.FLASH_STOCK, "flash", "sku-1")
EACH = CounterKey(CounterKind.COUPON_CUSTOMER_USES, "c10", ANY_SUBJECT)


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        ledger.provision([CounterSpec(FLASH, 100), CounterSpec(EACH, 1)])
        ledger.reserve(((FLASH, 3),), "o1", 600)
        ledger.commit(ledger.reserve(((FLASH, 2),), "o2", 600))
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["ledger", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_table(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "--ledger", url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["counter", "initial", "held", "used", "available"]
    assert "coupon_customer_uses:c10:* (template)" in out
    assert lines[-1].split() == ["flash_stock:flash:sku-1", "100", "3", "2", "95"]


def test_status_json_and_pause_resume(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "pause", "flash", "--ledger", url)[0] == 0
    code, out, _ = run(capsys, "status", "--ledger", url, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["paused"] == ["flash"]
    flash = next(c for c in data["counters"] if c["key"] == str(FLASH))
    assert (flash["initial"], flash["held"], flash["used"], flash["available"]) == (100, 3, 2, 95)
    code, out, _ = run(capsys, "status", "--ledger", url)
    assert "paused" in out.splitlines()[-3]
    assert run(capsys, "resume", "flash", "--ledger", url)[0] == 0
    with open_ledger(url) as ledger:
        assert ledger.paused() == frozenset()


def test_adjust_top_up_cut_and_refusal(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "adjust", str(FLASH), "+50", "--ledger", url)
    assert code == 0 and "145" in out
    code, _, err = run(capsys, "adjust", str(FLASH), "-500", "--ledger", url)
    assert code == 1 and "insufficient" in err and "Traceback" not in err
    code, out, _ = run(capsys, "adjust", str(FLASH), "-500", "--clamp", "--ledger", url)
    assert code == 0
    with open_ledger(url) as ledger:
        row = next(r for r in ledger.status() if r.key == FLASH)
    assert (row.initial, row.available) == (5, 0)


@pytest.mark.parametrize(
    "argv",
    [
        ("adjust", "not-a-key", "5"),
        ("adjust", str(FLASH), "five"),
        ("adjust", "gift_stock:nope:", "5"),
    ],
)
def test_bad_input_exits_2_without_traceback(
    url: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, _, err = run(capsys, *argv, "--ledger", url)
    assert code == 2
    assert err.startswith("promorules ledger: error:") and "Traceback" not in err


def test_missing_or_bad_url_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMORULES_LEDGER", raising=False)
    assert run(capsys, "status")[0] == 2
    assert run(capsys, "status", "--ledger", "ftp://nowhere")[0] == 2


def test_url_from_the_environment(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMORULES_LEDGER", url)
    assert run(capsys, "sweep")[0] == 0


def test_sweep_reports_expired(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sweep", "--ledger", url, "--format", "json")
    assert code == 0 and json.loads(out) == {"expired": 0}


def test_init_provisions_what_the_engine_declares(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gift = CounterKey(CounterKind.GIFT_STOCK, "gift", "mug")

    class Engine:
        def __init__(self, counters: tuple[CounterSpec, ...]) -> None:
            self.counters = counters

        @classmethod
        def from_toml(cls, path: str) -> Engine:
            if not Path(path).exists():
                raise FileNotFoundError(2, "No such file or directory")
            return cls((CounterSpec(FLASH, 120), CounterSpec(gift, 10)))

    monkeypatch.setitem(sys.modules, "promorules.engine", types.SimpleNamespace(Engine=Engine))
    ruleset = tmp_path / "d11.toml"
    ruleset.write_text("")
    code, out, _ = run(capsys, "init", str(ruleset), "--ledger", url, "--format", "json")
    assert code == 0
    assert json.loads(out)["created"] == [str(gift)]
    assert json.loads(out)["differing"] == [
        {"key": str(FLASH), "ledger_initial": 100, "ruleset_initial": 120}
    ]
    code, out, _ = run(capsys, "init", str(ruleset), "--ledger", url)
    assert code == 0 and "created 0, unchanged 1" in out and "left alone" in out
    code, _, err = run(capsys, "init", str(tmp_path / "missing.toml"), "--ledger", url)
    assert code == 2 and "cannot read" in err
